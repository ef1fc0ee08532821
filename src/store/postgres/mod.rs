//! The PostgreSQL backend: the store every replica shares. Schema changes are applied at start
//! by sqlx's migrator, which holds `pg_advisory_lock` (keyed by the database's name) around
//! them, so replicas starting at the same moment on an empty database apply each migration once
//! and the others wait, then find it applied.
//!
//! Workers on every replica share the pending deliveries (`queue`: claims, flow order);
//! every replica hears of new ones at once (`notify`) and takes over the leases of a replica
//! that died as soon as PostgreSQL sees its connection go (`liveness`).

mod liveness;
mod notify;
mod queue;
mod triggers;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::types::{SubscriptionRow, SUBSCRIPTION_COLUMNS};
use super::{
    Backend, Counts, Delivery, Lease, NewDelivery, NextInFlow, Outcome, ReplaySelector, StoreError,
    Subscription, Wake,
};

/// The channel on which a stored (or replayed) delivery is announced to every replica.
const CHANNEL: &str = "livechat_gateway_deliveries";

/// How far this host's clock may be from the database's before start-up warns.
const MAX_CLOCK_SKEW_MS: i64 = 2_000;

/// Connections per replica: the worker's claims and records, intake, admin routes, plus the
/// one the LISTEN task keeps.
const MAX_CONNECTIONS: u32 = 10;

#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    options: PgConnectOptions,
    listener: notify::Task,
    /// Started only by `serve`: the `deliveries` and `check` commands claim nothing.
    liveness: liveness::Liveness,
}

/// Whether `database_url` names a PostgreSQL database.
pub fn is_postgres_url(database_url: &str) -> bool {
    database_url.starts_with("postgres:") || database_url.starts_with("postgresql:")
}

impl PostgresStore {
    pub async fn connect(database_url: &str) -> Result<Self, StoreError> {
        let options = database_url
            .parse::<PgConnectOptions>()?
            .application_name("livechat-gateway");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool,
            options,
            listener: notify::Task::default(),
            liveness: liveness::Liveness::default(),
        })
    }

    /// Opens the store for a serving replica: also shows it alive to the others (see
    /// `liveness`), so they take over its claims the moment it dies.
    pub async fn serve(database_url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(database_url).await?;
        store.liveness.start(store.options.clone()).await?;
        store.warn_if_clock_is_off().await;
        Ok(store)
    }

    /// Replicas judge due times and leases by their own clocks: say so when this host's is
    /// far from the database's (and so, likely, from the other replicas').
    async fn warn_if_clock_is_off(&self) {
        if let Ok(skew) = self.clock_skew_ms().await {
            if let Some(note) = clock_note(skew) {
                log::warn!("{note}");
            }
        }
    }

    /// This host's clock minus the database server's, in ms (a round trip's error).
    async fn clock_skew_ms(&self) -> Result<i64, StoreError> {
        let db: i64 =
            sqlx::query_scalar("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint")
                .fetch_one(&self.pool)
                .await?;
        let here = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Ok(here - db)
    }

    /// Whether this connection to the server is encrypted.
    async fn encrypted(&self) -> Result<bool, StoreError> {
        let ssl: Option<bool> =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_optional(&self.pool)
                .await?;
        Ok(ssl.unwrap_or(false))
    }
}

fn clock_note(skew_ms: i64) -> Option<String> {
    (skew_ms.abs() > MAX_CLOCK_SKEW_MS).then(|| {
        format!(
            "this host's clock is {skew_ms} ms off PostgreSQL's: keep every replica's clock in \
             sync (NTP), or retries go out late and a cut-off replica's deliveries are taken \
             over early"
        )
    })
}

/// What `check` should say about a store reached over `encrypted` or not, on a host that is
/// `local` or not (a socket or loopback address needs no TLS), with this clock skew.
fn observations_of(encrypted: bool, local: bool, skew_ms: i64) -> Vec<String> {
    let mut notes = Vec::new();
    if !encrypted && !local {
        notes.push(
            "the connection to PostgreSQL is not encrypted: add ?sslmode=verify-full to \
             GATEWAY_DATABASE_URL (it carries sealed credentials and every event)"
                .to_string(),
        );
    }
    notes.extend(clock_note(skew_ms));
    notes
}

/// Whether `host` (a name, an address or a socket folder) is this machine.
fn is_local(host: &str) -> bool {
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl PostgresStore {
    /// See `Backend::observations`.
    async fn notes(&self) -> Result<Vec<String>, StoreError> {
        let local = is_local(self.options.get_host());
        Ok(observations_of(
            self.encrypted().await?,
            local,
            self.clock_skew_ms().await?,
        ))
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
        self.liveness.stop();
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
        queue::insert_delivery(&self.pool, d, now_ms).await
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        lease: &Lease,
        busy: &[i64],
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let owner = self.liveness.owner();
        queue::claim_due(&self.pool, now_ms, lease, busy, limit, owner, None).await
    }

    async fn claim_in_flow(
        &self,
        now_ms: i64,
        next: &NextInFlow<'_>,
    ) -> Result<Option<Delivery>, StoreError> {
        let owner = self.liveness.owner();
        let flow = Some(next.subscription_id);
        let mut got =
            queue::claim_due(&self.pool, now_ms, next.lease, next.busy, 1, owner, flow).await?;
        Ok(got.pop())
    }

    async fn renew_lease(&self, token: &str, until_ms: i64) -> Result<u64, StoreError> {
        queue::renew_lease(&self.pool, token, until_ms, self.liveness.owner()).await
    }

    async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        queue::next_due_ms(&self.pool).await
    }

    async fn record(
        &self,
        id: i64,
        lease_token: &str,
        outcome: &Outcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        queue::record(&self.pool, id, lease_token, outcome, now_ms).await
    }

    async fn list_deliveries(&self, dead_only: bool) -> Result<Vec<Delivery>, StoreError> {
        queue::list_deliveries(&self.pool, dead_only).await
    }

    async fn replay(&self, which: &ReplaySelector, now_ms: i64) -> Result<u64, StoreError> {
        queue::replay(&self.pool, which, now_ms).await
    }

    async fn counts(&self, now_ms: i64) -> Result<Counts, StoreError> {
        queue::counts(&self.pool, now_ms).await
    }

    async fn observations(&self) -> Result<Vec<String>, StoreError> {
        self.notes().await
    }

    async fn on_new_delivery(&self, wake: Wake) -> Result<(), StoreError> {
        self.listener.start(&self.pool, CHANNEL, wake).await
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod observation_tests {
    use super::*;

    #[test]
    fn an_unencrypted_remote_database_and_a_skewed_clock_are_named() {
        assert!(observations_of(true, false, 0).is_empty());
        assert!(observations_of(false, true, 1_999).is_empty());
        let remote = observations_of(false, false, 0);
        assert_eq!(remote.len(), 1);
        assert!(remote[0].contains("sslmode=verify-full"), "{remote:?}");
        let skewed = observations_of(true, false, -2_500);
        assert!(skewed[0].contains("-2500 ms off"), "{skewed:?}");
    }

    #[test]
    fn sockets_and_loopback_are_local() {
        for host in [
            "/var/run/postgresql",
            "localhost",
            "127.0.0.1",
            "::1",
            "[::1]",
        ] {
            assert!(is_local(host), "{host}");
        }
        for host in ["db", "10.0.0.5", "gw.postgres.database.azure.com"] {
            assert!(!is_local(host), "{host}");
        }
    }
}
