//! The same rewrites as `normalize`, straight from LiveChat's bytes to the flow's bytes,
//! without building a `Value` tree, in one pass over the answer: an object is read (by
//! `scan`) as its list of (key, raw value), descending only into the arrays a rewrite reaches into (a ticket's
//! `events` and `opened`), and everything else (a ticket's messages are most of its 25 KB) is
//! copied as LiveChat wrote it, never unescaped and escaped again. `normalize` stays the
//! reference: the tests hold both equal. The shapes LiveChat sends are first tried by
//! `stream`, which writes these same bytes as it reads, without the nodes; the nodes here
//! read every other shape.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::normalize;
use super::scan::read;
use super::stream::{self, Streamed};
use crate::dates::{format_ms, parse_ms, push_ms};

/// A JSON value as far as a rewrite needs to see into it.
pub(super) enum Node<'a> {
    Obj(Fields<'a>),
    /// An array whose items are read as nodes (only where a rewrite reaches into them).
    List(Vec<Node<'a>>),
    /// Anything else, parsed (never more than a scalar or a misplaced array in practice).
    Other(Value),
}

/// An object's fields in LiveChat's order; a key sent twice keeps its last value, as a
/// parsed `Value` would.
pub(super) struct Fields<'a>(pub(super) Vec<(Cow<'a, str>, Field<'a>)>);

pub(super) enum Field<'a> {
    /// The value as LiveChat wrote it.
    Raw(&'a str),
    Node(Node<'a>),
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&Field<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn raw(&self, key: &str) -> Option<&'a str> {
        match self.get(key)? {
            Field::Raw(r) => Some(r),
            Field::Node(_) => None,
        }
    }
}

/// How to read a node: `deep` names the keys of an object whose arrays are read item by item
/// (their items' fields stay raw); `list` reads an array itself item by item.
#[derive(Clone, Copy)]
pub(super) struct Shape {
    pub(super) deep: &'static [&'static str],
    pub(super) list: bool,
}

pub(super) const FLAT: Shape = Shape {
    deep: &[],
    list: false,
};
pub(super) const ITEMS: Shape = Shape {
    deep: &[],
    list: true,
};
const TICKET: Shape = Shape {
    deep: &["events", "opened"],
    list: false,
};
const AGENTS: Shape = Shape {
    deep: &["agents"],
    list: true,
};

/// LiveChat's answer is not JSON.
#[derive(Debug)]
pub struct NotJson;

fn value(raw: &str) -> Option<Value> {
    serde_json::from_str(raw).ok()
}

fn push_json(buf: &mut Vec<u8>, v: &impl serde::Serialize) {
    // Serialising plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, v);
}

/// A key as LiveChat wrote it when it needed no escapes (serde borrows exactly those, and a
/// JSON string without escapes holds no quote, backslash or control character); else escaped.
// The `Cow` itself is the point: borrowed means LiveChat wrote the key without escapes.
#[allow(clippy::ptr_arg)]
pub(super) fn push_key(buf: &mut Vec<u8>, k: &Cow<'_, str>) {
    match k {
        Cow::Borrowed(k) => {
            buf.push(b'"');
            buf.extend_from_slice(k.as_bytes());
            buf.push(b'"');
        }
        Cow::Owned(k) => push_json(buf, k),
    }
}

/// Writes `{..}`: each field's key, then its value as `rewrite` writes it; `rewrite` answers
/// false to drop the field. `extra` is appended last.
fn write_object<'a>(
    buf: &mut Vec<u8>,
    fields: &Fields<'a>,
    extra: Option<(&str, &str)>,
    mut rewrite: impl FnMut(&mut Vec<u8>, &str, &Field<'a>) -> bool,
) {
    buf.push(b'{');
    let mut first = true;
    for (k, v) in &fields.0 {
        let mark = buf.len();
        if !first {
            buf.push(b',');
        }
        push_key(buf, k);
        buf.push(b':');
        if rewrite(buf, k, v) {
            first = false;
        } else {
            buf.truncate(mark);
        }
    }
    if let Some((k, v)) = extra {
        if !first {
            buf.push(b',');
        }
        push_json(buf, &k);
        buf.push(b':');
        buf.extend_from_slice(v.as_bytes());
    }
    buf.push(b'}');
}

