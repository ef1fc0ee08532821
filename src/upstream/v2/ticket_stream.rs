//! GetTicket's rewrite in one walk: LiveChat's bytes are read and the flow's written as the
//! scanner goes, with no `Node` per object and no second pass over them. A ticket holds 60
//! events of six to eight fields each; building their lists, walking them and dropping them
//! again was a third of the tree's rewrite. The walk knows the one shape LiveChat sends (a
//! ticket object whose `events` and `opened` are lists of objects, keys without escapes, none
//! sent twice); for any other it answers `Other` and the caller reads the text again with the
//! tree (`normalize_raw`), which handles every shape. Where both apply they write the same
//! bytes (a property test in `crate::fuzz` holds them to it).

use std::borrow::Cow;

use super::normalize_raw::{
    capacity, current_group, groups, push_key, raw_date, write_date, Field, NotJson,
};
use super::scan::Scanner;
use crate::dates::format_ms;

pub(super) enum Streamed {
    Ticket(Vec<u8>),
    /// Not a shape this walk writes (or not a ticket): the tree reads it.
    Other,
}

/// One ticket's JSON text rewritten as `normalize_raw::ticket_into` rewrites it.
pub(super) fn ticket(text: &[u8]) -> Result<Streamed, NotJson> {
    let mut s = Scanner::new(text)?;
    let mut out = Vec::with_capacity(capacity(text.len()));
    s.white_space();
    if !s.eat(b'{') {
        return Ok(Streamed::Other);
    }
    let Some(seen) = members(&mut s, &mut out)? else {
        return Ok(Streamed::Other);
    };
    if !s.at_end() {
        return Err(NotJson);
    }
    Ok(match seen.id {
        true => Streamed::Ticket(out),
        false => Streamed::Other,
    })
}

/// What the walk noted of the ticket's own fields.
#[derive(Default)]
struct Seen {
    id: bool,
    date: bool,
    /// The earliest readable `date` of the events and `from` of the opened spans: the
    /// ticket's date when LiveChat sent none.
    events_from: Option<i64>,
    opened_from: Option<i64>,
}

/// The ticket's members after its `{`, through its `}`; `None` for a shape the tree must read.
fn members<'a>(s: &mut Scanner<'a>, out: &mut Vec<u8>) -> Result<Option<Seen>, NotJson> {
    let mut seen = Seen::default();
    let mut keys = Keys::default();
    let mut first = true;
    out.push(b'{');
    s.white_space();
    if !s.eat(b'}') {
        let mut verbatim = Verbatim::default();
        loop {
            s.white_space();
            let from = s.at();
            let Some(key) = new_key(s, &mut keys)? else {
                return Ok(None);
            };
            seen.id |= key == "id";
            seen.date |= key == "date";
            if !REWRITTEN.contains(&key) {
                let raw = s.raw()?;
                verbatim.member(out, s, first, (key, raw), (from, s.at()));
                first = false;
            } else {
                verbatim.flush(out, s);
                let mark = start_member(out, first, key);
                let kept = match key {
                    "events" => items(s, out, &["date"], &mut seen.events_from)?,
                    "opened" => items(s, out, &["from", "to"], &mut seen.opened_from)?,
                    _ => Some(member(out, key, s.raw()?)),
                };
                let Some(kept) = kept else {
                    return Ok(None);
                };
                first = end_member(out, mark, first, kept);
            }
            if !more(s, b'}')? {
                break;
            }
        }
        verbatim.flush(out, s);
    }
    if !seen.date {
        let derived = seen.events_from.or(seen.opened_from).and_then(format_ms);
        if let Some(d) = derived {
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(b"\"date\":\"");
            out.extend_from_slice(d.as_bytes());
            out.push(b'"');
        }
    }
    out.push(b'}');
    Ok(Some(seen))
}

/// The ticket's fields `ticket_into` rewrites; it writes every other as it came.
const REWRITTEN: &[&str] = &[
    "events",
    "opened",
    "date",
    "modified",
    "groups",
    "currentGroup",
];

/// One of the ticket's own fields other than its lists, as `ticket_into` writes it.
fn member(out: &mut Vec<u8>, key: &str, raw: &str) -> bool {
    let field = Field::Raw(raw);
    match key {
        "date" | "modified" => write_date(out, key, raw_date(raw)),
        "groups" => groups(out, &field),
        "currentGroup" => current_group(out, &field),
        _ => {
            out.extend_from_slice(raw.as_bytes());
            true
        }
    }
}

