//! Reads LiveChat's bytes into the `Node`s the raw rewrites need, by hand: one pass over the
//! text, which is checked as UTF-8 once, and every value a rewrite does not reach into kept as
//! the slice LiveChat wrote. serde_json did the same job through its visitor API, paying per
//! key and per value (a UTF-8 check of each, a boxed raw value, the visitor calls): on a 25 KB
//! ticket that was most of the call. What it accepts is what `serde_json::from_slice` accepts
//! for the same shapes (RFC 8259's grammar; no range on numbers kept raw); a scalar or array
//! where a rewrite expects an object is parsed by serde_json itself, as before. The property
//! tests in `crate::fuzz` hold the two readers' answers equal.

use std::borrow::Cow;

use serde_json::Value;

use super::normalize_raw::{Field, Fields, Node, NotJson, Shape, FLAT, ITEMS};

/// `text` as a node of `shape`, with nothing but white space after it.
pub(super) fn read(text: &[u8], shape: Shape) -> Result<Node<'_>, NotJson> {
    let mut s = Scanner::new(text)?;
    let node = s.node(shape)?;
    match s.at_end() {
        true => Ok(node),
        false => Err(NotJson),
    }
}

pub(super) struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// The closing bytes of the arrays and objects `skip_value` is inside, innermost last: a
    /// stack on the heap, so a deeply nested answer cannot overflow the thread's stack.
    open: Vec<u8>,
}