/// A field as it came, whatever it holds.
fn write_field(buf: &mut Vec<u8>, field: &Field<'_>) -> bool {
    match field {
        Field::Raw(r) => buf.extend_from_slice(r.as_bytes()),
        Field::Node(n) => write_node(buf, n, &mut |buf, f| {
            write_object(buf, f, None, |buf, _, v| write_field(buf, v))
        }),
    }
    true
}

/// A node; its objects (the node itself, or a list's items) written by `obj`.
fn write_node(buf: &mut Vec<u8>, node: &Node<'_>, obj: &mut dyn FnMut(&mut Vec<u8>, &Fields<'_>)) {
    match node {
        Node::Obj(f) => obj(buf, f),
        Node::List(items) => {
            buf.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                write_node(buf, item, obj);
            }
            buf.push(b']');
        }
        Node::Other(v) => push_json(buf, v),
    }
}

/// `dates::date_field` for one raw value: writes the RFC 3339 string, or answers false (drop).
fn date(buf: &mut Vec<u8>, key: &str, field: &Field<'_>) -> bool {
    let Field::Raw(raw) = field else {
        return write_field(buf, field);
    };
    write_date(buf, key, raw_date(raw))
}

/// A date `raw_date` has read: the RFC 3339 string, or false (drop the field).
pub(super) fn write_date(buf: &mut Vec<u8>, key: &str, (ms, quiet): (Option<i64>, bool)) -> bool {
    // An RFC 3339 instant holds nothing to escape.
    buf.push(b'"');
    if ms.is_some_and(|ms| push_ms(buf, ms)) {
        buf.push(b'"');
        return true;
    }
    buf.pop();
    if !quiet {
        log::warn!("dropping unreadable date-time in field `{key}`");
    }
    false
}

/// The instant a raw date value holds, as `parse_ms` reads it, and whether a missing instant
/// is quiet (0, "0" or null: no date, not an unreadable one).
pub(super) fn raw_date(raw: &str) -> (Option<i64>, bool) {
    match plain_timestamp(raw) {
        Some(ms) => (ms, ms.is_none()),
        None => {
            let v = value(raw).unwrap_or(Value::Null);
            (parse_ms(&v), v.is_null() || v == 0 || v == "0")
        }
    }
}

/// A date LiveChat wrote as plain digits (how v2 sends them), read as `parse_ms` reads the
/// number without building a `Value` (`Some(None)` for 0, which is no date); `None` for
/// anything else, which goes through `parse_ms`. Below 10^15 the number is exact
/// as the `f64` `parse_ms` reads it through.
fn plain_timestamp(raw: &str) -> Option<Option<i64>> {
    if !(1..=15).contains(&raw.len()) {
        return None;
    }
    // One pass that checks and reads the digits (15 of them cannot overflow an i64).
    let mut n = 0i64;
    for b in raw.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(b - b'0');
    }
    Some(match n {
        0 => None,
        n if n < 100_000_000_000 => Some(n * 1000),
        n => Some(n),
    })
}

/// The objects of an array field (`events`, `opened`) with their `keys` as dates; anything
/// else in the field is written as it came, as `normalize` leaves it.
fn dates_in_items(buf: &mut Vec<u8>, field: &Field<'_>, keys: &[&str]) -> bool {
    match field {
        Field::Node(n @ Node::List(_)) => write_node(buf, n, &mut |buf, f| {
            write_object(buf, f, None, |buf, k, v| match keys.contains(&k) {
                true => date(buf, k, v),
                false => write_field(buf, v),
            })
        }),
        other => {
            write_field(buf, other);
        }
    }
    true
}

