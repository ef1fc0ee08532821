//! The webhook relay: LiveChat posts an event to the gateway's intake, the gateway stores it
//! durably, and a worker delivers it to the subscribed flow's callback until the flow accepts
//! it, the flow is gone, or the retry schedule is exhausted.

pub mod admin;
pub mod callback;
pub mod cleanup;
pub mod decide;
pub mod deliver;
pub mod event;
pub mod ids;
pub mod intake_limit;
pub mod retry;
pub mod shared_hooks;
pub mod ticket_poll;
pub mod trigger;
pub mod worker;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Wakes and stops the delivery worker (intake calls `wake` after it stored an event), and
/// shows how far it got: polls completed and deliveries claimed.
#[derive(Debug, Clone, Default)]
pub struct Relay {
    notify: Arc<Notify>,
    stopping: Arc<AtomicBool>,
    stopped: Arc<Notify>,
    polls: Arc<AtomicU64>,
    claimed: Arc<AtomicU64>,
}

impl Relay {
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    pub async fn woken(&self) {
        self.notify.notified().await;
    }

    /// Asks the worker to leave its loop (it starts nothing new; in-flight attempts finish).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Completed looks at the store (each one: claim what is due, purge, decide how long to wait).
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::SeqCst)
    }

    /// Deliveries the worker has claimed since it started.
    pub fn claimed(&self) -> u64 {
        self.claimed.load(Ordering::SeqCst)
    }

    fn polled(&self) {
        self.polls.fetch_add(1, Ordering::SeqCst);
    }

    fn add_claimed(&self, n: usize) {
        self.claimed.fetch_add(n as u64, Ordering::SeqCst);
    }

    fn finished(&self) {
        self.stopped.notify_waiters();
        self.stopped.notify_one();
    }

    /// Resolves once the worker has left its loop after `stop`.
    pub async fn stopped(&self) {
        self.stopped.notified().await;
    }
}
