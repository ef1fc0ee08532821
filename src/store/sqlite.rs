//! The SQLite backend: one file (created with its folder on first start), WAL journal and
//! `synchronous=FULL`, so an event acknowledged to LiveChat survives a SIGKILL or power loss.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::{
    Counts, Delivery, DeliveryState, NewDelivery, Outcome, ReplaySelector, StoreError, Subscription,
};
use crate::secret::sqlite_path;

const DELIVERY_COLUMNS: &str =
    "id, subscription_id, event_type, event_unique_id, payload, state, attempts, \
     next_attempt_ms, last_status, last_error";

/// A pending delivery that is the oldest pending one of its subscription.
const IS_HEAD: &str =
    "NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.subscription_id = d.subscription_id \
     AND e.state = 'pending' AND e.id < d.id)";

/// The file holds flows' callback URLs (which carry the flow's own signature) and sealed
/// credentials: readable by the gateway's user only. SQLite gives its -wal and -shm files the
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
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        if let Some(f) = &file {
            owner_only(f);
        }
        Ok(Self { pool })
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
             livechat_webhook_id, sealed_credentials, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id)
        .bind(&s.connection_id)
        .bind(&s.event_type)
        .bind(data_types)
        .bind(&s.callback_url)
        .bind(&s.token_sha256)
        .bind(&s.livechat_webhook_id)
        .bind(&s.sealed_credentials)
        .bind(s.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let row = sqlx::query(
            "SELECT id, connection_id, event_type, data_types, callback_url, token_sha256, livechat_webhook_id, \
             sealed_credentials, created_ms FROM subscriptions WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| subscription_from(&r)).transpose()
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
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "UPDATE deliveries SET lease_until_ms = ?1 WHERE id IN ( \
               SELECT d.id FROM deliveries d WHERE d.state = 'pending' AND d.next_attempt_ms <= ?2 \
               AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= ?2) AND {IS_HEAD} \
               ORDER BY d.next_attempt_ms, d.id LIMIT ?3) \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(lease_until_ms)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery_from).collect()
    }

    pub async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT MIN(MAX(d.next_attempt_ms, COALESCE(d.lease_until_ms, 0))) FROM deliveries d \
             WHERE d.state = 'pending' AND {IS_HEAD}"
        );
        let row = sqlx::query(&sql).fetch_one(&self.pool).await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    pub async fn record(&self, id: i64, outcome: &Outcome, now_ms: i64) -> Result<(), StoreError> {
        let q = match outcome {
            Outcome::Delivered { at_ms } => sqlx::query(
                "UPDATE deliveries SET state = 'delivered', payload = '', attempts = attempts + 1, \
                 lease_until_ms = NULL, last_status = NULL, last_error = NULL, updated_ms = ? WHERE id = ?",
            )
            .bind(at_ms),
            Outcome::Retry {
                attempts,
                next_attempt_ms,
                status,
                error,
            } => sqlx::query(
                "UPDATE deliveries SET attempts = ?, next_attempt_ms = ?, last_status = ?, last_error = ?, \
                 lease_until_ms = NULL, updated_ms = ? WHERE id = ?",
            )
            .bind(i64::from(*attempts))
            .bind(next_attempt_ms)
            .bind(status.map(i64::from))
            .bind(error)
            .bind(now_ms),
            Outcome::Dead {
                attempts,
                status,
                error,
            } => sqlx::query(
                "UPDATE deliveries SET state = 'dead', attempts = ?, last_status = ?, last_error = ?, \
                 lease_until_ms = NULL, updated_ms = ? WHERE id = ?",
            )
            .bind(i64::from(*attempts))
            .bind(status.map(i64::from))
            .bind(error)
            .bind(now_ms),
        };
        q.bind(id).execute(&self.pool).await?;
        Ok(())
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
                   lease_until_ms = NULL, updated_ms = ?1";
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

    pub async fn counts(&self) -> Result<Counts, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM subscriptions), \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'pending'), \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'dead')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Counts {
            subscriptions: row.try_get(0)?,
            pending: row.try_get(1)?,
            dead: row.try_get(2)?,
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
        callback_url: r.try_get("callback_url")?,
        token_sha256: r.try_get("token_sha256")?,
        livechat_webhook_id: r.try_get("livechat_webhook_id")?,
        sealed_credentials: r.try_get("sealed_credentials")?,
        created_ms: r.try_get("created_ms")?,
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
            callback_url: "https://flow.example/cb".into(),
            token_sha256: "00".into(),
            livechat_webhook_id: "lc".into(),
            sealed_credentials: "v1.x".into(),
            created_ms: 1,
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

        let got = store.claim_due(20, 100, 16).await.unwrap();
        assert_eq!(got.len(), 1, "only a's head is due");
        assert_eq!(got[0].event_unique_id, "1");
        assert!(
            store.claim_due(20, 100, 16).await.unwrap().is_empty(),
            "leased"
        );
        assert_eq!(store.next_due_ms().await.unwrap(), Some(50));

        let retry = Outcome::Retry {
            attempts: 1,
            next_attempt_ms: 60,
            status: Some(500),
            error: "HTTP 500".into(),
        };
        store.record(got[0].id, &retry, 20).await.unwrap();
        let due = store.claim_due(60, 200, 16).await.unwrap();
        assert_eq!(due.len(), 2);
        let head = due.iter().find(|d| d.subscription_id == "a").unwrap();
        assert_eq!((head.attempts, head.last_status), (1, Some(500)));
        let dead = Outcome::Dead {
            attempts: 2,
            status: None,
            error: "refused".into(),
        };
        store.record(head.id, &dead, 60).await.unwrap();
        assert_eq!(store.list_deliveries(true).await.unwrap().len(), 1);
        assert_eq!(store.replay(&ReplaySelector::AllDead, 70).await.unwrap(), 1);
        assert!(store.list_deliveries(true).await.unwrap().is_empty());

        store
            .record(head.id, &Outcome::Delivered { at_ms: 80 }, 80)
            .await
            .unwrap();
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
        let c = store.counts().await.unwrap();
        assert_eq!((c.subscriptions, c.pending, c.dead), (1, 1, 0));
    }
}
