//! Durable state: trigger subscriptions and the deliveries owed to their flows.
//!
//! `Store` is the one interface the rest of the gateway sees. Today it has a SQLite backend;
//! a PostgreSQL one goes beside it as another variant with the same methods.

mod sqlite;

use std::fmt;

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    #[error("store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store: {0}")]
    Setup(String),
}

/// One trigger subscription as stored.
#[derive(Clone)]
pub struct Subscription {
    pub id: String,
    pub connection_id: String,
    pub event_type: String,
    pub data_types: Vec<String>,
    pub callback_url: String,
    pub token_sha256: String,
    pub livechat_webhook_id: String,
    pub sealed_credentials: String,
    pub created_ms: i64,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("connection_id", &self.connection_id)
            .field("event_type", &self.event_type)
            .field("livechat_webhook_id", &self.livechat_webhook_id)
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

    fn parse(s: &str) -> Self {
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
}

/// What became of one attempt, as the store records it.
#[derive(Debug, Clone)]
pub enum Outcome {
    Delivered {
        at_ms: i64,
    },
    Retry {
        attempts: u32,
        next_attempt_ms: i64,
        status: Option<u16>,
        error: String,
    },
    Dead {
        attempts: u32,
        status: Option<u16>,
        error: String,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub subscriptions: i64,
    pub pending: i64,
    pub dead: i64,
}

/// Which deliveries `replay` queues again.
#[derive(Debug, Clone)]
pub enum ReplaySelector {
    One(i64),
    AllDead,
}

/// The store, whichever backend holds it.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
        }
    };
}

impl Store {
    /// Opens the store named by `GATEWAY_DATABASE_URL` and applies pending migrations.
    pub async fn connect(database_url: &str) -> Result<Self, StoreError> {
        if database_url.starts_with("sqlite:") {
            return Ok(Store::Sqlite(SqliteStore::connect(database_url).await?));
        }
        if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            return Err(StoreError::Setup(
                "PostgreSQL is not supported by this build yet; use a sqlite:// URL".into(),
            ));
        }
        Err(StoreError::Setup(format!(
            "unknown database URL scheme in `{}` (expected sqlite://...)",
            database_url.split(':').next().unwrap_or("")
        )))
    }

    /// Answers when the store does (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping().await)
    }

    pub async fn insert_subscription(&self, sub: &Subscription) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_subscription(sub).await)
    }

    pub async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        dispatch!(self, s => s.subscription(id).await)
    }

    /// Removes a subscription with all its deliveries; `false` when it was not there.
    pub async fn delete_subscription(&self, id: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_subscription(id).await)
    }

    /// Stores an event once per (subscription, event_unique_id); `false` for a duplicate.
    pub async fn insert_delivery(&self, d: &NewDelivery, now_ms: i64) -> Result<bool, StoreError> {
        dispatch!(self, s => s.insert_delivery(d, now_ms).await)
    }

    /// Leases up to `limit` due deliveries until `lease_until_ms`: for each subscription only
    /// its oldest pending delivery, so a flow receives its events in order.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        dispatch!(self, s => s.claim_due(now_ms, lease_until_ms, limit).await)
    }

    /// The earliest time at which some pending delivery becomes claimable.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        dispatch!(self, s => s.next_due_ms().await)
    }

    /// Records an attempt's outcome and releases the lease.
    pub async fn record(&self, id: i64, outcome: &Outcome, now_ms: i64) -> Result<(), StoreError> {
        dispatch!(self, s => s.record(id, outcome, now_ms).await)
    }

    /// Forgets delivered events older than `before_ms` (their ids only served de-duplication).
    pub async fn purge_delivered(&self, before_ms: i64) -> Result<u64, StoreError> {
        dispatch!(self, s => s.purge_delivered(before_ms).await)
    }

    /// Pending and dead deliveries (only dead ones with `dead_only`), oldest first.
    pub async fn list_deliveries(&self, dead_only: bool) -> Result<Vec<Delivery>, StoreError> {
        dispatch!(self, s => s.list_deliveries(dead_only).await)
    }

    /// Queues deliveries again with a fresh schedule; returns how many.
    pub async fn replay(&self, which: &ReplaySelector, now_ms: i64) -> Result<u64, StoreError> {
        dispatch!(self, s => s.replay(which, now_ms).await)
    }

    pub async fn counts(&self) -> Result<Counts, StoreError> {
        dispatch!(self, s => s.counts().await)
    }

    /// Closes the store's connections; later calls fail (shutdown, tests of readiness).
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }
}
