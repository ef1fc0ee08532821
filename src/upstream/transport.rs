//! The HTTP exchange every LiveChat generation shares: one pooled awc client per worker, no
//! redirects, a `User-Agent`, the caller's Basic pair marked sensitive, one deadline from connect
//! to last byte, and a bounded body. What an answer *means* is each generation's business.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use secrecy::ExposeSecret;
use serde_json::Value;
use url::Url;

use super::notices::Notices;
use crate::bounded_body;
use crate::credentials::Credentials;
use crate::error::ApiError;

const MAX_MESSAGE_CHARS: usize = 500;

/// Largest answer the gateway reads from LiveChat.
const MAX_UPSTREAM_BODY: usize = 8 * 1024 * 1024;

/// How long a pooled connection to LiveChat may sit idle before it is dropped (awc's default,
/// named so the fake LiveChat can be held to keeping its side open longer: a server that closes
/// an idle connection first races the next call that reuses it, which then fails with a 502).
pub const POOL_IDLE: Duration = Duration::from_secs(15);

/// Sent on every upstream call: HelpDesk may block requests without one.
pub const USER_AGENT: &str = concat!("livechat-gateway/", env!("CARGO_PKG_VERSION"));

/// One request, before it is sent.
pub struct Request<'a> {
    /// Which API it goes to, for logs and retirement notices (`"v2"`, `"helpdesk v1"`).
    pub api: &'static str,
    pub method: Method,
    pub url: Url,
    pub query: &'a [(String, String)],
    pub body: Option<&'a Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// A complete answer: status, the headers the generations read, and the body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone)]
pub struct Transport {
    client: awc::Client,
    timeout: Duration,
    notices: Arc<Notices>,
}

impl Transport {
    pub fn new(timeout: Duration, notices: Arc<Notices>) -> Self {
        // No redirects: following one could hand the caller's Basic pair to another host.
        // No per-request timer of awc's own: `send` holds the whole exchange, connect to last
        // byte, to one deadline, and a second timer per call costs its wheel insert and removal.
        let client = awc::Client::builder()
            .disable_redirects()
            .disable_timeout()
            .connector(
                awc::Connector::new()
                    .timeout(timeout)
                    .conn_keep_alive(POOL_IDLE),
            )
            .add_default_header((header::USER_AGENT, USER_AGENT))
            .finish();
        Self {
            client,
            timeout,
            notices,
        }
    }

    /// Sends `req` with the caller's Basic pair and reads the whole answer.
    pub async fn send(&self, creds: &Credentials, req: Request<'_>) -> Result<Answer, ApiError> {
        let started = Instant::now();
        let mut out = self
            .client
            .request(req.method.clone(), req.url.as_str())
            .insert_header((header::AUTHORIZATION, authorization(creds)?))
            .insert_header((header::ACCEPT, "application/json"));
        for h in req.headers {
            out = out.insert_header(h);
        }
        if !req.query.is_empty() {
            out = out.query(&req.query).map_err(|e| {
                ApiError::BadRequest(format!("The query could not be encoded: {e}."))
            })?;
        }
        let exchange = async {
            let mut res = match req.body {
                Some(b) => out.send_json(b).await,
                None => out.send().await,
            }
            .map_err(|e| send_error(&e))?;
            let declared = bounded_body::declared_length(res.headers());
            let bytes = bounded_body::read(declared, MAX_UPSTREAM_BODY, &mut res)
                .await
                .map_err(|e| {
                    ApiError::BadGateway(format!("LiveChat's answer could not be read: {e}."))
                })?;
            let status = res.status();
            // Moved out, not cloned: the answer is done with them.
            let mut headers = HeaderMap::new();
            let _ = res.map_body(|head, body| {
                headers = std::mem::take(&mut head.headers);
                body
            });
            Ok::<_, ApiError>(Answer {
                status,
                headers,
                bytes,
            })
        };
        let outcome = tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(timeout_error(self.timeout)));
        let (api, method, path) = (req.api, &req.method, req.url.path());
        let status = outcome.as_ref().ok().map(|a| a.status.as_u16());
        let took = started.elapsed();
        crate::telemetry::upstream_observed(status, took);
        match &outcome {
            Ok(a) => {
                log::debug!(
                    "upstream {api} {method} {path} -> {} in {took:?}",
                    a.status.as_u16()
                );
                self.notices.observe(api, &a.headers);
            }
            Err(e) => log::warn!("upstream {api} {method} {path} failed after {took:?}: {e}"),
        }
        outcome
    }
}

