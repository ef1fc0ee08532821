//! What the store holds, as the rest of the gateway sees it, and the typed rows the backends
//! read (one `FromRow` type per table, shared by SQLite and PostgreSQL).

use std::fmt;

use super::StoreError;

/// How long a dead delivery (with its payload) is kept for `deliveries replay` before the
/// worker purges it.
pub const DEAD_RETENTION_MS: i64 = 30 * 24 * 3_600_000;

/// One trigger subscription as stored.
#[derive(Clone)]
pub struct Subscription {
    pub id: String,
    pub connection_id: String,
    pub event_type: String,
    pub data_types: Vec<String>,
    /// The flow's callback URL sealed with `Keys::seal_text` (it carries the flow's signature).
    pub sealed_callback: String,
    pub token_sha256: String,
    /// LiveChat's webhook id; `None` while it is being registered.
    pub livechat_webhook_id: Option<String>,
    pub sealed_credentials: String,
    pub created_ms: i64,
    /// When the subscription was closed (unsubscribed, or its flow gone). A closed subscription
    /// takes no new events but its accepted ones are still delivered.
    pub closed_ms: Option<i64>,
    /// On LiveChat API v3, the account it belongs to (`Keys::account_key`): its events come
    /// through the account's shared upstream webhook (or HelpDesk polling). `None` on v2.
    pub account_key: Option<String>,
}

impl Subscription {
    pub fn is_open(&self) -> bool {
        self.closed_ms.is_none()
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("connection_id", &self.connection_id)
            .field("event_type", &self.event_type)
            .field("livechat_webhook_id", &self.livechat_webhook_id)
            .field("closed_ms", &self.closed_ms)
            .field("account_key", &self.account_key)
            .finish_non_exhaustive()
    }
}

/// An event accepted from LiveChat, already normalised for the flow.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub subscription_id: String,
    pub event_type: String,
    pub event_unique_id: String,
    pub payload: String,
    pub next_attempt_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Dead,
    Delivered,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Dead => "dead",
            DeliveryState::Delivered => "delivered",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "dead" => DeliveryState::Dead,
            "delivered" => DeliveryState::Delivered,
            _ => DeliveryState::Pending,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub subscription_id: String,
    pub event_type: String,
    pub event_unique_id: String,
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// When the intake stored it.
    pub created_ms: i64,
    /// When the row last changed (for a dead delivery: when it died; for a pending one: when
    /// its last attempt was recorded, or when it was stored).
    pub updated_ms: i64,
    /// From when this pending delivery stops holding the later ones of its flow; `None` while
    /// it holds them (see `relay::decide`).
    pub releases_flow_at_ms: Option<i64>,
}

impl Delivery {
    /// Whether, pending at `now_ms`, it keeps the later deliveries of its flow waiting.
    pub fn holds_flow(&self, now_ms: i64) -> bool {
        self.state == DeliveryState::Pending && self.releases_flow_at_ms.is_none_or(|t| t > now_ms)
    }
}

/// What became of one attempt, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        at_ms: i64,
    },
    Retry {
        attempts: u32,
        next_attempt_ms: i64,
        status: Option<u16>,
        error: String,
        /// See `Delivery::releases_flow_at_ms`.
        releases_flow_at_ms: Option<i64>,
    },
    Dead {
        attempts: u32,
        status: Option<u16>,
        error: String,
    },
}

/// Open subscriptions, pending and dead deliveries (of open and closed subscriptions alike).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub subscriptions: i64,
    pub pending: i64,
    pub dead: i64,
    /// `created_ms` of the oldest pending delivery.
    pub oldest_pending_ms: Option<i64>,
    /// Pending deliveries waiting behind an earlier one of their flow that holds it.
    pub held: i64,
    /// Pending deliveries whose hold ran out: their flow's later deliveries go on without them.
    pub released: i64,
}

/// A claim on due deliveries: until when, and the random token its outcomes must show.
#[derive(Debug, Clone)]
pub struct Lease {
    pub until_ms: i64,
    pub token: String,
}

/// Whose next delivery `Backend::record_then_claim` leases, and under which lease.
#[derive(Debug, Clone, Copy)]
pub struct NextInFlow<'a> {
    pub subscription_id: &'a str,
    pub lease: &'a Lease,
    /// The caller's attempts in flight (skipped, as by `claim_due`).
    pub busy: &'a [i64],
}

/// What `Backend::record_then_claim` did.
#[derive(Debug, Default)]
pub struct Recorded {
    /// As `Backend::record` answers.
    pub recorded: bool,
    /// The flow's next delivery, leased, when one was claimable.
    pub next: Option<Delivery>,
}

/// Which deliveries `replay` queues again.
#[derive(Debug, Clone)]
pub enum ReplaySelector {
    One(i64),
    AllDead,
}