impl<'a> Scanner<'a> {
    /// At the start of `text`, which must be UTF-8.
    pub(super) fn new(text: &'a [u8]) -> Result<Self, NotJson> {
        // simdutf8's vector check: std's read a 25 KB answer 16 bytes a step, 2 % of a ticket call.
        let text = simdutf8::basic::from_utf8(text).map_err(|_| NotJson)?;
        Ok(Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            open: Vec::new(),
        })
    }

    /// Where the scanner is in the text.
    pub(super) fn at(&self) -> usize {
        self.pos
    }

    /// The text's bytes from `from` to `to`.
    pub(super) fn bytes(&self, from: usize, to: usize) -> &'a [u8] {
        &self.bytes[from..to]
    }

    /// Past trailing white space: whether that was the end of the text.
    pub(super) fn at_end(&mut self) -> bool {
        self.white_space();
        self.pos == self.bytes.len()
    }

    fn node(&mut self, shape: Shape) -> Result<Node<'a>, NotJson> {
        self.white_space();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.object(shape)
            }
            Some(b'[') if shape.list => {
                self.pos += 1;
                self.list()
            }
            _ => {
                let raw = self.raw()?;
                serde_json::from_str::<Value>(raw)
                    .map(Node::Other)
                    .map_err(|_| NotJson)
            }
        }
    }

    /// An object's fields after its `{`; the arrays under `shape.deep` keys read item by item.
    fn object(&mut self, shape: Shape) -> Result<Node<'a>, NotJson> {
        let mut out: Vec<(Cow<'a, str>, Field<'a>)> = Vec::with_capacity(16);
        self.white_space();
        if self.eat(b'}') {
            return Ok(Node::Obj(Fields(out)));
        }
        loop {
            let key = self.key()?;
            let value = match shape.deep.contains(&key.as_ref()) {
                true => Field::Node(self.node(ITEMS)?),
                false => Field::Raw(self.raw()?),
            };
            // A key sent twice keeps its first place and its last value, as a `Value` would.
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => out.push((key, value)),
            }
            self.white_space();
            match self.next()? {
                b',' => continue,
                b'}' => return Ok(Node::Obj(Fields(out))),
                _ => return Err(NotJson),
            }
        }
    }

    /// An array's items after its `[`, each read flat.
    fn list(&mut self) -> Result<Node<'a>, NotJson> {
        let mut items = Vec::with_capacity(16);
        self.white_space();
        if self.eat(b']') {
            return Ok(Node::List(items));
        }
        loop {
            items.push(self.node(FLAT)?);
            self.white_space();
            match self.next()? {
                b',' => continue,
                b']' => return Ok(Node::List(items)),
                _ => return Err(NotJson),
            }
        }
    }

    /// A member's key and its `:`. Borrowed when LiveChat wrote it without escapes, so it can
    /// be written back as it came; else unescaped by serde_json (which refuses a lone
    /// surrogate, as it did when it read every key).
    pub(super) fn key(&mut self) -> Result<Cow<'a, str>, NotJson> {
        self.white_space();
        let start = self.pos;
        if !self.eat(b'"') {
            return Err(NotJson);
        }
        let escaped = self.skip_string()?;
        let quoted = &self.text[start..self.pos];
        let key = match escaped {
            false => Cow::Borrowed(&quoted[1..quoted.len() - 1]),
            true => Cow::Owned(serde_json::from_str::<String>(quoted).map_err(|_| NotJson)?),
        };
        self.white_space();
        match self.eat(b':') {
            true => Ok(key),
            false => Err(NotJson),
        }
    }

    /// One whole value as LiveChat wrote it, without the white space around it.
    pub(super) fn raw(&mut self) -> Result<&'a str, NotJson> {
        self.white_space();
        let start = self.pos;
        // Most values are strings: past one without `skip_value`'s nesting bookkeeping.
        match self.eat(b'"') {
            true => self.skip_string().map(drop)?,
            false => self.skip_value()?,
        }
        Ok(&self.text[start..self.pos])
    }

    /// Past one value, nested as deep as it goes.
    fn skip_value(&mut self) -> Result<(), NotJson> {
        let base = self.open.len();
        loop {
            self.white_space();
            match self.next()? {
                b'"' => {
                    self.skip_string()?;
                }
                b'{' => {
                    self.white_space();
                    if !self.eat(b'}') {
                        self.open.push(b'}');
                        self.member_key()?;
                        continue;
                    }
                }
                b'[' => {
                    self.white_space();
                    if !self.eat(b']') {
                        self.open.push(b']');
                        continue;
                    }
                }
                b't' => self.literal(b"rue")?,
                b'f' => self.literal(b"alse")?,
                b'n' => self.literal(b"ull")?,
                b'-' => {
                    let first = self.next()?;
                    self.skip_number(first)?;
                }
                first @ b'0'..=b'9' => self.skip_number(first)?,
                _ => return Err(NotJson),
            }
            // After a value: close what it ends, or go on to the next item or member.
            loop {
                let Some(&close) = self.open.get(base..).and_then(|o| o.last()) else {
                    return Ok(());
                };
                self.white_space();
                match self.next()? {
                    b',' => {
                        if close == b'}' {
                            self.member_key()?;
                        }
                        break;
                    }
                    c if c == close => {
                        self.open.pop();
                    }
                    _ => return Err(NotJson),
                }
            }
        }
    }

    /// A key inside a skipped object, and its `:`.
    fn member_key(&mut self) -> Result<(), NotJson> {
        self.white_space();
        if !self.eat(b'"') {
            return Err(NotJson);
        }
        self.skip_string()?;
        self.white_space();
        match self.eat(b':') {
            true => Ok(()),
            false => Err(NotJson),
        }
    }

    /// Past a string's closing quote, from just after its opening one; answers whether it
    /// held an escape. A control character must be escaped; `\u` takes four hex digits (what
    /// they encode is not checked here, as serde_json does not when it skips a value).
    #[inline(always)]
    fn skip_string(&mut self) -> Result<bool, NotJson> {
        // Most strings (keys, ids, types) are plain and end within `SHORT` bytes, 1,061 of a
        // ticket's 1,121: past those here, without a call, whose own cost was a quarter of
        // what reading one took.
        let rest = &self.bytes[self.pos..];
        if let Ok(end) = short_run(rest) {
            if rest[end] == b'"' {
                self.pos += end + 1;
                return Ok(false);
            }
        }
        self.skip_any_string()
    }

    /// `skip_string` for any string its inline path did not end: a long one, one with an
    /// escape or a control character, or one near the end of the text.
    #[inline(never)]
    fn skip_any_string(&mut self) -> Result<bool, NotJson> {
        let mut escaped = false;
        loop {
            self.pos += plain_run(&self.bytes[self.pos..]).ok_or(NotJson)?;
            match self.next()? {
                b'"' => return Ok(escaped),
                b'\\' => {
                    escaped = true;
                    match self.next()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let hex = self.bytes.get(self.pos..self.pos + 4).ok_or(NotJson)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(NotJson);
                            }
                            self.pos += 4;
                        }
                        _ => return Err(NotJson),
                    }
                }
                _ => return Err(NotJson),
            }
        }
    }

    /// The rest of a number whose first digit is `first`: no leading zero, a fraction and an
    /// exponent each with at least one digit.
    fn skip_number(&mut self, first: u8) -> Result<(), NotJson> {
        match first {
            b'0' if self.peek().is_some_and(|b| b.is_ascii_digit()) => return Err(NotJson),
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return Err(NotJson),
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(NotJson);
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            if self.digits() == 0 {
                return Err(NotJson);
            }
        }
        Ok(())
    }

    /// Past a run of digits; answers how many.
    fn digits(&mut self) -> usize {
        let n = self.bytes[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.pos += n;
        n
    }

    fn literal(&mut self, rest: &[u8]) -> Result<(), NotJson> {
        match self.bytes[self.pos..].starts_with(rest) {
            true => {
                self.pos += rest.len();
                Ok(())
            }
            false => Err(NotJson),
        }
    }

    pub(super) fn white_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(super) fn next(&mut self) -> Result<u8, NotJson> {
        let b = self.peek().ok_or(NotJson)?;
        self.pos += 1;
        Ok(b)
    }

    pub(super) fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }
}

