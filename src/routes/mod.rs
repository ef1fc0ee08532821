//! HTTP routes. Connector routes sit behind `connector_guard` (credentials, then throttle);
//! handlers take a `Caller` that the guard has already checked.

pub mod agents;
pub mod health;
pub mod intake;
pub mod intake_v3;
pub mod limits;
pub mod tickets;
pub mod webhooks;

use std::future::{ready, Ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, ResponseError};

use crate::credentials::{ConnectionId, Credentials};
use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::ConnectionTag;
use crate::throttle::{ratelimit_header, Decision, Unavailable};

/// The checked caller of a connector operation.
#[derive(Clone, Debug)]
pub struct Caller {
    pub creds: Credentials,
    pub connection: ConnectionId,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            // Taken, not cloned: a handler extracts its caller once.
            req.extensions_mut()
                .remove::<Caller>()
                .ok_or_else(|| ApiError::internal("connector route without connector_guard")),
        )
    }
}

fn header(name: &'static str, value: String) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::try_from(value).unwrap_or(HeaderValue::from_static("")),
    )
}

/// Credentials, then the per-connection throttle; a refused call reaches nothing else.
pub async fn connector_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("no app state"))?;
    let policy = (
        HeaderName::from_static("ratelimit-policy"),
        state.ratelimit_policy.clone(),
    );
    let auth = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let creds = match Credentials::from_authorization(auth) {
        Ok(c) => c,
        Err(e) => {
            state.metrics.unauthorized();
            let mut res = e.error_response();
            res.headers_mut().insert(policy.0, policy.1);
            return Ok(req.into_response(res).map_into_right_body());
        }
    };
    // Debug builds only: the leak audit (tests/api/leaks.rs) forces a panic with the caller's
    // credentials in scope and checks that their key shows nowhere.
    #[cfg(debug_assertions)]
    if req.headers().contains_key("x-gateway-test-panic") {
        panic!("forced panic (debug builds only) while serving {creds:?}");
    }
    let connection = state.keys.connection_id(&creds);
    let tag = ConnectionTag::of(&connection);
    req.extensions_mut().insert(tag);
    let decision = match state.throttle.check(&connection).await {
        Ok(d) => d,
        Err(Unavailable) => {
            let mut res = ApiError::Unavailable(
                "The gateway cannot count this call against its rate limit right now; try again shortly."
                    .into(),
            )
            .error_response();
            res.headers_mut().insert(policy.0, policy.1);
            return Ok(req.into_response(res).map_into_right_body());
        }
    };
    match decision {
        Decision::Rejected { retry_after_secs } => {
            state.metrics.throttle(false);
            // The access line already says 429 and names the connection; a second line per
            // refused call would double the log of a flow that keeps calling.
            log::debug!(
                "throttled connection {} for {retry_after_secs}s",
                tag.as_str()
            );
            let mut res = ApiError::Throttled {
                retry_after: retry_after_secs,
            }
            .error_response();
            let (n, v) = header("ratelimit", ratelimit_header(0, retry_after_secs));
            res.headers_mut().insert(n, v);
            res.headers_mut().insert(policy.0, policy.1);
            Ok(req.into_response(res).map_into_right_body())
        }
        Decision::Admitted {
            remaining,
            reset_secs,
        } => {
            state.metrics.throttle(true);
            req.extensions_mut().insert(Caller { creds, connection });
            let mut res = next.call(req).await?;
            let (n, v) = header("ratelimit", ratelimit_header(remaining, reset_secs));
            res.headers_mut().insert(n, v);
            res.headers_mut().insert(policy.0, policy.1);
            Ok(res.map_into_left_body())
        }
    }
}
