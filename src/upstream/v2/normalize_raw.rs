//! The same rewrites as `normalize`, straight from LiveChat's bytes to the flow's bytes,
//! without building a `Value` tree: an object is read as its list of (key, raw value), only
//! the fields the contract rewrites are parsed, and everything else (a ticket's messages are
//! most of its 25 KB) is copied as LiveChat wrote it, never unescaped and escaped again.
//! `normalize` stays the reference: a test holds both equal.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::normalize::{self, format_ms, parse_ms};

/// An object's fields in LiveChat's order; a key sent twice keeps its last value, as a
/// parsed `Value` would.
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Fields<'a>, M::Error> {
                let mut out: Vec<(Cow<'a, str>, &'a RawValue)> =
                    Vec::with_capacity(m.size_hint().unwrap_or(16));
                while let Some(k) = m.next_key::<Cow<'a, str>>()? {
                    let v: &'a RawValue = m.next_value()?;
                    match out.iter_mut().find(|(key, _)| *key == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
                    }
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'a> Fields<'a> {
    fn parse(raw: &'a RawValue) -> Option<Self> {
        raw.get()
            .starts_with('{')
            .then(|| serde_json::from_str(raw.get()).ok())?
    }

    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// One output field: kept raw, replaced, or dropped.
enum Out<'a> {
    Raw(&'a RawValue),
    Owned(String),
    Drop,
}

/// Writes `{..}` from the fields, each one passed through `rewrite`.
fn write_object<'a>(
    buf: &mut Vec<u8>,
    fields: &Fields<'a>,
    extra: Option<(&str, String)>,
    mut rewrite: impl FnMut(&str, &'a RawValue) -> Out<'a>,
) {
    buf.push(b'{');
    let mut first = true;
    let mut sep = |buf: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            buf.push(b',');
        }
    };
    for (k, v) in &fields.0 {
        let text = match rewrite(k, v) {
            Out::Raw(r) => Cow::Borrowed(r.get()),
            Out::Owned(s) => Cow::Owned(s),
            Out::Drop => continue,
        };
        sep(buf);
        write_key(buf, k);
        buf.extend_from_slice(text.as_bytes());
    }
    if let Some((k, v)) = extra {
        sep(buf);
        write_key(buf, k);
        buf.extend_from_slice(v.as_bytes());
    }
    buf.push(b'}');
}

fn write_key(buf: &mut Vec<u8>, k: &str) {
    // Serialising a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, k);
    buf.push(b':');
}

fn value(raw: &RawValue) -> Option<Value> {
    serde_json::from_str(raw.get()).ok()
}

/// `normalize::date_field` for one raw value: the RFC 3339 string, or dropped.
fn date<'a>(key: &str, raw: &'a RawValue) -> Out<'a> {
    let v = value(raw).unwrap_or(Value::Null);
    match parse_ms(&v).and_then(format_ms) {
        Some(s) => Out::Owned(quoted(&s)),
        None => {
            if !(v.is_null() || v == 0 || v == "0") {
                log::warn!("dropping unreadable date-time in field `{key}`");
            }
            Out::Drop
        }
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "null".into())
}

fn json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Each item of an array: objects rewritten by `f`, anything else copied.
fn each_object<'a>(raw: &'a RawValue, f: impl Fn(&mut Vec<u8>, &Fields<'a>)) -> Out<'a> {
    let Some(items) = raw
        .get()
        .starts_with('[')
        .then(|| serde_json::from_str::<Vec<&RawValue>>(raw.get()).ok())
        .flatten()
    else {
        return Out::Raw(raw);
    };
    let mut buf = Vec::with_capacity(raw.get().len() + 16);
    buf.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        match Fields::parse(item) {
            Some(fields) => f(&mut buf, &fields),
            None => buf.extend_from_slice(item.get().as_bytes()),
        }
    }
    buf.push(b']');
    Out::Owned(String::from_utf8(buf).unwrap_or_else(|_| "[]".into()))
}

fn groups<'a>(raw: &'a RawValue) -> Out<'a> {
    let v = value(raw).unwrap_or(Value::Null);
    let list: Vec<Value> = match v {
        Value::Array(items) => items.into_iter().filter_map(normalize::group).collect(),
        single => normalize::group(single).into_iter().collect(),
    };
    Out::Owned(json(&Value::Array(list)))
}

/// The earliest readable `key` among the objects of an array.
fn earliest(raw: Option<&RawValue>, key: &str) -> Option<i64> {
    let items: Vec<&RawValue> = serde_json::from_str(raw?.get()).ok()?;
    items
        .iter()
        .filter_map(|i| Fields::parse(i)?.get(key).and_then(value))
        .filter_map(|v| parse_ms(&v))
        .min()
}

fn ticket_into(buf: &mut Vec<u8>, t: &Fields<'_>) {
    let derived = match t.get("date") {
        Some(_) => None,
        None => earliest(t.get("events"), "date")
            .or_else(|| earliest(t.get("opened"), "from"))
            .and_then(format_ms)
            .map(|d| ("date", quoted(&d))),
    };
    write_object(buf, t, derived, |k, v| match k {
        "date" | "modified" => date(k, v),
        "events" => each_object(v, |b, e| {
            write_object(b, e, None, |k, v| match k {
                "date" => date(k, v),
                _ => Out::Raw(v),
            })
        }),
        "opened" => each_object(v, |b, o| {
            write_object(b, o, None, |k, v| match k {
                "from" | "to" => date(k, v),
                _ => Out::Raw(v),
            })
        }),
        "groups" => groups(v),
        "currentGroup" => match value(v).and_then(normalize::group) {
            Some(g) => Out::Owned(json(&g)),
            None => Out::Drop,
        },
        _ => Out::Raw(v),
    });
}

