//! The SQLite backend: one file (created with its folder on first start), WAL journal and
//! `synchronous=FULL`, so an event acknowledged to LiveChat survives a SIGKILL or power loss.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::group_commit::{Claim, Write, Writer};
use super::types::{
    deliveries, DeliveryRow, SubscriptionRow, DELIVERY_COLUMNS, SUBSCRIPTION_COLUMNS,
};
use super::{
    Backend, Counts, Delivery, Lease, NewDelivery, NextInFlow, Outcome, Recorded, ReplaySelector,
    StoreError, Subscription,
};
use crate::secret::sqlite_path;

/// An earlier pending delivery of the same subscription as `d` (add the condition on `e`).
const EARLIER: &str = "SELECT 1 FROM deliveries e WHERE e.subscription_id = d.subscription_id \
     AND e.state = 'pending' AND e.id < d.id";

/// Each flow's pending deliveries `d` up to its first one `h` for which `holds` is true (all
/// of them when none is). Read from the subscriptions, the fronts of the flows cost a few rows
/// each; the same filter as a NOT EXISTS per delivery read every backlog whole, on every claim
/// and every poll. CROSS JOIN keeps SQLite's planner to that order.
fn fronts(holds: &str) -> String {
    format!(
        "subscriptions s CROSS JOIN deliveries d ON d.subscription_id = s.id \
         AND d.state = 'pending' AND d.id <= COALESCE((SELECT MIN(h.id) FROM deliveries h \
         WHERE h.subscription_id = s.id AND h.state = 'pending' AND ({holds})), {})",
        i64::MAX
    )
}

/// The file holds sealed callback URLs and credentials, intake token hashes and the events
/// themselves: readable by the gateway's user only. SQLite gives its -wal and -shm files the
/// same mode.
fn owner_only(file: &std::path::Path) {
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let path = std::path::PathBuf::from(name);
        if !path.exists() {
            continue;
        }
        if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
            log::warn!("cannot restrict {} to its owner: {e}", path.display());
        }
    }
}

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    file: Option<std::path::PathBuf>,
    /// Held while this process serves the file (see `take_over`).
    owner: std::sync::Arc<std::sync::Mutex<Option<std::fs::File>>>,
    /// Every delivery write goes through it (group commit).
    writer: Writer,
}

