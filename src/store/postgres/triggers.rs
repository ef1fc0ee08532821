//! PostgreSQL's raw queries for triggers on LiveChat API v3: the shared upstream webhooks, the
//! subscriptions they fan out to, and HelpDesk's ticket cursors (`TriggerStore` for
//! `PostgresStore`). Replicas race for the same rows; each statement settles its race by row locks.

use async_trait::async_trait;
use sqlx::PgPool;

use super::PostgresStore;

use crate::store::types::{
    SubscriptionRow, SUBSCRIPTION_COLUMNS, TICKET_CURSOR_COLUMNS, UPSTREAM_WEBHOOK_COLUMNS,
};
use crate::store::{Lease, StoreError, Subscription, TicketCursor, TriggerStore, UpstreamWebhook};

/// `column` is one of two fixed names, never input.
async fn open_subscriptions(
    pool: &PgPool,
    column: &'static str,
    value: &str,
    event_type: &str,
) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE {column} = $1 AND event_type = $2 \
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
impl TriggerStore for PostgresStore {
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
        "INSERT INTO upstream_webhooks ({UPSTREAM_WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4, NULL, $5, $6, NULL) \
         ON CONFLICT (account_key, event_type) DO UPDATE SET \
           secret_sha256 = excluded.secret_sha256, claim_until_ms = excluded.claim_until_ms \
         WHERE upstream_webhooks.livechat_webhook_id IS NULL AND upstream_webhooks.claim_until_ms <= $7"
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
         WHERE account_key = $1 AND event_type = $2"
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
        let sql = format!("SELECT {UPSTREAM_WEBHOOK_COLUMNS} FROM upstream_webhooks WHERE id = $1");
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
            "UPDATE upstream_webhooks SET livechat_webhook_id = $1 \
         WHERE id = $2 AND secret_sha256 = $3 AND livechat_webhook_id IS NULL",
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
        "DELETE FROM upstream_webhooks WHERE account_key = $1 AND event_type = $2 AND NOT EXISTS ( \
           SELECT 1 FROM subscriptions s WHERE s.account_key = $1 AND s.event_type = $2 \
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
            "INSERT INTO ticket_cursors ({TICKET_CURSOR_COLUMNS}) VALUES ($1, $2, $3, $4) \
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
        "UPDATE ticket_cursors SET lease_until_ms = $1, lease_token = $2 WHERE connection_id IN ( \
           SELECT connection_id FROM ticket_cursors WHERE next_poll_ms <= $3 \
           AND (lease_until_ms IS NULL OR lease_until_ms <= $3) \
           ORDER BY next_poll_ms, connection_id LIMIT $4 FOR UPDATE SKIP LOCKED) \
         AND (lease_until_ms IS NULL OR lease_until_ms <= $3) \
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
            "UPDATE ticket_cursors SET created_ms = $1, ticket_ids = $2, next_poll_ms = $3, \
         lease_until_ms = NULL, lease_token = NULL WHERE connection_id = $4 AND lease_token = $5",
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
            "DELETE FROM ticket_cursors WHERE connection_id = $1 AND NOT EXISTS ( \
           SELECT 1 FROM subscriptions s WHERE s.connection_id = $1 \
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
        "UPDATE upstream_webhooks SET organization_id = $1 WHERE id = $2 AND organization_id IS NULL",
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
         WHERE id = $1 AND secret_sha256 = $2 AND livechat_webhook_id IS NULL",
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
         WHERE id = $1 AND livechat_webhook_id = $2",
        )
        .bind(id)
        .bind(livechat_webhook_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
