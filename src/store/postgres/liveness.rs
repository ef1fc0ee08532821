//! Which replicas are alive, as PostgreSQL sees them. A serving replica holds a session
//! advisory lock (`LOCK_CLASS`, its key) on a connection of its own and stamps its leases with
//! that key. PostgreSQL drops the lock as soon as that connection ends, and the kernel ends it
//! when the process dies, even by SIGKILL: a claim then treats the dead replica's leases as run
//! out, so its deliveries go on at once instead of when their lease (10 s) expires.
//!
//! Where this cannot tell, the lease's own time still bounds the wait: a replica cut off from
//! PostgreSQL keeps its lock until the server notices the connection is gone. A live replica
//! whose lock connection broke stops stamping its key until it holds the lock again; in that
//! short gap another replica may take over an attempt it has in flight (a duplicate, never a
//! loss: the at-least-once the relay promises anyway).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::task::JoinHandle;

use crate::store::StoreError;

/// The first key of every replica's lock ("LCGW"); the second is the replica's own.
const LOCK_CLASS: i32 = 0x4C43_4757;

/// How often the lock's connection is checked, and how soon a lost lock is taken again.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The keys of the replicas alive now (one column, `owner`), for a claim's WITH list.
pub(super) fn live_owners() -> String {
    format!(
        "SELECT objid::bigint AS owner FROM pg_locks WHERE locktype = 'advisory' \
         AND classid::bigint = {LOCK_CLASS} AND objsubid = 2 AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
}

/// This replica's lock, kept by a task of its own.
#[derive(Clone, Debug, Default)]
pub(super) struct Liveness {
    /// The key while the lock is held; 0 while it is not (leases then carry no key).
    key: Arc<AtomicI64>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Liveness {
    /// Takes a lock (before the first claim, so every lease carries the key) and keeps it.
    pub async fn start(&self, options: PgConnectOptions) -> Result<(), StoreError> {
        let (conn, key) = lock(&options, None).await?;
        self.key.store(key, Ordering::SeqCst);
        let task = tokio::spawn(keep(options, self.key.clone(), conn));
        if let Some(old) = self.slot().replace(task) {
            old.abort();
        }
        Ok(())
    }

    /// The key to stamp leases with, while the lock is held.
    pub fn owner(&self) -> Option<i64> {
        Some(self.key.load(Ordering::SeqCst)).filter(|k| *k != 0)
    }

    /// Lets the lock go (its connection is dropped with the task).
    pub fn stop(&self) {
        self.key.store(0, Ordering::SeqCst);
        if let Some(task) = self.slot().take() {
            task.abort();
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.task.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connection holding a lock of this class: on `prefer` when it is free (a replica taking
/// its lock back keeps the key its leases carry), else on a fresh random key.
async fn lock(
    options: &PgConnectOptions,
    prefer: Option<i64>,
) -> Result<(PgConnection, i64), StoreError> {
    let mut conn = PgConnection::connect_with(options).await?;
    let mut key = prefer;
    loop {
        let k = key.unwrap_or_else(|| i64::from(rand::random::<u32>() >> 1).max(1));
        let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2::int4)")
            .bind(LOCK_CLASS)
            .bind(k)
            .fetch_one(&mut conn)
            .await?;
        if held {
            return Ok((conn, k));
        }
        key = None;
    }
}

async fn keep(options: PgConnectOptions, key: Arc<AtomicI64>, conn: PgConnection) {
    let mut conn = Some(conn);
    let mut last = key.load(Ordering::SeqCst);
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        if let Some(c) = conn.as_mut() {
            match c.ping().await {
                Ok(()) => continue,
                Err(e) => log::warn!(
                    "store: the connection that shows this replica alive broke ({e}); \
                     taking it again"
                ),
            }
            key.store(0, Ordering::SeqCst);
            conn = None;
        }
        if let Ok((c, k)) = lock(&options, Some(last)).await {
            log::info!("store: this replica shows as alive again");
            key.store(k, Ordering::SeqCst);
            last = k;
            conn = Some(c);
        }
    }
}
