//! Logging. env_logger underneath; `GATEWAY_LOG_FORMAT=json` turns every record into one JSON
//! object a line. Calls (`access`) and delivery attempts (`delivery`) are structured events
//! with named fields, the same in both formats. Only fields the gateway chose are written:
//! never a header value besides the platform's ids, never a body, never a callback URL, so an
//! API key cannot reach the log.

pub mod access;
pub mod sink;

use std::io::Write;
use std::sync::{Arc, OnceLock};

use crate::dates;

pub use access::{access_log, operation_of, upstream_observed, ConnectionTag};

/// `GATEWAY_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `[time LEVEL target] message key=value ...`
    #[default]
    Text,
    /// One JSON object a line: `ts`, `level`, `target`, `message` and the event's fields.
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();
static SINK: OnceLock<Arc<sink::Sink>> = OnceLock::new();

fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Installs the logger once per process (later calls do nothing). Lines reach standard error
/// in batches at most `flush_ms` apart (see [`sink`]).
pub fn init(format: LogFormat, flush_ms: u64) {
    let env = env_logger::Env::default().default_filter_or("info");
    let mut builder = env_logger::Builder::from_env(env);
    // The HTTP client's trace level prints whole request heads; keep it at debug whatever
    // RUST_LOG asks, so `RUST_LOG=trace` cannot put a caller's credentials in the log.
    for noisy in ["awc", "actix_http", "h2"] {
        builder.filter_module(noisy, log::LevelFilter::Debug);
    }
    // Every other record in the layout of the call and delivery lines, by the same writer.
    builder.format(move |buf, record| {
        let mut line = Vec::new();
        record_line(&mut line, format, now_ms(), record);
        buf.write_all(&line)
    });
    let sink = sink::Sink::start(Box::new(std::io::stderr()), flush_ms);
    builder.target(env_logger::Target::Pipe(sink.writer()));
    let inner = builder.build();
    let max = inner.filter();
    let batched = sink::Batched {
        inner,
        sink: Arc::clone(&sink),
    };
    if log::set_boxed_logger(Box::new(batched)).is_err() {
        return;
    }
    log::set_max_level(max);
    let _ = FORMAT.set(format);
    // A panic's message is written straight to standard error: the lines before it go first.
    let report = std::panic::take_hook();
    let on_panic = Arc::clone(&sink);
    std::panic::set_hook(Box::new(move |info| {
        on_panic.flush();
        report(info);
    }));
    let _ = SINK.set(sink);
}

/// Writes every log line still waiting (before the process exits).
pub fn flush() {
    if let Some(sink) = SINK.get() {
        sink.flush();
    }
}

/// Where the structured events go (filter them with `RUST_LOG=access=warn` and the like).
pub const ACCESS: &str = "access";
pub const DELIVERY: &str = "delivery";

/// A field of a structured event, borrowed from the caller: an access line is written on every
/// call, and owned JSON values cost an allocation a field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field<'a> {
    Str(&'a str),
    Int(i64),
    Null,
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(s: &'a str) -> Self {
        Field::Str(s)
    }
}

