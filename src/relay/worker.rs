//! The delivery worker. Rows in the store are the truth: the worker leases due deliveries
//! (for each flow only those no earlier pending one holds back, so a flow gets its events in
//! order; see `decide`), posts them with bounded concurrency, and records each outcome,
//! leasing with it the flow's next delivery, so a busy flow costs one store write per
//! delivery. A lease is short, renewed while its attempt runs, and carries a random token;
//! only its holder records the outcome. A crash mid-delivery leaves a lease that soon expires,
//! so the event goes out again (at least once; `event_unique_id` lets flows dedupe). Closed
//! subscriptions (unsubscribed) still get their accepted events. Due times come from the
//! injected `Clock`; the real-time sleep between polls is capped so a test's `ManualClock` is
//! noticed.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cleanup::{callback_context, flow_gone, purge_closed};
use super::decide::{decide, Decision, Policy};
use super::deliver::{self, Attempt};
use super::{ids, retry};
use crate::credentials::ConnectionId;
use crate::metrics::{DeliveryOutcome, Metrics};
use crate::state::AppState;
use crate::store::{
    Delivery, Lease, NextInFlow, Outcome, Recorded, StoreError, Subscription, DEAD_RETENTION_MS,
};
use crate::telemetry::access::{delivery_attempt, AttemptLog};
use crate::upstream::Upstreams;

/// Deliveries in flight at once (one per flow, besides those whose order hold ran out).
pub const MAX_IN_FLIGHT: usize = 16;
/// Longest real-time sleep between two looks at the store.
const POLL_CAP: Duration = Duration::from_millis(500);
/// Pauses between tries to record an outcome the store refused (busy, pool timeout).
const RECORD_BACKOFF: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_millis(1_000),
];
/// How long a claim holds a delivery. The worker renews the leases of its attempts in flight
/// every `RENEW_EVERY`, so a live attempt keeps its claim however long it runs (DNS, POST,
/// recording), and a claim of a gateway that died is taken over by another at most this long
/// after its last renewal: within `GATEWAY_DELIVERY_TIMEOUT_MS` + 10 s, as interface.md says.
const LEASE_MS: i64 = 10_000;
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// Delivered events are remembered this long to drop LiveChat's redeliveries.
const DEDUPE_WINDOW_MS: i64 = 24 * 3_600_000;
const PURGE_EVERY_MS: i64 = 10 * 60_000;

struct Worker {
    state: Arc<AppState>,
    client: awc::Client,
    upstreams: Upstreams,
    /// The deliveries whose attempts are running here, with their claim's lease token.
    in_flight: RefCell<HashMap<i64, String>>,
    last_purge_ms: RefCell<Option<i64>>,
}

/// Starts the worker on the current (actix) runtime.
pub fn spawn(state: Arc<AppState>) {
    actix_web::rt::spawn(async move {
        let timeout = Duration::from_millis(state.settings.delivery_timeout_ms);
        let worker = Rc::new(Worker {
            client: deliver::client(timeout, state.settings.allow_private_callbacks),
            upstreams: Upstreams::new(&state.settings, state.upstream_notices.clone()),
            state,
            in_flight: RefCell::new(HashMap::new()),
            last_purge_ms: RefCell::new(None),
        });
        worker.listen().await;
        actix_web::rt::spawn(worker.clone().renew_leases());
        worker.run().await;
    });
}

