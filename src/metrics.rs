//! Prometheus counters, kept as plain atomics: a handful of series does not need a registry.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub responses_4xx: AtomicU64,
    pub responses_5xx: AtomicU64,
    pub throttled: AtomicU64,
    pub unauthorized: AtomicU64,
    pub upstream_errors: AtomicU64,
    pub events_received: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub deliveries_ok: AtomicU64,
    pub deliveries_failed: AtomicU64,
    pub deliveries_dead: AtomicU64,
    pub deliveries_dropped: AtomicU64,
    pub deliveries_expired: AtomicU64,
    pub subscriptions_closed: AtomicU64,
    pub lease_lost: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition; `gauges` come from the caller (store depth, ...).
    pub fn render(&self, gauges: &[(&str, &str, i64)]) -> String {
        let mut out = String::new();
        let counters = [
            (
                "livechat_gateway_requests_total",
                "Requests answered",
                &self.requests,
            ),
            (
                "livechat_gateway_responses_4xx_total",
                "Answers with a 4xx status",
                &self.responses_4xx,
            ),
            (
                "livechat_gateway_responses_5xx_total",
                "Answers with a 5xx status",
                &self.responses_5xx,
            ),
            (
                "livechat_gateway_throttled_total",
                "Calls refused by the per-connection throttle",
                &self.throttled,
            ),
            (
                "livechat_gateway_unauthorized_total",
                "Calls without usable credentials",
                &self.unauthorized,
            ),
            (
                "livechat_gateway_upstream_errors_total",
                "LiveChat calls that failed or timed out",
                &self.upstream_errors,
            ),
            (
                "livechat_gateway_events_received_total",
                "Webhook events accepted from LiveChat",
                &self.events_received,
            ),
            (
                "livechat_gateway_events_duplicate_total",
                "Webhook events LiveChat sent again",
                &self.events_duplicate,
            ),
            (
                "livechat_gateway_deliveries_ok_total",
                "Notifications a flow accepted",
                &self.deliveries_ok,
            ),
            (
                "livechat_gateway_deliveries_failed_total",
                "Notification attempts that failed",
                &self.deliveries_failed,
            ),
            (
                "livechat_gateway_deliveries_dead_total",
                "Notifications that exhausted their retries",
                &self.deliveries_dead,
            ),
            (
                "livechat_gateway_deliveries_dropped_total",
                "Notifications dropped because their flow answered 404 or 410",
                &self.deliveries_dropped,
            ),
            (
                "livechat_gateway_deliveries_expired_total",
                "Dead notifications purged after the retention period",
                &self.deliveries_expired,
            ),
            (
                "livechat_gateway_subscriptions_closed_total",
                "Subscriptions closed by their owner or because their flow was gone",
                &self.subscriptions_closed,
            ),
            (
                "livechat_gateway_lease_lost_total",
                "Delivery outcomes not recorded because the lease had passed on",
                &self.lease_lost,
            ),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.load(Ordering::Relaxed)
            );
        }
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
