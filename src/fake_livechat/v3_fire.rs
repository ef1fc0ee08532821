//! v3.6 webhook deliveries (livechat-v3-helpdesk.md §3.3–§3.4): a fired `chat_started` goes to
//! the account's `incoming_chat` webhooks with the whole chat, a `chat_ended` to its
//! `chat_deactivated` ones with ids only (Agent Chat `get_chat` answers the rest). The chat is
//! the v2 demo chat in v3 clothes: its v2 id is the thread id.

use serde_json::{json, Map, Value};

use super::routes::Reply;
use super::state::{iso, uuid_from, Account};
use super::v3::error;
use super::webhooks::Planned;
use super::Quirks;

fn action(event_type: &str) -> Option<&'static str> {
    match event_type {
        "chat_started" => Some("incoming_chat"),
        "chat_ended" => Some("chat_deactivated"),
        _ => None,
    }
}

/// The v3 chat of one fired v2 demo event (`data` holds its `chat`, `visitor` and survey).
fn chat(acct: &Account, data: &Map<String, Value>) -> Value {
    let v2 = data.get("chat").cloned().unwrap_or_default();
    let visitor = data.get("visitor").cloned().unwrap_or_default();
    let thread_id = v2["id"].as_str().unwrap_or("T0").to_string();
    let owner = acct.agent(&acct.login).map(|a| a.name.clone());
    let mut events = vec![
        json!({"id": format!("{thread_id}_1"), "type": "filled_form",
        "form_type": "prechat", "created_at": iso(v2["started_timestamp"].as_i64().unwrap_or(0)),
        "fields": data.get("pre_chat_survey").cloned().unwrap_or_else(|| json!([]))}),
    ];
    for (i, m) in v2["messages"].as_array().into_iter().flatten().enumerate() {
        let author = match m["user_type"].as_str() {
            Some("agent") => json!(acct.login),
            _ => visitor["id"].clone(),
        };
        events.push(
            json!({"id": format!("{thread_id}_{}", i + 2), "type": "message",
            "author_id": author, "text": m["text"], "visibility": "all",
            "created_at": iso(m["timestamp"].as_i64().unwrap_or(0))}),
        );
    }
    json!({
        "id": format!("C{thread_id}"),
        "users": [
            {"id": visitor["id"], "type": "customer", "name": visitor["name"], "email": visitor["email"]},
            {"id": acct.login, "type": "agent", "name": owner},
        ],
        "thread": {"id": thread_id, "active": data.get("chat").is_some_and(|c| c.get("ended_timestamp").is_none()),
            "created_at": iso(v2["started_timestamp"].as_i64().unwrap_or(0)),
            "tags": v2["tags"], "events": events},
    })
}

/// (action, id, url, secret) of one v3 webhook.
pub(crate) type HookRef = (String, String, String, String);

fn hook_ref(w: &super::state::V3Webhook) -> HookRef {
    (
        w.action.clone(),
        w.id.clone(),
        w.url.clone(),
        w.secret_key.clone(),
    )
}

/// Under `v3_webhooks_see_every_account`, every account's v3 webhooks.
pub(crate) fn every_hook(accounts: &[Account], q: &Quirks) -> Option<Vec<HookRef>> {
    q.v3_webhooks_see_every_account.then(|| {
        accounts
            .iter()
            .flat_map(|a| a.v3_webhooks.iter().map(hook_ref))
            .collect()
    })
}

/// The deliveries of one fired event to the v3 webhooks that get it: the account's own, or
/// `every` one (none for other events).
pub(crate) fn plan(
    acct: &mut Account,
    event_type: &str,
    data: &Map<String, Value>,
    every: Option<&[HookRef]>,
) -> Vec<Planned> {
    let Some(action) = action(event_type) else {
        return Vec::new();
    };
    let own: Vec<HookRef> = acct.v3_webhooks.iter().map(hook_ref).collect();
    let hooks: Vec<(String, String, String)> = every
        .unwrap_or(&own)
        .iter()
        .filter(|(a, ..)| a == action)
        .map(|(_, id, url, secret)| (id.clone(), url.clone(), secret.clone()))
        .collect();
    if hooks.is_empty() {
        return Vec::new();
    }
    let chat = chat(acct, data);
    let payload = match action {
        "incoming_chat" => json!({ "chat": chat }),
        _ => {
            json!({"chat_id": chat["id"], "thread_id": chat["thread"]["id"], "user_id": acct.login})
        }
    };
    acct.v3_chats.push(chat);
    let organization = uuid_from(&format!("organization/{}", acct.licence));
    hooks
        .into_iter()
        .map(|(id, url, secret)| Planned {
            payload: json!({"webhook_id": id, "secret_key": secret, "action": action,
                "organization_id": organization, "payload": payload, "additional_data": {}}),
            webhook_id: id,
            url,
        })
        .collect()
}

/// Agent Chat `get_chat {chat_id, thread_id}`.
pub(crate) fn get_chat(acct: &Account, body: &Map<String, Value>) -> Reply {
    let (chat_id, thread_id) = (body.get("chat_id"), body.get("thread_id"));
    acct.v3_chats
        .iter()
        .find(|c| Some(&c["id"]) == chat_id && Some(&c["thread"]["id"]) == thread_id)
        .map(|c| Reply::ok(c.clone()))
        .unwrap_or_else(|| error("not_found", "Chat not found"))
}
