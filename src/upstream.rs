//! The client for LiveChat's REST API v2: one pooled awc client per worker, the caller's Basic
//! pair, `X-API-Version: 2`, and the error mapping of contract §5.

use std::time::{Duration, Instant};

use actix_web::http::{header, Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::Value;
use url::Url;

use crate::credentials::Credentials;
use crate::error::ApiError;

/// Largest answer the gateway reads from LiveChat.
const MAX_UPSTREAM_BODY: usize = 8 * 1024 * 1024;
const MAX_MESSAGE_CHARS: usize = 500;

#[derive(Clone)]
pub struct LiveChat {
    client: awc::Client,
    base: Url,
    timeout: Duration,
}

impl LiveChat {
    pub fn new(base: &Url, timeout: Duration) -> Self {
        // No redirects: following one could hand the caller's Basic pair to another host.
        let client = awc::Client::builder()
            .disable_redirects()
            .timeout(timeout)
            .connector(awc::Connector::new().timeout(timeout))
            .add_default_header((
                header::USER_AGENT,
                concat!("livechat-gateway/", env!("CARGO_PKG_VERSION")),
            ))
            .finish();
        Self {
            client,
            base: base.clone(),
            timeout,
        }
    }

    /// Builds `{base}/{segments...}` with each segment percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// One call to LiveChat. `Ok` holds the parsed JSON of a 2xx answer (Null when empty).
    pub async fn call(
        &self,
        creds: &Credentials,
        method: Method,
        segments: &[&str],
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let url = self.url(segments);
        let started = Instant::now();
        let mut req = self
            .client
            .request(method.clone(), url.as_str())
            .insert_header((header::AUTHORIZATION, authorization(creds)?))
            .insert_header(("X-API-Version", "2"))
            .insert_header((header::ACCEPT, "application/json"));
        if !query.is_empty() {
            req = req.query(&query).map_err(|e| {
                ApiError::BadRequest(format!("The query could not be encoded: {e}."))
            })?;
        }
        let exchange = async {
            let mut res = match body {
                Some(b) => req.send_json(b).await,
                None => req.send().await,
            }
            .map_err(|e| send_error(&e))?;
            let bytes = res.body().limit(MAX_UPSTREAM_BODY).await.map_err(|e| {
                ApiError::BadGateway(format!("LiveChat's answer could not be read: {e}."))
            })?;
            let retry_after = res
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Ok::<_, ApiError>((res.status(), retry_after, bytes))
        };
        let outcome = tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(timeout_error(self.timeout)));
        let (status, retry_after, bytes) = match outcome {
            Ok(parts) => parts,
            Err(e) => {
                log::warn!(
                    "upstream {method} {} failed after {:?}: {e}",
                    url.path(),
                    started.elapsed()
                );
                return Err(e);
            }
        };
        log::debug!(
            "upstream {method} {} -> {} in {:?}",
            url.path(),
            status.as_u16(),
            started.elapsed()
        );
        interpret(status, retry_after, &bytes, creds)
    }
}

/// Marked sensitive, so HTTP/2's header compression never indexes it and a `Debug` print of
/// the request (awc traces one) shows `Sensitive` instead of the pair.
fn authorization(creds: &Credentials) -> Result<header::HeaderValue, ApiError> {
    let mut value = header::HeaderValue::from_str(&creds.basic_header()).map_err(|_| {
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
    match e {
        E::Timeout => ApiError::GatewayTimeout("LiveChat did not answer in time.".into()),
        E::Connect(awc::error::ConnectError::Timeout) => {
            ApiError::GatewayTimeout("LiveChat could not be reached in time.".into())
        }
        other => ApiError::BadGateway(format!("LiveChat could not be reached: {other}.")),
    }
}

/// Maps LiveChat's answer onto the gateway's result (contract §5).
pub fn interpret(
    status: StatusCode,
    retry_after: Option<String>,
    bytes: &[u8],
    creds: &Credentials,
) -> Result<Value, ApiError> {
    let parsed: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
        Some(Value::Null)
    } else {
        serde_json::from_slice(bytes).ok()
    };
    if status.is_success() {
        return parsed.ok_or_else(|| {
            ApiError::BadGateway("LiveChat answered with something that is not JSON.".into())
        });
    }
    if status.is_client_error() {
        let detail = parsed
            .as_ref()
            .and_then(error_message)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        let message = redact(&format!("LiveChat: {detail}"), creds);
        return Err(match status {
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message),
            StatusCode::TOO_MANY_REQUESTS => ApiError::Upstream {
                status: 429,
                message,
                retry_after: retry_after.filter(|v| v.len() < 64),
            },
            _ => ApiError::Upstream {
                status: status.as_u16(),
                message,
                retry_after: None,
            },
        });
    }
    if status.is_redirection() {
        return Err(ApiError::BadGateway(format!(
            "LiveChat answered with a redirect (HTTP {}); check GATEWAY_LIVECHAT_URL (https://api.livechatinc.com).",
            status.as_u16()
        )));
    }
    Err(ApiError::BadGateway(format!(
        "LiveChat failed to answer the call (HTTP {}).",
        status.as_u16()
    )))
}

