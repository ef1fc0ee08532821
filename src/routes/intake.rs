//! `POST /livechat/events/{hookId}/{token}`: LiveChat delivering a webhook. Not a connector
//! route (no credentials, no throttle); the token in the path is the only proof. The event is
//! committed to the store before the 200 goes back.

use actix_web::error::PayloadError;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::{json, Value};

use super::webhooks::store_error;
use crate::bounded_body;
use crate::error::ApiError;
use crate::metrics::IntakeOutcome;
use crate::relay::trigger::Trigger;
use crate::relay::{event, ids, retry};
use crate::state::AppState;
use crate::store::NewDelivery;

/// Largest webhook body accepted from LiveChat.
pub const MAX_EVENT_BODY: usize = 1024 * 1024;

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "The webhook body is larger than {MAX_EVENT_BODY} bytes."
    ))
}

pub(crate) async fn read_limited(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::Bytes, ApiError> {
    let declared = bounded_body::declared_length(req.headers());
    bounded_body::read(declared, MAX_EVENT_BODY, payload)
        .await
        .map_err(|e| match e {
            PayloadError::Overflow => too_large(),
            e => ApiError::BadRequest(format!("The webhook body could not be read: {e}.")),
        })
}

pub async fn receive(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (id, token) = path.into_inner();
    let answer = accept(&req, &id, &token, payload, &state).await;
    match &answer {
        Ok(IntakeOutcome::Accepted) => state.relay.wake(),
        Ok(_) => {}
        Err(ApiError::Throttled { .. }) => state.metrics.intake(IntakeOutcome::Limited),
        Err(e) if e.status_code().is_client_error() => state.metrics.intake(IntakeOutcome::Refused),
        Err(_) => state.metrics.intake(IntakeOutcome::Failed),
    }
    let outcome = answer?;
    state.metrics.intake(outcome);
    let status = match outcome {
        IntakeOutcome::Duplicate => "duplicate",
        _ => "accepted",
    };
    Ok(HttpResponse::Ok().json(json!({ "status": status })))
}

/// Checks the hook and its token, then stores the event (once).
async fn accept(
    req: &HttpRequest,
    id: &str,
    token: &str,
    payload: web::Payload,
    state: &AppState,
) -> Result<IntakeOutcome, ApiError> {
    let sub = if ids::plausible_id(id) {
        state.store.subscription(id).await.map_err(store_error)?
    } else {
        None
    };
    let sub = match sub {
        // A closed (unsubscribed) subscription takes no new events. One whose LiveChat webhook
        // id is still being stored does.
        Some(s) if ids::token_matches(token, &s.token_sha256) && s.is_open() => s,
        _ => return Err(ApiError::NotFound("No such webhook.".into())),
    };
    state
        .intake_limit
        .check(&sub.id)
        .map_err(|retry_after| ApiError::Throttled { retry_after })?;
    let body = read_limited(req, payload).await?;
    let raw: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("The webhook body must be JSON.".into()))?;
    let trigger = Trigger::from_event_type(&sub.event_type).ok_or_else(|| {
        ApiError::internal(format!(
            "subscription {} has event {}",
            sub.id, sub.event_type
        ))
    })?;
    let note = event::notification(trigger, raw)?;
    let now = state.clock.now_ms();
    let delivery = NewDelivery {
        subscription_id: sub.id.clone(),
        event_type: sub.event_type.clone(),
        event_unique_id: note.event_unique_id.clone(),
        payload: note.body.to_string(),
        next_attempt_ms: retry::next_attempt_ms(&state.settings.retry_schedule, 0, now, None)
            .unwrap_or(now),
    };
    let fresh = state
        .store
        .insert_delivery(&delivery, now)
        .await
        .map_err(store_error)?;
    if !fresh {
        log::info!(
            "subscription {}: event {} already received",
            sub.id,
            note.event_unique_id
        );
        return Ok(IntakeOutcome::Duplicate);
    }
    Ok(IntakeOutcome::Accepted)
}
