//! `/webhooks` registration routes (design §4.1–§4.3). Errors answer `{"errors":[..]}`.

use serde_json::{json, Map, Value};

use super::form::{str_list, text};
use super::routes::{fail, not_found, Ctx, Reply};
use super::state::{hex32, Webhook};
use super::ErrorShape;

/// Event types and the data types each one may ask for.
pub(crate) const EVENTS: [(&str, &[&str]); 6] = [
    ("chat_started", &["chat", "visitor", "pre_chat_survey"]),
    ("chat_ended", &["chat", "visitor", "pre_chat_survey"]),
    ("chat_changed", &["chat", "visitor"]),
    ("visitor_queued", &["visitor"]),
    ("ticket_created", &["ticket"]),
    ("canned_response_changed", &["canned_response"]),
];

fn envelope(cx: &Ctx) -> Value {
    let events: Vec<Value> = cx
        .acct
        .webhooks
        .iter()
        .map(|w| cx.acct.webhook_json(w, cx.q))
        .collect();
    json!({ "events": events })
}

/// `GET /webhooks`: `{"events":[...]}`.
pub(crate) fn list(cx: &mut Ctx) -> Reply {
    Reply::ok(envelope(cx))
}

/// `POST /webhooks`: the bare new hook (or the whole envelope by quirk).
pub(crate) fn create(cx: &mut Ctx) -> Reply {
    let empty = Map::new();
    let body = cx.body.as_object().unwrap_or(&empty);
    let mut errors = Vec::new();
    let event_type = text(body.get("event_type")).unwrap_or_default();
    let allowed = EVENTS
        .iter()
        .find(|(e, _)| *e == event_type)
        .map(|(_, d)| *d);
    if event_type.is_empty() {
        errors.push("event_type: is required".into());
    } else if allowed.is_none() {
        let names: Vec<&str> = EVENTS.iter().map(|(e, _)| *e).collect();
        errors.push(format!("event_type: must be one of: {}", names.join(", ")));
    }
    let mut data_types: Vec<String> = Vec::new();
    match body.get("data_types").and_then(str_list) {
        None => errors.push("data_types: is required".into()),
        Some(list) if list.iter().all(|d| d.is_empty()) => {
            errors.push("data_types: is required".into())
        }
        Some(list) => {
            for d in list.into_iter().filter(|d| !d.is_empty()) {
                if allowed.is_some_and(|a| !a.contains(&d.as_str())) {
                    errors.push(format!("data_types: '{d}' is not allowed for {event_type}"));
                } else if !data_types.contains(&d) {
                    data_types.push(d);
                }
            }
        }
    }
    let url = text(body.get("url")).unwrap_or_default();
    if url.is_empty() {
        errors.push("url: is required".into());
    } else if !url::Url::parse(&url)
        .is_ok_and(|u| (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some())
    {
        errors.push("url: must be a valid http(s) URL".into());
    }
    if !errors.is_empty() {
        return fail(400, ErrorShape::ErrorsArray, errors, cx.q);
    }
    let hook = Webhook {
        id: hex32(),
        token: hex32(),
        event_type,
        data_types,
        url,
    };
    let out = cx.acct.webhook_json(&hook, cx.q);
    cx.acct.webhooks.push(hook);
    if cx.q.webhook_create_returns_envelope {
        return Reply::created(envelope(cx), cx.q);
    }
    Reply::created(out, cx.q)
}

/// `DELETE /webhooks/<id>`: `{"result":"Push notification removed successfully"}`.
pub(crate) fn delete(cx: &mut Ctx, id: &str) -> Reply {
    let before = cx.acct.webhooks.len();
    cx.acct.webhooks.retain(|w| w.id != id);
    if cx.acct.webhooks.len() == before {
        return not_found(cx.q);
    }
    Reply::ok(json!({ "result": "Push notification removed successfully" }))
}
