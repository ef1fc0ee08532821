//! The gateway's Prometheus series, through `prometheus-client`.
//!
//! Every label value is a `&'static str` chosen from a fixed set (an operation id, a status
//! class, an outcome), so a login, key, callback URL or ticket id cannot become a label: the
//! types refuse a runtime string. Counters move where things happen; the store's depth and
//! health are read at scrape time ([`Metrics::set_store`]).
//!
//! For another module, one call per event: `metrics.delivery(DeliveryOutcome::Delivered)`,
//! `metrics.throttle(true)`, `metrics.intake(IntakeOutcome::Duplicate)`. A new series is one
//! field, one `register` line in [`Metrics::new`] and one method.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::Counts;

/// What `GET /metrics` answers with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NoticeLabels {
    api: &'static str,
    notice: &'static str,
}

/// Counts LiveChat answers announcing their API version's retirement (held by
/// `upstream::notices::Notices`, which sees every answer).
#[derive(Clone, Debug, Default)]
pub struct NoticeCounter(Family<NoticeLabels, Counter>);

impl NoticeCounter {
    /// `api` is a fixed name (`"configuration v3.6"`), `notice` `legacy` or `deprecation`.
    pub fn inc(&self, api: &'static str, notice: &'static str) {
        self.0.get_or_create(&NoticeLabels { api, notice }).inc();
    }

    pub fn get(&self, api: &'static str, notice: &'static str) -> u64 {
        self.0.get_or_create(&NoticeLabels { api, notice }).get()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabel {
    backend: &'static str,
}

/// What became of one webhook LiveChat posted to the intake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Stored for delivery.
    Accepted,
    /// Already received (LiveChat sent it again).
    Duplicate,
    /// Answered with a 4xx: unknown hook, wrong token, closed subscription, bad body.
    Refused,
    /// Answered 429: the subscription's delivery rate is over its limit; LiveChat retries.
    Limited,
    /// Answered with a 5xx (the store failed); LiveChat retries.
    Failed,
    /// A v3 delivery of another account that installed the same app: acknowledged, dropped.
    OtherAccount,
}

impl IntakeOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Refused => "refused",
            Self::Limited => "limited",
            Self::Failed => "failed",
            Self::OtherAccount => "other_account",
        }
    }
}

/// How one delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The flow answered 2xx.
    Delivered,
    /// It failed and is scheduled again.
    Retry,
    /// It failed and its retries are exhausted: a dead letter.
    Dead,
    /// The flow answered 404/410: its subscription is closed.
    Gone,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry => "retry",
            Self::Dead => "dead",
            Self::Gone => "gone",
        }
    }
}

/// Which backend decides the per-connection throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleBackend {
    /// In-process (one replica).
    Memory,
    /// Shared through Redis.
    Redis,
    /// Redis is configured but unreachable: each replica throttles on its own.
    MemoryFallback,
}

impl ThrottleBackend {
    const ALL: [Self; 3] = [Self::Memory, Self::Redis, Self::MemoryFallback];

    fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis => "redis",
            Self::MemoryFallback => "memory_fallback",
        }
    }
}

/// `2xx`, `4xx`, ... of an HTTP status.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