fn agent_into(buf: &mut Vec<u8>, a: &Fields<'_>) {
    write_object(buf, a, None, |k, v| match k {
        "groups" => groups(v),
        "last_logout" => date(k, v),
        "max_chats_count" => match value(v) {
            Some(Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(n) => Out::Owned(n.to_string()),
                Err(_) => Out::Raw(v),
            },
            _ => Out::Raw(v),
        },
        _ => Out::Raw(v),
    });
}

/// Copies `raw` (anything that is not an object) or rewrites it with `f`.
fn object_or_raw(raw: &RawValue, f: fn(&mut Vec<u8>, &Fields<'_>)) -> Vec<u8> {
    let mut buf = Vec::with_capacity(raw.get().len() + 64);
    match Fields::parse(raw) {
        Some(fields) => f(&mut buf, &fields),
        None => buf.extend_from_slice(raw.get().as_bytes()),
    }
    buf
}

/// `normalize::ticket` on LiveChat's JSON text.
pub fn ticket(raw: &RawValue) -> Vec<u8> {
    object_or_raw(raw, ticket_into)
}

/// `normalize::agent` on LiveChat's JSON text.
pub fn agent(raw: &RawValue) -> Vec<u8> {
    object_or_raw(raw, agent_into)
}

/// An array of agents or tickets, each rewritten; `None` when `raw` is not an array.
pub fn list(raw: &RawValue, f: fn(&RawValue) -> Vec<u8>) -> Option<Vec<u8>> {
    let items: Vec<&RawValue> = serde_json::from_str(raw.get()).ok()?;
    let mut buf = Vec::with_capacity(raw.get().len() + 64 * items.len());
    buf.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(&f(item));
    }
    buf.push(b']');
    Some(buf)
}

/// The raw text of LiveChat's answer, if it is JSON at all.
pub fn parse(bytes: &[u8]) -> Option<&RawValue> {
    serde_json::from_slice(bytes).ok()
}

/// The raw value of `key` in an object.
pub fn field<'a>(raw: &'a RawValue, key: &str) -> Option<&'a RawValue> {
    Fields::parse(raw)?.get(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same(raw_out: Vec<u8>, reference: Value) {
        let got: Value = serde_json::from_slice(&raw_out).expect("valid JSON out");
        assert_eq!(got, reference);
    }

    fn raw(v: &str) -> &RawValue {
        parse(v.as_bytes()).unwrap()
    }

    const TICKET: &str = include_str!("../bench/mock/ticket.json");
    const AGENTS: &str = include_str!("../bench/mock/agents.json");

    #[test]
    fn ticket_matches_the_reference() {
        let cases = [
            TICKET.to_string(),
            json!({"id": "5FUED", "modified": 1384790802, "groups": [0, {"id": 2, "name": "Sales"}],
                "events": [{"date": 1384554270}, {"date": "2013-11-15T22:24:20Z"}, 7], "extra": {"kept": true}})
            .to_string(),
            json!({"id": "X"}).to_string(),
            json!({"opened": [{"from": 1384554260, "to": 0}], "events": [{"date": "2013-11-15T22:24:20.123Z"}],
                "currentGroup": "x", "groups": "3", "date": "soon"})
            .to_string(),
            json!({"opened": [{"from": "1384554260"}], "currentGroup": 4, "groups": null}).to_string(),
            r#"{"id":"A","id":"B","modified":0,"sp\u00e9cial \"key\"":"\u00e9\n"}"#.to_string(),
            r#" [1, 2] "#.to_string(),
            r#""text""#.to_string(),
        ];
        for c in cases {
            let reference = normalize::ticket(serde_json::from_str(&c).unwrap());
            same(ticket(raw(&c)), reference);
        }
    }

    #[test]
    fn agents_match_the_reference() {
        let reference: Vec<Value> = serde_json::from_str::<Vec<Value>>(AGENTS)
            .unwrap()
            .into_iter()
            .map(normalize::agent)
            .collect();
        same(list(raw(AGENTS), agent).unwrap(), Value::Array(reference));
        for c in [
            json!({"groups": [1], "max_chats_count": "6", "last_logout": 0}),
            json!({"groups": 1, "max_chats_count": " x ", "last_logout": "2013-11-18 15:26:42"}),
            json!({"max_chats_count": "12"}),
        ] {
            same(agent(raw(&c.to_string())), normalize::agent(c));
        }
        assert!(list(raw(r#"{"agents": []}"#), agent).is_none());
    }

    #[test]
    fn fields_are_found_and_text_is_copied_as_sent() {
        let t =
            r#"{"tickets":[{"id":"A","events":[{"message":"caf\u00e9 \ud83d\ude00"}]}],"total":1}"#;
        let tickets = field(raw(t), "tickets").unwrap();
        let out = String::from_utf8(list(tickets, ticket).unwrap()).unwrap();
        assert!(out.contains(r#""caf\u00e9 \ud83d\ude00""#), "{out}");
        assert!(field(raw("[1]"), "tickets").is_none());
        assert!(parse(b"{not json").is_none());
    }
}
