//! What triggers on LiveChat API v3 need from the store, beside the relay's `Backend`: the
//! shared upstream webhooks (one per account and trigger, the row being the lock that keeps
//! replicas from registering another), the subscriptions a delivery fans out to, and HelpDesk's
//! ticket cursors. Every backend implements it with raw queries in a file of its own.

use async_trait::async_trait;

use super::{Lease, StoreError, Subscription, TicketCursor, UpstreamWebhook};

#[async_trait]
pub trait TriggerStore: Send + Sync {
    /// Open subscriptions of a v3 account to one trigger (`account_key`), oldest first: where
    /// a delivery of the account's shared webhook fans out to.
    async fn open_subscriptions_of_account(
        &self,
        account_key: &str,
        event_type: &str,
    ) -> Result<Vec<Subscription>, StoreError>;

    /// Open subscriptions of a connection to one trigger, oldest first.
    async fn open_subscriptions_of_connection(
        &self,
        connection_id: &str,
        event_type: &str,
    ) -> Result<Vec<Subscription>, StoreError>;

    /// Claims the registration of an account's webhook for a trigger: stores `candidate` when
    /// the account has no row for it, or, when the row has no webhook id yet and its claim ran
    /// out before `now_ms`, hands the claim over (the row keeps its id; it takes the
    /// candidate's `secret_sha256` and `claim_until_ms`). Answers the row as it is afterwards:
    /// the caller holds the claim when it shows the candidate's secret and no webhook id.
    async fn claim_upstream_webhook(
        &self,
        candidate: &UpstreamWebhook,
        now_ms: i64,
    ) -> Result<UpstreamWebhook, StoreError>;

    async fn upstream_webhook(&self, id: &str) -> Result<Option<UpstreamWebhook>, StoreError>;

    /// Stores LiveChat's id for a registered webhook, if the claim under `secret_sha256` still
    /// holds it; `false` when it does not (taken over, or the row went).
    async fn set_upstream_webhook_id(
        &self,
        id: &str,
        secret_sha256: &str,
        livechat_webhook_id: &str,
    ) -> Result<bool, StoreError>;

    /// Gives up a claim whose registration failed, so the next subscriber claims it at once
    /// instead of waiting for it to run out; `false` when the claim is not (or no longer) held.
    async fn abandon_upstream_claim(
        &self,
        id: &str,
        secret_sha256: &str,
    ) -> Result<bool, StoreError>;

    /// Forgets the LiveChat webhook id of a row whose webhook LiveChat no longer has, and ends
    /// any claim on it, so the next subscriber registers it again; `false` when the row has
    /// another id by now (someone did already).
    async fn forget_upstream_webhook(
        &self,
        id: &str,
        livechat_webhook_id: &str,
    ) -> Result<bool, StoreError>;

    /// Records the organization an account's deliveries name, unless one is recorded; `false`
    /// when it was.
    async fn set_upstream_organization(
        &self,
        id: &str,
        organization_id: &str,
    ) -> Result<bool, StoreError>;

    /// Deletes the account's webhook row for a trigger when no open subscription of the
    /// account to that trigger is left, in one statement (a subscription stored before it
    /// keeps the row); answers the deleted row, whose LiveChat webhook the caller removes.
    async fn release_unused_upstream_webhook(
        &self,
        account_key: &str,
        event_type: &str,
    ) -> Result<Option<UpstreamWebhook>, StoreError>;

    /// Stores a connection's ticket cursor unless it has one; `false` when it had.
    async fn insert_ticket_cursor(&self, cursor: &TicketCursor) -> Result<bool, StoreError>;

    /// Leases up to `limit` cursors due at `now_ms` (no live lease) under `lease`.
    async fn claim_ticket_cursors(
        &self,
        now_ms: i64,
        lease: &Lease,
        limit: u32,
    ) -> Result<Vec<TicketCursor>, StoreError>;

    /// Moves a leased cursor to its new mark and next poll and releases the lease, if
    /// `lease_token` still holds it; `false` when it does not.
    async fn advance_ticket_cursor(
        &self,
        cursor: &TicketCursor,
        lease_token: &str,
    ) -> Result<bool, StoreError>;

    /// Forgets a connection's cursor when it has no open `ticket_created` subscription left, in
    /// one statement (as `release_unused_upstream_webhook`); `false` when it stays.
    async fn release_unused_ticket_cursor(&self, connection_id: &str) -> Result<bool, StoreError>;
}