/// A list of objects whose `dates` are rewritten, the earliest readable value of the first
/// of them kept in `earliest`; `None` for anything but a list of objects.
fn items(
    s: &mut Scanner<'_>,
    out: &mut Vec<u8>,
    dates: &[&str],
    earliest: &mut Option<i64>,
) -> Result<Option<bool>, NotJson> {
    s.white_space();
    if !s.eat(b'[') {
        return Ok(None);
    }
    out.push(b'[');
    let mut keys = Keys::default();
    s.white_space();
    if !s.eat(b']') {
        loop {
            s.white_space();
            if !s.eat(b'{') {
                return Ok(None);
            }
            keys.clear();
            if item(s, out, dates, earliest, &mut keys)?.is_none() {
                return Ok(None);
            }
            if !more(s, b']')? {
                break;
            }
            out.push(b',');
        }
    }
    out.push(b']');
    Ok(Some(true))
}

/// One item's members after its `{`, through its `}`.
fn item<'a>(
    s: &mut Scanner<'a>,
    out: &mut Vec<u8>,
    dates: &[&str],
    earliest: &mut Option<i64>,
    keys: &mut Keys<'a>,
) -> Result<Option<()>, NotJson> {
    let mut first = true;
    out.push(b'{');
    s.white_space();
    if !s.eat(b'}') {
        let mut verbatim = Verbatim::default();
        loop {
            s.white_space();
            let from = s.at();
            let Some(key) = new_key(s, keys)? else {
                return Ok(None);
            };
            let raw = s.raw()?;
            if dates.contains(&key) {
                verbatim.flush(out, s);
                let date = raw_date(raw);
                if key == dates[0] {
                    if let Some(ms) = date.0 {
                        *earliest = Some(earliest.map_or(ms, |e| e.min(ms)));
                    }
                }
                let mark = start_member(out, first, key);
                let kept = write_date(out, key, date);
                first = end_member(out, mark, first, kept);
            } else {
                verbatim.member(out, s, first, (key, raw), (from, s.at()));
                first = false;
            }
            if !more(s, b'}')? {
                break;
            }
        }
        verbatim.flush(out, s);
    }
    out.push(b'}');
    Ok(Some(()))
}

/// A member's key, when it holds no escape and was not sent before in this object (`None`
/// sends the answer to the tree, which keeps a repeated key's last value in its first place).
fn new_key<'a>(s: &mut Scanner<'a>, keys: &mut Keys<'a>) -> Result<Option<&'a str>, NotJson> {
    match s.key()? {
        Cow::Borrowed(k) if keys.first_time(k) => Ok(Some(k)),
        _ => Ok(None),
    }
}

/// The keys of one object so far. A key is looked for among them only when one of the same
/// length, first and last byte came before: LiveChat never repeats one, and comparing each of
/// 500 keys with those before it was a tenth of the walk.
#[derive(Default)]
struct Keys<'a> {
    seen: Vec<&'a str>,
    marks: u64,
}

impl<'a> Keys<'a> {
    fn first_time(&mut self, key: &'a str) -> bool {
        let b = key.as_bytes();
        let sum = b.len()
            + 7 * usize::from(b.first().copied().unwrap_or(0))
            + 31 * usize::from(b.last().copied().unwrap_or(0));
        let mark = 1u64 << (sum % 64);
        if self.marks & mark != 0 && self.seen.contains(&key) {
            return false;
        }
        self.marks |= mark;
        self.seen.push(key);
        true
    }

    fn clear(&mut self) {
        self.seen.clear();
        self.marks = 0;
    }
}

/// Members written as LiveChat wrote them: while they follow one another with nothing but a
/// comma between them, as one slice of its text, so most of an event is one copy instead of
/// a key and a value copied apart for each field.
#[derive(Default)]
struct Verbatim {
    span: Option<(usize, usize)>,
}

