//! v3.6 chat webhooks reshaped to the contract's `WebhookChatResponse` parts (`chat`,
//! `visitor`, `pre_chat_survey`), livechat-v3-helpdesk.md §3.3 and §3.5: `incoming_chat` carries
//! the chat; `chat_deactivated` carries only ids, so its chat comes from Agent Chat `get_chat`.
//! A v2 chat is a v3 *thread* (UNCERTAIN), so `chat.id` is the thread id. Pure: the delivery's
//! I/O lives with the intake.

use serde_json::{json, Map, Value};

use crate::dates::{format_ms, parse_ms};

/// The parts of a chat notification, as v2 delivered them.
pub struct ChatParts {
    pub chat: Value,
    pub visitor: Option<Value>,
    pub pre_chat_survey: Vec<Value>,
}

/// `incoming_chat`'s `payload.chat`, or `get_chat`'s answer: a chat with `users[]` and one
/// `thread`. `ended_ms` is when it ended (`chat_deactivated`), if it did.
pub fn chat_parts(chat: &Value, ended_ms: Option<i64>) -> ChatParts {
    let thread = chat.get("thread").cloned().unwrap_or(Value::Null);
    let users: &[Value] = chat
        .get("users")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let user = |id: &str| {
        users
            .iter()
            .find(|u| u.get("id").and_then(Value::as_str) == Some(id))
    };
    let events: &[Value] = thread
        .get("events")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let date = |v: Option<&Value>| v.and_then(parse_ms).and_then(format_ms);

    let messages: Vec<Value> = events
        .iter()
        .filter(|e| e.get("type").and_then(Value::as_str) == Some("message"))
        .map(|e| {
            let author_id = e
                .get("author_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let author = user(author_id);
            let is_agent =
                author.and_then(|a| a.get("type")).and_then(Value::as_str) == Some("agent");
            // A whisper is seen by agents only: v2 called its author a supervisor (UNCERTAIN).
            let whisper = e.get("visibility").and_then(Value::as_str) == Some("agents");
            let user_type = match (is_agent, whisper) {
                (true, true) => "supervisor",
                (true, false) => "agent",
                (false, _) => "visitor",
            };
            let mut m = Map::new();
            m.insert("user_type".into(), json!(user_type));
            if let Some(n) = author.and_then(|a| a.get("name")) {
                m.insert("author_name".into(), n.clone());
            }
            if is_agent {
                m.insert("agent_id".into(), json!(author_id));
            }
            if let Some(t) = e.get("text") {
                m.insert("text".into(), t.clone());
            }
            if let Some(d) = date(e.get("created_at")) {
                m.insert("timestamp".into(), json!(d));
            }
            Value::Object(m)
        })
        .collect();

    let mut out = Map::new();
    if let Some(id) = thread.get("id").or_else(|| chat.get("id")) {
        out.insert("id".into(), id.clone());
    }
    if let Some(d) = date(thread.get("created_at")) {
        out.insert("started_timestamp".into(), json!(d));
    }
    if let Some(d) = ended_ms.and_then(format_ms) {
        out.insert("ended_timestamp".into(), json!(d));
    }
    out.insert("messages".into(), Value::Array(messages));
    out.insert(
        "tags".into(),
        thread.get("tags").cloned().unwrap_or_else(|| json!([])),
    );
    let agents: Vec<Value> = users
        .iter()
        .filter(|u| u.get("type").and_then(Value::as_str) == Some("agent"))
        .map(|u| json!({"login": u.get("id"), "name": u.get("name")}))
        .collect();
    out.insert("agents".into(), Value::Array(agents));

    let visitor = users
        .iter()
        .find(|u| u.get("type").and_then(Value::as_str) == Some("customer"))
        .map(|c| {
            let mut v = Map::new();
            for key in ["id", "name", "email"] {
                if let Some(x) = c.get(key).filter(|x| !x.is_null()) {
                    v.insert(key.into(), x.clone());
                }
            }
            Value::Object(v)
        });
    let pre_chat_survey = events
        .iter()
        .filter(|e| {
            e.get("type").and_then(Value::as_str) == Some("filled_form")
                && e.get("form_type").and_then(Value::as_str) == Some("prechat")
        })
        .flat_map(|e| e.get("fields").and_then(Value::as_array).cloned().unwrap_or_default())
        .map(|f| json!({"id": f.get("id"), "type": f.get("type"), "label": f.get("label"), "answer": f.get("answer")}))
        .collect();
    ChatParts {
        chat: Value::Object(out),
        visitor,
        pre_chat_survey,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat() -> Value {
        json!({"id": "PJ0MRSHTDG", "users": [
                {"id": "b7eff798-f8df-4364-8059-649c35c9ed0c", "type": "customer", "name": "Mary Brown", "email": "mary@x.com"},
                {"id": "jane@x.com", "type": "agent", "name": "Jane"}],
            "thread": {"id": "K600PKZON8", "created_at": "2019-12-17T07:57:41.512000Z", "tags": ["sales"],
                "events": [
                    {"type": "filled_form", "form_type": "prechat", "fields": [{"id": "1", "type": "name", "label": "Your name", "answer": "Mary"}]},
                    {"type": "message", "author_id": "b7eff798-f8df-4364-8059-649c35c9ed0c", "text": "Hi", "created_at": "2019-12-17T07:57:42Z"},
                    {"type": "message", "author_id": "jane@x.com", "text": "Hello", "created_at": "2019-12-17T07:57:50Z"},
                    {"type": "message", "author_id": "jane@x.com", "text": "psst", "visibility": "agents", "created_at": "2019-12-17T07:57:51Z"}]}})
    }

    #[test]
    fn reshapes_a_v3_chat_as_a_v2_one() {
        let p = chat_parts(&chat(), Some(1_576_569_600_000));
        assert_eq!(p.chat["id"], "K600PKZON8", "the thread is v2's chat");
        assert_eq!(p.chat["started_timestamp"], "2019-12-17T07:57:41.512Z");
        assert_eq!(p.chat["ended_timestamp"], "2019-12-17T08:00:00.000Z");
        assert_eq!(p.chat["tags"], json!(["sales"]));
        let m = p.chat["messages"].as_array().unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0]["user_type"], "visitor");
        assert_eq!(m[0]["author_name"], "Mary Brown");
        assert_eq!(m[1]["user_type"], "agent");
        assert_eq!(m[1]["agent_id"], "jane@x.com");
        assert_eq!(m[2]["user_type"], "supervisor");
        assert_eq!(
            p.chat["agents"],
            json!([{"login": "jane@x.com", "name": "Jane"}])
        );
        let v = p.visitor.unwrap();
        assert_eq!(v["email"], "mary@x.com");
        assert_eq!(p.pre_chat_survey[0]["answer"], "Mary");
        let empty = chat_parts(&json!({}), None);
        assert!(empty.visitor.is_none() && empty.chat.get("ended_timestamp").is_none());
    }
}
