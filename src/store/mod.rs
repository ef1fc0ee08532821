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

/// How long a dead delivery (with its payload) is kept for `deliveries replay` before the
/// worker purges it.
pub const DEAD_RETENTION_MS: i64 = 30 * 24 * 3_600_000;

/// One trigger subscription as stored.
#[derive(Clone)]
pub struct Subscription {
    pub id: String,
    pub connection_id: String,
    pub event_type: String,
    pub data_types: Vec<String>,
    /// The flow's callback URL sealed with `Keys::seal_text` (it carries the flow's signature).
    pub sealed_callback: String,
    pub token_sha256: String,
    /// LiveChat's webhook id; `None` while it is being registered.
    pub livechat_webhook_id: Option<String>,
    pub sealed_credentials: String,
    pub created_ms: i64,
    /// When the subscription was closed (unsubscribed, or its flow gone). A closed subscription
    /// takes no new events but its accepted ones are still delivered.
    pub closed_ms: Option<i64>,
}

impl Subscription {
    pub fn is_open(&self) -> bool {
        self.closed_ms.is_none()
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("connection_id", &self.connection_id)
            .field("event_type", &self.event_type)
            .field("livechat_webhook_id", &self.livechat_webhook_id)
            .field("closed_ms", &self.closed_ms)
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
    /// When the intake stored it.
    pub created_ms: i64,
    /// When the row last changed (for a dead delivery: when it died; for a pending one: when
    /// its last attempt was recorded, or when it was stored).
    pub updated_ms: i64,
    /// From when this pending delivery stops holding the later ones of its flow; `None` while
    /// it holds them (see `relay::decide`).
    pub releases_flow_at_ms: Option<i64>,
}

impl Delivery {
    /// Whether, pending at `now_ms`, it keeps the later deliveries of its flow waiting.
    pub fn holds_flow(&self, now_ms: i64) -> bool {
        self.state == DeliveryState::Pending && self.releases_flow_at_ms.is_none_or(|t| t > now_ms)
    }
}

/// What became of one attempt, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        at_ms: i64,
    },
    Retry {
        attempts: u32,
        next_attempt_ms: i64,
        status: Option<u16>,
        error: String,
        /// See `Delivery::releases_flow_at_ms`.
        releases_flow_at_ms: Option<i64>,
    },
    Dead {
        attempts: u32,
        status: Option<u16>,
        error: String,
    },
}

/// Open subscriptions, pending and dead deliveries (of open and closed subscriptions alike).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub subscriptions: i64,
    pub pending: i64,
    pub dead: i64,
    /// `created_ms` of the oldest pending delivery.
    pub oldest_pending_ms: Option<i64>,
    /// Pending deliveries waiting behind an earlier one of their flow that holds it.
    pub held: i64,
    /// Pending deliveries whose hold ran out: their flow's later deliveries go on without them.
    pub released: i64,
}

/// A claim on due deliveries: until when, and the random token its outcomes must show.
#[derive(Debug, Clone)]
pub struct Lease {
    pub until_ms: i64,
    pub token: String,
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

    /// Claims the store for this serving process (see `SqliteStore::take_over`).
    pub async fn take_over(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.take_over().await)
    }

    /// Answers when the store does (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping().await)
    }

    pub async fn insert_subscription(&self, sub: &Subscription) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_subscription(sub).await)
    }

    /// The subscription, open or closed.
    pub async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        dispatch!(self, s => s.subscription(id).await)
    }

    /// Sets the LiveChat webhook id of an open subscription; `false` when it is gone or closed.
    pub async fn set_webhook_id(&self, id: &str, webhook_id: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.set_webhook_id(id, webhook_id).await)
    }

    /// Removes a subscription with all its deliveries at once; `false` when it was not there.
    /// Only for a subscribe that failed: everything else closes.
    pub async fn delete_subscription(&self, id: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_subscription(id).await)
    }

    /// Closes an open subscription; `false` when it is unknown or already closed.
    pub async fn close_subscription(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        dispatch!(self, s => s.close_subscription(id, now_ms).await)
    }

    /// Drops the pending and dead deliveries of a subscription (its flow is gone); how many.
    pub async fn drop_deliveries(&self, subscription_id: &str) -> Result<u64, StoreError> {
        dispatch!(self, s => s.drop_deliveries(subscription_id).await)
    }

    /// Deletes closed subscriptions that have no pending or dead delivery left; how many.
    pub async fn purge_closed(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => s.purge_closed().await)
    }

    /// Forgets dead deliveries that died before `before_ms`; how many.
    pub async fn purge_dead(&self, before_ms: i64) -> Result<u64, StoreError> {
        dispatch!(self, s => s.purge_dead(before_ms).await)
    }

    /// Stores an event once per (subscription, event_unique_id); `false` for a duplicate.
    pub async fn insert_delivery(&self, d: &NewDelivery, now_ms: i64) -> Result<bool, StoreError> {
        dispatch!(self, s => s.insert_delivery(d, now_ms).await)
    }

    /// Leases up to `limit` due deliveries until `lease_until_ms` under `lease_token`: a
    /// delivery is claimable only when no earlier pending delivery of its subscription holds
    /// the flow (see `Delivery::holds_flow`), so a flow receives its events in order. Deliveries
    /// in `busy` (the caller's attempts in flight) are skipped.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease: &Lease,
        busy: &[i64],
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        dispatch!(self, s => s.claim_due(now_ms, lease, busy, limit).await)
    }

    /// The earliest time at which some pending delivery becomes claimable.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        dispatch!(self, s => s.next_due_ms().await)
    }

    /// Records an attempt's outcome and releases the lease, if `lease_token` still holds it;
    /// `false` when it does not (the lease ran out and the row was claimed again, or replayed).
    pub async fn record(
        &self,
        id: i64,
        lease_token: &str,
        outcome: &Outcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.record(id, lease_token, outcome, now_ms).await)
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

    /// What the store holds at `now_ms` (holds are judged at that time).
    pub async fn counts(&self, now_ms: i64) -> Result<Counts, StoreError> {
        dispatch!(self, s => s.counts(now_ms).await)
    }

    /// Closes the store's connections; later calls fail (shutdown, tests of readiness).
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }
}
