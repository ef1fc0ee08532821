//! Durable state: trigger subscriptions and the deliveries owed to their flows.
//!
//! `Store` is the one handle the rest of the gateway sees: a `Backend` behind an `Arc`. A
//! backend writes only its raw queries (`sqlite`, `postgres`); what is built from them lives
//! in the trait's default methods, so every backend gets it. What only one engine needs stays
//! in that backend: SQLite's file lock and start-up lease release are done by `Store::serve`.

mod group_commit;
mod postgres;
pub mod scratch;
mod sqlite;
mod sqlite_triggers;
mod trigger_store;
mod types;

#[cfg(test)]
mod suite;

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;

pub use postgres::{is_postgres_url, PostgresStore};
pub use sqlite::SqliteStore;
pub use trigger_store::TriggerStore;
pub use types::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    #[error("store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store: {0}")]
    Setup(String),
    /// The transaction that carried this write (with others) did not commit.
    #[error("store: commit failed: {0}")]
    Commit(#[source] Arc<sqlx::Error>),
    #[error("store: unreadable row: {0}")]
    Corrupt(String),
}

/// Called when some gateway sharing the store stored a delivery.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// What the periodic purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub delivered: u64,
    pub dead: u64,
    pub closed_subscriptions: u64,
}

/// The raw operations every backend provides.
#[async_trait]
pub trait Backend: TriggerStore + Send + Sync + fmt::Debug {
    /// `sqlite` or `postgres` (readiness names it).
    fn engine(&self) -> &'static str;

    /// Answers when the store does (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the store's connections; later calls fail (shutdown, tests of readiness).
    async fn close(&self);

    async fn insert_subscription(&self, sub: &Subscription) -> Result<(), StoreError>;

    /// The subscription, open or closed.
    async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError>;

    /// Sets the LiveChat webhook id of an open subscription; `false` when it is gone or closed.
    async fn set_webhook_id(&self, id: &str, webhook_id: &str) -> Result<bool, StoreError>;

    /// Removes a subscription with all its deliveries at once; `false` when it was not there.
    /// Only for a subscribe that failed: everything else closes.
    async fn delete_subscription(&self, id: &str) -> Result<bool, StoreError>;

