//! LiveChat v2 answers in several shapes (livechat-v2.md marks them UNCERTAIN); flows see one.
//! Date-times become RFC 3339 UTC with milliseconds, groups become `{id, name}` objects.

use serde_json::{Map, Value};

use crate::dates::{date_field, format_ms, parse_ms};

/// `n` → `{"id": n}`; objects stay; anything else is dropped.
pub fn group(v: Value) -> Option<Value> {
    match v {
        Value::Number(_) => Some(Value::Object(Map::from_iter([("id".to_string(), v)]))),
        Value::String(ref s) => s
            .parse::<i64>()
            .ok()
            .map(|n| Value::Object(Map::from_iter([("id".to_string(), Value::from(n))]))),
        Value::Object(_) => Some(v),
        _ => None,
    }
}

fn groups_field(obj: &mut Map<String, Value>, key: &str) {
    if let Some(v) = obj.remove(key) {
        let list = match v {
            Value::Array(items) => items.into_iter().filter_map(group).collect(),
            single => group(single).into_iter().collect(),
        };
        obj.insert(key.to_string(), Value::Array(list));
    }
}

fn each_object(obj: &mut Map<String, Value>, key: &str, f: impl Fn(&mut Map<String, Value>)) {
    if let Some(Value::Array(items)) = obj.get_mut(key) {
        for item in items.iter_mut() {
            if let Value::Object(o) = item {
                f(o);
            }
        }
    }
}

/// A ticket from REST or webhook. `date` (creation) is derived from the first event or
/// `opened` when LiveChat leaves it out, so a flow always has it.
pub fn ticket(mut v: Value) -> Value {
    let Value::Object(obj) = &mut v else { return v };
    if !obj.contains_key("date") {
        let first = obj
            .get("events")
            .and_then(|e| e.as_array())
            .and_then(|e| {
                e.iter()
                    .filter_map(|ev| ev.get("date").and_then(parse_ms))
                    .min()
            })
            .or_else(|| {
                obj.get("opened").and_then(|o| o.as_array()).and_then(|o| {
                    o.iter()
                        .filter_map(|x| x.get("from").and_then(parse_ms))
                        .min()
                })
            });
        if let Some(date) = first.and_then(format_ms) {
            obj.insert("date".into(), Value::String(date));
        }
    }
    date_field(obj, "date");
    date_field(obj, "modified");
    each_object(obj, "events", |e| date_field(e, "date"));
    each_object(obj, "opened", |o| {
        date_field(o, "from");
        date_field(o, "to");
    });
    groups_field(obj, "groups");
    if let Some(g) = obj.remove("currentGroup") {
        if let Some(g) = group(g) {
            obj.insert("currentGroup".into(), g);
        }
    }
    v
}

/// An agent object: groups as objects, `max_chats_count` as an integer, `last_logout` a date.
pub fn agent(mut v: Value) -> Value {
    let Value::Object(obj) = &mut v else { return v };
    groups_field(obj, "groups");
    if let Some(Value::String(s)) = obj.get("max_chats_count") {
        if let Ok(n) = s.trim().parse::<i64>() {
            obj.insert("max_chats_count".into(), Value::from(n));
        }
    }
    date_field(obj, "last_logout");
    v
}

/// The chat of a `chat_started`/`chat_ended` notification. `groups` stays integers here, as
/// the notification schema (`WebhookChatResponse`) has it.
pub fn chat(mut v: Value) -> Value {
    let Value::Object(obj) = &mut v else { return v };
    date_field(obj, "started_timestamp");
    date_field(obj, "ended_timestamp");
    each_object(obj, "messages", |m| date_field(m, "timestamp"));
    each_object(obj, "events", |e| date_field(e, "timestamp"));
    if let Some(Value::Array(groups)) = obj.get_mut("groups") {
        let ids: Vec<Value> = groups
            .iter()
            .filter_map(|g| match g {
                Value::Number(_) => Some(g.clone()),
                Value::Object(o) => o.get("id").cloned(),
                _ => None,
            })
            .collect();
        *groups = ids;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ticket_is_normalised() {
        let t = ticket(
            json!({"id": "5FUED", "modified": 1384790802, "groups": [0, {"id": 2, "name": "Sales"}],
            "events": [{"date": 1384554270}, {"date": "2013-11-15T22:24:20Z"}], "extra": {"kept": true}}),
        );
        assert_eq!(t["modified"], "2013-11-18T16:06:42.000Z");
        assert_eq!(t["date"], "2013-11-15T22:24:20.000Z");
        assert_eq!(t["events"][0]["date"], "2013-11-15T22:24:30.000Z");
        assert_eq!(t["groups"], json!([{"id": 0}, {"id": 2, "name": "Sales"}]));
        assert_eq!(t["extra"], json!({"kept": true}));
        assert!(ticket(json!({"id": "X"})).get("date").is_none());
        let opened = ticket(json!({"opened": [{"from": 1384554260, "to": 1384554270}],
            "events": [{"date": "2013-11-15T22:24:20.123Z"}]}));
        assert_eq!(opened["opened"][0]["from"], "2013-11-15T22:24:20.000Z");
        assert_eq!(opened["opened"][0]["to"], "2013-11-15T22:24:30.000Z");
        assert_eq!(
            opened["date"], "2013-11-15T22:24:20.123Z",
            "a derived date keeps its milliseconds"
        );
    }

    #[test]
    fn agent_and_chat() {
        let a = agent(json!({"groups": [1], "max_chats_count": "6", "last_logout": 0}));
        assert_eq!(a, json!({"groups": [{"id": 1}], "max_chats_count": 6}));
        let c = chat(
            json!({"started_timestamp": 1358937653, "ended_timestamp": 0, "groups": [{"id": 3}, 4],
            "messages": [{"timestamp": 1358937661}]}),
        );
        assert_eq!(c["started_timestamp"], "2013-01-23T10:40:53.000Z");
        assert!(c.get("ended_timestamp").is_none());
        assert_eq!(c["groups"], json!([3, 4]));
        assert_eq!(c["messages"][0]["timestamp"], "2013-01-23T10:41:01.000Z");
    }
}
