//! One `access` event per call: method, route template, operation id, status, duration, the
//! connection id's prefix and the platform's ids. A call that brings no usable
//! `x-ms-client-request-id` gets one generated, and the answer carries it either way, so a
//! maker's failed run and the gateway's log line can be matched.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use super::Field;

use crate::openapi::operations::OPERATIONS;
use crate::state::AppState;

// Names, not strings: a lookup by `&str` parses the name again on every call.
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
const CORRELATION_ID: HeaderName = HeaderName::from_static("x-ms-correlation-id");
const WORKFLOW_RUN_ID: HeaderName = HeaderName::from_static("x-ms-workflow-run-id");

/// Bytes of a connection id written to the log (base64url, so as many characters): enough to
/// tell connections apart.
const CONNECTION_PREFIX: usize = 8;

/// The caller's connection, set by the connector guard for the access line: the id's first
/// characters, kept inline (the id is base64url, so ASCII), so tagging a call allocates nothing.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionTag {
    bytes: [u8; CONNECTION_PREFIX],
    len: usize,
}

impl ConnectionTag {
    pub fn of(connection: &crate::credentials::ConnectionId) -> Self {
        let mut bytes = [0; CONNECTION_PREFIX];
        let prefix = prefix_of(connection.as_str());
        bytes[..prefix.len()].copy_from_slice(prefix.as_bytes());
        Self {
            bytes,
            len: prefix.len(),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// At most `CONNECTION_PREFIX` bytes of `id`, cut on a character boundary.
fn prefix_of(id: &str) -> &str {
    let mut end = id.len().min(CONNECTION_PREFIX);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    &id[..end]
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

fn header_id(req: &ServiceRequest, name: &HeaderName) -> Option<String> {
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
    let route = match connector_route(req.path()) {
        Some(template) => Some(Cow::Borrowed(template)),
        None => req.match_pattern().map(Cow::Owned),
    };
    let operation = operation_of(method.as_str(), route.as_deref());
    let request_id = header_id(&req, &CLIENT_REQUEST_ID).unwrap_or_else(new_request_id);
    let correlation_id = header_id(&req, &CORRELATION_ID);
    let run_id = header_id(&req, &WORKFLOW_RUN_ID);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let scope = CallScope {
        operation,
        state: state.clone(),
    };
    let mut res = CALL.scope(scope, next.call(req)).await?;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(CLIENT_REQUEST_ID, v);
    }
    let status = res.status().as_u16();
    let took = started.elapsed();
    if let Some(state) = state {
        state.metrics.call(operation, status, took);
    }
    let connection = res.request().extensions().get::<ConnectionTag>().copied();
    let route = route.unwrap_or(Cow::Borrowed("(unmatched)"));
    let level = if status >= 500 {
        log::Level::Warn
    } else {
        log::Level::Info
    };
    let message = [method.as_str(), " ", &route, " ", res.status().as_str()].concat();
    super::event(
        super::ACCESS,
        level,
        &message,
        &[
            ("method", method.as_str().into()),
            ("route", route.as_ref().into()),
            ("operation", operation.into()),
            ("status", status.into()),
            ("duration_ms", millis(took)),
            (
                "connection",
                connection.as_ref().map(ConnectionTag::as_str).into(),
            ),
            ("client_request_id", request_id.as_str().into()),
            ("correlation_id", correlation_id.as_deref().into()),
            ("workflow_run_id", run_id.as_deref().into()),
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
            ("delivery_id", a.delivery_id.into()),
            ("subscription_id", a.subscription_id.into()),
            ("event_type", a.event_type.into()),
            ("attempt", a.attempt.into()),
            ("outcome", outcome.into()),
            ("status", a.status.into()),
            ("duration_ms", millis(a.took)),
            ("error", a.error.into()),
            ("next_attempt_in_ms", a.next_attempt_in_ms.into()),
            ("note", a.note.into()),
        ],
    );
}

fn millis(d: Duration) -> Field<'static> {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).into()
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

/// The connector route template `path` falls under, matched segment by segment as actix
/// matches a `{name}` (one non-empty segment); `None` leaves the lookup to actix. Its own
/// lookup (`match_pattern`) runs a regex per templated route, a few thousand instructions
/// a call.
fn connector_route(path: &str) -> Option<&'static str> {
    OPERATIONS
        .iter()
        .map(|op| op.path)
        .find(|template| template_matches(template, path))
}

fn template_matches(template: &str, path: &str) -> bool {
    let (mut want, mut got) = (template.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g && !w.starts_with('{') => {}
            _ => return false,
        }
    }
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
    fn a_connection_is_tagged_by_its_ids_first_characters() {
        use crate::credentials::ConnectionId;
        let tag = |id: &str| ConnectionTag::of(&ConnectionId::from_stored(id.into()));
        assert_eq!(tag("_qBQ1YY5-uLS15XoCDxqpMVg").as_str(), "_qBQ1YY5");
        assert_eq!(tag("abc").as_str(), "abc");
        // Never so for an id this gateway derives (base64url), but no id can split a character.
        assert_eq!(tag("abcdefg\u{e9}x").as_str(), "abcdefg");
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

    use proptest::prelude::*;

    proptest::proptest! {
        /// The segment matcher finds the template actix's router finds, or leaves it to actix.
        #[test]
        fn connector_routes_match_as_actix_matches_them(
            segments in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        "agents", "tickets", "tags", "webhooks", "chat_starts_webhook",
                        "ticket_created_webhook", "", "{login}", "a%2Fb", "6W6TC",
                    ]).prop_map(str::to_string),
                    "[a-z0-9@.%-]{0,6}",
                ],
                0..5,
            )
        ) {
            let path = format!("/{}", segments.join("/"));
            let mut actix: Vec<&str> = OPERATIONS
                .iter()
                .map(|op| op.path)
                .filter(|t| actix_web::dev::ResourceDef::new(*t).is_match(&path))
                .collect();
            actix.dedup();
            proptest::prop_assert!(actix.len() <= 1, "{path} matches {actix:?}");
            proptest::prop_assert_eq!(connector_route(&path), actix.first().copied());
        }
    }

    #[test]
    fn operations_are_bounded_names() {
        assert_eq!(operation_of("GET", None), "unmatched");
        assert_eq!(operation_of("GET", Some("/healthz")), "healthz");
        assert_eq!(operation_of("GET", Some("/swagger-ui/{_:.*}")), "other");
    }
}