/// Reads a message from any of LiveChat's error shapes: `{"error": "..."}`, `{"error": [...]}`,
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
fn redact(message: &str, creds: &Credentials) -> String {
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
    use serde_json::json;

    fn creds() -> Credentials {
        Credentials {
            login: "a@x.com".into(),
            api_key: SecretString::from("CANARY-123".to_string()),
        }
    }

    #[test]
    fn reads_every_error_shape() {
        assert_eq!(
            error_message(&json!({"error": "Not found"})).unwrap(),
            "Not found"
        );
        assert_eq!(
            error_message(&json!({"error": ["a", "b"]})).unwrap(),
            "a; b"
        );
        assert_eq!(error_message(&json!({"errors": ["x"]})).unwrap(), "x");
        assert_eq!(error_message(&json!({"errors": "y"})).unwrap(), "y");
        assert_eq!(
            error_message(&json!({"error": {"type": "t", "message": "m"}})).unwrap(),
            "m"
        );
        assert!(error_message(&json!({"nothing": 1})).is_none());
    }

    #[test]
    fn maps_statuses() {
        let c = creds();
        assert!(matches!(
            interpret(StatusCode::NOT_FOUND, None, br#"{"error":"Not found"}"#, &c),
            Err(ApiError::Upstream { status: 404, ref message, .. }) if message == "LiveChat: Not found"
        ));
        assert!(matches!(
            interpret(StatusCode::TOO_MANY_REQUESTS, Some("7".into()), b"", &c),
            Err(ApiError::Upstream { status: 429, retry_after: Some(ref r), .. }) if r == "7"
        ));
        assert!(matches!(
            interpret(StatusCode::BAD_GATEWAY, None, b"{}", &c),
            Err(ApiError::BadGateway(_))
        ));
        assert!(matches!(
            interpret(StatusCode::OK, None, b"<html>", &c),
            Err(ApiError::BadGateway(_))
        ));
        assert!(matches!(
            interpret(StatusCode::UNAUTHORIZED, None, b"", &c),
            Err(ApiError::Unauthorized(_))
        ));
        assert_eq!(
            interpret(StatusCode::OK, None, b"", &c).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn never_echoes_the_key() {
        let c = creds();
        let err = interpret(
            StatusCode::BAD_REQUEST,
            None,
            br#"{"error":"bad key CANARY-123"}"#,
            &c,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("CANARY-123"));
        let encoded = c.basic_header().trim_start_matches("Basic ").to_string();
        for quoted in [
            format!("bad header Basic {encoded}"),
            "bad pair a@x.com:CANARY-123".into(),
        ] {
            let body = serde_json::json!({ "error": quoted }).to_string();
            let err = interpret(StatusCode::BAD_REQUEST, None, body.as_bytes(), &c).unwrap_err();
            let shown = err.to_string();
            assert!(
                !shown.contains(&encoded) && !shown.contains("CANARY"),
                "{shown}"
            );
        }
    }

    #[test]
    fn the_authorization_value_is_sensitive() {
        let v = authorization(&creds()).unwrap();
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("Basic"));
    }
}