impl Verbatim {
    /// A member kept as it came, read from `from` to `to` in the text.
    fn member(
        &mut self,
        out: &mut Vec<u8>,
        s: &Scanner<'_>,
        first: bool,
        (key, raw): (&str, &str),
        (from, to): (usize, usize),
    ) {
        // `"key":value` with no white space in it: its text is what the tree writes.
        let compact = to - from == key.len() + 3 + raw.len();
        match &mut self.span {
            // One byte between the two members: the comma `more` read.
            Some((_, end)) if compact && *end + 1 == from => *end = to,
            _ => {
                self.flush(out, s);
                if !first {
                    out.push(b',');
                }
                match compact {
                    true => self.span = Some((from, to)),
                    false => {
                        push_key(out, &Cow::Borrowed(key));
                        out.push(b':');
                        out.extend_from_slice(raw.as_bytes());
                    }
                }
            }
        }
    }

    /// Writes the members waiting to be copied.
    fn flush(&mut self, out: &mut Vec<u8>, s: &Scanner<'_>) {
        if let Some((from, to)) = self.span.take() {
            out.extend_from_slice(s.bytes(from, to));
        }
    }
}

/// Writes `,"key":` (no comma first); answers where the member began, to drop it again.
fn start_member(out: &mut Vec<u8>, first: bool, key: &str) -> usize {
    let mark = out.len();
    if !first {
        out.push(b',');
    }
    push_key(out, &Cow::Borrowed(key));
    out.push(b':');
    mark
}

/// Drops a member its rewrite did not keep; answers whether the object is still empty.
fn end_member(out: &mut Vec<u8>, mark: usize, first: bool, kept: bool) -> bool {
    if !kept {
        out.truncate(mark);
    }
    first && !kept
}

/// After a member or an item: true at a `,`, false at `close`.
fn more(s: &mut Scanner<'_>, close: u8) -> Result<bool, NotJson> {
    s.white_space();
    match s.next()? {
        b',' => Ok(true),
        c if c == close => Ok(false),
        _ => Err(NotJson),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::v2::normalize_raw::ticket_answer_tree;

    const TICKET: &str = include_str!("../../../bench/mock/ticket.json");

    fn streamed(text: &str) -> Option<Vec<u8>> {
        match ticket(text.as_bytes()).expect("JSON") {
            Streamed::Ticket(out) => Some(out),
            Streamed::Other => None,
        }
    }

    #[test]
    fn livechats_ticket_is_written_in_one_walk_as_the_tree_writes_it() {
        let tree = ticket_answer_tree(TICKET.as_bytes(), "6W6TC").unwrap();
        assert_eq!(streamed(TICKET), tree);
        let spaced = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(TICKET).unwrap(),
        )
        .unwrap();
        let tree = ticket_answer_tree(spaced.as_bytes(), "6W6TC").unwrap();
        assert_eq!(streamed(&spaced), tree, "spaced out as well");
        let undated = r#"{"id":"A","opened":[{"from":1384554270}],"events":[{"date":"x"},{"date":1384554290}]}"#;
        assert_eq!(
            String::from_utf8(streamed(undated).unwrap()).unwrap(),
            r#"{"id":"A","opened":[{"from":"2013-11-15T22:24:30.000Z"}],"events":[{},{"date":"2013-11-15T22:24:50.000Z"}],"date":"2013-11-15T22:24:50.000Z"}"#
        );
    }

    #[test]
    fn other_shapes_are_left_to_the_tree() {
        for other in [
            r#"{"id":"A","id":"B"}"#,
            r#"{"id":"A","events":[{"date":1,"date":2}]}"#,
            r#"{"id":"A","d\u0061te":1}"#,
            r#"{"id":"A","events":{"date":1}}"#,
            r#"{"id":"A","opened":[{"from":1},3]}"#,
            r#"{"tickets":[{"id":"A"}]}"#,
            r#"[{"id":"A"}]"#,
        ] {
            assert_eq!(streamed(other), None, "{other}");
        }
        let alike =
            r#"{"id":"A","axb":1,"ayb":2,"events":[{"date":1,"dxe":2,"d":3,"e":4,"dze":5}]}"#;
        assert_eq!(
            streamed(alike),
            ticket_answer_tree(alike.as_bytes(), "A").unwrap(),
            "keys alike but not the same are not repeats"
        );
        let late = r#"{"id":"A","a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"a":9}"#;
        assert_eq!(streamed(late), None, "a key repeated late");
        assert!(ticket(br#"{"id":"A"} {}"#).is_err());
        assert!(ticket(br#"{"id":"A","events":[{"date":1}"#).is_err());
    }
}
