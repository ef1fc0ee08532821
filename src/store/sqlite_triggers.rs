//! SQLite's raw queries for triggers on LiveChat API v3: the shared upstream webhooks, the
//! subscriptions they fan out to, and HelpDesk's ticket cursors (`TriggerStore` for `SqliteStore`).

use async_trait::async_trait;
use sqlx::SqlitePool;

use super::SqliteStore;

use super::types::{
    SubscriptionRow, SUBSCRIPTION_COLUMNS, TICKET_CURSOR_COLUMNS, UPSTREAM_WEBHOOK_COLUMNS,
};
use super::{Lease, StoreError, Subscription, TicketCursor, TriggerStore, UpstreamWebhook};

/// `column` is one of two fixed names, never input.
async fn open_subscriptions(
    pool: &SqlitePool,
    column: &'static str,
    value: &str,
    event_type: &str,
) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE {column} = ? AND event_type = ? \
         AND closed_ms IS NULL ORDER BY created_ms, id"
    );
    let rows: Vec<SubscriptionRow> = sqlx::query_as(&sql)
        .bind(value)
        .bind(event_type)
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(Subscription::try_from).collect()
}

#[async_trait]
impl TriggerStore for SqliteStore {
    async fn open_subscriptions_of_account(
        &self,
        account_key: &str,
        event_type: &str,
    ) -> Result<Vec<Subscription>, StoreError> {
        open_subscriptions(&self.pool, "account_key", account_key, event_type).await
    }

    async fn open_subscriptions_of_connection(
        &self,
        connection_id: &str,
        event_type: &str,
    ) -> Result<Vec<Subscription>, StoreError> {
        open_subscriptions(&self.pool, "connection_id", connection_id, event_type).await
    }

    async fn claim_upstream_webhook(
        &self,
        c: &UpstreamWebhook,
        now_ms: i64,
    ) -> Result<UpstreamWebhook, StoreError> {
        let sql = format!(
        "INSERT INTO upstream_webhooks ({UPSTREAM_WEBHOOK_COLUMNS}) VALUES (?, ?, ?, ?, NULL, ?, ?, NULL) \
         ON CONFLICT (account_key, event_type) DO UPDATE SET \
           secret_sha256 = excluded.secret_sha256, claim_until_ms = excluded.claim_until_ms \
         WHERE upstream_webhooks.livechat_webhook_id IS NULL AND upstream_webhooks.claim_until_ms <= ?"
    );
        sqlx::query(&sql)
            .bind(&c.id)
            .bind(&c.account_key)
            .bind(&c.event_type)
            .bind(&c.secret_sha256)
            .bind(c.claim_until_ms)
            .bind(c.created_ms)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        let sql = format!(
            "SELECT {UPSTREAM_WEBHOOK_COLUMNS} FROM upstream_webhooks \
         WHERE account_key = ? AND event_type = ?"
        );
        let row: Option<UpstreamWebhook> = sqlx::query_as(&sql)
            .bind(&c.account_key)
            .bind(&c.event_type)
            .fetch_optional(&self.pool)
            .await?;
        // Released between the two statements: another claim will find it gone and start again.
        row.ok_or_else(|| StoreError::Corrupt("upstream webhook row vanished while claimed".into()))
    }

    async fn upstream_webhook(&self, id: &str) -> Result<Option<UpstreamWebhook>, StoreError> {
        let sql = format!("SELECT {UPSTREAM_WEBHOOK_COLUMNS} FROM upstream_webhooks WHERE id = ?");
        Ok(sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_upstream_webhook_id(
        &self,
        id: &str,
        secret_sha256: &str,
        livechat_webhook_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE upstream_webhooks SET livechat_webhook_id = ? \
         WHERE id = ? AND secret_sha256 = ? AND livechat_webhook_id IS NULL",
        )
        .bind(livechat_webhook_id)
        .bind(id)
        .bind(secret_sha256)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn release_unused_upstream_webhook(
        &self,
        account_key: &str,
        event_type: &str,
    ) -> Result<Option<UpstreamWebhook>, StoreError> {
        let sql = format!(
        "DELETE FROM upstream_webhooks WHERE account_key = ?1 AND event_type = ?2 AND NOT EXISTS ( \
           SELECT 1 FROM subscriptions s WHERE s.account_key = ?1 AND s.event_type = ?2 \
           AND s.closed_ms IS NULL) \
         RETURNING {UPSTREAM_WEBHOOK_COLUMNS}"
    );
        Ok(sqlx::query_as(&sql)
            .bind(account_key)
            .bind(event_type)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn insert_ticket_cursor(&self, c: &TicketCursor) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO ticket_cursors ({TICKET_CURSOR_COLUMNS}) VALUES (?, ?, ?, ?) \
         ON CONFLICT (connection_id) DO NOTHING"
        );
        let done = sqlx::query(&sql)
            .bind(&c.connection_id)
            .bind(c.created_ms)
            .bind(&c.ticket_ids)
            .bind(c.next_poll_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn claim_ticket_cursors(
        &self,
        now_ms: i64,
        lease: &Lease,
        limit: u32,
    ) -> Result<Vec<TicketCursor>, StoreError> {
        let sql = format!(
        "UPDATE ticket_cursors SET lease_until_ms = ?1, lease_token = ?2 WHERE connection_id IN ( \
           SELECT connection_id FROM ticket_cursors WHERE next_poll_ms <= ?3 \
           AND (lease_until_ms IS NULL OR lease_until_ms <= ?3) \
           ORDER BY next_poll_ms, connection_id LIMIT ?4) \
         RETURNING {TICKET_CURSOR_COLUMNS}"
    );
        Ok(sqlx::query_as(&sql)
            .bind(lease.until_ms)
            .bind(&lease.token)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn advance_ticket_cursor(
        &self,
        c: &TicketCursor,
        lease_token: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE ticket_cursors SET created_ms = ?, ticket_ids = ?, next_poll_ms = ?, \
         lease_until_ms = NULL, lease_token = NULL WHERE connection_id = ? AND lease_token = ?",
        )
        .bind(c.created_ms)
        .bind(&c.ticket_ids)
        .bind(c.next_poll_ms)
        .bind(&c.connection_id)
        .bind(lease_token)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn release_unused_ticket_cursor(&self, connection_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM ticket_cursors WHERE connection_id = ?1 AND NOT EXISTS ( \
           SELECT 1 FROM subscriptions s WHERE s.connection_id = ?1 \
           AND s.event_type = 'ticket_created' AND s.closed_ms IS NULL)",
        )
        .bind(connection_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_upstream_organization(
        &self,
        id: &str,
        organization_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
        "UPDATE upstream_webhooks SET organization_id = ? WHERE id = ? AND organization_id IS NULL",
    )
    .bind(organization_id)
    .bind(id)
    .execute(&self.pool)
    .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn abandon_upstream_claim(
        &self,
        id: &str,
        secret_sha256: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE upstream_webhooks SET claim_until_ms = 0 \
         WHERE id = ? AND secret_sha256 = ? AND livechat_webhook_id IS NULL",
        )
        .bind(id)
        .bind(secret_sha256)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn forget_upstream_webhook(
        &self,
        id: &str,
        livechat_webhook_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE upstream_webhooks SET livechat_webhook_id = NULL, claim_until_ms = 0 \
         WHERE id = ? AND livechat_webhook_id = ?",
        )
        .bind(id)
        .bind(livechat_webhook_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
