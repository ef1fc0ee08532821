//! The trigger operations: subscribe (`POST /{trigger}/webhooks`) and unsubscribe
//! (`DELETE /webhooks/{hookId}`, the subscription's `Location`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::Caller;
use crate::domain::non_empty;
use crate::error::ApiError;
use crate::relay::callback::CallbackUrl;
use crate::relay::cleanup::{callback_context, leave_shared, purge_closed, seal_context};
use crate::relay::trigger::Trigger;
use crate::relay::{ids, shared_hooks, ticket_poll};
use crate::state::AppState;
use crate::store::{StoreError, Subscription};
use crate::upstream::{Generation, Upstreams, WebhookRegistration};

/// `WebhookRequest`: the platform puts the flow's callback in `url`.
#[derive(Deserialize)]
pub struct SubscribeBody {
    url: Option<String>,
}

pub fn store_error(e: StoreError) -> ApiError {
    log::error!("{e}");
    ApiError::Unavailable("The gateway's store is not available; try again later.".into())
}

/// `event_type` and `data_types` (also `data_types[]`, repeated or comma separated); any
/// other parameter is refused, as the document declares no other.
fn trigger_query(req: &HttpRequest) -> Result<(Option<String>, Vec<String>), ApiError> {
    let mut event_type = None;
    let mut data_types = Vec::new();
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match k.as_ref() {
            "event_type" => event_type = Some(v.into_owned()),
            "data_types" | "data_types[]" => data_types.push(v.into_owned()),
            _ => {
                return Err(ApiError::BadRequest(
                    "Unknown query parameter: a trigger takes only `event_type` and `data_types`."
                        .into(),
                ))
            }
        }
    }
    Ok((event_type, data_types))
}

pub async fn subscribe(
    trigger: Trigger,
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    up: web::Data<Upstreams>,
    body: web::Json<SubscribeBody>,
) -> Result<HttpResponse, ApiError> {
    let (event_type, data_types) = trigger_query(&req)?;
    let data_types = trigger.check_query(event_type.as_deref(), &data_types)?;
    let url = non_empty(body.into_inner().url)
        .ok_or_else(|| ApiError::BadRequest("`url` is required.".into()))?;
    let callback = CallbackUrl::parse(&url, state.settings.allow_private_callbacks).await?;

    let id = ids::subscription_id();
    let token = ids::token();
    let v3 = up.generation(&caller.creds) == Generation::V3;
    up.api(&caller.creds)?;

    // The row goes in first (its webhook id still unknown), so an event LiveChat fires as soon
    // as the webhook exists finds it at the intake (and, on v3, so a concurrent last
    // unsubscribe of the account keeps the shared webhook).
    let sub = Subscription {
        sealed_credentials: state
            .keys
            .seal(&seal_context(&id, &caller.connection), &caller.creds),
        sealed_callback: state.keys.seal_text(
            &callback_context(&id, &caller.connection),
            callback.as_str(),
        ),
        id: id.clone(),
        connection_id: caller.connection.to_string(),
        event_type: trigger.event_type().into(),
        data_types: data_types.clone(),
        token_sha256: ids::sha256_hex(&token),
        livechat_webhook_id: None,
        created_ms: state.clock.now_ms(),
        closed_ms: None,
        account_key: v3.then(|| state.keys.account_key(&caller.creds.login)),
    };
    state
        .store
        .insert_subscription(&sub)
        .await
        .map_err(store_error)?;
    let made = match v3 {
        true => join_shared(&state, &up, &caller, trigger, &sub).await,
        false => register_own(&state, &up, &caller, trigger, &sub, &token).await,
    };
    if let Err(e) = made {
        forget(&state, &id, &e.to_string()).await;
        if v3 {
            leave_shared(&state, &up, &caller.creds, &sub).await;
        }
        return Err(e);
    }
    log::info!(
        "subscription {id} ({}) created for connection {}",
        trigger.event_type(),
        caller.connection
    );
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, state.public(&format!("webhooks/{id}"))))
        .json(json!({"id": id, "event_type": trigger.event_type(), "data_types": data_types})))
}

/// Removes the row of a subscription that could not be made.
async fn forget(state: &AppState, id: &str, why: &str) {
    match state.store.delete_subscription(id).await {
        Ok(_) => log::info!("subscription {id} not created: {why}"),
        Err(e) => log::error!("subscription {id} not created ({why}) but its row stays: {e}"),
    }
}

