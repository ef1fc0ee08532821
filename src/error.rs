//! The one error type. Every error the gateway answers, its own or LiveChat's, leaves as
//! `{"statusCode": <int>, "message": "..."}` (contract §5).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    HeadersTooLarge(String),
    #[error("{0}")]
    NotFound(String),
    /// A well-formed request LiveChat refuses in the account's current state.
    #[error("{0}")]
    Conflict(String),
    #[error("This route does not take that method.")]
    MethodNotAllowed,
    #[error("Rate limit is exceeded. Try again in {retry_after} seconds.")]
    Throttled { retry_after: u64 },
    /// LiveChat answered 4xx: its status and message go back to the caller.
    #[error("{message}")]
    Upstream {
        status: u16,
        message: String,
        retry_after: Option<String>,
    },
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    GatewayTimeout(String),
    #[error("{0}")]
    Unavailable(String),
    /// Details go to the log only; the caller sees a generic message.
    #[error("internal error")]
    Internal(String),
}

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    pub message: String,
}

impl ApiError {
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
                res.insert_header((header::RETRY_AFTER, retry_after.to_string()));
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
        res.json(ErrorBody {
            status_code: status.as_u16(),
            message: self.to_string(),
        })
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
