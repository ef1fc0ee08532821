//! `/metrics` after a scripted mix of calls: each series moves as it should, the text parses,
//! and no label carries anything a caller sent.

use std::collections::BTreeSet;

use livechat_gateway::fake_livechat::InjectedResponse;
use livechat_gateway::openapi::operations::OPERATIONS;

use crate::helpers::{send, spawn_app_with, ticket_event, wait_for, Callback, TICKET_CREATED};

/// One sample: name, labels, value.
pub type Sample = (String, Vec<(String, String)>, f64);

/// Parses OpenMetrics/Prometheus text; panics on any line that is neither a comment nor a
/// well-formed sample.
pub fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let kind = rest.split(' ').next().unwrap_or("");
            assert!(
                ["HELP", "TYPE", "UNIT", "EOF"].contains(&kind),
                "bad comment: {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series, vec![]),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let labels = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                (name, labels)
            }
        };
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "bad name in {line}"
        );
        out.push((name.to_string(), labels, value));
    }
    out
}

/// The value of the sample `name` with exactly `labels` (0 when absent).
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map_or(0.0, |s| s.2)
}

fn canned_500() -> InjectedResponse {
    InjectedResponse {
        status: 500,
        headers: vec![],
        body: r#"{"error":"boom"}"#.into(),
        delay: None,
    }
}

#[actix_web::test]
async fn a_scripted_mix_moves_each_series_and_no_label_carries_caller_data() {
    let app = spawn_app_with(|s| s.throttle_calls = 4).await;
    let cb = Callback::spawn().await;
    let ticket_id = "TK8C1F2E";

    assert_eq!(send(app.get("/agents"), None).await.status, 200);
    app.fake.push_response(canned_500());
    assert_eq!(send(app.get("/agents"), None).await.status, 502);
    let (id, _) = app.subscribe(TICKET_CREATED, &cb.url).await;
    let path = format!("/tickets/{ticket_id}");
    assert_eq!(send(app.get(&path), None).await.status, 404);
    assert_eq!(send(app.get("/agents"), None).await.status, 429);
    let anonymous = send(app.client.get(app.url("/agents")), None).await;
    assert_eq!(anonymous.status, 401);

    let intake = app.intake_url(&id);
    let event = ticket_event(ticket_id);
    assert_eq!(app.post_event(&intake, &event).await.0, 200);
    assert_eq!(
        app.post_event(&intake, &event).await.1["status"],
        "duplicate"
    );
    let wrong_token = format!("{}/wrong", intake.rsplit_once('/').unwrap().0);
    assert_eq!(app.post_event(&wrong_token, &event).await.0, 404);
    wait_for("the delivery", || cb.received().len() == 1).await;
    app.wait_until_settled().await;

    let text = app.metrics().await;
    assert!(text.ends_with("# EOF\n"), "{text}");
    let s = parse(&text);
    let calls = "livechat_gateway_calls_total";
    let list_agents = OPERATIONS
        .iter()
        .find(|op| op.method == "GET" && op.path == "/agents")
        .unwrap()
        .id;
    let with_op = |class| [("operation", list_agents), ("status_class", class)];
    assert_eq!(value(&s, calls, &with_op("2xx")), 1.0, "{text}");
    assert_eq!(value(&s, calls, &with_op("5xx")), 1.0, "{text}");
    assert_eq!(
        value(&s, calls, &with_op("4xx")),
        2.0,
        "429 and 401: {text}"
    );
    let upstream = "livechat_gateway_upstream_calls_total";
    assert_eq!(value(&s, upstream, &with_op("2xx")), 1.0, "{text}");
    assert_eq!(value(&s, upstream, &with_op("5xx")), 1.0, "{text}");
    assert_eq!(
        value(
            &s,
            "livechat_gateway_upstream_duration_seconds_count",
            &[("operation", list_agents)]
        ),
        2.0,
        "{text}"
    );
    let decisions = "livechat_gateway_throttle_decisions_total";
    assert_eq!(value(&s, decisions, &[("decision", "admitted")]), 4.0);
    assert_eq!(value(&s, decisions, &[("decision", "rejected")]), 1.0);
    assert_eq!(value(&s, "livechat_gateway_unauthorized_total", &[]), 1.0);
    assert_eq!(value(&s, "livechat_gateway_throttle_connections", &[]), 1.0);
    let intake = "livechat_gateway_intake_events_total";
    for (outcome, n) in [("accepted", 1.0), ("duplicate", 1.0), ("refused", 1.0)] {
        assert_eq!(value(&s, intake, &[("outcome", outcome)]), n, "{text}");
    }
    let attempts = "livechat_gateway_delivery_attempts_total";
    assert_eq!(value(&s, attempts, &[("outcome", "delivered")]), 1.0);
    assert_eq!(
        value(&s, "livechat_gateway_delivery_latency_seconds_count", &[]),
        1.0
    );
    assert_eq!(value(&s, "livechat_gateway_store_up", &[]), 1.0);
    assert_eq!(value(&s, "livechat_gateway_deliveries_pending", &[]), 0.0);
    assert_eq!(value(&s, "livechat_gateway_subscriptions", &[]), 1.0);

    // Labels: only fixed names, only values from fixed sets.
    let mut allowed: BTreeSet<&str> = OPERATIONS.iter().map(|op| op.id).collect();
    allowed.extend([
        "intake",
        "healthz",
        "readyz",
        "metrics",
        "unmatched",
        "other",
        "1xx",
        "2xx",
        "3xx",
        "4xx",
        "5xx",
        "error",
        "admitted",
        "rejected",
        "accepted",
        "duplicate",
        "refused",
        "failed",
        "delivered",
        "retry",
        "dead",
        "gone",
        "memory",
        "redis",
        "memory_fallback",
    ]);
    let secrets = [
        app.login.as_str(),
        app.api_key.as_str(),
        cb.url.as_str(),
        ticket_id,
        id.as_str(),
    ];
    for (name, labels, _) in &s {
        for (k, v) in labels {
            if k == "le" {
                assert!(v == "+Inf" || v.parse::<f64>().is_ok(), "{name} le={v}");
                continue;
            }
            assert!(
                [
                    "operation",
                    "status_class",
                    "decision",
                    "outcome",
                    "backend"
                ]
                .contains(&k.as_str()),
                "{name} has label {k}"
            );
            assert!(allowed.contains(v.as_str()), "{name}{{{k}={v}}}");
        }
    }
    for secret in secrets {
        assert!(!text.contains(secret), "/metrics holds {secret}");
    }
}