/// How many bytes at the start of `rest` a string holds as they are (neither `"`, `\\` nor a
/// control character); `None` when the string does not end in `rest`. A ticket holds 1,100
/// strings, most of them a few bytes long (keys, ids), and messages that are most of its
/// 25 KB: the short ones are read eight bytes a step with plain integer arithmetic (memchr's
/// set-up would cost more than they do), the rest of a long one by memchr's vector search.
fn plain_run(rest: &[u8]) -> Option<usize> {
    let at = match short_run(rest) {
        Ok(end) => return Some(end),
        // Less than a word left: the string ends in it or not at all.
        Err(at) if at < SHORT => {
            return rest[at..].iter().position(|&b| special(b)).map(|i| at + i);
        }
        Err(at) => at,
    };
    // A long string (a message): memchr's vector search for its end, then one vector pass
    // (a minimum, which has no early exit to keep it from being one) for a control byte.
    let end = memchr::memchr2(b'"', b'\\', &rest[at..]).map(|i| at + i);
    let run = &rest[at..end.unwrap_or(rest.len())];
    match run.iter().fold(u8::MAX, |m, &b| m.min(b)) < 0x20 {
        true => run.iter().position(|&b| b < 0x20).map(|i| at + i),
        false => end,
    }
}

/// How far a string is read eight bytes a step before it counts as long: most keys and ids
/// end within it, and for them memchr's set-up costs more than the string.
const SHORT: usize = 32;

/// `plain_run`'s eight-byte steps over the first `SHORT` bytes: `Ok` with where the first byte
/// a string cannot hold as it is sits, when one of those whole words has one; else `Err` with
/// how many bytes they showed plain. Inlined into `skip_string`, so a short string costs no call.
#[inline(always)]
fn short_run(rest: &[u8]) -> Result<usize, usize> {
    let mut at = 0;
    while at < SHORT {
        let Some(word) = rest[at..].first_chunk::<8>() else {
            return Err(at);
        };
        let found = special_bytes(u64::from_le_bytes(*word));
        if found != 0 {
            return Ok(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    Err(at)
}

/// The high bit of each byte of `w` (little-endian) that is `"`, `\\` or below 0x20. Bytes
/// above the first such byte may be flagged wrongly (a borrow runs on), so only the lowest
/// flag counts.
fn special_bytes(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below `n` (n <= 0x80) is one whose subtraction borrows while its high bit is clear.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    below(w ^ (ONES * u64::from(b'"')), 1)
        | below(w ^ (ONES * u64::from(b'\\')), 1)
        | below(w, 0x20)
}

/// A byte a JSON string cannot hold as it is.
fn special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Eight bytes a step, then memchr, find what one byte a step finds, wherever it sits.
        #[test]
        fn plain_runs_end_where_a_byte_by_byte_scan_ends(
            bytes in proptest::collection::vec(prop_oneof![40 => 0x20u8..=0xff, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20], 0..80)
        ) {
            // Spelled out, not `special`: the reference must not share the code under test.
            let naive = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(plain_run(&bytes), naive);
        }
    }

    #[test]
    fn what_serde_json_refuses_is_refused() {
        for bad in [
            "01",
            "-",
            "1.",
            "1e",
            "1.e5",
            "+1",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "\"a\u{1}\"",
            // A control character read as a closing quote would make two strings of these.
            "[\"\u{1},\"x\"]",
            "[\"abcdefghijk\u{1f},\"x\"]",
            "\"\\x\"",
            "\"\\u12G4\"",
            "\"\\u12",
            "[1 2]",
            "{\"a\":1}}",
            "[",
        ] {
            let text = format!("{{\"raw\": {bad}}}");
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_err(),
                "{bad}"
            );
            assert!(read(text.as_bytes(), FLAT).is_err(), "{bad}");
        }
        let deep = format!(
            "{{\"raw\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(
            read(deep.as_bytes(), FLAT).is_ok(),
            "a raw value nests as deep as it goes"
        );
    }
}