fn groups(buf: &mut Vec<u8>, field: &Field<'_>) -> bool {
    let v = match field {
        Field::Raw(r) => match plain_ids(r) {
            Some(ids) => return write_ids(buf, ids),
            None => value(r).unwrap_or(Value::Null),
        },
        Field::Node(_) => return write_field(buf, field),
    };
    let list: Vec<Value> = match v {
        Value::Array(items) => items.into_iter().filter_map(normalize::group).collect(),
        single => normalize::group(single).into_iter().collect(),
    };
    push_json(buf, &list);
    true
}

/// The ids of `[0, 1, 12]`, the shape LiveChat sends groups in, when every item is a plain
/// whole number below 10^18 (written as serde_json would write it back); `None` sends any
/// other shape through the `Value` path.
fn plain_ids(raw: &str) -> Option<impl Iterator<Item = &str>> {
    let inner = raw.strip_prefix('[')?.strip_suffix(']')?;
    let json_space = |c| matches!(c, ' ' | '\t' | '\n' | '\r');
    let inner = inner.trim_matches(json_space);
    let ids = inner
        .split(',')
        .map(move |id| id.trim_matches(json_space))
        .filter(move |_| !inner.is_empty());
    let plain = |id: &str| {
        (1..=18).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_digit())
            && (id == "0" || !id.starts_with('0'))
    };
    ids.clone().all(plain).then_some(ids)
}

/// `[{"id":0},{"id":1},...]`.
fn write_ids<'a>(buf: &mut Vec<u8>, ids: impl Iterator<Item = &'a str>) -> bool {
    buf.push(b'[');
    for (i, id) in ids.enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"id\":");
        buf.extend_from_slice(id.as_bytes());
        buf.push(b'}');
    }
    buf.push(b']');
    true
}

/// The earliest readable `key` among the objects of an array field.
fn earliest(fields: &Fields<'_>, list: &str, key: &str) -> Option<i64> {
    let Some(Field::Node(Node::List(items))) = fields.get(list) else {
        return None;
    };
    items
        .iter()
        .filter_map(|i| match i {
            Node::Obj(f) => f.raw(key),
            _ => None,
        })
        .filter_map(|raw| raw_date(raw).0)
        .min()
}

fn ticket_into(buf: &mut Vec<u8>, t: &Fields<'_>) {
    let derived = match t.get("date") {
        Some(_) => None,
        None => earliest(t, "events", "date")
            .or_else(|| earliest(t, "opened", "from"))
            .and_then(format_ms)
            .map(|d| serde_json::to_string(&d).unwrap_or_default()),
    };
    let extra = derived.as_deref().map(|d| ("date", d));
    write_object(buf, t, extra, |buf, k, v| match ticket_rewrite(k) {
        Some(r) => r.write(buf, k, v),
        None => write_field(buf, v),
    });
}

/// What the contract does to one field of a ticket or an agent (a field without one is kept
/// as LiveChat wrote it): the one list of rewrites both readers, the tree here and `stream`,
/// dispatch on.
#[derive(Clone, Copy)]
pub(super) enum Rewrite {
    /// An instant, as an RFC 3339 string (dropped when unreadable).
    Date,
    Groups,
    CurrentGroup,
    MaxChats,
    /// A list of objects whose fields of these names are dates; the first name's earliest
    /// value dates a ticket that has no `date`.
    DatesIn(&'static [&'static str]),
}

pub(super) fn ticket_rewrite(key: &str) -> Option<Rewrite> {
    match key {
        "date" | "modified" => Some(Rewrite::Date),
        "events" => Some(Rewrite::DatesIn(&["date"])),
        "opened" => Some(Rewrite::DatesIn(&["from", "to"])),
        "groups" => Some(Rewrite::Groups),
        "currentGroup" => Some(Rewrite::CurrentGroup),
        _ => None,
    }
}

