//! One `access` event per call: method, route template, operation id, status, duration, the
//! connection id's prefix and the platform's ids. A call that brings no usable
//! `x-ms-client-request-id` gets one generated, and the answer carries it either way, so a
//! maker's failed run and the gateway's log line can be matched.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use serde_json::{json, Value};

use crate::openapi::operations::OPERATIONS;
use crate::state::AppState;

const CLIENT_REQUEST_ID: &str = "x-ms-client-request-id";
const CORRELATION_ID: &str = "x-ms-correlation-id";
const WORKFLOW_RUN_ID: &str = "x-ms-workflow-run-id";

/// Characters of a connection id written to the log: enough to tell connections apart.
const CONNECTION_PREFIX: usize = 8;

/// The caller's connection, set by the connector guard for the access line.
#[derive(Clone, Debug)]
pub struct ConnectionTag(pub String);

impl ConnectionTag {
    pub fn of(connection: &crate::credentials::ConnectionId) -> Self {
        Self(
            connection
                .as_str()
                .chars()
                .take(CONNECTION_PREFIX)
                .collect(),
        )
    }
}

/// An id header's value when it looks like an id (a GUID, a run id); anything else (a long
/// or odd value a caller could smuggle a secret in) is not logged.
fn safe_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
    .then(|| s.to_string())
}

fn header_id(req: &ServiceRequest, name: &str) -> Option<String> {
    req.headers().get(name).and_then(safe_id)
}

/// A random v4 UUID, the shape the platform's own ids have.
fn new_request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(char::from(HEX[usize::from(x >> 4)]));
        id.push(char::from(HEX[usize::from(x & 0x0f)]));
    }
    id
}

pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.match_pattern();
    let operation = operation_of(method.as_str(), route.as_deref());
    let request_id = header_id(&req, CLIENT_REQUEST_ID).unwrap_or_else(new_request_id);
    let correlation_id = header_id(&req, CORRELATION_ID);
    let run_id = header_id(&req, WORKFLOW_RUN_ID);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let scope = CallScope {
        operation,
        state: state.clone(),
    };
    let mut res = CALL.scope(scope, next.call(req)).await?;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static(CLIENT_REQUEST_ID), v);
    }
    let status = res.status().as_u16();
    let took = started.elapsed();
    if let Some(state) = state {
        state.metrics.call(operation, status, took);
    }
    let connection = res
        .request()
        .extensions()
        .get::<ConnectionTag>()
        .map(|c| c.0.clone());
    let route = route.unwrap_or_else(|| "(unmatched)".into());
    let level = if status >= 500 {
        log::Level::Warn
    } else {
        log::Level::Info
    };
    super::event(
        super::ACCESS,
        level,
        &format!("{method} {route} {status}"),
        &[
            ("method", json!(method.as_str())),
            ("route", json!(route)),
            ("operation", json!(operation)),
            ("status", json!(status)),
            ("duration_ms", json!(took.as_millis() as u64)),
            ("connection", json!(connection)),
            ("client_request_id", json!(request_id)),
            ("correlation_id", json!(correlation_id)),
            ("workflow_run_id", json!(run_id)),
        ],
    );
    Ok(res)
}

/// One delivery attempt to a flow's callback (never its URL: it may carry a signature).
pub struct AttemptLog<'a> {
    pub delivery_id: i64,
    pub subscription_id: &'a str,
    pub event_type: &'a str,
    pub attempt: u32,
    pub outcome: crate::metrics::DeliveryOutcome,
    pub status: Option<u16>,
    pub took: Duration,
    pub error: Option<&'a str>,
    pub next_attempt_in_ms: Option<i64>,
    /// Anything else worth a reader's attention (how the flow's order is held).
    pub note: Option<&'a str>,
}

pub fn delivery_attempt(a: &AttemptLog) {
    use crate::metrics::DeliveryOutcome::{Delivered, Retry};
    let level = match a.outcome {
        Delivered | Retry => log::Level::Info,
        _ => log::Level::Warn,
    };
    let outcome = a.outcome.as_str();
    super::event(
        super::DELIVERY,
        level,
        &format!(
            "delivery {} attempt {}: {outcome}",
            a.delivery_id, a.attempt
        ),
        &[
            ("delivery_id", json!(a.delivery_id)),
            ("subscription_id", json!(a.subscription_id)),
            ("event_type", json!(a.event_type)),
            ("attempt", json!(a.attempt)),
            ("outcome", json!(outcome)),
            ("status", json!(a.status)),
            ("duration_ms", json!(a.took.as_millis() as u64)),
            ("error", a.error.map_or(Value::Null, |e| json!(e))),
            ("next_attempt_in_ms", json!(a.next_attempt_in_ms)),
            ("note", json!(a.note)),
        ],
    );
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
pub fn upstream_observed(status: Option<u16>, took: Duration) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_request_ids_are_v4_uuids() {
        let id = new_request_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!("89ab".contains(&parts[3][..1]));
        assert_ne!(id, new_request_id());
    }

    #[test]
    fn ids_that_do_not_look_like_ids_are_not_logged() {
        let ok = HeaderValue::from_static("0f8fad5b-d9cb-469f-a165-70867728950e");
        assert!(safe_id(&ok).is_some());
        for bad in ["Basic dXNlcjprZXk=", "", "a b"] {
            assert!(safe_id(&HeaderValue::from_static(bad)).is_none(), "{bad}");
        }
        assert!(safe_id(&HeaderValue::from_str(&"a".repeat(129)).unwrap()).is_none());
    }

    #[test]
    fn operations_are_bounded_names() {
        assert_eq!(operation_of("GET", None), "unmatched");
        assert_eq!(operation_of("GET", Some("/healthz")), "healthz");
        assert_eq!(operation_of("GET", Some("/swagger-ui/{_:.*}")), "other");
    }
}