type Histograms = Family<OperationLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 5 ms .. ~80 s
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    call_duration: Histograms,
    unauthorized: Counter,
    upstream_calls: Family<CallLabels, Counter>,
    upstream_duration: Histograms,
    upstream_notices: NoticeCounter,
    throttle_decisions: Family<DecisionLabel, Counter>,
    throttle_connections: Gauge,
    throttle_backend: Family<BackendLabel, Gauge>,
    redis_up: Gauge,
    intake: Family<OutcomeLabel, Counter>,
    delivery_attempts: Family<OutcomeLabel, Counter>,
    delivery_latency: Histogram,
    notifications_dropped: Counter,
    dead_expired: Counter,
    subscriptions_closed: Counter,
    lease_lost: Counter,
    order_holds_expired: Counter,
    helpdesk_polls: Family<OutcomeLabel, Counter>,
    chat_details_missing: Counter,
    worker_heartbeat: Gauge<f64, AtomicU64>,
    store_up: Gauge,
    subscriptions: Gauge,
    pending: Gauge,
    dead: Gauge,
    held: Gauge,
    released: Gauge,
    oldest_pending_age: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("livechat_gateway"),
            calls: Family::default(),
            call_duration: Family::new_with_constructor(latency_histogram),
            unauthorized: Counter::default(),
            upstream_calls: Family::default(),
            upstream_duration: Family::new_with_constructor(latency_histogram),
            upstream_notices: NoticeCounter::default(),
            throttle_decisions: Family::default(),
            throttle_connections: Gauge::default(),
            throttle_backend: Family::default(),
            redis_up: Gauge::default(),
            intake: Family::default(),
            delivery_attempts: Family::default(),
            // 50 ms .. ~3.6 h: a delivery may wait out the whole retry schedule.
            delivery_latency: Histogram::new(exponential_buckets(0.05, 4.0, 12)),
            notifications_dropped: Counter::default(),
            dead_expired: Counter::default(),
            subscriptions_closed: Counter::default(),
            lease_lost: Counter::default(),
            order_holds_expired: Counter::default(),
            helpdesk_polls: Family::default(),
            chat_details_missing: Counter::default(),
            worker_heartbeat: Gauge::default(),
            store_up: Gauge::default(),
            subscriptions: Gauge::default(),
            pending: Gauge::default(),
            dead: Gauge::default(),
            held: Gauge::default(),
            released: Gauge::default(),
            oldest_pending_age: Gauge::default(),
        };
        m.set_throttle_backend(ThrottleBackend::Memory);
        let r = &mut m.registry;
        r.register(
            "calls",
            "Calls answered, by operation id (or route) and status class",
            m.calls.clone(),
        );
        r.register(
            "call_duration_seconds",
            "Time to answer a call, by operation id",
            m.call_duration.clone(),
        );
        r.register(
            "unauthorized",
            "Connector calls refused for missing or unusable credentials",
            m.unauthorized.clone(),
        );
        r.register(
            "upstream_calls",
            "Calls to LiveChat by operation id and status class (error: no answer or timeout)",
            m.upstream_calls.clone(),
        );
        r.register(
            "upstream_duration_seconds",
            "Time LiveChat took to answer, by operation id",
            m.upstream_duration.clone(),
        );
        r.register(
            "upstream_retirement_notices",
            "LiveChat answers carrying a Legacy or Deprecation header (the API version is being retired), by API",
            m.upstream_notices.0.clone(),
        );
        r.register(
            "throttle_decisions",
            "Per-connection throttle decisions (admitted, rejected)",
            m.throttle_decisions.clone(),
        );
        r.register(
            "throttle_connections",
            "Connections with throttle state in this replica",
            m.throttle_connections.clone(),
        );
        r.register(
            "throttle_backend",
            "1 for the throttle backend in use (memory, redis, memory_fallback), 0 for the others",
            m.throttle_backend.clone(),
        );
        r.register(
            "redis_up",
            "1 when the shared Redis answers (or none is configured), 0 when it does not",
            m.redis_up.clone(),
        );
        r.register(
            "intake_events",
            "Webhooks LiveChat posted, by outcome (accepted, duplicate, refused, failed)",
            m.intake.clone(),
        );
        r.register(
            "delivery_attempts",
            "Delivery attempts to flows, by outcome (delivered, retry, dead, gone)",
            m.delivery_attempts.clone(),
        );
        r.register(
            "delivery_latency_seconds",
            "From intake to the flow's 2xx, for delivered notifications",
            m.delivery_latency.clone(),
        );
        r.register(
            "notifications_dropped",
            "Undelivered notifications dropped because their flow answered 404 or 410",
            m.notifications_dropped.clone(),
        );
        r.register(
            "dead_expired",
            "Dead notifications purged after the retention period",
            m.dead_expired.clone(),
        );
        r.register(
            "subscriptions_closed",
            "Subscriptions closed by their owner or because their flow was gone",
            m.subscriptions_closed.clone(),
        );
        r.register(
            "lease_lost",
            "Delivery outcomes not recorded because the lease had passed on",
            m.lease_lost.clone(),
        );
        r.register(
            "order_holds_expired",
            "Notifications their flow refused past the order hold, so the later ones of the flow \
             went on without them (counted at the refused one's next attempt)",
            m.order_holds_expired.clone(),
        );
        r.register(
            "helpdesk_polls",
            "HelpDesk polls for new tickets (ticket_created on LiveChat API v3): ok or failed",
            m.helpdesk_polls.clone(),
        );
        r.register(
            "chat_details_missing",
            "chat_ended notifications sent without the chat's details (LiveChat v3 get_chat failed)",
            m.chat_details_missing.clone(),
        );
        r.register(
            "worker_heartbeat_timestamp_seconds",
            "When the delivery worker last looked at the store (Unix time, by the gateway's clock)",
            m.worker_heartbeat.clone(),
        );
        r.register(
            "store_up",
            "1 when the store answered the scrape's query, 0 when not",
            m.store_up.clone(),
        );
        r.register(
            "subscriptions",
            "Open trigger subscriptions in the store (-1: store down)",
            m.subscriptions.clone(),
        );
        r.register(
            "deliveries_pending",
            "Notifications waiting for delivery (-1: store down)",
            m.pending.clone(),
        );
        r.register(
            "deliveries_dead",
            "Dead letters: notifications that exhausted their retries (-1: store down)",
            m.dead.clone(),
        );
        r.register(
            "deliveries_held",
            "Pending notifications waiting behind an earlier one of their flow (-1: store down)",
            m.held.clone(),
        );
        r.register(
            "deliveries_released",
            "Pending notifications past their order hold: their flow goes on without them \
             (-1: store down)",
            m.released.clone(),
        );
        r.register(
            "oldest_pending_age_seconds",
            "Age of the oldest pending notification since intake (0 when none)",
            m.oldest_pending_age.clone(),
        );
        m
    }

    /// One answered call; `operation` is an operation id or a route name, never a path.
    pub fn call(&self, operation: &'static str, status: u16, took: Duration) {
        self.calls
            .get_or_create(&CallLabels {
                operation,
                status_class: status_class(status),
            })
            .inc();
        self.call_duration
            .get_or_create(&OperationLabel { operation })
            .observe(took.as_secs_f64());
    }

    pub fn unauthorized(&self) {
        self.unauthorized.inc();
    }

    /// One call to LiveChat; `status` is `None` when no answer came (transport error, timeout).
    pub fn upstream(&self, operation: &'static str, status: Option<u16>, took: Duration) {
        let status_class = status.map_or("error", status_class);
        self.upstream_calls
            .get_or_create(&CallLabels {
                operation,
                status_class,
            })
            .inc();
        self.upstream_duration
            .get_or_create(&OperationLabel { operation })
            .observe(took.as_secs_f64());
    }

    /// The counter `upstream::notices::Notices` moves.
    pub fn notice_counter(&self) -> NoticeCounter {
        self.upstream_notices.clone()
    }

    pub fn throttle(&self, admitted: bool) {
        let decision = if admitted { "admitted" } else { "rejected" };
        self.throttle_decisions
            .get_or_create(&DecisionLabel { decision })
            .inc();
    }

    pub fn set_throttle_connections(&self, n: u64) {
        self.throttle_connections
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn set_throttle_backend(&self, active: ThrottleBackend) {
        for b in ThrottleBackend::ALL {
            self.throttle_backend
                .get_or_create(&BackendLabel {
                    backend: b.as_str(),
                })
                .set(i64::from(b == active));
        }
    }

    pub fn set_redis_up(&self, up: bool) {
        self.redis_up.set(i64::from(up));
    }

    pub fn intake(&self, outcome: IntakeOutcome) {
        self.intake
            .get_or_create(&OutcomeLabel {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    pub fn delivery(&self, outcome: DeliveryOutcome) {
        self.delivery_attempts
            .get_or_create(&OutcomeLabel {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// A notification the flow accepted, `ms` after the intake stored it.
    pub fn delivery_latency_ms(&self, ms: i64) {
        self.delivery_latency.observe(ms.max(0) as f64 / 1000.0);
    }

    pub fn notifications_dropped(&self, n: u64) {
        self.notifications_dropped.inc_by(n);
    }

    pub fn dead_expired(&self, n: u64) {
        self.dead_expired.inc_by(n);
    }

    pub fn subscription_closed(&self) {
        self.subscriptions_closed.inc();
    }

    pub fn lease_lost(&self) {
        self.lease_lost.inc();
    }

    /// One HelpDesk poll of a connection for new tickets.
    pub fn helpdesk_poll(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.helpdesk_polls
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    pub fn chat_details_missing(&self) {
        self.chat_details_missing.inc();
    }

    /// A refused notification's order hold ran out (see `relay::decide`).
    pub fn order_hold_expired(&self) {
        self.order_holds_expired.inc();
    }

    /// The worker looked at the store at `now_ms` (the injected clock).
    pub fn worker_heartbeat(&self, now_ms: i64) {
        self.worker_heartbeat.set(now_ms as f64 / 1000.0);
    }

    /// The store's figures at scrape time, `None` when it did not answer.
    /// The store's figures read at scrape time; `None` when the store did not answer.
    pub fn set_store(&self, counts: Option<Counts>, now_ms: i64) {
        self.store_up.set(i64::from(counts.is_some()));
        let g = counts.unwrap_or(Counts {
            subscriptions: -1,
            pending: -1,
            dead: -1,
            oldest_pending_ms: None,
            held: -1,
            released: -1,
        });
        self.subscriptions.set(g.subscriptions);
        self.pending.set(g.pending);
        self.dead.set(g.dead);
        self.held.set(g.held);
        self.released.set(g.released);
        let age_ms = g.oldest_pending_ms.map_or(0, |at| (now_ms - at).max(0));
        self.oldest_pending_age.set(age_ms as f64 / 1000.0);
    }

    /// The OpenMetrics text of every series.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = text::encode(&mut out, &self.registry) {
            log::error!("metrics could not be encoded: {e}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_carry_only_their_fixed_labels() {
        let m = Metrics::new();
        m.call("listAgents", 200, Duration::from_millis(3));
        m.upstream("listAgents", None, Duration::from_millis(3));
        m.delivery(DeliveryOutcome::Dead);
        m.set_store(None, 0);
        let text = m.render();
        assert!(text.contains(
            "livechat_gateway_calls_total{operation=\"listAgents\",status_class=\"2xx\"} 1"
        ));
        assert!(text.contains(
            "livechat_gateway_upstream_calls_total{operation=\"listAgents\",status_class=\"error\"} 1"
        ));
        assert!(text.contains("livechat_gateway_delivery_attempts_total{outcome=\"dead\"} 1"));
        assert!(text.contains("livechat_gateway_store_up 0"));
        assert!(text.contains("livechat_gateway_throttle_backend{backend=\"memory\"} 1"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn oldest_pending_age_is_measured_from_intake() {
        let m = Metrics::new();
        let gauges = Counts {
            subscriptions: 1,
            pending: 2,
            dead: 0,
            oldest_pending_ms: Some(1_000),
            held: 0,
            released: 0,
        };
        m.set_store(Some(gauges), 91_000);
        assert!(m
            .render()
            .contains("livechat_gateway_oldest_pending_age_seconds 90.0"));
    }
}