/// v2: the subscription's own LiveChat webhook, at an intake URL with its token.
async fn register_own(
    state: &AppState,
    up: &Upstreams,
    caller: &Caller,
    trigger: Trigger,
    sub: &Subscription,
    token: &str,
) -> Result<(), ApiError> {
    let id = &sub.id;
    let intake = state.public(&format!("livechat/events/{id}/{token}"));
    let registration = WebhookRegistration {
        trigger,
        data_types: &sub.data_types,
        url: &intake,
        secret_key: None,
    };
    let lc = up.api(&caller.creds)?;
    let webhook_id = lc.register_webhook(&caller.creds, &registration).await?;
    let set = state.store.set_webhook_id(id, &webhook_id).await;
    if matches!(set, Ok(true)) {
        return Ok(());
    }
    if let Err(cleanup) = lc.remove_webhook(&caller.creds, &webhook_id).await {
        log::warn!(
            "LiveChat webhook {webhook_id} stays behind after a failed subscribe: {cleanup}"
        );
    }
    Err(match set {
        Err(e) => store_error(e),
        _ => ApiError::Unavailable(
            "The subscription was removed while it was being created; try again.".into(),
        ),
    })
}

/// v3: the account's shared webhook for the trigger, or the connection's HelpDesk cursor.
async fn join_shared(
    state: &AppState,
    up: &Upstreams,
    caller: &Caller,
    trigger: Trigger,
    sub: &Subscription,
) -> Result<(), ApiError> {
    let account = sub.account_key.as_deref().unwrap_or_default();
    match trigger {
        Trigger::TicketCreated => ticket_poll::start(state, up, &caller.creds).await,
        _ => shared_hooks::ensure(state, up, &caller.creds, account, trigger).await,
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound("No such subscription.".into())
}

/// The subscription `id` if it is open and `caller` owns it.
async fn owned_open_subscription(
    state: &AppState,
    id: &str,
    caller: &Caller,
) -> Result<Option<Subscription>, ApiError> {
    if !ids::plausible_id(id) {
        return Ok(None);
    }
    let sub = state.store.subscription(id).await.map_err(store_error)?;
    Ok(sub.filter(|s| {
        let owner: bool = s
            .connection_id
            .as_bytes()
            .ct_eq(caller.connection.as_str().as_bytes())
            .into();
        s.is_open() && owner
    }))
}

/// An unknown id, someone else's, or a closed one: 404 for any caller LiveChat knows, so the
/// answer never tells whether the subscription exists; 401 for credentials LiveChat refuses
/// (the gateway cannot tell wrong credentials from another connection's without asking).
async fn not_found_for(up: &Upstreams, caller: &Caller) -> ApiError {
    let check = match up.api(&caller.creds) {
        Ok(api) => api.list_agents(&caller.creds).await.map(drop),
        Err(e) => Err(e),
    };
    match check {
        Err(e @ ApiError::Unauthorized(_)) => e,
        Err(ApiError::Upstream {
            status: 401 | 403,
            message,
            ..
        }) => ApiError::Unauthorized(message),
        _ => not_found(),
    }
}

/// Only the owning connection may remove a subscription; anyone else, and any unknown or
/// already closed id, gets the same 404. The subscription is closed even when LiveChat cannot
/// remove its webhook (logged): the flow is being deleted and must not be left retrying a 5xx.
/// Closing keeps what LiveChat already handed over: the platform DELETEs and subscribes again
/// on every flow save, and events accepted before are still delivered to the callback; the row
/// goes once they are.
pub async fn unsubscribe(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
    up: web::Data<Upstreams>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let sub = match owned_open_subscription(&state, &id, &caller).await? {
        Some(sub) => sub,
        None => return Err(not_found_for(&up, &caller).await),
    };
    match sub.livechat_webhook_id.as_deref() {
        // v3: what it shares with the account goes below, once it no longer counts.
        _ if sub.account_key.is_some() => {}
        Some(webhook_id) => {
            if let Err(e) = up.remove_webhook(&caller.creds, webhook_id).await {
                log::warn!(
                    "subscription {id}: LiveChat webhook {webhook_id} could not be removed ({e}); closing the subscription anyway"
                );
            }
        }
        // Still being created: the subscribe finds the row closed and removes its webhook.
        None => log::warn!("subscription {id}: closed while its LiveChat webhook is registered"),
    }
    if !state
        .store
        .close_subscription(&id, state.clock.now_ms())
        .await
        .map_err(store_error)?
    {
        return Err(not_found());
    }
    state.metrics.subscription_closed();
    leave_shared(&state, &up, &caller.creds, &sub).await;
    log::info!(
        "subscription {id} closed by its connection; notifications already accepted are still delivered"
    );
    purge_closed(&state.store).await;
    Ok(HttpResponse::NoContent().finish())
}