/// A `subscriptions` row as both backends return it.
#[derive(sqlx::FromRow)]
pub(crate) struct SubscriptionRow {
    id: String,
    connection_id: String,
    event_type: String,
    /// JSON array, as registered at LiveChat.
    data_types: String,
    sealed_callback: String,
    token_sha256: String,
    livechat_webhook_id: Option<String>,
    sealed_credentials: String,
    created_ms: i64,
    closed_ms: Option<i64>,
    account_key: Option<String>,
}

impl TryFrom<SubscriptionRow> for Subscription {
    type Error = StoreError;

    fn try_from(r: SubscriptionRow) -> Result<Self, StoreError> {
        let data_types = serde_json::from_str(&r.data_types)
            .map_err(|e| StoreError::Corrupt(format!("subscription {}: data_types: {e}", r.id)))?;
        Ok(Subscription {
            id: r.id,
            connection_id: r.connection_id,
            event_type: r.event_type,
            data_types,
            sealed_callback: r.sealed_callback,
            token_sha256: r.token_sha256,
            livechat_webhook_id: r.livechat_webhook_id,
            sealed_credentials: r.sealed_credentials,
            created_ms: r.created_ms,
            closed_ms: r.closed_ms,
            account_key: r.account_key,
        })
    }
}

/// A `deliveries` row as both backends return it.
#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    id: i64,
    subscription_id: String,
    event_type: String,
    event_unique_id: String,
    /// NULL once delivered.
    payload: Option<String>,
    state: String,
    attempts: i64,
    next_attempt_ms: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_ms: i64,
    updated_ms: i64,
    releases_flow_at_ms: Option<i64>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;

    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        let state = DeliveryState::parse(&r.state);
        let payload = match (r.payload, state) {
            (Some(p), _) => p,
            (None, DeliveryState::Delivered) => String::new(),
            (None, _) => {
                return Err(StoreError::Corrupt(format!(
                    "delivery {}: no payload while {}",
                    r.id, r.state
                )))
            }
        };
        Ok(Delivery {
            id: r.id,
            subscription_id: r.subscription_id,
            event_type: r.event_type,
            event_unique_id: r.event_unique_id,
            payload,
            state,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            next_attempt_ms: r.next_attempt_ms,
            last_status: r.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: r.last_error,
            created_ms: r.created_ms,
            updated_ms: r.updated_ms,
            releases_flow_at_ms: r.releases_flow_at_ms,
        })
    }
}

/// The columns of `DeliveryRow`, for SELECT and RETURNING lists.
pub(crate) const DELIVERY_COLUMNS: &str =
    "id, subscription_id, event_type, event_unique_id, payload, state, attempts, \
     next_attempt_ms, last_status, last_error, created_ms, updated_ms, releases_flow_at_ms";

/// The columns of `SubscriptionRow`.
pub(crate) const SUBSCRIPTION_COLUMNS: &str =
    "id, connection_id, event_type, data_types, sealed_callback, token_sha256, \
     livechat_webhook_id, sealed_credentials, created_ms, closed_ms, account_key";

pub(crate) fn deliveries(rows: Vec<DeliveryRow>) -> Result<Vec<Delivery>, StoreError> {
    rows.into_iter().map(Delivery::try_from).collect()
}

/// The one LiveChat v3 webhook of an account and trigger, shared by all its subscriptions.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UpstreamWebhook {
    /// Random; the last segment of the intake URL LiveChat was given.
    pub id: String,
    pub account_key: String,
    pub event_type: String,
    /// SHA-256 (hex) of the `secret_key` LiveChat echoes in every delivery.
    pub secret_sha256: String,
    /// `None` while it is being registered.
    pub livechat_webhook_id: Option<String>,
    /// While `livechat_webhook_id` is `None`: until when its claimer may register it. After
    /// that another gateway takes the claim over.
    pub claim_until_ms: i64,
    pub created_ms: i64,
    /// The LiveChat organization this account's deliveries name, once its own credentials
    /// proved it (LiveChat sends an app's webhooks for every account that installed the app).
    pub organization_id: Option<String>,
}

impl fmt::Debug for UpstreamWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamWebhook")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("livechat_webhook_id", &self.livechat_webhook_id)
            .field("claim_until_ms", &self.claim_until_ms)
            .field("organization_id", &self.organization_id)
            .finish_non_exhaustive()
    }
}

pub(crate) const UPSTREAM_WEBHOOK_COLUMNS: &str = "id, account_key, event_type, secret_sha256, \
     livechat_webhook_id, claim_until_ms, created_ms, organization_id";

/// ticket_created on HelpDesk: the newest ticket a connection's subscriptions already got.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketCursor {
    pub connection_id: String,
    /// The high-water mark: the newest `createdAt` (ms) already fired, and the `ID`s of the
    /// tickets fired with that very `createdAt`, space separated (HelpDesk's times may have
    /// whole seconds only).
    pub created_ms: i64,
    pub ticket_ids: String,
    /// When the connection is polled next.
    pub next_poll_ms: i64,
}

pub(crate) const TICKET_CURSOR_COLUMNS: &str =
    "connection_id, created_ms, ticket_ids, next_poll_ms";