/// `{base}/{segments...}` with each segment percent-encoded.
pub fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// The parsed JSON of a body (`Null` when empty), `None` when it is not JSON.
pub fn parse_json(bytes: &[u8]) -> Option<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Some(Value::Null)
    } else {
        serde_json::from_slice(bytes).ok()
    }
}

/// Marked sensitive, so HTTP/2's header compression never indexes it and a `Debug` print of
/// the request (awc traces one) shows `Sensitive` instead of the pair.
pub fn authorization(creds: &Credentials) -> Result<HeaderValue, ApiError> {
    let mut value = HeaderValue::from_str(creds.basic_header()).map_err(|_| {
        ApiError::Unauthorized("The credentials hold characters HTTP headers cannot carry.".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn timeout_error(after: Duration) -> ApiError {
    ApiError::GatewayTimeout(format!(
        "LiveChat did not answer within {} ms.",
        after.as_millis()
    ))
}

fn send_error(e: &awc::error::SendRequestError) -> ApiError {
    use awc::error::SendRequestError as E;
    // No `E::Timeout`: awc's own request timer is off, and `Transport::send`'s deadline answers.
    match e {
        E::Connect(awc::error::ConnectError::Timeout) => {
            ApiError::GatewayTimeout("LiveChat could not be reached in time.".into())
        }
        other => ApiError::BadGateway(format!("LiveChat could not be reached: {other}.")),
    }
}

/// Reads a message from any of the error shapes LiveChat and HelpDesk use: `{"error": "..."}`, `{"error": [...]}`,
/// `{"errors": [...]}` or `"..."`, `{"error": {"message": ...}}`, `{"message": ...}`.
pub fn error_message(body: &Value) -> Option<String> {
    fn text(v: &Value) -> Option<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().filter_map(text).collect();
                (!parts.is_empty()).then(|| parts.join("; "))
            }
            Value::Object(o) => o.get("message").and_then(text),
            _ => None,
        }
    }
    let msg = ["errors", "error", "message"]
        .iter()
        .find_map(|k| body.get(k).and_then(text))?;
    Some(msg.chars().take(MAX_MESSAGE_CHARS).collect())
}

/// Removes every form of the caller's secret LiveChat (or a proxy before it) might quote back:
/// the key, the `login:key` pair and its base64 as sent in `Authorization`.
pub fn redact(message: &str, creds: &Credentials) -> String {
    let key = creds.api_key.expose_secret();
    let header = creds.basic_header();
    let encoded = header.trim_start_matches("Basic ");
    let pair = format!("{}:{key}", creds.login);
    let mut out = message.to_string();
    for secret in [encoded, pair.as_str(), key] {
        if secret.len() >= 4 {
            out = out.replace(secret, "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn the_authorization_value_is_sensitive() {
        let creds = Credentials::new(
            "a@x.com".into(),
            SecretString::from("CANARY-123".to_string()),
        );
        let v = authorization(&creds).unwrap();
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("Basic"));
    }

    #[test]
    fn joins_encoded_segments() {
        let base = Url::parse("https://api.example.com/v2/").unwrap();
        assert_eq!(
            join(&base, &["agents", "a b@x.com"]).as_str(),
            "https://api.example.com/v2/agents/a%20b@x.com"
        );
    }
}