impl<'a, T: Into<Field<'a>>> From<Option<T>> for Field<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Field::Null, Into::into)
    }
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl From<$t> for Field<'_> {
            fn from(n: $t) -> Self {
                Field::Int(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_field!(u16, u32, u64, i64);

/// One structured event: `message` and its fields, rendered for the configured format.
/// Null fields are left out. A line is written every call, so it is rendered straight into a
/// buffer of the thread's and handed to the sink, without env_logger's formatter, in the
/// layout env_logger gives every other line.
pub fn event(target: &'static str, level: log::Level, message: &str, fields: &[(&str, Field)]) {
    if !log::log_enabled!(target: target, level) {
        return;
    }
    let Some(sink) = SINK.get() else {
        // Another logger than ours (the API tests' capture): through `log`, as text.
        log::log!(target: target, level, "{}", text_event(message, fields));
        return;
    };
    LINE.with_borrow_mut(|line| {
        line.clear();
        let head = Header {
            now_ms: now_ms(),
            level,
            target,
        };
        write_line(line, format(), &head, message, fields);
        sink.write_line(line, level <= log::Level::Warn);
    });
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One line in `format`: the one writer of every line, events and other records alike.
fn write_line(
    out: &mut Vec<u8>,
    format: LogFormat,
    head: &Header,
    message: &str,
    fields: &[(&str, Field)],
) {
    match format {
        LogFormat::Text => text_line(out, head, message, fields),
        LogFormat::Json => json_line(out, head, message, fields),
    }
}

/// A record that is not a structured event: its text is the message, with no fields.
fn record_line(out: &mut Vec<u8>, format: LogFormat, now_ms: i64, record: &log::Record) {
    let head = Header {
        now_ms,
        level: record.level(),
        target: record.target(),
    };
    write_line(out, format, &head, &record.args().to_string(), &[]);
}

thread_local! {
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What a line starts with.
struct Header<'a> {
    now_ms: i64,
    level: log::Level,
    target: &'a str,
}

/// `[ts LEVEL target] message k=v ...`: env_logger's text layout, millisecond timestamps.
fn text_line(out: &mut Vec<u8>, h: &Header, message: &str, fields: &[(&str, Field)]) {
    out.push(b'[');
    dates::push_ms(out, h.now_ms);
    // `{:<5}` by hand: the formatter's padding machinery cost more than the rest of the head.
    let level = h.level.as_str();
    out.push(b' ');
    out.extend_from_slice(level.as_bytes());
    out.extend_from_slice(&b"      "[level.len().min(5)..]);
    out.extend_from_slice(h.target.as_bytes());
    out.extend_from_slice(b"] ");
    push_text_event(out, message, fields);
    out.push(b'\n');
}

/// `{"ts":..,"level":..,"target":..,"message":..,fields...}`.
fn json_line(out: &mut Vec<u8>, h: &Header, message: &str, fields: &[(&str, Field)]) {
    out.extend_from_slice(b"{\"ts\":\"");
    dates::push_ms(out, h.now_ms);
    let _ = write!(out, "\",\"level\":\"{}\",\"target\":", h.level);
    push_json_str(out, h.target);
    out.extend_from_slice(b",\"message\":");
    push_json_str(out, message);
    for (k, v) in fields {
        let value = match *v {
            Field::Null => continue,
            Field::Str(s) => Ok(s),
            Field::Int(n) => Err(n),
        };
        out.push(b',');
        push_json_str(out, k);
        out.push(b':');
        match value {
            Ok(s) => push_json_str(out, s),
            Err(n) => push_int(out, n),
        }
    }
    out.extend_from_slice(b"}\n");
}

/// Two per access line: itoa, not the formatter.
fn push_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

/// `message k=v k="v w"`.
pub fn text_event(message: &str, fields: &[(&str, Field)]) -> String {
    let mut out = Vec::with_capacity(message.len() + 32 * fields.len());
    push_text_event(&mut out, message, fields);
    String::from_utf8(out).unwrap_or_default()
}

fn push_text_event(out: &mut Vec<u8>, message: &str, fields: &[(&str, Field)]) {
    out.extend_from_slice(message.as_bytes());
    for (k, v) in fields {
        if *v == Field::Null {
            continue;
        }
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        match *v {
            Field::Str(s) if !s.is_empty() && !s.contains([' ', '"', '=']) => {
                out.extend_from_slice(s.as_bytes());
            }
            Field::Int(n) => push_int(out, n),
            Field::Str(s) => push_json_str(out, s),
            Field::Null => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIELDS: &[(&str, Field)] = &[
        ("status", Field::Int(200)),
        ("error", Field::Str("no answer in time")),
        ("run", Field::Null),
        ("quote", Field::Str("a\"b")),
    ];

    #[test]
    fn text_quotes_what_would_split_and_skips_nulls() {
        assert_eq!(
            text_event("GET /agents", FIELDS),
            r#"GET /agents status=200 error="no answer in time" quote="a\"b""#
        );
    }

    fn header(level: log::Level) -> Header<'static> {
        Header {
            now_ms: 1_764_754_736_123,
            level,
            target: ACCESS,
        }
    }

    /// The same line env_logger writes for the record, so every line keeps one layout.
    #[test]
    fn text_lines_have_env_loggers_layout() {
        let message = text_event("GET /agents", FIELDS);
        for level in log::Level::iter() {
            let mut ours = Vec::new();
            text_line(&mut ours, &header(level), "GET /agents", FIELDS);
            let theirs = sink::tests::Shared::default();
            let logger = env_logger::Builder::new()
                .filter_level(log::LevelFilter::Trace)
                .format_timestamp_millis()
                .target(env_logger::Target::Pipe(Box::new(theirs.clone())))
                .build();
            log::Log::log(
                &logger,
                &log::Record::builder()
                    .args(format_args!("{message}"))
                    .level(level)
                    .target(ACCESS)
                    .build(),
            );
            let (ours, theirs) = (String::from_utf8(ours).unwrap(), theirs.text());
            assert_eq!(ours[..25], *"[2025-12-03T09:38:56.123Z");
            assert_eq!(ours[25..], theirs[25..], "{ours}{theirs}");
        }
    }

    #[test]
    fn json_lines_carry_the_event_fields_at_top_level() {
        let mut line = Vec::new();
        json_line(&mut line, &header(log::Level::Warn), "GET /x 502", FIELDS);
        assert_eq!(line.last(), Some(&b'\n'));
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["ts"], "2025-12-03T09:38:56.123Z");
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["target"], "access");
        assert_eq!(v["message"], "GET /x 502");
        assert_eq!(v["status"], 200);
        assert_eq!(v["quote"], "a\"b");
        assert!(v.get("run").is_none());
        let plain = log::Record::builder()
            .args(format_args!("{{\"status\":1}}"))
            .target("other")
            .level(log::Level::Warn)
            .build();
        let mut line = Vec::new();
        record_line(&mut line, LogFormat::Json, 0, &plain);
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["message"], "{\"status\":1}");
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["target"], "other");
    }
}
