//! LiveChat REST v2's answers mapped onto the gateway's result (contract §5).

use actix_web::http::StatusCode;
use serde_json::Value;

use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::upstream::transport::{error_message, parse_json, redact};

/// `Ok` holds the parsed JSON of a 2xx answer (Null when empty).
pub fn interpret(
    status: StatusCode,
    retry_after: Option<String>,
    bytes: &[u8],
    creds: &Credentials,
) -> Result<Value, ApiError> {
    let parsed = parse_json(bytes);
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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use serde_json::json;

    fn creds() -> Credentials {
        Credentials::new(
            "a@x.com".into(),
            SecretString::from("CANARY-123".to_string()),
        )
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
}