impl Worker {
    async fn run(self: Rc<Self>) {
        let relay = &self.state.relay;
        while !relay.is_stopping() {
            self.dispatch().await;
            self.purge().await;
            let wait = self.wait().await;
            relay.polled();
            self.state
                .metrics
                .worker_heartbeat(self.state.clock.now_ms());
            tokio::select! {
                _ = relay.woken() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // Let the attempts in flight record their outcomes, within one delivery timeout and the
        // shutdown grace. One cut off is delivered again after the restart (its lease expires).
        let settings = &self.state.settings;
        let bound = Duration::from_millis(settings.delivery_timeout_ms) + Duration::from_secs(5);
        let deadline = std::time::Instant::now() + bound.min(settings.shutdown_grace());
        while !self.in_flight.borrow().is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        log::info!("delivery worker stopped");
        relay.finished();
    }

    /// Has the store wake this worker when another gateway sharing it stores a delivery, so
    /// it need not wait for its next poll (which stays as the backstop).
    async fn listen(&self) {
        let relay = self.state.relay.clone();
        let wake = Arc::new(move || relay.wake());
        if let Err(e) = self.state.store.on_new_delivery(wake).await {
            log::warn!(
                "delivery worker: cannot listen for the deliveries other replicas store ({e}); \
                 looking every {} ms instead",
                POLL_CAP.as_millis()
            );
        }
    }

    /// Keeps the claims of the attempts in flight here alive until they are recorded.
    async fn renew_leases(self: Rc<Self>) {
        let mut tick = tokio::time::interval(RENEW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let tokens: HashSet<String> = self.in_flight.borrow().values().cloned().collect();
            if tokens.is_empty() && self.state.relay.is_stopping() {
                return;
            }
            let until_ms = self.state.clock.now_ms() + LEASE_MS;
            for token in tokens {
                if let Err(e) = self.state.store.renew_lease(&token, until_ms).await {
                    log::warn!("delivery worker: renewing a lease failed: {e}");
                }
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
        let lease = Lease {
            until_ms: now + LEASE_MS,
            token: ids::lease_token(),
        };
        let busy: Vec<i64> = self.in_flight.borrow().keys().copied().collect();
        let due = match self
            .state
            .store
            .claim_due(now, &lease, &busy, free as u32)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                log::error!("delivery worker: {e}");
                return;
            }
        };
        self.state.relay.add_claimed(due.len());
        for d in due {
            if self
                .in_flight
                .borrow_mut()
                .insert(d.id, lease.token.clone())
                .is_some()
            {
                // Cannot happen (busy deliveries are not claimed); the lease runs out.
                log::warn!("delivery {}: already in flight", d.id);
                continue;
            }
            let me = self.clone();
            let token = lease.token.clone();
            actix_web::rt::spawn(async move {
                me.attempts_from(d, token).await;
                me.state.relay.wake();
            });
        }
    }

    /// Attempts `d`, then each next delivery of its flow that recording the outcome claimed.
    async fn attempts_from(&self, d: Delivery, token: String) {
        let mut next = Some(d);
        while let Some(d) = next.take() {
            let id = d.id;
            next = self.attempt(d, &token).await;
            let mut in_flight = self.in_flight.borrow_mut();
            in_flight.remove(&id);
            if let Some(n) = &next {
                in_flight.insert(n.id, token.clone());
            }
        }
    }

    /// The flow's next delivery is claimed with an outcome only while a slot is free for the
    /// other flows: with every slot taken, the worker's own claim (oldest due first) picks.
    fn goes_on_with_flow(&self) -> bool {
        self.in_flight.borrow().len() < MAX_IN_FLIGHT && !self.state.relay.is_stopping()
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
        self.state.intake_limit.forget_idle();
        match self
            .state
            .store
            .purge(now - DEDUPE_WINDOW_MS, now - DEAD_RETENTION_MS)
            .await
        {
            Ok(purged) => {
                if purged.dead > 0 {
                    self.state.metrics.dead_expired(purged.dead);
                    log::warn!(
                        "delivery worker: {} dead deliveries older than {} days purged",
                        purged.dead,
                        DEAD_RETENTION_MS / 86_400_000
                    );
                }
                if purged.closed_subscriptions > 0 {
                    log::info!(
                        "{} closed subscription(s) with nothing left to deliver purged",
                        purged.closed_subscriptions
                    );
                }
            }
            Err(e) => log::warn!("delivery worker: purge failed: {e}"),
        }
    }

    /// Records `outcome` under the lease `token`, trying again a few times when the store
    /// refuses, so that a flow that got its event does not get it twice when the lease lapses.
    /// Answers the flow's next delivery when it claimed it (see `goes_on_with_flow`).
    async fn record(
        &self,
        d: &Delivery,
        token: &str,
        outcome: &Outcome,
        now: i64,
    ) -> Option<Delivery> {
        let st = &self.state;
        let mut tries = 0;
        loop {
            match self.record_once(d, token, outcome, now).await {
                Ok(Recorded {
                    recorded: true,
                    next,
                }) => return next,
                Ok(Recorded {
                    recorded: false, ..
                }) => {
                    st.metrics.lease_lost();
                    log::warn!(
                        "delivery {}: outcome not recorded, its lease passed on (claimed again \
                         or replayed) during the attempt",
                        d.id
                    );
                    return None;
                }
                Err(e) => match RECORD_BACKOFF.get(tries) {
                    Some(pause) => {
                        log::warn!(
                            "delivery {}: recording the outcome failed ({e}); trying again",
                            d.id
                        );
                        tries += 1;
                        tokio::time::sleep(*pause).await;
                    }
                    None => {
                        log::error!(
                            "delivery {}: outcome not recorded after {} tries ({e}); it will be \
                             attempted again when its lease ends",
                            d.id,
                            tries + 1
                        );
                        return None;
                    }
                },
            }
        }
    }

    async fn record_once(
        &self,
        d: &Delivery,
        token: &str,
        outcome: &Outcome,
        now: i64,
    ) -> Result<Recorded, StoreError> {
        let store = &self.state.store;
        if !self.goes_on_with_flow() {
            let recorded = store.record(d.id, token, outcome, now).await?;
            return Ok(Recorded {
                recorded,
                next: None,
            });
        }
        let lease = Lease {
            until_ms: now + LEASE_MS,
            token: token.to_string(),
        };
        let busy: Vec<i64> = self.in_flight.borrow().keys().copied().collect();
        let next = NextInFlow {
            subscription_id: &d.subscription_id,
            lease: &lease,
            busy: &busy,
        };
        let recorded = store
            .record_then_claim(d.id, token, outcome, now, &next)
            .await?;
        if recorded.next.is_some() {
            self.state.relay.add_claimed(1);
        }
        Ok(recorded)
    }

    /// One attempt and its outcome; the flow's next delivery when recording claimed it.
    async fn attempt(&self, d: Delivery, token: &str) -> Option<Delivery> {
        let st = &self.state;
        let sub = match st.store.subscription(&d.subscription_id).await {
            Ok(Some(sub)) => sub,
            Ok(None) => {
                // Deliveries go with their subscription only when a subscribe failed.
                log::warn!("delivery {}: its subscription is gone", d.id);
                return None;
            }
            Err(e) => {
                log::error!("delivery {}: {e}", d.id);
                return None;
            }
        };
        let started = Instant::now();
        let result = self.post(&sub, &d).await;
        let took = started.elapsed();
        let now = st.clock.now_ms();
        let policy = Policy {
            schedule: &st.settings.retry_schedule,
            order_hold_ms: st.settings.order_hold_ms(),
        };
        let verdict = decide(&result, &d, policy, now, retry::jitter_factor());
        if verdict.hold_expired {
            st.metrics.order_hold_expired();
        }
        let attempt = Reported {
            d: &d,
            sub: &sub,
            status: status_of(&result),
            took,
            now,
        };
        report(&attempt, &verdict.decision, &st.metrics);
        match verdict.decision {
            Decision::FlowGone(_) => {
                if let Err(e) = flow_gone(st, &self.upstreams, &sub, now).await {
                    log::error!("subscription {}: {e}", sub.id);
                }
                None
            }
            Decision::Record(outcome) => {
                let next = self.record(&d, token, &outcome, now).await;
                if !sub.is_open() && matches!(outcome, Outcome::Delivered { .. }) {
                    purge_closed(&st.store).await;
                }
                next
            }
        }
    }

    /// One POST of the delivery to the subscription's callback.
    async fn post(&self, sub: &Subscription, d: &Delivery) -> Attempt {
        let st = &self.state;
        let timeout = Duration::from_millis(st.settings.delivery_timeout_ms);
        let connection = ConnectionId::from_stored(sub.connection_id.clone());
        let callback = st.keys.open_text(
            &callback_context(&sub.id, &connection),
            &sub.sealed_callback,
        );
        // The URL was checked at subscribe time; the delivery client's resolver checks the
        // addresses it connects to again (`callback::PublicOnly`), so no lookup is needed here.
        match callback {
            Ok(url) => {
                deliver::post(&self.client, &url, &d.payload, timeout, st.clock.now_ms()).await
            }
            Err(_) => Attempt::Failed {
                status: None,
                error: "the stored callback URL could not be opened (gateway secret changed?)"
                    .into(),
                retry_after_ms: None,
            },
        }
    }
}

/// What an attempt was, for its metrics and its log line.
struct Reported<'a> {
    d: &'a Delivery,
    sub: &'a Subscription,
    status: Option<u16>,
    took: Duration,
    now: i64,
}

fn status_of(a: &Attempt) -> Option<u16> {
    match a {
        Attempt::Delivered(s) | Attempt::Gone(s) => Some(*s),
        Attempt::Failed { status, .. } => *status,
    }
}

/// Counts and logs (one `delivery` event) what an attempt came to.
fn report(a: &Reported, decision: &Decision, metrics: &Metrics) {
    let (d, now) = (a.d, a.now);
    let (outcome, error, next_ms, note) = match decision {
        Decision::Record(Outcome::Delivered { at_ms }) => {
            metrics.delivery_latency_ms(at_ms - d.created_ms);
            let note = (!a.sub.is_open()).then(|| "to a closed subscription".to_string());
            (DeliveryOutcome::Delivered, None, None, note)
        }
        Decision::FlowGone(_) => (DeliveryOutcome::Gone, Some("the flow is gone"), None, None),
        Decision::Record(Outcome::Retry {
            next_attempt_ms,
            error,
            releases_flow_at_ms,
            ..
        }) => {
            let order = match releases_flow_at_ms {
                None => "its flow waits for it".to_string(),
                Some(t) if *t <= now => "its flow goes on without it".to_string(),
                Some(t) => format!("its flow waits for it at most {} ms more", t - now),
            };
            (
                DeliveryOutcome::Retry,
                Some(error.as_str()),
                Some(next_attempt_ms - now),
                Some(order),
            )
        }
        Decision::Record(Outcome::Dead { error, .. }) => {
            (DeliveryOutcome::Dead, Some(error.as_str()), None, None)
        }
    };
    metrics.delivery(outcome);
    delivery_attempt(&AttemptLog {
        delivery_id: d.id,
        subscription_id: &a.sub.id,
        event_type: &d.event_type,
        attempt: d.attempts.saturating_add(1),
        outcome,
        status: a.status,
        took: a.took,
        error,
        next_attempt_in_ms: next_ms,
        note: note.as_deref(),
    });
}
