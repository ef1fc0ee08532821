//! GetTicket's and ListAgents' rewrites in one walk: LiveChat's bytes are read and the flow's
//! written as the scanner goes, with no `Node` per object and no second pass over them. A
//! ticket holds 60 events of six to eight fields each; building their lists, walking them and
//! dropping them again was a third of the tree's rewrite. The walk knows the shapes LiveChat
//! sends (a ticket object whose `events` and `opened` are lists of objects; a bare list of
//! agent objects; keys without escapes, none sent twice); for any other it answers `Other` and
//! the caller reads the text again with the tree (`normalize_raw`), which handles every shape.
//! Where both apply they write the same bytes (property tests in `crate::fuzz` hold them to it).

use std::borrow::Cow;

use super::normalize_raw::{
    agent_rewrite, capacity, push_key, raw_date, ticket_rewrite, write_date, Field, NotJson,
    Rewrite,
};
use super::scan::Scanner;
use crate::dates::format_ms;

pub(super) enum Streamed {
    Done(Vec<u8>),
    /// Not a shape this walk writes (or not a ticket): the tree reads it.
    Other,
}

/// What a rewrite of one member answers: whether it was kept (false drops it), or `None` for
/// a shape only the tree reads.
type Kept = Result<Option<bool>, NotJson>;

/// One ticket's JSON text rewritten as `normalize_raw::ticket_into` rewrites it.
pub(super) fn ticket(text: &[u8]) -> Result<Streamed, NotJson> {
    let mut s = Scanner::new(text)?;
    let mut out = Vec::with_capacity(capacity(text.len()));
    s.white_space();
    if !s.eat(b'{') {
        return Ok(Streamed::Other);
    }
    let (mut events_from, mut opened_from) = (None, None);
    let mut keys = Keys::default();
    let rewrite = |s: &mut Scanner<'_>, out: &mut Vec<u8>, key: &str, r| match r {
        Rewrite::DatesIn(dates) => {
            let earliest = match key {
                "events" => &mut events_from,
                _ => &mut opened_from,
            };
            items(s, out, dates, earliest)
        }
        r => Ok(Some(r.write(out, key, &Field::Raw(s.raw()?)))),
    };
    let Some(any) = object(&mut s, &mut out, &mut keys, ticket_rewrite, rewrite)? else {
        return Ok(Streamed::Other);
    };
    // LiveChat sent no date: the earliest event's (or opened span's) stands in, last.
    let derived = if keys.has("date") {
        None
    } else {
        events_from.or(opened_from).and_then(format_ms)
    };
    if let Some(d) = derived {
        if any {
            out.push(b',');
        }
        out.extend_from_slice(b"\"date\":\"");
        out.extend_from_slice(d.as_bytes());
        out.push(b'"');
    }
    out.push(b'}');
    if !s.at_end() {
        return Err(NotJson);
    }
    Ok(match keys.has("id") {
        true => Streamed::Done(out),
        false => Streamed::Other,
    })
}

/// A bare list of agents rewritten as `normalize_raw::agent_into` rewrites each.
pub(super) fn agents(text: &[u8]) -> Result<Streamed, NotJson> {
    let mut s = Scanner::new(text)?;
    let mut out = Vec::with_capacity(capacity(text.len()));
    let rewrite = |s: &mut Scanner<'_>, out: &mut Vec<u8>, key: &str, r: Rewrite| {
        Ok(Some(r.write(out, key, &Field::Raw(s.raw()?))))
    };
    let done = list(&mut s, &mut out, |s, out, keys| {
        object(s, out, keys, agent_rewrite, rewrite)
    })?;
    if done.is_none() {
        return Ok(Streamed::Other);
    }
    match s.at_end() {
        true => Ok(Streamed::Done(out)),
        false => Err(NotJson),
    }
}

/// A list of objects whose `dates` are rewritten, the earliest readable value of the first
/// of them kept in `earliest`.
fn items(
    s: &mut Scanner<'_>,
    out: &mut Vec<u8>,
    dates: &[&str],
    earliest: &mut Option<i64>,
) -> Kept {
    let is_date = |key: &str| dates.contains(&key).then_some(Rewrite::Date);
    // `Rewrite::Date` itself, with the instant read once for the earliest as well.
    let mut rewrite = |s: &mut Scanner<'_>, out: &mut Vec<u8>, key: &str, _| {
        let date = raw_date(s.raw()?);
        if key == dates[0] {
            if let Some(ms) = date.0 {
                *earliest = Some(earliest.map_or(ms, |e| e.min(ms)));
            }
        }
        Ok(Some(write_date(out, key, date)))
    };
    let done = list(s, out, |s, out, keys| {
        object(s, out, keys, is_date, &mut rewrite)
    })?;
    Ok(done.map(|()| true))
}