#[actix_web::test]
async fn a_store_that_does_not_answer_shows_as_down_without_failing_the_scrape() {
    let app = spawn_app_with(|_| {}).await;
    app.state.store.close().await;
    let s = parse(&app.metrics().await);
    assert_eq!(value(&s, "livechat_gateway_store_up", &[]), 0.0);
    assert_eq!(value(&s, "livechat_gateway_deliveries_pending", &[]), -1.0);
}

/// Series names a scrape exposes, as PromQL sees them (`_total`, `_bucket`, ... included).
fn exposed_series(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = rest.split_once(' ').unwrap();
        let suffixes: &[&str] = match kind {
            "counter" => &["_total"],
            "histogram" => &["_bucket", "_sum", "_count"],
            _ => &[""],
        };
        names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
    }
    names
}

/// Every `livechat_gateway_*` token in `text`.
fn referenced_series(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("livechat_gateway_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

#[actix_web::test]
async fn the_dashboard_and_the_alert_rules_use_only_series_the_gateway_exposes() {
    let app = spawn_app_with(|_| {}).await;
    let exposed = exposed_series(&app.metrics().await);
    let root = env!("CARGO_MANIFEST_DIR");
    let dashboard = std::fs::read_to_string(format!("{root}/deploy/grafana/livechat-gateway.json"))
        .expect("the dashboard");
    let alerts = std::fs::read_to_string(format!("{root}/deploy/prometheus/alerts.yml"))
        .expect("the alert rules");
    let board: serde_json::Value = serde_json::from_str(&dashboard).expect("dashboard JSON");
    let panels = board["panels"].as_array().unwrap();
    let exprs: Vec<&str> = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    assert!(exprs.len() >= 20, "{exprs:?}");
    for (file, text) in [
        ("dashboard", dashboard.as_str()),
        ("alerts", alerts.as_str()),
    ] {
        let used = referenced_series(text);
        assert!(used.len() >= 5, "{file} uses {used:?}");
        let unknown: Vec<_> = used.difference(&exposed).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses unexposed {unknown:?}; exposed: {exposed:?}"
        );
    }
    for alert in [
        "DeadLettersGrowing",
        "OldestPendingTooOld",
        "WorkerStalled",
        "Upstream5xx",
        "RedisFallbackActive",
    ] {
        assert!(
            alerts.contains(&format!("alert: LivechatGateway{alert}")),
            "{alert}"
        );
    }
}

#[actix_web::test]
async fn the_readme_documents_every_series_the_gateway_exposes_and_no_other() {
    let app = spawn_app_with(|_| {}).await;
    let text = app.metrics().await;
    let exposed: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|rest| {
            let (name, kind) = rest.split_once(' ').unwrap();
            let name = name.trim_start_matches("livechat_gateway_");
            match kind {
                "counter" => format!("{name}_total"),
                _ => name.to_string(),
            }
        })
        .collect();
    let readme = std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR")))
        .expect("README.md");
    let section = readme
        .split("\n### Metrics\n")
        .nth(1)
        .expect("a Metrics section")
        .split("\n### ")
        .next()
        .unwrap();
    let documented: BTreeSet<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| {
            let name = &l[..l.find(['`', '{']).unwrap()];
            name.to_string()
        })
        .collect();
    let undocumented: Vec<_> = exposed.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&exposed).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "README's metrics table lacks {undocumented:?} and names unexposed {stale:?}"
    );
}
