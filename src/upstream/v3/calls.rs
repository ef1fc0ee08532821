//! The wire of the current APIs: Configuration and Agent Chat API v3.6 (`POST
//! /v3.6/<api>/action/<name>`, errors `{"error":{"type","message","data"}}` keyed on `type`)
//! and HelpDesk API v1 (REST under `/v1/`, errors `{"error","details"}`). A
//! `misdirected_request` is retried once in the region it names, remembered per account.

use std::time::Duration;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::http::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::upstream::transport::{error_message, join, parse_json, redact, Request, Transport};

pub const VERSION: &str = "v3.6";
const REGION_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone, Copy)]
pub enum Api {
    Configuration,
    AgentChat,
}

impl Api {
    fn segment(self) -> &'static str {
        match self {
            Api::Configuration => "configuration",
            Api::AgentChat => "agent",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Api::Configuration => "configuration v3.6",
            Api::AgentChat => "agent chat v3.6",
        }
    }
}

/// What one v3.6 answer means.
#[derive(Debug)]
pub enum Outcome {
    Ok(Value),
    /// The account lives in another data centre (§1.3).
    Misdirected(String),
    Failed(ApiError),
}

#[derive(Clone)]
pub struct Calls {
    transport: Transport,
    livechat: Url,
    helpdesk: Url,
    /// Account ID → the region LiveChat last named for it.
    regions: moka::sync::Cache<String, String>,
}

impl Calls {
    pub fn new(transport: Transport, livechat: &Url, helpdesk: &Url) -> Self {
        Self {
            transport,
            livechat: livechat.clone(),
            helpdesk: helpdesk.clone(),
            regions: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(REGION_TTL)
                .build(),
        }
    }

    /// One v3.6 action; on `misdirected_request` one more try with `X-Region`.
    pub async fn action(
        &self,
        creds: &Credentials,
        api: Api,
        action: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let region = self.regions.get(&creds.login);
        match self
            .action_in(creds, api, action, body, region.as_deref())
            .await?
        {
            Outcome::Ok(v) => Ok(v),
            Outcome::Failed(e) => Err(e),
            Outcome::Misdirected(named) if region.as_deref() != Some(named.as_str()) => {
                log::info!("LiveChat names region {named} for this account; retrying there");
                self.regions.insert(creds.login.clone(), named.clone());
                match self
                    .action_in(creds, api, action, body, Some(&named))
                    .await?
                {
                    Outcome::Ok(v) => Ok(v),
                    Outcome::Failed(e) => Err(e),
                    Outcome::Misdirected(again) => Err(misdirected_twice(&again)),
                }
            }
            Outcome::Misdirected(named) => Err(misdirected_twice(&named)),
        }
    }

    async fn action_in(
        &self,
        creds: &Credentials,
        api: Api,
        action: &str,
        body: &Value,
        region: Option<&str>,
    ) -> Result<Outcome, ApiError> {
        let mut headers = Vec::new();
        if let Some(r) = region.and_then(|r| HeaderValue::from_str(r).ok()) {
            headers.push((HeaderName::from_static("x-region"), r));
        }
        let request = Request {
            api: api.label(),
            method: Method::POST,
            url: join(&self.livechat, &[VERSION, api.segment(), "action", action]),
            query: &[],
            body: Some(body),
            headers,
        };
        let answer = self.transport.send(creds, request).await?;
        Ok(interpret_action(
            answer.status,
            retry_after(&answer.headers),
            &answer.bytes,
            creds,
        ))
    }

    /// One HelpDesk call: the parsed body and the answer's headers (paging lives there).
    pub async fn helpdesk(
        &self,
        creds: &Credentials,
        method: Method,
        segments: &[&str],
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<(Value, HeaderMap), ApiError> {
        let mut path = vec!["v1"];
        path.extend_from_slice(segments);
        let request = Request {
            api: "helpdesk v1",
            method,
            url: join(&self.helpdesk, &path),
            query,
            body,
            headers: Vec::new(),
        };
        let answer = self.transport.send(creds, request).await?;
        let value = interpret_helpdesk(
            answer.status,
            retry_after(&answer.headers),
            &answer.bytes,
            creds,
        )?;
        Ok((value, answer.headers))
    }
}

fn retry_after(headers: &HeaderMap) -> Option<String> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() < 64)
        .map(str::to_owned)
}

fn misdirected_twice(region: &str) -> ApiError {
    ApiError::BadGateway(format!(
        "LiveChat sent the call to region {region} and refused it there too."
    ))
}

