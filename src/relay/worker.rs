//! The delivery worker. Rows in the store are the truth: the worker leases due deliveries
//! (the oldest pending one per subscription, so each flow gets its events in order), posts
//! them with bounded concurrency, and records each outcome. A crash mid-delivery leaves a lease
//! that expires, so the event goes out again (at least once; `event_unique_id` lets flows
//! dedupe). Due times come from the injected `Clock`; the real-time sleep between polls is
//! capped so a test's `ManualClock` is noticed.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::callback::CallbackUrl;
use super::cleanup::drop_subscription;
use super::deliver::{self, Attempt};
use super::retry;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::{Delivery, Outcome};
use crate::upstream::LiveChat;

/// Deliveries in flight at once (at most one per subscription).
pub const MAX_IN_FLIGHT: usize = 16;
/// Longest real-time sleep between two looks at the store.
const POLL_CAP: Duration = Duration::from_millis(500);
/// A lease outlives the delivery timeout by this much.
const LEASE_MARGIN_MS: i64 = 5_000;
/// Delivered events are remembered this long to drop LiveChat's redeliveries.
const DEDUPE_WINDOW_MS: i64 = 24 * 3_600_000;
const PURGE_EVERY_MS: i64 = 10 * 60_000;

struct Worker {
    state: Arc<AppState>,
    client: awc::Client,
    livechat: LiveChat,
    in_flight: RefCell<HashSet<String>>,
    last_purge_ms: RefCell<Option<i64>>,
}

/// Starts the worker on the current (actix) runtime.
pub fn spawn(state: Arc<AppState>) {
    actix_web::rt::spawn(async move {
        let timeout = Duration::from_millis(state.settings.delivery_timeout_ms);
        let worker = Rc::new(Worker {
            client: deliver::client(timeout),
            livechat: LiveChat::new(
                &state.settings.livechat_url,
                state.settings.upstream_timeout(),
            ),
            state,
            in_flight: RefCell::new(HashSet::new()),
            last_purge_ms: RefCell::new(None),
        });
        worker.run().await;
    });
}

impl Worker {
    async fn run(self: Rc<Self>) {
        loop {
            self.dispatch().await;
            self.purge().await;
            let wait = self.wait().await;
            tokio::select! {
                _ = self.state.relay.woken() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Leases what is due and starts one task per delivery.
    async fn dispatch(self: &Rc<Self>) {
        let free = MAX_IN_FLIGHT.saturating_sub(self.in_flight.borrow().len());
        if free == 0 {
            return;
        }
        let now = self.state.clock.now_ms();
        let lease = now + self.state.settings.delivery_timeout_ms as i64 + LEASE_MARGIN_MS;
        let due = match self.state.store.claim_due(now, lease, free as u32).await {
            Ok(due) => due,
            Err(e) => {
                log::error!("delivery worker: {e}");
                return;
            }
        };
        for d in due {
            if !self
                .in_flight
                .borrow_mut()
                .insert(d.subscription_id.clone())
            {
                // Its lease ran out (the clock moved past it) while the delivery is still in
                // flight here: the claim just renewed the lease, and the outcome clears it.
                continue;
            }
            let me = self.clone();
            actix_web::rt::spawn(async move {
                let sub = d.subscription_id.clone();
                me.attempt(d).await;
                me.in_flight.borrow_mut().remove(&sub);
                me.state.relay.wake();
            });
        }
    }

    /// Real time to sleep: until the next due delivery by the clock, at most `POLL_CAP`.
    async fn wait(&self) -> Duration {
        if self.in_flight.borrow().len() >= MAX_IN_FLIGHT {
            return POLL_CAP;
        }
        match self.state.store.next_due_ms().await {
            Ok(Some(at)) => {
                let ms = (at - self.state.clock.now_ms()).clamp(0, POLL_CAP.as_millis() as i64);
                Duration::from_millis(ms as u64)
            }
            _ => POLL_CAP,
        }
    }

    async fn purge(&self) {
        let now = self.state.clock.now_ms();
        let last = *self.last_purge_ms.borrow();
        if last.is_some_and(|l| now - l < PURGE_EVERY_MS) {
            return;
        }
        *self.last_purge_ms.borrow_mut() = Some(now);
        if let Err(e) = self
            .state
            .store
            .purge_delivered(now - DEDUPE_WINDOW_MS)
            .await
        {
            log::warn!("delivery worker: purge failed: {e}");
        }
    }

    async fn attempt(&self, d: Delivery) {
        let st = &self.state;
        let sub = match st.store.subscription(&d.subscription_id).await {
            Ok(Some(sub)) => sub,
            Ok(None) => return, // unsubscribed meanwhile: its deliveries went with it
            Err(e) => {
                log::error!("delivery {}: {e}", d.id);
                return;
            }
        };
        let timeout = Duration::from_millis(st.settings.delivery_timeout_ms);
        let result = match CallbackUrl::parse(
            &sub.callback_url,
            st.settings.allow_private_callbacks,
        )
        .await
        {
            Ok(url) => {
                deliver::post(
                    &self.client,
                    url.as_str(),
                    &d.payload,
                    timeout,
                    st.clock.now_ms(),
                )
                .await
            }
            Err(e) => Attempt::Failed {
                status: None,
                error: e.to_string(),
                retry_after_ms: None,
            },
        };
        let now = st.clock.now_ms();
        let outcome = match result {
            Attempt::Delivered(status) => {
                Metrics::inc(&st.metrics.deliveries_ok);
                log::info!(
                    "delivery {} to subscription {} accepted (HTTP {status})",
                    d.id,
                    sub.id
                );
                Outcome::Delivered { at_ms: now }
            }
            Attempt::Gone(status) => {
                Metrics::inc(&st.metrics.deliveries_failed);
                log::info!(
                    "subscription {}: callback answered HTTP {status}; removing the subscription",
                    sub.id
                );
                if let Err(e) = drop_subscription(&st.store, &self.livechat, &st.keys, &sub).await {
                    log::error!("subscription {}: {e}", sub.id);
                }
                return;
            }
            Attempt::Failed {
                status,
                error,
                retry_after_ms,
            } => {
                Metrics::inc(&st.metrics.deliveries_failed);
                let attempts = d.attempts.saturating_add(1);
                match retry::next_attempt_ms(
                    &st.settings.retry_schedule,
                    attempts,
                    now,
                    retry_after_ms,
                ) {
                    Some(next_attempt_ms) => {
                        log::info!(
                            "delivery {} attempt {attempts} failed: {error}; next in {} ms",
                            d.id,
                            next_attempt_ms - now
                        );
                        Outcome::Retry {
                            attempts,
                            next_attempt_ms,
                            status,
                            error,
                        }
                    }
                    None => {
                        Metrics::inc(&st.metrics.deliveries_dead);
                        log::warn!(
                            "delivery {} is dead after {attempts} attempts: {error}",
                            d.id
                        );
                        Outcome::Dead {
                            attempts,
                            status,
                            error,
                        }
                    }
                }
            }
        };
        if let Err(e) = st.store.record(d.id, &outcome, now).await {
            log::error!(
                "delivery {}: outcome not recorded ({e}); it will be retried",
                d.id
            );
        }
    }
}