pub(super) fn agent_rewrite(key: &str) -> Option<Rewrite> {
    match key {
        "groups" => Some(Rewrite::Groups),
        "last_logout" => Some(Rewrite::Date),
        "max_chats_count" => Some(Rewrite::MaxChats),
        _ => None,
    }
}

impl Rewrite {
    /// Writes the field `key` rewritten; false drops it.
    pub(super) fn write(self, buf: &mut Vec<u8>, key: &str, field: &Field<'_>) -> bool {
        match self {
            Rewrite::Date => date(buf, key, field),
            Rewrite::Groups => groups(buf, field),
            Rewrite::CurrentGroup => current_group(buf, field),
            Rewrite::MaxChats => max_chats(buf, field),
            Rewrite::DatesIn(keys) => dates_in_items(buf, field, keys),
        }
    }
}

/// The ticket's `currentGroup` as `normalize::group` reads it, or false (drop the field).
fn current_group(buf: &mut Vec<u8>, field: &Field<'_>) -> bool {
    let g = match field {
        Field::Raw(r) => value(r).and_then(normalize::group),
        Field::Node(_) => None,
    };
    g.map(|g| push_json(buf, &g)).is_some()
}

/// Room for a rewritten answer of `len` bytes, so it is never grown and copied: dates become
/// 26-byte strings (a v2 timestamp is 10 digits) and group ids objects, at most an eighth more
/// for any answer where they sit among other fields.
pub(super) fn capacity(len: usize) -> usize {
    len + len / 8 + 256
}

fn agent_into(buf: &mut Vec<u8>, a: &Fields<'_>) {
    write_object(buf, a, None, |buf, k, v| match agent_rewrite(k) {
        Some(r) => r.write(buf, k, v),
        None => write_field(buf, v),
    });
}

/// An agent's `max_chats_count`: a number LiveChat sent as a string becomes the number.
fn max_chats(buf: &mut Vec<u8>, field: &Field<'_>) -> bool {
    let text = match field {
        // Only a string can change, and one without escapes is its own text.
        Field::Raw(r) if r.starts_with('"') => match r.get(1..r.len() - 1) {
            Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
            _ => match value(r) {
                Some(Value::String(s)) => Some(Cow::Owned(s)),
                _ => None,
            },
        },
        _ => None,
    };
    match text.and_then(|t| t.trim().parse::<i64>().ok()) {
        Some(n) => push_json(buf, &n),
        None => {
            write_field(buf, field);
        }
    }
    true
}

/// `normalize::ticket` on one ticket's JSON text.
fn ticket_text(text: &[u8]) -> Result<Vec<u8>, NotJson> {
    if let Streamed::Done(out) = stream::ticket(text)? {
        return Ok(out);
    }
    let node = read(text, TICKET)?;
    let mut buf = Vec::with_capacity(capacity(text.len()));
    write_node(&mut buf, &node, &mut |buf, f| ticket_into(buf, f));
    Ok(buf)
}

/// GetTicket: the ticket in LiveChat's answer (the bare ticket, or the one with this `id` in
/// the list envelope), normalised; `Ok(None)` when the answer holds no such ticket.
pub fn ticket_answer(text: &[u8], id: &str) -> Result<Option<Vec<u8>>, NotJson> {
    match stream::ticket(text)? {
        Streamed::Done(out) => Ok(Some(out)),
        Streamed::Other => ticket_answer_tree(text, id),
    }
}

/// `ticket_answer` by way of the tree, which reads every shape (`stream` only the one
/// LiveChat sends).
pub(crate) fn ticket_answer_tree(text: &[u8], id: &str) -> Result<Option<Vec<u8>>, NotJson> {
    let node = read(text, TICKET)?;
    let Node::Obj(fields) = &node else {
        return Ok(None);
    };
    if fields.get("id").is_some() {
        let mut buf = Vec::with_capacity(capacity(text.len()));
        ticket_into(&mut buf, fields);
        return Ok(Some(buf));
    }
    let Some(list) = fields.raw("tickets") else {
        return Ok(None);
    };
    let items: Vec<&RawValue> = serde_json::from_str(list).unwrap_or_default();
    let found = items.into_iter().find(|t| {
        serde_json::from_str::<IdOnly>(t.get()).is_ok_and(|t| t.id.as_deref() == Some(id))
    });
    found.map(|t| ticket_text(t.get().as_bytes())).transpose()
}

