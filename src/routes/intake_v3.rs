//! `POST /livechat/v3/events/{hookId}`: LiveChat v3 delivering to an account's shared webhook.
//! Not a connector route: the delivery's `secret_key`, compared in constant time with the one
//! the webhook was registered with, is the proof. The event fans out to every open
//! subscription of the account and trigger, each delivery committed to the store before the
//! 200 goes back; from there the durable relay takes it (dedupe, retries, order, dead letters).

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::{json, Value};

use super::intake::read_limited;
use super::webhooks::store_error;
use crate::error::ApiError;
use crate::metrics::IntakeOutcome;
use crate::relay::cleanup::credentials_of;
use crate::relay::event::Notification;
use crate::relay::trigger::Trigger;
use crate::relay::{ids, retry};
use crate::state::AppState;
use crate::store::{NewDelivery, Subscription, UpstreamWebhook};
use crate::upstream::v3::deliveries::{self, Envelope};
use crate::upstream::v3::webhooks::action;
use crate::upstream::Upstreams;

/// LiveChat waits about 10 s for the 200 (§3.4): the chat's details for `chat_ended` get what
/// is left after the store's share.
const ENRICH_WITHIN: Duration = Duration::from_secs(5);

pub async fn receive(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
    up: web::Data<Upstreams>,
) -> Result<HttpResponse, ApiError> {
    let answer = accept(&req, &path, payload, &state, &up).await;
    match &answer {
        Ok(IntakeOutcome::Accepted) => state.relay.wake(),
        Ok(_) => {}
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

fn no_such_webhook() -> ApiError {
    ApiError::NotFound("No such webhook.".into())
}

/// The shared webhook and the delivery, once its `secret_key` and action check out.
async fn checked(
    req: &HttpRequest,
    id: &str,
    payload: web::Payload,
    state: &AppState,
) -> Result<(UpstreamWebhook, Trigger, Envelope), ApiError> {
    let hook = match ids::plausible_id(id) {
        true => state
            .store
            .upstream_webhook(id)
            .await
            .map_err(store_error)?,
        false => None,
    }
    .ok_or_else(no_such_webhook)?;
    let body = read_limited(req, payload).await?;
    let raw: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("The webhook body must be JSON.".into()))?;
    let envelope = deliveries::envelope(raw)?;
    if !ids::token_matches(&envelope.secret_key, &hook.secret_sha256) {
        log::warn!(
            "v3 webhook {}: a delivery with a wrong secret_key was refused",
            hook.id
        );
        return Err(ApiError::Unauthorized(
            "The delivery's secret_key is not this webhook's.".into(),
        ));
    }
    let trigger = Trigger::from_event_type(&hook.event_type).ok_or_else(|| {
        ApiError::internal(format!("webhook {} has {}", hook.id, hook.event_type))
    })?;
    if action(trigger) != Some(envelope.action.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "This webhook takes `{}` deliveries.",
            action(trigger).unwrap_or_default()
        )));
    }
    Ok((hook, trigger, envelope))
}

async fn accept(
    req: &HttpRequest,
    id: &str,
    payload: web::Payload,
    state: &AppState,
    up: &Upstreams,
) -> Result<IntakeOutcome, ApiError> {
    let (hook, trigger, envelope) = checked(req, id, payload, state).await?;
    let subs = state
        .store
        .open_subscriptions_of_account(&hook.account_key, &hook.event_type)
        .await
        .map_err(store_error)?;
    if subs.is_empty() {
        // Its last subscription just left; the webhook is on its way out.
        log::info!(
            "v3 webhook {}: a delivery with no subscription left",
            hook.id
        );
        return Ok(IntakeOutcome::Duplicate);
    }
    let note = match trigger {
        Trigger::ChatStarted => deliveries::chat_started(&envelope.payload)?,
        _ => chat_ended(state, up, &subs, &envelope.payload).await?,
    };
    fan_out(state, &subs, &note).await
}

/// `chat_deactivated` carries only ids: the chat comes from `get_chat`, asked with the
/// credentials of the account's first subscription that opens. Without an answer in time the
/// notification goes out with what the delivery said (logged), never not at all.
async fn chat_ended(
    state: &AppState,
    up: &Upstreams,
    subs: &[Subscription],
    payload: &Value,
) -> Result<Notification, ApiError> {
    let ended = deliveries::ended(payload)?;
    let ended_ms = state.clock.now_ms();
    let chat = match subs
        .iter()
        .find_map(|s| credentials_of(&state.keys, s).ok())
    {
        Some(creds) => {
            let read = async {
                let lc = up.v3(&creds)?;
                lc.chat(&creds, &ended.chat_id, &ended.thread_id).await
            };
            match tokio::time::timeout(ENRICH_WITHIN, read).await {
                Ok(Ok(chat)) => Some(chat),
                Ok(Err(e)) => {
                    log::warn!("chat_ended: the chat's details could not be read ({e}); the notification carries its id and end time only");
                    None
                }
                Err(_) => {
                    log::warn!("chat_ended: LiveChat did not answer get_chat in time; the notification carries the chat's id and end time only");
                    None
                }
            }
        }
        None => None,
    };
    Ok(deliveries::chat_ended(&ended, chat.as_ref(), ended_ms))
}

/// One delivery per subscription, cut to its data types; a duplicate only when every
/// subscription had it already (LiveChat redelivering).
async fn fan_out(
    state: &AppState,
    subs: &[Subscription],
    note: &Notification,
) -> Result<IntakeOutcome, ApiError> {
    let now = state.clock.now_ms();
    let mut fresh = 0;
    for sub in subs {
        let delivery = NewDelivery {
            subscription_id: sub.id.clone(),
            event_type: sub.event_type.clone(),
            event_unique_id: note.event_unique_id.clone(),
            payload: deliveries::for_data_types(&note.body, &sub.data_types).to_string(),
            next_attempt_ms: retry::next_attempt_ms(&state.settings.retry_schedule, 0, now, None)
                .unwrap_or(now),
        };
        if state
            .store
            .insert_delivery(&delivery, now)
            .await
            .map_err(store_error)?
        {
            fresh += 1;
        }
    }
    Ok(match fresh {
        0 => IntakeOutcome::Duplicate,
        _ => IntakeOutcome::Accepted,
    })
}
