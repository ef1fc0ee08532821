//! What a v3.6 webhook delivery carries (livechat-v3-helpdesk.md §3.4) and the trigger
//! notifications made from it. One upstream webhook serves every subscription of an account,
//! so a notification is built once and then cut to each subscription's `data_types`. Pure.

use serde_json::{json, Map, Value};

use super::events::{chat_parts, ChatParts};
use crate::error::ApiError;
use crate::relay::event::Notification;
use crate::relay::ids::sha256_hex;
use crate::relay::trigger::Trigger;

/// `{"webhook_id","secret_key","action","organization_id","payload","additional_data"}`.
#[derive(Debug)]
pub struct Envelope {
    pub secret_key: String,
    pub action: String,
    /// The organization (v3.4+; `license_id` before) whose event it is.
    pub organization_id: Option<String>,
    pub payload: Value,
}

fn bad(what: &str) -> ApiError {
    ApiError::BadRequest(format!("The webhook delivery {what}."))
}

pub fn envelope(raw: Value) -> Result<Envelope, ApiError> {
    let Value::Object(mut raw) = raw else {
        return Err(bad("must be a JSON object"));
    };
    let mut text = |k: &str| match raw.remove(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let secret_key = text("secret_key").ok_or_else(|| bad("has no secret_key"))?;
    let action = text("action").ok_or_else(|| bad("has no action"))?;
    let organization_id = text("organization_id").or_else(|| match raw.remove("license_id") {
        Some(Value::Number(n)) => Some(format!("license:{n}")),
        Some(Value::String(s)) if !s.is_empty() => Some(format!("license:{s}")),
        _ => None,
    });
    let payload = raw
        .remove("payload")
        .filter(Value::is_object)
        .ok_or_else(|| bad("has no payload object"))?;
    Ok(Envelope {
        secret_key,
        action,
        organization_id: organization_id.filter(|o| o.len() <= 200),
        payload,
    })
}

/// The chat and thread a delivery is about: `chat_deactivated` carries only these,
/// `incoming_chat` the whole chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatIds {
    pub chat_id: String,
    pub thread_id: String,
}

pub fn chat_ids(trigger: Trigger, payload: &Value) -> Result<ChatIds, ApiError> {
    let at = |p: &str| {
        payload
            .pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .map(String::from)
    };
    let (chat, thread) = match trigger {
        Trigger::ChatStarted => (at("/chat/id"), at("/chat/thread/id")),
        _ => (at("/chat_id"), at("/thread_id")),
    };
    match (chat, thread) {
        (Some(chat_id), Some(thread_id)) => Ok(ChatIds { chat_id, thread_id }),
        _ => Err(bad("has no chat and thread id")),
    }
}

/// Whose event a delivery is, as far as the delivery itself tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// It names the organization this account proved before.
    Ours,
    /// It names another one: an account that installed the same app.
    Foreign,
    /// Nothing proven yet (or no organization named): the account's own credentials must
    /// read the chat first.
    Unproven,
}

pub fn owner(proven: Option<&str>, named: Option<&str>) -> Owner {
    match (proven, named) {
        (Some(p), Some(n)) if p == n => Owner::Ours,
        (Some(_), Some(_)) => Owner::Foreign,
        _ => Owner::Unproven,
    }
}

/// One id per trigger and thread (a v2 chat is a v3 thread), the way v2 events are keyed, so
/// LiveChat's retries of a delivery are stored once.
fn unique_id(trigger: Trigger, thread_id: &str) -> String {
    sha256_hex(&format!("{}\nchat\n{thread_id}", trigger.event_type()))[..32].to_string()
}

fn note(trigger: Trigger, thread_id: &str, parts: ChatParts) -> Notification {
    let event_unique_id = unique_id(trigger, thread_id);
    let mut body = Map::new();
    body.insert("chat".into(), parts.chat);
    if let Some(v) = parts.visitor {
        body.insert("visitor".into(), v);
    }
    body.insert(
        "pre_chat_survey".into(),
        Value::Array(parts.pre_chat_survey),
    );
    body.insert("event_unique_id".into(), json!(event_unique_id));
    Notification {
        event_unique_id,
        body: Value::Object(body),
    }
}