#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
}

/// ListAgents: LiveChat's list (a bare array, or `{"agents": [...]}`) as the normalised JSON
/// array; `Ok(None)` when the answer holds no list.
pub fn agents_answer(text: &[u8]) -> Result<Option<Vec<u8>>, NotJson> {
    match stream::agents(text)? {
        Streamed::Done(out) => Ok(Some(out)),
        Streamed::Other => agents_answer_tree(text),
    }
}

/// `agents_answer` by way of the tree, which reads every shape.
pub(crate) fn agents_answer_tree(text: &[u8]) -> Result<Option<Vec<u8>>, NotJson> {
    let node = read(text, AGENTS)?;
    let list = match &node {
        Node::List(_) => &node,
        Node::Obj(f) => match f.get("agents") {
            Some(Field::Node(n @ Node::List(_))) => n,
            _ => return Ok(None),
        },
        Node::Other(_) => return Ok(None),
    };
    let mut buf = Vec::with_capacity(capacity(text.len()));
    write_node(&mut buf, list, &mut |buf, f| agent_into(buf, f));
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same(raw_out: Vec<u8>, reference: Value) {
        let got: Value = serde_json::from_slice(&raw_out).expect("valid JSON out");
        assert_eq!(got, reference);
    }

    const TICKET: &str = include_str!("../../../bench/mock/ticket.json");
    const AGENTS: &str = include_str!("../../../bench/mock/agents.json");

    proptest::proptest! {
        /// A date sent as plain digits is read as the tree's `parse_ms` reads its number.
        #[test]
        fn plain_digits_are_read_as_parse_ms_reads_them(digits in 1u32..=16, n: u64) {
            // As many numbers of each length: seconds and milliseconds both, and past the 15
            // digits the plain read takes.
            let raw = (n % 10u64.pow(digits)).to_string();
            let v = value(&raw).unwrap();
            let quiet = v.is_null() || v == 0 || v == "0";
            proptest::prop_assert_eq!(raw_date(&raw), (parse_ms(&v), quiet));
        }
    }

    /// Where seconds turn into milliseconds, and where the plain read hands over to
    /// `parse_ms`: the edges a random draw seldom lands on.
    #[test]
    fn plain_digits_at_the_edges_are_read_as_parse_ms_reads_them() {
        for n in [
            1u64,
            99_999_999_999,
            100_000_000_000,
            999_999_999_999_999,
            1_000_000_000_000_000,
        ] {
            let raw = n.to_string();
            let v = value(&raw).unwrap();
            assert_eq!(raw_date(&raw), (parse_ms(&v), false), "{raw}");
        }
        assert_eq!(raw_date("0"), (None, true));
    }

    #[test]
    fn ticket_matches_the_reference() {
        let cases = [
            TICKET.to_string(),
            json!({"id": "5FUED", "modified": 1384790802, "groups": [0, {"id": 2, "name": "Sales"}],
                "events": [{"date": 1384554270}, {"date": "2013-11-15T22:24:20Z"}, 7, [1]], "extra": {"kept": true}})
            .to_string(),
            json!({"id": "X"}).to_string(),
            json!({"id": "X", "opened": [{"from": 1384554260, "to": 0}], "events": [{"date": "2013-11-15T22:24:20.123Z"}],
                "currentGroup": "x", "groups": "3", "date": "soon"})
            .to_string(),
            json!({"id": "X", "opened": [{"from": "1384554260"}], "currentGroup": 4, "groups": null, "events": "none"}).to_string(),
            json!({"id": "X", "events": {"date": 1}, "opened": 5}).to_string(),
            json!({"id": "X", "modified": 999_999_999_999_999_u64, "date": 100_000_000_000_u64,
                "events": [{"date": 99_999_999_999_u64}, {"date": 0}, {"date": 1_384_554_270_123_u64}, {"date": 1e3}]})
            .to_string(),
            r#"{"id":"A","id":"B","modified":0,"sp\u00e9cial \"key\"":"\u00e9\n"}"#.to_string(),
        ];
        for c in cases {
            let reference = normalize::ticket(serde_json::from_str(&c).unwrap());
            let id = reference["id"].as_str().unwrap().to_string();
            same(
                ticket_answer(c.as_bytes(), &id).unwrap().unwrap(),
                reference,
            );
        }
    }

    #[test]
    fn the_ticket_is_found_in_the_list_envelope() {
        let answer =
            json!({"tickets": [{"id": "A", "modified": 1}, {"id": "B", "modified": 1384790802}]});
        let out = ticket_answer(answer.to_string().as_bytes(), "B")
            .unwrap()
            .unwrap();
        same(out, normalize::ticket(answer["tickets"][1].clone()));
        assert!(ticket_answer(answer.to_string().as_bytes(), "C")
            .unwrap()
            .is_none());
        for none in [r#"[1, 2]"#, r#""text""#, r#"{"tickets": 3}"#] {
            assert!(
                ticket_answer(none.as_bytes(), "A").unwrap().is_none(),
                "{none}"
            );
        }
        assert!(ticket_answer(b"{not json", "A").is_err());
        assert!(ticket_answer(br#"{"id": "A"} trailing"#, "A").is_err());
    }

    #[test]
    fn agents_match_the_reference() {
        let reference: Vec<Value> = serde_json::from_str::<Vec<Value>>(AGENTS)
            .unwrap()
            .into_iter()
            .map(normalize::agent)
            .collect();
        same(
            agents_answer(AGENTS.as_bytes()).unwrap().unwrap(),
            Value::Array(reference),
        );
        let shapes = json!([
            {"groups": [1], "max_chats_count": "6", "last_logout": 0},
            {"groups": 1, "max_chats_count": " x ", "last_logout": "2013-11-18 15:26:42"},
            {"max_chats_count": "12"},
            {"groups": []},
            {"groups": [1.5, -3, 10000000000000000000_u64, "7", 0]},
            3
        ]);
        let reference: Vec<Value> = shapes
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(normalize::agent)
            .collect();
        let wrapped = json!({ "agents": shapes }).to_string();
        same(
            agents_answer(wrapped.as_bytes()).unwrap().unwrap(),
            Value::Array(reference),
        );
        let spaced = br#"[{"groups": [ 0 ,12 ]}, {"groups": [ ]}, {"groups": [-0, 01]}]"#;
        assert!(agents_answer(spaced).is_err(), "01 is not JSON");
        let spaced = br#"[{"groups": [ 0 ,12 ]}, {"groups": [ ]}, {"groups": [-0]}]"#;
        let reference = serde_json::from_slice::<Vec<Value>>(spaced).unwrap();
        same(
            agents_answer(spaced).unwrap().unwrap(),
            reference.into_iter().map(normalize::agent).collect(),
        );
        assert!(agents_answer(br#"{"agents": 1}"#).unwrap().is_none());
        assert!(agents_answer(b"7").unwrap().is_none());
    }

    #[test]
    fn text_is_copied_as_sent() {
        let t = r#"{"id":"A","events":[{"message":"caf\u00e9 \ud83d\ude00","date":1}]}"#;
        let out = String::from_utf8(ticket_answer(t.as_bytes(), "A").unwrap().unwrap()).unwrap();
        assert!(out.contains(r#""caf\u00e9 \ud83d\ude00""#), "{out}");
    }
}
