//! Logging. One line per request with the platform's request id; never a header value
//! besides those ids, never a body, so credentials cannot reach the log.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::openapi::operations::OPERATIONS;
use crate::state::AppState;

pub fn init() {
    let env = env_logger::Env::default().default_filter_or("info");
    let mut builder = env_logger::Builder::from_env(env);
    // The HTTP client's trace level prints whole request heads; keep it at debug whatever
    // RUST_LOG asks, so `RUST_LOG=trace` cannot put a caller's credentials in the log.
    for noisy in ["awc", "actix_http", "h2"] {
        builder.filter_module(noisy, log::LevelFilter::Debug);
    }
    let _ = builder.format_timestamp_millis().try_init();
}

const CLIENT_REQUEST_ID: &str = "x-ms-client-request-id";
const ID_HEADERS: [&str; 3] = [
    CLIENT_REQUEST_ID,
    "x-ms-correlation-id",
    "x-ms-workflow-run-id",
];

fn safe_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    (s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
    .then_some(s)
}

/// The intake URL carries the subscription's token: keep it out of the log.
fn loggable_path(path: &str) -> String {
    match path.strip_prefix("/livechat/events/") {
        Some(rest) => format!(
            "/livechat/events/{}/[token]",
            rest.split('/').next().unwrap_or("")
        ),
        None => path.to_string(),
    }
}

pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = loggable_path(req.path());
    let ids: Vec<String> = ID_HEADERS
        .iter()
        .filter_map(|h| {
            req.headers()
                .get(*h)
                .and_then(safe_id)
                .map(|v| format!("{h}={v}"))
        })
        .collect();
    let echo = req
        .headers()
        .get(CLIENT_REQUEST_ID)
        .filter(|v| safe_id(v).is_some())
        .cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let operation = operation_of(req.method().as_str(), req.match_pattern().as_deref());
    let scope = CallScope {
        operation,
        state: state.clone(),
    };
    let mut res = CALL.scope(scope, next.call(req)).await?;
    if let Some(v) = echo {
        res.headers_mut()
            .insert(HeaderName::from_static(CLIENT_REQUEST_ID), v);
    }
    let status = res.status();
    if let Some(state) = state {
        state
            .metrics
            .call(operation, status.as_u16(), started.elapsed());
    }
    log::info!(
        "{method} {path} {operation} {} {}ms {}",
        status.as_u16(),
        started.elapsed().as_millis(),
        ids.join(" ")
    );
    Ok(res)
}

/// What an upstream call made while answering a call needs to be counted under its operation.
struct CallScope {
    operation: &'static str,
    state: Option<web::Data<AppState>>,
}

tokio::task_local! {
    static CALL: CallScope;
}

/// Counts one LiveChat call under the operation being answered. Calls the delivery worker
/// makes (removing a gone flow's webhook) are outside any call and are not counted.
pub fn upstream_observed(status: Option<u16>, took: std::time::Duration) {
    let _ = CALL.try_with(|c| {
        if let Some(state) = &c.state {
            state.metrics.upstream(c.operation, status, took);
        }
    });
}

/// The operation id of a connector route, else a fixed name for the route: a bounded label.
pub fn operation_of(method: &str, pattern: Option<&str>) -> &'static str {
    let Some(pattern) = pattern else {
        return "unmatched";
    };
    if let Some(op) = OPERATIONS
        .iter()
        .find(|op| op.path == pattern && op.method == method)
    {
        return op.id;
    }
    match pattern {
        "/livechat/events/{hookId}/{token}" => "intake",
        "/sandbox/events/{event_type}" => "sandboxEvent",
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        _ if OPERATIONS.iter().any(|op| op.path == pattern) => "methodNotAllowed",
        _ => "other",
    }
}
