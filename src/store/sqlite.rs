//! The SQLite backend: one file (created with its folder on first start), WAL journal and
//! `synchronous=FULL`, so an event acknowledged to LiveChat survives a SIGKILL or power loss.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::{
    Counts, Delivery, DeliveryState, Lease, NewDelivery, Outcome, ReplaySelector, StoreError,
    Subscription,
};
use crate::secret::sqlite_path;

const DELIVERY_COLUMNS: &str =
    "id, subscription_id, event_type, event_unique_id, payload, state, attempts, \
     next_attempt_ms, last_status, last_error, created_ms, updated_ms, releases_flow_at_ms";

const SUBSCRIPTION_COLUMNS: &str =
    "id, connection_id, event_type, data_types, callback_url, token_sha256, livechat_webhook_id, \
     sealed_credentials, created_ms, closed_ms";

/// An earlier pending delivery of the same subscription as `d` (add the condition on `e`).
const EARLIER: &str = "SELECT 1 FROM deliveries e WHERE e.subscription_id = d.subscription_id \
     AND e.state = 'pending' AND e.id < d.id";

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
    pool: SqlitePool,
    file: Option<std::path::PathBuf>,
    /// Held while this process serves the file (see `take_over`).
    owner: std::sync::Arc<std::sync::Mutex<Option<std::fs::File>>>,
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
            .acquire_timeout(Duration::from_secs(15))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        if let Some(f) = &file {
            owner_only(f);
        }
        Ok(Self {
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
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn insert_subscription(&self, s: &Subscription) -> Result<(), StoreError> {
        let data_types = serde_json::to_string(&s.data_types).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO subscriptions (id, connection_id, event_type, data_types, callback_url, token_sha256, \
             livechat_webhook_id, sealed_credentials, created_ms, closed_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id)
        .bind(&s.connection_id)
        .bind(&s.event_type)
        .bind(data_types)
        .bind(&s.sealed_callback)
        .bind(&s.token_sha256)
        .bind(s.livechat_webhook_id.as_deref().unwrap_or(""))
        .bind(&s.sealed_credentials)
        .bind(s.created_ms)
        .bind(s.closed_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| subscription_from(&r)).transpose()
    }

    pub async fn set_webhook_id(&self, id: &str, webhook_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subscriptions SET livechat_webhook_id = ? WHERE id = ? AND closed_ms IS NULL",
        )
        .bind(webhook_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn close_subscription(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subscriptions SET closed_ms = ? WHERE id = ? AND closed_ms IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn drop_deliveries(&self, subscription_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM deliveries WHERE subscription_id = ? AND state IN ('pending', 'dead')",
        )
        .bind(subscription_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn purge_closed(&self) -> Result<u64, StoreError> {
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

    pub async fn purge_dead(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM deliveries WHERE state = 'dead' AND updated_ms < ?")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn delete_subscription(&self, id: &str) -> Result<bool, StoreError> {
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

    pub async fn insert_delivery(&self, d: &NewDelivery, now_ms: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
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
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease: &Lease,
        busy: &[i64],
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "UPDATE deliveries SET lease_until_ms = ?1, lease_token = ?4 WHERE id IN ( \
               SELECT d.id FROM deliveries d WHERE d.state = 'pending' AND d.next_attempt_ms <= ?2 \
               AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= ?2) \
               AND NOT EXISTS ({EARLIER} AND (e.releases_flow_at_ms IS NULL OR e.releases_flow_at_ms > ?2)) \
               AND d.id NOT IN (SELECT value FROM json_each(?5)) \
               ORDER BY d.next_attempt_ms, d.id LIMIT ?3) \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let busy = serde_json::to_string(busy).unwrap_or_else(|_| "[]".into());
        let rows = sqlx::query(&sql)
            .bind(lease.until_ms)
            .bind(now_ms)
            .bind(i64::from(limit))
            .bind(&lease.token)
            .bind(busy)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery_from).collect()
    }

    pub async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        // Among deliveries behind no earlier one that holds for good: the latest of their own
        // due time, their lease and the end of the holds before them.
        let sql = format!(
            "SELECT MIN(MAX(d.next_attempt_ms, COALESCE(d.lease_until_ms, 0), \
               COALESCE((SELECT MAX(e.releases_flow_at_ms) FROM deliveries e \
                 WHERE e.subscription_id = d.subscription_id AND e.state = 'pending' AND e.id < d.id), 0))) \
             FROM deliveries d WHERE d.state = 'pending' \
             AND NOT EXISTS ({EARLIER} AND e.releases_flow_at_ms IS NULL)"
        );
        let row = sqlx::query(&sql).fetch_one(&self.pool).await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    pub async fn record(
        &self,
        id: i64,
        lease_token: &str,
        outcome: &Outcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let q = match outcome {
            Outcome::Delivered { at_ms } => sqlx::query(
                "UPDATE deliveries SET state = 'delivered', payload = '', attempts = attempts + 1, \
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
        let done = q.bind(id).bind(lease_token).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn purge_delivered(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM deliveries WHERE state = 'delivered' AND updated_ms < ?")
                .bind(before_ms)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    pub async fn list_deliveries(&self, dead_only: bool) -> Result<Vec<Delivery>, StoreError> {
        let filter = if dead_only {
            "state = 'dead'"
        } else {
            "state IN ('pending', 'dead')"
        };
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {filter} ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(delivery_from).collect()
    }

    pub async fn replay(&self, which: &ReplaySelector, now_ms: i64) -> Result<u64, StoreError> {
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

    pub async fn counts(&self, now_ms: i64) -> Result<Counts, StoreError> {
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

fn subscription_from(r: &SqliteRow) -> Result<Subscription, StoreError> {
    let data_types: String = r.try_get("data_types")?;
    Ok(Subscription {
        id: r.try_get("id")?,
        connection_id: r.try_get("connection_id")?,
        event_type: r.try_get("event_type")?,
        data_types: serde_json::from_str(&data_types).unwrap_or_default(),
        sealed_callback: r.try_get("callback_url")?,
        token_sha256: r.try_get("token_sha256")?,
        livechat_webhook_id: Some(r.try_get::<String, _>("livechat_webhook_id")?)
            .filter(|w| !w.is_empty()),
        sealed_credentials: r.try_get("sealed_credentials")?,
        created_ms: r.try_get("created_ms")?,
        closed_ms: r.try_get("closed_ms")?,
    })
}

fn delivery_from(r: &SqliteRow) -> Result<Delivery, StoreError> {
    let state: String = r.try_get("state")?;
    let attempts: i64 = r.try_get("attempts")?;
    let status: Option<i64> = r.try_get("last_status")?;
    Ok(Delivery {
        id: r.try_get("id")?,
        subscription_id: r.try_get("subscription_id")?,
        event_type: r.try_get("event_type")?,
        event_unique_id: r.try_get("event_unique_id")?,
        payload: r.try_get("payload")?,
        state: DeliveryState::parse(&state),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_ms: r.try_get("next_attempt_ms")?,
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_error: r.try_get("last_error")?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
        releases_flow_at_ms: r.try_get("releases_flow_at_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: &str) -> Subscription {
        Subscription {
            id: id.into(),
            connection_id: "conn".into(),
            event_type: "chat_started".into(),
            data_types: vec!["chat".into()],
            sealed_callback: "v1.cb".into(),
            token_sha256: "00".into(),
            livechat_webhook_id: Some("lc".into()),
            sealed_credentials: "v1.x".into(),
            created_ms: 1,
            closed_ms: None,
        }
    }

    fn event(sub: &str, uid: &str, at: i64) -> NewDelivery {
        NewDelivery {
            subscription_id: sub.into(),
            event_type: "chat_started".into(),
            event_unique_id: uid.into(),
            payload: "{}".into(),
            next_attempt_ms: at,
        }
    }

    #[actix_web::test]
    async fn claims_heads_in_order_dedupes_and_replays() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.insert_subscription(&sub("a")).await.unwrap();
        store.insert_subscription(&sub("b")).await.unwrap();
        assert!(store
            .insert_delivery(&event("a", "1", 10), 10)
            .await
            .unwrap());
        assert!(!store
            .insert_delivery(&event("a", "1", 10), 10)
            .await
            .unwrap());
        assert!(store
            .insert_delivery(&event("a", "2", 10), 10)
            .await
            .unwrap());
        assert!(store
            .insert_delivery(&event("b", "1", 50), 10)
            .await
            .unwrap());

        let lease = |until_ms: i64, token: &str| Lease {
            until_ms,
            token: token.into(),
        };
        let got = store
            .claim_due(20, &lease(100, "t1"), &[], 16)
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "only a's head is due");
        assert_eq!(got[0].event_unique_id, "1");
        assert!(
            store
                .claim_due(20, &lease(100, "t2"), &[], 16)
                .await
                .unwrap()
                .is_empty(),
            "leased"
        );
        assert_eq!(store.next_due_ms().await.unwrap(), Some(50));

        let retry = Outcome::Retry {
            attempts: 1,
            next_attempt_ms: 60,
            status: Some(500),
            error: "HTTP 500".into(),
            releases_flow_at_ms: None,
        };
        assert!(
            !store.record(got[0].id, "t2", &retry, 20).await.unwrap(),
            "not the lease holder"
        );
        assert!(store.record(got[0].id, "t1", &retry, 20).await.unwrap());
        assert!(
            !store.record(got[0].id, "t1", &retry, 20).await.unwrap(),
            "the lease is released"
        );
        let busy = [got[0].id];
        let due = store
            .claim_due(60, &lease(200, "t3"), &busy, 16)
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "a is busy: only b");
        assert_eq!(due[0].subscription_id, "b");
        let a_head = store
            .claim_due(60, &lease(200, "t3"), &[], 16)
            .await
            .unwrap();
        let due: Vec<_> = due.into_iter().chain(a_head).collect();
        assert_eq!(due.len(), 2);
        let head = due.iter().find(|d| d.subscription_id == "a").unwrap();
        assert_eq!((head.attempts, head.last_status), (1, Some(500)));
        let dead = Outcome::Dead {
            attempts: 2,
            status: None,
            error: "refused".into(),
        };
        assert!(store.record(head.id, "t3", &dead, 60).await.unwrap());
        assert_eq!(store.list_deliveries(true).await.unwrap().len(), 1);
        assert_eq!(store.replay(&ReplaySelector::AllDead, 70).await.unwrap(), 1);
        assert!(store.list_deliveries(true).await.unwrap().is_empty());

        let again = store
            .claim_due(80, &lease(300, "t4"), &[], 16)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert!(store
            .record(head.id, "t4", &Outcome::Delivered { at_ms: 80 }, 80)
            .await
            .unwrap());
        assert!(
            !store
                .insert_delivery(&event("a", "1", 90), 90)
                .await
                .unwrap(),
            "still deduped"
        );
        assert_eq!(store.purge_delivered(81).await.unwrap(), 1);
        assert!(store.delete_subscription("a").await.unwrap());
        assert!(!store.delete_subscription("a").await.unwrap());
        let c = store.counts(0).await.unwrap();
        assert_eq!((c.subscriptions, c.pending, c.dead), (1, 1, 0));
    }

    #[actix_web::test]
    async fn closed_subscriptions_keep_their_deliveries_until_done() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let mut pending_id = sub("p");
        pending_id.livechat_webhook_id = None;
        store.insert_subscription(&pending_id).await.unwrap();
        let got = store.subscription("p").await.unwrap().unwrap();
        assert_eq!(got.livechat_webhook_id, None);
        assert!(store.set_webhook_id("p", "w1").await.unwrap());
        assert_eq!(
            store
                .subscription("p")
                .await
                .unwrap()
                .unwrap()
                .livechat_webhook_id
                .as_deref(),
            Some("w1")
        );

        store
            .insert_delivery(&event("p", "1", 10), 10)
            .await
            .unwrap();
        store
            .insert_delivery(&event("p", "2", 10), 10)
            .await
            .unwrap();
        assert!(store.close_subscription("p", 20).await.unwrap());
        assert!(!store.close_subscription("p", 21).await.unwrap());
        assert!(!store.set_webhook_id("p", "w2").await.unwrap());
        assert_eq!(store.counts(0).await.unwrap().subscriptions, 0);
        assert_eq!(store.counts(0).await.unwrap().pending, 2);
        assert_eq!(store.purge_closed().await.unwrap(), 0, "still owes events");
        assert_eq!(
            store.subscription("p").await.unwrap().unwrap().closed_ms,
            Some(20)
        );

        let lease = Lease {
            until_ms: 100,
            token: "t".into(),
        };
        let d = store
            .claim_due(30, &lease, &[], 16)
            .await
            .unwrap()
            .remove(0);
        let dead = Outcome::Dead {
            attempts: 1,
            status: Some(500),
            error: "HTTP 500".into(),
        };
        assert!(store.record(d.id, "t", &dead, 30).await.unwrap());
        let d = store
            .claim_due(30, &lease, &[], 16)
            .await
            .unwrap()
            .remove(0);
        assert!(store
            .record(d.id, "t", &Outcome::Delivered { at_ms: 30 }, 30)
            .await
            .unwrap());
        assert_eq!(store.purge_closed().await.unwrap(), 0, "a dead one is kept");
        assert_eq!(store.purge_dead(30).await.unwrap(), 0, "not old enough");
        assert_eq!(store.purge_dead(31).await.unwrap(), 1);
        assert_eq!(store.purge_closed().await.unwrap(), 1);
        assert!(store.subscription("p").await.unwrap().is_none());

        store.insert_subscription(&sub("g")).await.unwrap();
        store
            .insert_delivery(&event("g", "1", 10), 10)
            .await
            .unwrap();
        assert!(store.close_subscription("g", 20).await.unwrap());
        assert_eq!(store.drop_deliveries("g").await.unwrap(), 1);
        assert_eq!(store.purge_closed().await.unwrap(), 1);
    }

    #[actix_web::test]
    async fn a_refused_delivery_holds_its_flow_until_its_release() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.insert_subscription(&sub("a")).await.unwrap();
        for uid in ["1", "2", "3"] {
            store
                .insert_delivery(&event("a", uid, 10), 10)
                .await
                .unwrap();
        }
        let lease = |token: &str| Lease {
            until_ms: 1_000_000,
            token: token.into(),
        };
        let first = store.claim_due(10, &lease("t1"), &[], 16).await.unwrap();
        assert_eq!(first.len(), 1);
        let refused = Outcome::Retry {
            attempts: 1,
            next_attempt_ms: 300,
            status: Some(400),
            error: "HTTP 400".into(),
            releases_flow_at_ms: Some(100),
        };
        assert!(store.record(first[0].id, "t1", &refused, 10).await.unwrap());
        assert!(store
            .claim_due(99, &lease("t2"), &[], 16)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(store.next_due_ms().await.unwrap(), Some(100));
        let c = store.counts(99).await.unwrap();
        assert_eq!((c.held, c.released), (2, 0));

        let next = store.claim_due(100, &lease("t3"), &[], 16).await.unwrap();
        assert_eq!(next.len(), 1, "only the next one in order: {next:?}");
        assert_eq!(next[0].event_unique_id, "2");
        let c = store.counts(100).await.unwrap();
        assert_eq!((c.held, c.released), (1, 1));
        // The refused one is claimable on its own schedule, beside the flow's next one.
        let own = store.claim_due(300, &lease("t4"), &[], 16).await.unwrap();
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].event_unique_id, "1");
        assert_eq!(own[0].releases_flow_at_ms, Some(100));
        // A replay starts its schedule and its hold afresh.
        assert!(store
            .record(next[0].id, "t3", &Outcome::Delivered { at_ms: 300 }, 300)
            .await
            .unwrap());
        assert_eq!(
            store
                .replay(&ReplaySelector::One(own[0].id), 400)
                .await
                .unwrap(),
            1
        );
        let c = store.counts(400).await.unwrap();
        assert_eq!((c.held, c.released), (1, 0));
    }
}