/// The statuses LiveChat gives each error type are undocumented (§1.4): the type decides.
pub fn interpret_action(
    status: StatusCode,
    retry_after: Option<String>,
    bytes: &[u8],
    creds: &Credentials,
) -> Outcome {
    let parsed = parse_json(bytes);
    if status.is_success() {
        return match parsed {
            Some(v) => Outcome::Ok(v),
            None => Outcome::Failed(ApiError::BadGateway(
                "LiveChat answered with something that is not JSON.".into(),
            )),
        };
    }
    let error = parsed.as_ref().and_then(|p| p.get("error"));
    let kind = error
        .and_then(|e| e.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind == "misdirected_request" {
        let region = error
            .and_then(|e| e.pointer("/data/region"))
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty() && r.len() <= 32 && r.bytes().all(|b| b.is_ascii_graphic()));
        if let Some(r) = region {
            return Outcome::Misdirected(r.to_string());
        }
    }
    let detail = parsed
        .as_ref()
        .and_then(error_message)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let message = redact(&format!("LiveChat: {detail}"), creds);
    let upstream = |status: u16, retry_after: Option<String>| ApiError::Upstream {
        status,
        message: message.clone(),
        retry_after,
    };
    Outcome::Failed(match kind {
        "authentication" => ApiError::Unauthorized(message.clone()),
        "authorization" | "limit_reached" | "license_expired" => upstream(403, None),
        "not_found" | "group_not_found" => upstream(404, None),
        "validation" | "already_exists" | "unsupported_version" | "ownership_transfer" => {
            upstream(400, None)
        }
        "too_many_requests" => upstream(429, retry_after),
        _ if status.is_client_error() => upstream(status.as_u16(), None),
        _ if status.is_redirection() => ApiError::BadGateway(format!(
            "LiveChat answered with a redirect (HTTP {}); check GATEWAY_LIVECHAT_URL.",
            status.as_u16()
        )),
        _ => ApiError::BadGateway(format!(
            "LiveChat failed to answer the call (HTTP {}).",
            status.as_u16()
        )),
    })
}

pub fn interpret_helpdesk(
    status: StatusCode,
    retry_after: Option<String>,
    bytes: &[u8],
    creds: &Credentials,
) -> Result<Value, ApiError> {
    let parsed = parse_json(bytes);
    if status.is_success() {
        return parsed.ok_or_else(|| {
            ApiError::BadGateway("HelpDesk answered with something that is not JSON.".into())
        });
    }
    if status.is_client_error() {
        let detail = parsed
            .as_ref()
            .and_then(error_message)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        let message = redact(&format!("HelpDesk: {detail}"), creds);
        return Err(match status {
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message),
            s => ApiError::Upstream {
                status: s.as_u16(),
                message,
                retry_after: retry_after.filter(|_| s == StatusCode::TOO_MANY_REQUESTS),
            },
        });
    }
    let what = match status.is_redirection() {
        true => "answered with a redirect",
        false => "failed to answer the call",
    };
    Err(ApiError::BadGateway(format!(
        "HelpDesk {what} (HTTP {}); check GATEWAY_HELPDESK_URL.",
        status.as_u16()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn creds() -> Credentials {
        Credentials::new(
            "3f0c1d2e-4b5a-4c6d-8e9f-0a1b2c3d4e5f".into(),
            SecretString::from("dal:CANARY-TOKEN".to_string()),
        )
    }

    #[test]
    fn error_types_decide_the_status() {
        let c = creds();
        let body = |kind: &str| {
            format!(r#"{{"error":{{"type":"{kind}","message":"m dal:CANARY-TOKEN"}}}}"#)
        };
        let cases = [
            ("authentication", 401),
            ("not_found", 404),
            ("validation", 400),
            ("already_exists", 400),
            ("limit_reached", 403),
            ("too_many_requests", 429),
        ];
        for (kind, want) in cases {
            match interpret_action(StatusCode::BAD_REQUEST, None, body(kind).as_bytes(), &c) {
                Outcome::Failed(e) => {
                    use actix_web::ResponseError;
                    assert_eq!(e.status_code().as_u16(), want, "{kind}");
                    assert!(!e.to_string().contains("CANARY"), "{e}");
                }
                other => panic!("{kind}: {other:?}"),
            }
        }
        let internal = interpret_action(StatusCode::INTERNAL_SERVER_ERROR, None, b"", &c);
        assert!(matches!(internal, Outcome::Failed(ApiError::BadGateway(_))));
    }

    #[test]
    fn misdirected_names_the_region() {
        let body = br#"{"error":{"type":"misdirected_request","message":"Wrong region","data":{"region":"fra"}}}"#;
        for status in [StatusCode::BAD_REQUEST, StatusCode::MISDIRECTED_REQUEST] {
            assert!(matches!(
                interpret_action(status, None, body, &creds()),
                Outcome::Misdirected(ref r) if r == "fra"
            ));
        }
        let no_region = br#"{"error":{"type":"misdirected_request","message":"Wrong region"}}"#;
        assert!(matches!(
            interpret_action(StatusCode::BAD_REQUEST, None, no_region, &creds()),
            Outcome::Failed(_)
        ));
    }
}