/// `incoming_chat` → `chat_started`: the payload carries the whole chat.
pub fn chat_started(payload: &Value) -> Result<Notification, ApiError> {
    let chat = payload
        .get("chat")
        .filter(|c| c.is_object())
        .ok_or_else(|| bad("has no chat"))?;
    let thread_id = chat
        .pointer("/thread/id")
        .or_else(|| chat.get("id"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("has no thread id"))?;
    Ok(note(
        Trigger::ChatStarted,
        thread_id,
        chat_parts(chat, None),
    ))
}

/// `chat_deactivated` → `chat_ended`, with the chat `get_chat` answered. Without it (LiveChat
/// did not answer in time) the flow still gets the event: the chat's id and when it ended,
/// with no messages, rather than nothing.
pub fn chat_ended(ended: &ChatIds, chat: Option<&Value>, ended_ms: i64) -> Notification {
    let parts = match chat {
        Some(c) => chat_parts(c, Some(ended_ms)),
        None => chat_parts(
            &json!({"id": ended.chat_id, "thread": {"id": ended.thread_id}}),
            Some(ended_ms),
        ),
    };
    note(Trigger::ChatEnded, &ended.thread_id, parts)
}

/// The notification as one subscription asked for it: only its `data_types` (and the id).
pub fn for_data_types(body: &Value, data_types: &[String]) -> Value {
    let Value::Object(all) = body else {
        return body.clone();
    };
    let kept = all
        .iter()
        .filter(|(k, _)| k.as_str() == "event_unique_id" || data_types.iter().any(|d| d == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_become_notifications() {
        let raw = json!({"webhook_id": "w", "secret_key": "s3cret", "action": "incoming_chat",
            "organization_id": "o", "payload": {"chat": {"id": "C1", "users": [],
                "thread": {"id": "T1", "created_at": "2019-12-17T07:57:41Z", "events": []}}}});
        let env = envelope(raw).unwrap();
        assert_eq!(
            (env.secret_key.as_str(), env.action.as_str()),
            ("s3cret", "incoming_chat")
        );
        let started = chat_started(&env.payload).unwrap();
        assert_eq!(started.body["chat"]["id"], "T1");
        assert_eq!(
            started.body["event_unique_id"],
            started.event_unique_id.as_str()
        );
        assert!(envelope(json!({"action": "incoming_chat", "payload": {}})).is_err());
        assert!(envelope(json!([])).is_err());

        assert_eq!(env.organization_id.as_deref(), Some("o"));
        let ids = chat_ids(Trigger::ChatStarted, &env.payload).unwrap();
        assert_eq!((ids.chat_id.as_str(), ids.thread_id.as_str()), ("C1", "T1"));
        let e = chat_ids(
            Trigger::ChatEnded,
            &json!({"chat_id": "C1", "thread_id": "T1"}),
        )
        .unwrap();
        assert!(chat_ids(Trigger::ChatEnded, &json!({"chat_id": "C1"})).is_err());
        let old =
            envelope(json!({"secret_key": "s", "action": "a", "license_id": 123, "payload": {}}));
        assert_eq!(old.unwrap().organization_id.as_deref(), Some("license:123"));
        let bare = chat_ended(&e, None, 1_576_569_600_000);
        assert_eq!(bare.body["chat"]["id"], "T1");
        assert_eq!(
            bare.body["chat"]["ended_timestamp"],
            "2019-12-17T08:00:00.000Z"
        );
        assert_ne!(bare.event_unique_id, started.event_unique_id);
        let full = chat_ended(&e, Some(&json!({"id": "C1", "thread": {"id": "T1"}})), 1);
        assert_eq!(
            full.event_unique_id, bare.event_unique_id,
            "same event either way"
        );

        assert_eq!(owner(Some("o"), Some("o")), Owner::Ours);
        assert_eq!(owner(Some("o"), Some("p")), Owner::Foreign);
        assert_eq!(owner(None, Some("p")), Owner::Unproven);
        assert_eq!(owner(Some("o"), None), Owner::Unproven);

        let cut = for_data_types(&started.body, &["chat".to_string()]);
        assert!(cut.get("pre_chat_survey").is_none() && cut.get("chat").is_some());
        assert!(cut.get("event_unique_id").is_some());
    }
}