/// `[...]`: a list of objects, each read and written by `item` from its `{`; `None` for
/// anything else.
fn list<'a>(
    s: &mut Scanner<'a>,
    out: &mut Vec<u8>,
    mut item: impl FnMut(&mut Scanner<'a>, &mut Vec<u8>, &mut Keys<'a>) -> Kept,
) -> Result<Option<()>, NotJson> {
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
            if item(s, out, &mut keys)?.is_none() {
                return Ok(None);
            }
            out.push(b'}');
            if !more(s, b']')? {
                break;
            }
            out.push(b',');
        }
    }
    out.push(b']');
    Ok(Some(()))
}

/// One object's members after its `{`, through its `}`, written as `{` and its members (the
/// caller closes it): those `rewrite_of` names a rewrite for by `rewrite`, every other as it
/// came. Answers whether any member was written.
fn object<'a>(
    s: &mut Scanner<'a>,
    out: &mut Vec<u8>,
    keys: &mut Keys<'a>,
    rewrite_of: impl Fn(&str) -> Option<Rewrite>,
    mut rewrite: impl FnMut(&mut Scanner<'a>, &mut Vec<u8>, &'a str, Rewrite) -> Kept,
) -> Kept {
    let mut first = true;
    out.push(b'{');
    s.white_space();
    if s.eat(b'}') {
        return Ok(Some(false));
    }
    let mut verbatim = Verbatim::default();
    loop {
        s.white_space();
        let from = s.at();
        let Some(key) = new_key(s, keys)? else {
            return Ok(None);
        };
        match rewrite_of(key) {
            Some(r) => {
                verbatim.flush(out, s);
                let mark = start_member(out, first, key);
                let Some(kept) = rewrite(s, out, key, r)? else {
                    return Ok(None);
                };
                first = end_member(out, mark, first, kept);
            }
            None => {
                let raw = s.raw()?;
                verbatim.member(out, s, first, (key, raw), (from, s.at()));
                first = false;
            }
        }
        if !more(s, b'}')? {
            break;
        }
    }
    verbatim.flush(out, s);
    Ok(Some(!first))
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
    fn mark(key: &str) -> u64 {
        let b = key.as_bytes();
        let sum = b.len()
            + 7 * usize::from(b.first().copied().unwrap_or(0))
            + 31 * usize::from(b.last().copied().unwrap_or(0));
        1 << (sum % 64)
    }

    fn first_time(&mut self, key: &'a str) -> bool {
        let mark = Self::mark(key);
        if self.marks & mark != 0 && self.seen.contains(&key) {
            return false;
        }
        self.marks |= mark;
        self.seen.push(key);
        true
    }

    fn has(&self, key: &str) -> bool {
        self.marks & Self::mark(key) != 0 && self.seen.contains(&key)
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
    use crate::upstream::v2::normalize_raw::{agents_answer_tree, ticket_answer_tree};

    const TICKET: &str = include_str!("../../../bench/mock/ticket.json");
    const AGENTS: &str = include_str!("../../../bench/mock/agents.json");

    fn streamed(text: &str) -> Option<Vec<u8>> {
        match ticket(text.as_bytes()).expect("JSON") {
            Streamed::Done(out) => Some(out),
            Streamed::Other => None,
        }
    }

    #[test]
    fn livechats_ticket_and_agents_are_written_in_one_walk_as_the_tree_writes_them() {
        let tree = ticket_answer_tree(TICKET.as_bytes(), "6W6TC").unwrap();
        assert_eq!(streamed(TICKET), tree);
        let spaced = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(TICKET).unwrap(),
        )
        .unwrap();
        let tree = ticket_answer_tree(spaced.as_bytes(), "6W6TC").unwrap();
        assert_eq!(streamed(&spaced), tree, "spaced out as well");
        let tree = agents_answer_tree(AGENTS.as_bytes()).unwrap();
        match agents(AGENTS.as_bytes()).unwrap() {
            Streamed::Done(out) => assert_eq!(Some(out), tree),
            Streamed::Other => panic!("LiveChat's agents are left to the tree"),
        }
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
        for other in [
            r#"{"agents":[]}"#,
            r#"[{"login":"a"},3]"#,
            r#"[{"a":1,"a":2}]"#,
        ] {
            let walked = agents(other.as_bytes()).unwrap();
            assert!(matches!(walked, Streamed::Other), "{other}");
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
