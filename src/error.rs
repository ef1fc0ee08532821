//! The one error type. Every error the gateway answers, its own or LiveChat's, leaves as
//! `{"statusCode": <int>, "message": "..."}` (contract §5).

use std::borrow::Cow;
use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    Unauthorized(String),
    BadRequest(String),
    PayloadTooLarge(String),
    HeadersTooLarge(String),
    NotFound(String),
    /// A well-formed request LiveChat refuses in the account's current state.
    Conflict(String),
    MethodNotAllowed,
    Throttled {
        retry_after: u64,
    },
    /// LiveChat answered 4xx: its status and message go back to the caller.
    Upstream {
        status: u16,
        message: String,
        retry_after: Option<String>,
    },
    BadGateway(String),
    GatewayTimeout(String),
    Unavailable(String),
    /// Details go to the log only; the caller sees a generic message.
    Internal(String),
}

impl ApiError {
    /// What the caller reads, for `Display` and the body alike: the variant's own text where
    /// it has one (borrowed, not formatted again), and a refused call's without the formatter.
    pub fn message(&self) -> Cow<'_, str> {
        use ApiError as E;
        match self {
            E::Unauthorized(m)
            | E::BadRequest(m)
            | E::PayloadTooLarge(m)
            | E::HeadersTooLarge(m)
            | E::NotFound(m)
            | E::Conflict(m)
            | E::BadGateway(m)
            | E::GatewayTimeout(m)
            | E::Unavailable(m)
            | E::Upstream { message: m, .. } => Cow::Borrowed(m),
            E::MethodNotAllowed => Cow::Borrowed("This route does not take that method."),
            E::Throttled { retry_after } => Cow::Owned(
                [
                    "Rate limit is exceeded. Try again in ",
                    itoa::Buffer::new().format(*retry_after),
                    " seconds.",
                ]
                .concat(),
            ),
            E::Internal(_) => Cow::Borrowed("internal error"),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ApiError {}

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    pub message: String,
}

impl ApiError {
    /// `ErrorBody` as JSON, written by hand: a refused call answers with one, and serde's
    /// struct machinery and `HttpResponse::json`'s content-type parsing were a few percent of
    /// that call.
    fn body(&self, status: StatusCode) -> Vec<u8> {
        let message = self.message();
        let mut body = Vec::with_capacity(message.len() + 40);
        body.extend_from_slice(b"{\"statusCode\":");
        body.extend_from_slice(status.as_str().as_bytes());
        body.extend_from_slice(b",\"message\":");
        // Serialising a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut body, message.as_ref());
        body.push(b'}');
        body
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Upstream { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let ApiError::Internal(detail) = self {
            log::error!("internal error: {detail}");
        }
        let mut res = HttpResponse::build(status);
        match self {
            ApiError::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="livechat""#));
            }
            ApiError::Throttled { retry_after } => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after)));
            }
            ApiError::Upstream {
                retry_after: Some(v),
                ..
            } => {
                if let Ok(v) = HeaderValue::from_str(v) {
                    res.insert_header((header::RETRY_AFTER, v));
                }
            }
            _ => {}
        }
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
        res.body(self.body(status))
    }
}

/// Extractor errors (bad JSON, bad path, bad query) in the contract's shape.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::Overflow { limit } | E::OverflowKnownLength { limit, .. } => {
            ApiError::PayloadTooLarge(format!("The request body is larger than {limit} bytes."))
        }
        E::ContentType => ApiError::BadRequest(
            "The request body must be JSON (Content-Type: application/json).".into(),
        ),
        E::Deserialize(e) => ApiError::BadRequest(format!("The request body is not valid: {e}.")),
        other => ApiError::BadRequest(format!("The request body could not be read: {other}.")),
    }
}

pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::BadRequest(format!("The query string is not valid: {err}."))
}

pub fn path_error(err: actix_web::error::PathError) -> ApiError {
    ApiError::BadRequest(format!("The path is not valid: {err}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_serde(e: &ApiError) -> Vec<u8> {
        serde_json::to_vec(&ErrorBody {
            status_code: e.status_code().as_u16(),
            message: e.to_string(),
        })
        .unwrap()
    }

    proptest::proptest! {
        /// The hand-written body is the one serde writes for `ErrorBody`, whatever the message.
        #[test]
        fn the_body_is_error_body_as_serde_writes_it(message in ".*", secs in 0u64..100_000) {
            for e in [
                ApiError::BadRequest(message.clone()),
                ApiError::Upstream { status: 422, message: message.clone(), retry_after: None },
                ApiError::Throttled { retry_after: secs },
                ApiError::Internal(message.clone()),
            ] {
                proptest::prop_assert_eq!(e.body(e.status_code()), by_serde(&e));
            }
        }
    }

    #[test]
    fn an_internal_error_shows_no_detail() {
        let e = ApiError::Internal("pool timed out at db.internal:5432".into());
        assert_eq!(e.to_string(), "internal error");
        assert!(!String::from_utf8(e.body(e.status_code()))
            .unwrap()
            .contains("db.internal"));
    }

    #[test]
    fn a_refusal_says_when_to_come_back() {
        let res = ApiError::Throttled { retry_after: 48 }.error_response();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "48");
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
    }
}