    /// Closes an open subscription; `false` when it is unknown or already closed.
    async fn close_subscription(&self, id: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// Drops the pending and dead deliveries of a subscription (its flow is gone); how many.
    async fn drop_deliveries(&self, subscription_id: &str) -> Result<u64, StoreError>;

    /// Deletes closed subscriptions that have no pending or dead delivery left; how many.
    async fn purge_closed(&self) -> Result<u64, StoreError>;

    /// Forgets dead deliveries that died before `before_ms`; how many.
    async fn purge_dead(&self, before_ms: i64) -> Result<u64, StoreError>;

    /// Forgets delivered events older than `before_ms` (their ids only served de-duplication).
    async fn purge_delivered(&self, before_ms: i64) -> Result<u64, StoreError>;

    /// Stores an event once per (subscription, event_unique_id); `false` for a duplicate.
    async fn insert_delivery(&self, d: &NewDelivery, now_ms: i64) -> Result<bool, StoreError>;

    /// Leases up to `limit` due deliveries until `lease.until_ms` under `lease.token`: a
    /// delivery is claimable only when no earlier pending delivery of its subscription holds
    /// the flow (see `Delivery::holds_flow`), wherever that one is (leased by any gateway or
    /// not), so a flow receives its events in order. Deliveries in `busy` (the caller's
    /// attempts in flight) are skipped.
    async fn claim_due(
        &self,
        now_ms: i64,
        lease: &Lease,
        busy: &[i64],
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Leases the first claimable delivery of one flow (`next.subscription_id`), by the rule
    /// of `claim_due`, first in the flow's order.
    async fn claim_in_flow(
        &self,
        now_ms: i64,
        next: &NextInFlow<'_>,
    ) -> Result<Option<Delivery>, StoreError>;

    /// Extends the lease of every delivery still claimed under `token`; how many.
    async fn renew_lease(&self, token: &str, until_ms: i64) -> Result<u64, StoreError>;

    /// The earliest time at which some pending delivery becomes claimable.
    async fn next_due_ms(&self) -> Result<Option<i64>, StoreError>;

    /// Records an attempt's outcome and releases the lease, if `lease_token` still holds it;
    /// `false` when it does not (the lease ran out and the row was claimed again, or replayed).
    async fn record(
        &self,
        id: i64,
        lease_token: &str,
        outcome: &Outcome,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// `record`, then, if it recorded, `claim_in_flow` for `next`: a worker goes on with a busy
    /// flow without a claim of its own after each delivery.
    async fn record_then_claim(
        &self,
        id: i64,
        lease_token: &str,
        outcome: &Outcome,
        now_ms: i64,
        next: &NextInFlow<'_>,
    ) -> Result<Recorded, StoreError> {
        if !self.record(id, lease_token, outcome, now_ms).await? {
            return Ok(Recorded::default());
        }
        // The outcome stands whatever the claim does; the worker's own claim finds the flow's
        // next delivery.
        let next = self.claim_in_flow(now_ms, next).await.unwrap_or_else(|e| {
            log::warn!("claiming a flow's next delivery failed: {e}");
            None
        });
        Ok(Recorded {
            recorded: true,
            next,
        })
    }

    /// Pending and dead deliveries (only dead ones with `dead_only`), oldest first.
    async fn list_deliveries(&self, dead_only: bool) -> Result<Vec<Delivery>, StoreError>;

    /// Queues deliveries again with a fresh schedule; returns how many.
    async fn replay(&self, which: &ReplaySelector, now_ms: i64) -> Result<u64, StoreError>;

    /// What the store holds at `now_ms` (holds are judged at that time).
    async fn counts(&self, now_ms: i64) -> Result<Counts, StoreError>;

    /// What an operator should know about how the store is reached (`check` shows it), e.g. a
    /// shared database over an unencrypted connection; empty when nothing deserves attention.
    async fn observations(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// Arranges for `wake` to be called whenever any gateway sharing this store stores a
    /// delivery. A store only one gateway uses needs nothing: its intake wakes its worker.
    async fn on_new_delivery(&self, _wake: Wake) -> Result<(), StoreError> {
        Ok(())
    }

    /// The periodic clean-up: delivered ids older than `delivered_before_ms`, dead letters
    /// older than `dead_before_ms`, then closed subscriptions with nothing left.
    async fn purge(
        &self,
        delivered_before_ms: i64,
        dead_before_ms: i64,
    ) -> Result<Purged, StoreError> {
        Ok(Purged {
            delivered: self.purge_delivered(delivered_before_ms).await?,
            dead: self.purge_dead(dead_before_ms).await?,
            closed_subscriptions: self.purge_closed().await?,
        })
    }
}

/// The store, whichever backend holds it.
#[derive(Clone, Debug)]
pub struct Store(Arc<dyn Backend>);

impl Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

impl Store {
    pub fn new(backend: impl Backend + 'static) -> Self {
        Self(Arc::new(backend))
    }

    /// Opens the store named by `GATEWAY_DATABASE_URL` and applies pending migrations (for
    /// the `deliveries` commands, beside a running gateway).
    pub async fn connect(database_url: &str) -> Result<Self, StoreError> {
        if database_url.starts_with("sqlite:") {
            return Ok(Self::new(SqliteStore::connect(database_url).await?));
        }
        if is_postgres_url(database_url) {
            return Ok(Self::new(PostgresStore::connect(database_url).await?));
        }
        Err(StoreError::Setup(format!(
            "unknown database URL scheme in `{}` (expected sqlite://... or postgres://...)",
            database_url.split(':').next().unwrap_or("")
        )))
    }

    /// Opens the store for a serving gateway. A SQLite file is taken over: locked for this
    /// process, and the leases a killed predecessor left released (see `SqliteStore::take_over`).
    /// A PostgreSQL store is shared: the leases in it may belong to live replicas; a dead
    /// one's are taken over as soon as PostgreSQL sees it gone (see `postgres::liveness`).
    pub async fn serve(database_url: &str) -> Result<Self, StoreError> {
        if database_url.starts_with("sqlite:") {
            let sqlite = SqliteStore::connect(database_url).await?;
            sqlite.take_over().await?;
            return Ok(Self::new(sqlite));
        }
        if is_postgres_url(database_url) {
            return Ok(Self::new(PostgresStore::serve(database_url).await?));
        }
        Self::connect(database_url).await
    }
}