impl SqliteStore {
    pub async fn connect(database_url: &str) -> Result<Self, StoreError> {
        let file = sqlite_path(database_url);
        if let Some(dir) = file
            .as_ref()
            .and_then(|f| f.parent())
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Setup(format!("cannot create the folder {}: {e}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        // An in-memory database lives in one connection only.
        let max = if file.is_some() { 4 } else { 1 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            // Generous: opening a file (WAL set-up, migrations, fsync) can be slow on a busy disk.
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        if let Some(f) = &file {
            owner_only(f);
        }
        Ok(Self {
            writer: Writer::start(pool.clone()),
            pool,
            file,
            owner: Default::default(),
        })
    }

    /// Makes this process the one that serves the file: an exclusive lock beside it (released
    /// by the OS when the process dies, even by SIGKILL), then every lease still in the file
    /// is released, since only a dead predecessor can hold one. Without this, an event leased
    /// by a killed gateway would wait for its lease to run out.
    pub async fn take_over(&self) -> Result<(), StoreError> {
        if let Some(file) = &self.file {
            let mut name = file.as_os_str().to_owned();
            name.push(".lock");
            let path = std::path::PathBuf::from(name);
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| StoreError::Setup(format!("cannot open {}: {e}", path.display())))?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Setup(format!(
                    "another livechat-gateway is serving {}: one SQLite file serves one gateway",
                    file.display()
                )))
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StoreError::Setup(format!(
                        "cannot lock {}: {e}",
                        path.display()
                    )))
                }
            }
            *self.owner.lock().unwrap_or_else(|p| p.into_inner()) = Some(lock);
        }
        let released = sqlx::query(
            "UPDATE deliveries SET lease_until_ms = NULL, lease_token = NULL \
             WHERE lease_until_ms IS NOT NULL",
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        if released > 0 {
            log::info!("released {released} delivery lease(s) left by a previous run");
        }
        sqlx::query(
            "UPDATE ticket_cursors SET lease_until_ms = NULL, lease_token = NULL \
             WHERE lease_until_ms IS NOT NULL",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Backend for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn close(&self) {
        self.pool.close().await;
        // Another gateway may serve the file now.
        self.owner.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_subscription(&self, s: &Subscription) -> Result<(), StoreError> {
        let data_types = serde_json::to_string(&s.data_types).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO subscriptions (id, connection_id, event_type, data_types, sealed_callback, token_sha256, \
             livechat_webhook_id, sealed_credentials, created_ms, closed_ms, account_key) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?");
        let row: Option<SubscriptionRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Subscription::try_from).transpose()
    }

    async fn set_webhook_id(&self, id: &str, webhook_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subscriptions SET livechat_webhook_id = ? WHERE id = ? AND closed_ms IS NULL",
        )
        .bind(webhook_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn close_subscription(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subscriptions SET closed_ms = ? WHERE id = ? AND closed_ms IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn drop_deliveries(&self, subscription_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM deliveries WHERE subscription_id = ? AND state IN ('pending', 'dead')",
        )
        .bind(subscription_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn purge_closed(&self) -> Result<u64, StoreError> {
        // Delivered rows (kept only to de-duplicate LiveChat's redeliveries) go with the row.
        let done = sqlx::query(
            "DELETE FROM subscriptions WHERE closed_ms IS NOT NULL AND NOT EXISTS ( \
               SELECT 1 FROM deliveries d WHERE d.subscription_id = subscriptions.id \
               AND d.state IN ('pending', 'dead'))",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn purge_dead(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM deliveries WHERE state = 'dead' AND updated_ms < ?")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_subscription(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM deliveries WHERE subscription_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM subscriptions WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(gone.rows_affected() > 0)
    }

    async fn insert_delivery(&self, d: &NewDelivery, now_ms: i64) -> Result<bool, StoreError> {
        let insert = Write::Insert {
            delivery: d.clone(),
            now_ms,
        };
        Ok(self.writer.write(insert).await?.changed)
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        lease: &Lease,
        busy: &[i64],
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let claim = Claim {
            now_ms,
            lease: lease.clone(),
            busy: busy.to_vec(),
            limit,
            flow: None,
        };
        Ok(self.writer.write(Write::Claim(claim)).await?.claimed)
    }

    async fn claim_in_flow(
        &self,
        now_ms: i64,
        next: &NextInFlow<'_>,
    ) -> Result<Option<Delivery>, StoreError> {
        let claim = Write::Claim(flow_claim(now_ms, next));
        Ok(self.writer.write(claim).await?.claimed.pop())
    }

    async fn renew_lease(&self, token: &str, until_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET lease_until_ms = ? WHERE lease_token = ? AND state = 'pending'",
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
            "SELECT MIN(MAX(d.next_attempt_ms, COALESCE(d.lease_until_ms, 0), \
               COALESCE((SELECT MAX(e.releases_flow_at_ms) FROM deliveries e \
                 WHERE e.subscription_id = d.subscription_id AND e.state = 'pending' AND e.id < d.id), 0))) \
             FROM {}",
            fronts("h.releases_flow_at_ms IS NULL")
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
        let record = record_write(id, lease_token, outcome, now_ms, None);
        Ok(self.writer.write(record).await?.changed)
    }

    /// One commit for both, so a busy flow costs one fsync per delivery.
    async fn record_then_claim(
        &self,
        id: i64,
        lease_token: &str,
        outcome: &Outcome,
        now_ms: i64,
        next: &NextInFlow<'_>,
    ) -> Result<Recorded, StoreError> {
        let then = Some(flow_claim(now_ms, next));
        let record = record_write(id, lease_token, outcome, now_ms, then);
        let done = self.writer.write(record).await?;
        Ok(Recorded {
            recorded: done.changed,
            next: done.claimed.into_iter().next(),
        })
    }

    async fn purge_delivered(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM deliveries WHERE state = 'delivered' AND updated_ms < ?")
                .bind(before_ms)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
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
        let set = "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_ms = ?1, \
                   releases_flow_at_ms = NULL, lease_until_ms = NULL, lease_token = NULL, updated_ms = ?1";
        let done = match which {
            ReplaySelector::One(id) => {
                sqlx::query(&format!(
                    "{set} WHERE id = ?2 AND state IN ('pending', 'dead')"
                ))
                .bind(now_ms)
                .bind(id)
                .execute(&self.pool)
                .await?
            }
            ReplaySelector::AllDead => {
                sqlx::query(&format!("{set} WHERE state = 'dead'"))
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected())
    }

    async fn counts(&self, now_ms: i64) -> Result<Counts, StoreError> {
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM subscriptions WHERE closed_ms IS NULL), \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'pending'), \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'dead'), \
             (SELECT MIN(created_ms) FROM deliveries WHERE state = 'pending'), \
             (SELECT COUNT(*) FROM deliveries d WHERE d.state = 'pending' AND EXISTS ({EARLIER} \
               AND (e.releases_flow_at_ms IS NULL OR e.releases_flow_at_ms > ?1))), \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND releases_flow_at_ms <= ?1)"
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
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// An outcome for the group commit, with the claim to make if it is recorded.
fn record_write(
    id: i64,
    lease_token: &str,
    outcome: &Outcome,
    now_ms: i64,
    then: Option<Claim>,
) -> Write {
    Write::Record {
        id,
        lease_token: lease_token.into(),
        outcome: outcome.clone(),
        now_ms,
        then,
    }
}

/// Stores an event once per (subscription, event_unique_id).
pub(super) fn insert_delivery_query(d: &NewDelivery, now_ms: i64) -> Query<'_> {
    sqlx::query(
        "INSERT INTO deliveries (subscription_id, event_type, event_unique_id, payload, next_attempt_ms, \
         created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (subscription_id, event_unique_id) DO NOTHING",
    )
    .bind(&d.subscription_id)
    .bind(&d.event_type)
    .bind(&d.event_unique_id)
    .bind(&d.payload)
    .bind(d.next_attempt_ms)
    .bind(now_ms)
    .bind(now_ms)
}

fn flow_claim(now_ms: i64, next: &NextInFlow<'_>) -> Claim {
    Claim {
        now_ms,
        lease: next.lease.clone(),
        busy: next.busy.to_vec(),
        limit: 1,
        flow: Some(next.subscription_id.to_string()),
    }
}

/// Leases what `claim` asks for: the due deliveries no earlier one of their flow holds back,
/// oldest due first; within one flow, in the flow's order.
pub(super) async fn claim(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    claim: &Claim,
) -> Result<Vec<Delivery>, StoreError> {
    let (only, order) = match claim.flow {
        Some(_) => ("AND s.id = ?6", "d.id"),
        None => ("", "d.next_attempt_ms, d.id"),
    };
    let sql = format!(
        "UPDATE deliveries SET lease_until_ms = ?1, lease_token = ?4 WHERE id IN ( \
           SELECT d.id FROM {} \
           WHERE d.next_attempt_ms <= ?2 {only} \
           AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= ?2) \
           AND d.id NOT IN (SELECT value FROM json_each(?5)) \
           ORDER BY {order} LIMIT ?3) \
         RETURNING {DELIVERY_COLUMNS}",
        fronts("h.releases_flow_at_ms IS NULL OR h.releases_flow_at_ms > ?2")
    );
    let busy = serde_json::to_string(&claim.busy).unwrap_or_else(|_| "[]".into());
    let query = sqlx::query_as::<_, DeliveryRow>(&sql)
        .bind(claim.lease.until_ms)
        .bind(claim.now_ms)
        .bind(i64::from(claim.limit))
        .bind(&claim.lease.token)
        .bind(busy);
    let query = match &claim.flow {
        Some(flow) => query.bind(flow),
        None => query,
    };
    deliveries(query.fetch_all(&mut **tx).await?)
}

/// An attempt's outcome, if `lease_token` still holds the delivery.
pub(super) fn record_query<'q>(
    id: i64,
    lease_token: &'q str,
    outcome: &'q Outcome,
    now_ms: i64,
) -> Query<'q> {
    let q = match outcome {
            Outcome::Delivered { at_ms } => sqlx::query(
                "UPDATE deliveries SET state = 'delivered', payload = NULL, attempts = attempts + 1, \
                 lease_until_ms = NULL, lease_token = NULL, last_status = NULL, last_error = NULL, updated_ms = ? \
                 WHERE id = ? AND lease_token = ?",
            )
            .bind(at_ms),
            Outcome::Retry {
                attempts,
                next_attempt_ms,
                status,
                error,
                releases_flow_at_ms,
            } => sqlx::query(
                "UPDATE deliveries SET attempts = ?, next_attempt_ms = ?, last_status = ?, last_error = ?, \
                 releases_flow_at_ms = ?, lease_until_ms = NULL, lease_token = NULL, updated_ms = ? \
                 WHERE id = ? AND lease_token = ?",
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
                "UPDATE deliveries SET state = 'dead', attempts = ?, last_status = ?, last_error = ?, \
                 lease_until_ms = NULL, lease_token = NULL, updated_ms = ? WHERE id = ? AND lease_token = ?",
            )
            .bind(i64::from(*attempts))
            .bind(status.map(i64::from))
            .bind(error)
            .bind(now_ms),
        };
    q.bind(id).bind(lease_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file written by a release that had only the first migration keeps its rows, with
    /// the blanks it used for "none" turned into NULL.
    #[actix_web::test]
    async fn an_existing_file_is_migrated_in_place() {
        let dir = std::env::temp_dir().join(format!("lcgw-migrate-{}", rand::random::<u64>()));
        std::fs::create_dir_all(dir.join("first")).unwrap();
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/sqlite/20250101000001_relay.sql"
            ),
            dir.join("first/20250101000001_relay.sql"),
        )
        .unwrap();
        let url = format!("sqlite://{}/gateway.db", dir.display());
        {
            let options = SqliteConnectOptions::from_str(&url)
                .unwrap()
                .create_if_missing(true);
            let pool = SqlitePool::connect_with(options).await.unwrap();
            let first = sqlx::migrate::Migrator::new(dir.join("first"))
                .await
                .unwrap();
            first.run(&pool).await.unwrap();
            sqlx::query(
                "INSERT INTO subscriptions VALUES ('s1', 'c', 'chat_started', '[\"chat\"]', 'v1.cb', \
                 '00', '', 'v1.x', 1, NULL)",
            )
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO deliveries (subscription_id, event_type, event_unique_id, payload, state, \
                 next_attempt_ms, created_ms, updated_ms) VALUES \
                 ('s1', 'chat_started', 'a', '', 'delivered', 1, 1, 1), \
                 ('s1', 'chat_started', 'b', '{\"x\":1}', 'pending', 1, 1, 1)",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        let store = SqliteStore::connect(&url).await.unwrap();
        let sub = store.subscription("s1").await.unwrap().unwrap();
        assert_eq!(sub.livechat_webhook_id, None);
        assert_eq!(sub.sealed_callback, "v1.cb");
        let pending = store.list_deliveries(false).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].payload, "{\"x\":1}");
        let blank: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'delivered' AND payload IS NULL",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!(blank, 1);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
