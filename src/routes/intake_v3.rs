//! `POST /livechat/v3/events/{hookId}`: LiveChat v3 delivering to an account's shared webhook.
//! Not a connector route: the delivery's `secret_key`, compared in constant time with the one
//! the webhook was registered with, is the proof; the organization it names must be the one
//! this account's own credentials proved (another account that installed the same app gets
//! the same deliveries). The event fans out to every open
//! subscription of the account and trigger, each delivery committed to the store before the
//! 200 goes back; from there the durable relay takes it (dedupe, retries, order, dead letters).

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::{json, Value};

use super::intake::read_limited;
use super::webhooks::store_error;
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::metrics::IntakeOutcome;
use crate::relay::cleanup::credentials_of;
use crate::relay::event::Notification;
use crate::relay::trigger::Trigger;
use crate::relay::{ids, retry};
use crate::state::AppState;
use crate::store::{NewDelivery, Subscription, UpstreamWebhook};
use crate::upstream::v3::deliveries::{self, ChatIds, Envelope, Owner};
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
        IntakeOutcome::OtherAccount => "ignored",
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
    let ids = deliveries::chat_ids(trigger, &envelope.payload)?;
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
    let creds = subs
        .iter()
        .find_map(|s| credentials_of(&state.keys, s).ok());
    let proven = hook.organization_id.as_deref();
    let chat = match deliveries::owner(proven, envelope.organization_id.as_deref()) {
        Owner::Ours => None,
        Owner::Foreign => return Ok(foreign(&hook)),
        Owner::Unproven => match prove(state, up, creds.as_ref(), &hook, &envelope, &ids).await? {
            Some(chat) => Some(chat),
            None => return Ok(foreign(&hook)),
        },
    };
    let note = match trigger {
        Trigger::ChatStarted => deliveries::chat_started(&envelope.payload)?,
        _ => {
            let chat = match chat {
                Some(c) => Some(c),
                None => details(up, creds.as_ref(), &ids).await,
            };
            if chat.is_none() {
                state.metrics.chat_details_missing();
            }
            deliveries::chat_ended(&ids, chat.as_ref(), state.clock.now_ms())
        }
    };
    fan_out(state, &subs, &note).await
}

/// Another account's event (it installed the same app): acknowledged, so LiveChat does not
/// retry it here, and dropped.
fn foreign(hook: &UpstreamWebhook) -> IntakeOutcome {
    log::debug!(
        "v3 webhook {}: another account's event, not relayed",
        hook.id
    );
    IntakeOutcome::OtherAccount
}

async fn read_chat(up: &Upstreams, creds: &Credentials, ids: &ChatIds) -> Result<Value, ApiError> {
    let read = async {
        up.v3(creds)?
            .chat(creds, &ids.chat_id, &ids.thread_id)
            .await
    };
    tokio::time::timeout(ENRICH_WITHIN, read)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::GatewayTimeout(
                "LiveChat did not answer get_chat in time.".into(),
            ))
        })
}

/// LiveChat sends an app's webhooks for every account that installed it (§3.1). Until this
/// account's credentials have read one of the chats a delivery names, the organization it
/// names is unproven: reading it proves (and records) it; LiveChat not knowing the chat for
/// this account (`None`) means another account's event. When LiveChat cannot answer, the
/// delivery is refused with a 503 so LiveChat sends it again, rather than guessed at.
async fn prove(
    state: &AppState,
    up: &Upstreams,
    creds: Option<&Credentials>,
    hook: &UpstreamWebhook,
    envelope: &Envelope,
    ids: &ChatIds,
) -> Result<Option<Value>, ApiError> {
    let unavailable = |why: String| {
        log::warn!(
            "v3 webhook {}: {why}; LiveChat will deliver it again",
            hook.id
        );
        ApiError::Unavailable("The gateway could not check whose event this is yet.".into())
    };
    let creds = creds.ok_or_else(|| unavailable("no subscription's credentials open".into()))?;
    match read_chat(up, creds, ids).await {
        Ok(chat) => {
            if let Some(org) = &envelope.organization_id {
                if let Err(e) = state.store.set_upstream_organization(&hook.id, org).await {
                    log::warn!(
                        "v3 webhook {}: its organization was not recorded: {e}",
                        hook.id
                    );
                }
            }
            Ok(Some(chat))
        }
        Err(ApiError::Upstream {
            status: 403 | 404, ..
        }) => Ok(None),
        Err(e) => Err(unavailable(format!("reading the chat failed ({e})"))),
    }
}

/// `chat_deactivated` carries only ids: the chat comes from `get_chat`. Without an answer in
/// time the notification goes out with what the delivery said (logged), never not at all.
async fn details(up: &Upstreams, creds: Option<&Credentials>, ids: &ChatIds) -> Option<Value> {
    let Some(creds) = creds else {
        log::warn!("chat_ended: no subscription's credentials open; the notification carries the chat's id and end time only");
        return None;
    };
    match read_chat(up, creds, ids).await {
        Ok(chat) => Some(chat),
        Err(e) => {
            log::warn!("chat_ended: the chat's details could not be read ({e}); the notification carries its id and end time only");
            None
        }
    }
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
