//! The PostgreSQL backend: the store every replica shares. Schema changes are applied at start
//! by sqlx's migrator, which holds `pg_advisory_lock` (keyed by the database's name) around
//! them, so replicas starting at the same moment on an empty database apply each migration once
//! and the others wait, then find it applied.
//!
//! Workers on every replica share the pending deliveries. A claim is one statement: the due
//! heads of their flows are locked `FOR UPDATE SKIP LOCKED` (a row another replica is claiming
//! at that moment is skipped, never waited for nor taken twice) and stamped with a lease.
//! Flow order needs no lock beyond that: a delivery is a head only while no earlier delivery
//! of its subscription is pending (leased or not, by any replica), and an earlier one stops
//! being pending only when its outcome is recorded, which is final (only an operator's replay
//! makes a dead one pending again). So whatever snapshot a concurrent claim reads, it either
//! still sees the earlier delivery pending and leaves the later one alone, or sees it finished.
//! Two claims racing for the same head are settled by the row lock: the loser skips it, or,
//! reaching it after the winner committed, re-reads the row, finds the fresh lease, and drops it.

mod notify;
mod triggers;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};

use super::types::{
    deliveries, DeliveryRow, SubscriptionRow, DELIVERY_COLUMNS, SUBSCRIPTION_COLUMNS,
};
use super::{
    Backend, Counts, Delivery, Lease, NewDelivery, Outcome, ReplaySelector, StoreError,
    Subscription, TicketCursor, UpstreamWebhook, Wake,
};

/// The channel on which a stored (or replayed) delivery is announced to every replica.
const CHANNEL: &str = "livechat_gateway_deliveries";

/// An earlier pending delivery of the same subscription as `d` (add the condition on `e`).
const EARLIER: &str = "SELECT 1 FROM deliveries e WHERE e.subscription_id = d.subscription_id \
     AND e.state = 'pending' AND e.id < d.id";

/// Connections per replica: the worker's claims and records, intake, admin routes, plus the
/// one the LISTEN task keeps.
const MAX_CONNECTIONS: u32 = 10;

#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    listener: notify::Task,
}

/// Whether `database_url` names a PostgreSQL database.
pub fn is_postgres_url(database_url: &str) -> bool {
    database_url.starts_with("postgres:") || database_url.starts_with("postgresql:")
}

