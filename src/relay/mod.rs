//! The webhook relay: LiveChat posts an event to the gateway's intake, the gateway stores it
//! durably, and a worker delivers it to the subscribed flow's callback until the flow accepts
//! it, the flow is gone, or the retry schedule is exhausted.

pub mod admin;
pub mod callback;
pub mod cleanup;
pub mod deliver;
pub mod event;
pub mod ids;
pub mod retry;
pub mod trigger;
pub mod worker;

use std::sync::Arc;

use tokio::sync::Notify;

/// Wakes the delivery worker; intake calls `wake` after it stored an event.
#[derive(Debug, Clone, Default)]
pub struct Relay {
    notify: Arc<Notify>,
}

impl Relay {
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    pub async fn woken(&self) {
        self.notify.notified().await;
    }
}
