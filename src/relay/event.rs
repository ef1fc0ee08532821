//! A LiveChat webhook delivery turned into the trigger's notification (`WebhookChatResponse`
//! or `WebhookTicketResponse`): dates and groups normalised, LiveChat's `token` and
//! `license_id` dropped, and an `event_unique_id` that stays the same when LiveChat redelivers.

use serde_json::{Map, Value};

use super::ids::sha256_hex;
use super::trigger::Trigger;
use crate::error::ApiError;
use crate::upstream::v2::normalize;

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub event_unique_id: String,
    pub body: Value,
}

/// Builds the notification for `trigger` from LiveChat's JSON body.
pub fn notification(trigger: Trigger, raw: Value) -> Result<Notification, ApiError> {
    let Value::Object(mut raw) = raw else {
        return Err(ApiError::BadRequest(
            "The webhook body must be a JSON object.".into(),
        ));
    };
    if let Some(sent) = raw.get("event_type").and_then(Value::as_str) {
        if sent != trigger.event_type() {
            log::warn!(
                "webhook for {} carried event_type {sent:?}",
                trigger.event_type()
            );
        }
    }
    let event_unique_id = unique_id(trigger, &raw);
    let mut out = Map::new();
    match trigger {
        Trigger::ChatStarted | Trigger::ChatEnded => {
            if let Some(chat) = raw.remove("chat") {
                out.insert("chat".into(), normalize::chat(chat));
            }
            for key in ["visitor", "pre_chat_survey"] {
                if let Some(v) = raw.remove(key) {
                    out.insert(key.into(), v);
                }
            }
        }
        Trigger::TicketCreated => {
            if let Some(ticket) = raw.remove("ticket") {
                out.insert("ticket".into(), normalize::ticket(ticket));
            }
        }
    }
    out.insert(
        "event_unique_id".into(),
        Value::String(event_unique_id.clone()),
    );
    Ok(Notification {
        event_unique_id,
        body: Value::Object(out),
    })
}

/// LiveChat's own id when it sends one; else one derived from the event type and the chat or
/// ticket id (one `chat_started` per chat, one `ticket_created` per ticket); else a hash of the
/// whole body without LiveChat's per-delivery fields.
fn unique_id(trigger: Trigger, raw: &Map<String, Value>) -> String {
    match raw.get("event_unique_id") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => {
            return s.trim().to_string()
        }
        Some(Value::Number(n)) => return n.to_string(),
        _ => {}
    }
    let entity = match trigger {
        Trigger::ChatStarted | Trigger::ChatEnded => "chat",
        Trigger::TicketCreated => "ticket",
    };
    let id = raw
        .get(entity)
        .and_then(|e| e.get("id"))
        .and_then(|id| match id {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let seed = match id {
        Some(id) => format!("{}\n{entity}\n{id}", trigger.event_type()),
        None => {
            let mut rest = raw.clone();
            rest.remove("token");
            rest.remove("license_id");
            format!("{}\nbody\n{}", trigger.event_type(), Value::Object(rest))
        }
    };
    sha256_hex(&seed)[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chat_notification() {
        let raw = json!({"event_type": "chat_started", "token": "27f4", "license_id": "1025707",
            "chat": {"id": "MH022RD0K5", "started_timestamp": 1358937653, "messages": [{"timestamp": 1358937661}]},
            "visitor": {"id": "S1", "name": "Mary"}, "pre_chat_survey": []});
        let n = notification(Trigger::ChatStarted, raw.clone()).unwrap();
        assert_eq!(
            n.body["chat"]["started_timestamp"],
            "2013-01-23T10:40:53.000Z"
        );
        assert_eq!(n.body["visitor"]["name"], "Mary");
        assert_eq!(n.body["pre_chat_survey"], json!([]));
        assert!(n.body.get("token").is_none() && n.body.get("license_id").is_none());
        assert_eq!(n.body["event_unique_id"], n.event_unique_id.as_str());
        let mut again = raw.clone();
        again["token"] = json!("other");
        assert_eq!(
            notification(Trigger::ChatStarted, again)
                .unwrap()
                .event_unique_id,
            n.event_unique_id
        );
        assert_ne!(
            notification(Trigger::ChatEnded, raw)
                .unwrap()
                .event_unique_id,
            n.event_unique_id
        );
    }

    #[test]
    fn ticket_notification_and_given_ids() {
        let raw = json!({"ticket": {"id": "CCWWM", "groups": [0], "events": [{"date": "2014-08-18T10:05:05Z"}]},
            "event_unique_id": "abc"});
        let n = notification(Trigger::TicketCreated, raw).unwrap();
        assert_eq!(n.event_unique_id, "abc");
        assert_eq!(n.body["ticket"]["groups"], json!([{"id": 0}]));
        assert_eq!(n.body["ticket"]["date"], "2014-08-18T10:05:05.000Z");
        let bare = notification(Trigger::TicketCreated, json!({"x": 1, "token": "t"})).unwrap();
        let bare2 = notification(Trigger::TicketCreated, json!({"x": 1, "token": "u"})).unwrap();
        assert_eq!(bare.event_unique_id, bare2.event_unique_id);
        assert!(notification(Trigger::TicketCreated, json!([1])).is_err());
    }
}