impl PostgresStore {
    pub async fn connect(database_url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = database_url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.application_name("livechat-gateway"))
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool,
            listener: notify::Task::default(),
        })
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Backend for PostgresStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn close(&self) {
        self.listener.stop();
        self.pool.close().await;
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_subscription(&self, s: &Subscription) -> Result<(), StoreError> {
        let data_types = serde_json::to_string(&s.data_types).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO subscriptions (id, connection_id, event_type, data_types, sealed_callback, \
             token_sha256, livechat_webhook_id, sealed_credentials, created_ms, closed_ms, \
             account_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&s.id)
        .bind(&s.connection_id)
        .bind(&s.event_type)
        .bind(data_types)
        .bind(&s.sealed_callback)
        .bind(&s.token_sha256)
        .bind(s.livechat_webhook_id.as_deref())
        .bind(&s.sealed_credentials)
        .bind(s.created_ms)
        .bind(s.closed_ms)
        .bind(s.account_key.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1");
        let row: Option<SubscriptionRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Subscription::try_from).transpose()
    }

    async fn set_webhook_id(&self, id: &str, webhook_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subscriptions SET livechat_webhook_id = $1 WHERE id = $2 AND closed_ms IS NULL",
        )
        .bind(webhook_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_subscription(&self, id: &str) -> Result<bool, StoreError> {
        // Its deliveries go with it (ON DELETE CASCADE), in the same statement.
        let done = sqlx::query("DELETE FROM subscriptions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn close_subscription(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subscriptions SET closed_ms = $1 WHERE id = $2 AND closed_ms IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn drop_deliveries(&self, subscription_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM deliveries WHERE subscription_id = $1 AND state IN ('pending', 'dead')",
        )
        .bind(subscription_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn purge_closed(&self) -> Result<u64, StoreError> {
        // Delivered rows (kept only to de-duplicate LiveChat's redeliveries) go with the row.
        let done = sqlx::query(
            "DELETE FROM subscriptions s WHERE s.closed_ms IS NOT NULL AND NOT EXISTS ( \
               SELECT 1 FROM deliveries d WHERE d.subscription_id = s.id \
               AND d.state IN ('pending', 'dead'))",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn purge_dead(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM deliveries WHERE state = 'dead' AND updated_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn purge_delivered(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM deliveries WHERE state = 'delivered' AND updated_ms < $1")
                .bind(before_ms)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    async fn insert_delivery(&self, d: &NewDelivery, now_ms: i64) -> Result<bool, StoreError> {
        // One statement stores the row and announces it: the NOTIFY is sent on commit, only
        // when a row was inserted (not for a redelivery of a known event).
        let inserted: i64 = sqlx::query_scalar(
            "WITH ins AS (INSERT INTO deliveries (subscription_id, event_type, event_unique_id, \
               payload, next_attempt_ms, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) \
               ON CONFLICT (subscription_id, event_unique_id) DO NOTHING RETURNING id) \
             SELECT COUNT(*) FROM ins, LATERAL pg_notify($7, '')",
        )
        .bind(&d.subscription_id)
        .bind(&d.event_type)
        .bind(&d.event_unique_id)
        .bind(&d.payload)
        .bind(d.next_attempt_ms)
        .bind(now_ms)
        .bind(CHANNEL)
        .fetch_one(&self.pool)
        .await?;
        Ok(inserted > 0)
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        lease: &Lease,
        busy: &[i64],
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        // See the module's comment for why this one statement keeps each flow in order.
        let sql = format!(
            "WITH heads AS MATERIALIZED ( \
               SELECT d.id FROM deliveries d WHERE d.state = 'pending' AND d.next_attempt_ms <= $2 \
               AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $2) \
               AND NOT EXISTS ({EARLIER} AND (e.releases_flow_at_ms IS NULL OR e.releases_flow_at_ms > $2)) \
               AND d.id <> ALL($5) \
               ORDER BY d.next_attempt_ms, d.id LIMIT $3 \
               FOR UPDATE OF d SKIP LOCKED) \
             UPDATE deliveries SET lease_until_ms = $1, lease_token = $4 FROM heads \
             WHERE deliveries.id = heads.id \
             RETURNING {}",
            qualified(DELIVERY_COLUMNS, "deliveries")
        );
        let rows: Vec<DeliveryRow> = sqlx::query_as(&sql)
            .bind(lease.until_ms)
            .bind(now_ms)
            .bind(i64::from(limit))
            .bind(&lease.token)
            .bind(busy)
            .fetch_all(&self.pool)
            .await?;
        deliveries(rows)
    }

    async fn renew_lease(&self, token: &str, until_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET lease_until_ms = $1 WHERE lease_token = $2 AND state = 'pending'",
        )
        .bind(until_ms)
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        // Among deliveries behind no earlier one that holds for good: the latest of their own
        // due time, their lease and the end of the holds before them.
        let sql = format!(
            "SELECT MIN(GREATEST(d.next_attempt_ms, COALESCE(d.lease_until_ms, 0), \
               COALESCE((SELECT MAX(e.releases_flow_at_ms) FROM deliveries e \
                 WHERE e.subscription_id = d.subscription_id AND e.state = 'pending' AND e.id < d.id), 0))) \
             FROM deliveries d WHERE d.state = 'pending' \
             AND NOT EXISTS ({EARLIER} AND e.releases_flow_at_ms IS NULL)"
        );
        let row = sqlx::query(&sql).fetch_one(&self.pool).await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    async fn record(
        &self,
        id: i64,
        lease_token: &str,
        outcome: &Outcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let q = match outcome {
            Outcome::Delivered { at_ms } => sqlx::query(
                "UPDATE deliveries SET state = 'delivered', payload = NULL, attempts = attempts + 1, \
                 lease_until_ms = NULL, lease_token = NULL, last_status = NULL, last_error = NULL, \
                 updated_ms = $1 WHERE id = $2 AND lease_token = $3",
            )
            .bind(at_ms),
            Outcome::Retry {
                attempts,
                next_attempt_ms,
                status,
                error,
                releases_flow_at_ms,
            } => sqlx::query(
                "UPDATE deliveries SET attempts = $1, next_attempt_ms = $2, last_status = $3, \
                 last_error = $4, releases_flow_at_ms = $5, lease_until_ms = NULL, lease_token = NULL, \
                 updated_ms = $6 WHERE id = $7 AND lease_token = $8",
            )
            .bind(i64::from(*attempts))
            .bind(next_attempt_ms)
            .bind(status.map(i64::from))
            .bind(error)
            .bind(releases_flow_at_ms)
            .bind(now_ms),
            Outcome::Dead {
                attempts,
                status,
                error,
            } => sqlx::query(
                "UPDATE deliveries SET state = 'dead', attempts = $1, last_status = $2, last_error = $3, \
                 lease_until_ms = NULL, lease_token = NULL, updated_ms = $4 \
                 WHERE id = $5 AND lease_token = $6",
            )
            .bind(i64::from(*attempts))
            .bind(status.map(i64::from))
            .bind(error)
            .bind(now_ms),
        };
        let q = q.bind(id).bind(lease_token);
        let done = q.execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_deliveries(&self, dead_only: bool) -> Result<Vec<Delivery>, StoreError> {
        let filter = if dead_only {
            "state = 'dead'"
        } else {
            "state IN ('pending', 'dead')"
        };
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {filter} ORDER BY id");
        let rows: Vec<DeliveryRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        deliveries(rows)
    }

    async fn replay(&self, which: &ReplaySelector, now_ms: i64) -> Result<u64, StoreError> {
        // Announced like a new delivery, so a running replica sends it at once (the CLI that
        // replays is a process of its own).
        let set = "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_ms = $1, \
                   releases_flow_at_ms = NULL, lease_until_ms = NULL, lease_token = NULL, updated_ms = $1";
        let announce = "SELECT COUNT(*) FROM re, LATERAL pg_notify($2, '')";
        let (rows, id) = match which {
            ReplaySelector::One(id) => ("id = $3 AND state IN ('pending', 'dead')", Some(*id)),
            ReplaySelector::AllDead => ("state = 'dead'", None),
        };
        let sql = format!("WITH re AS ({set} WHERE {rows} RETURNING id) {announce}");
        let q = sqlx::query_scalar(&sql).bind(now_ms).bind(CHANNEL);
        let q = match id {
            Some(id) => q.bind(id),
            None => q,
        };
        let replayed: i64 = q.fetch_one(&self.pool).await?;
        Ok(u64::try_from(replayed).unwrap_or(0))
    }

    async fn open_subscriptions_of_account(
        &self,
        account_key: &str,
        event_type: &str,
    ) -> Result<Vec<Subscription>, StoreError> {
        triggers::open_subscriptions(&self.pool, "account_key", account_key, event_type).await
    }

    async fn open_subscriptions_of_connection(
        &self,
        connection_id: &str,
        event_type: &str,
    ) -> Result<Vec<Subscription>, StoreError> {
        triggers::open_subscriptions(&self.pool, "connection_id", connection_id, event_type).await
    }

    async fn claim_upstream_webhook(
        &self,
        candidate: &UpstreamWebhook,
        now_ms: i64,
    ) -> Result<UpstreamWebhook, StoreError> {
        triggers::claim_upstream_webhook(&self.pool, candidate, now_ms).await
    }

    async fn upstream_webhook(&self, id: &str) -> Result<Option<UpstreamWebhook>, StoreError> {
        triggers::upstream_webhook(&self.pool, id).await
    }

    async fn set_upstream_webhook_id(
        &self,
        id: &str,
        secret_sha256: &str,
        livechat_webhook_id: &str,
    ) -> Result<bool, StoreError> {
        triggers::set_upstream_webhook_id(&self.pool, id, secret_sha256, livechat_webhook_id).await
    }

    async fn abandon_upstream_claim(
        &self,
        id: &str,
        secret_sha256: &str,
    ) -> Result<bool, StoreError> {
        triggers::abandon_upstream_claim(&self.pool, id, secret_sha256).await
    }

    async fn set_upstream_organization(
        &self,
        id: &str,
        organization_id: &str,
    ) -> Result<bool, StoreError> {
        triggers::set_upstream_organization(&self.pool, id, organization_id).await
    }

    async fn release_unused_upstream_webhook(
        &self,
        account_key: &str,
        event_type: &str,
    ) -> Result<Option<UpstreamWebhook>, StoreError> {
        triggers::release_unused_upstream_webhook(&self.pool, account_key, event_type).await
    }

    async fn insert_ticket_cursor(&self, cursor: &TicketCursor) -> Result<bool, StoreError> {
        triggers::insert_ticket_cursor(&self.pool, cursor).await
    }

    async fn claim_ticket_cursors(
        &self,
        now_ms: i64,
        lease: &Lease,
        limit: u32,
    ) -> Result<Vec<TicketCursor>, StoreError> {
        triggers::claim_ticket_cursors(&self.pool, now_ms, lease, limit).await
    }

    async fn advance_ticket_cursor(
        &self,
        cursor: &TicketCursor,
        lease_token: &str,
    ) -> Result<bool, StoreError> {
        triggers::advance_ticket_cursor(&self.pool, cursor, lease_token).await
    }

    async fn release_unused_ticket_cursor(&self, connection_id: &str) -> Result<bool, StoreError> {
        triggers::release_unused_ticket_cursor(&self.pool, connection_id).await
    }

    async fn counts(&self, now_ms: i64) -> Result<Counts, StoreError> {
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM subscriptions WHERE closed_ms IS NULL), \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'pending'), \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'dead'), \
             (SELECT MIN(created_ms) FROM deliveries WHERE state = 'pending'), \
             (SELECT COUNT(*) FROM deliveries d WHERE d.state = 'pending' AND EXISTS ({EARLIER} \
               AND (e.releases_flow_at_ms IS NULL OR e.releases_flow_at_ms > $1))), \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND releases_flow_at_ms <= $1)"
        );
        let row = sqlx::query(&sql).bind(now_ms).fetch_one(&self.pool).await?;
        Ok(Counts {
            subscriptions: row.try_get(0)?,
            pending: row.try_get(1)?,
            dead: row.try_get(2)?,
            oldest_pending_ms: row.try_get(3)?,
            held: row.try_get(4)?,
            released: row.try_get(5)?,
        })
    }

    async fn on_new_delivery(&self, wake: Wake) -> Result<(), StoreError> {
        self.listener.start(&self.pool, CHANNEL, wake).await
    }
}

/// `a, b` as `t.a, t.b` (RETURNING after UPDATE ... FROM names columns of both tables).
fn qualified(columns: &str, table: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
