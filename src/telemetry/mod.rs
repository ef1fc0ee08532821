//! Logging. env_logger underneath; `GATEWAY_LOG_FORMAT=json` turns every record into one JSON
//! object a line. Calls (`access`) and delivery attempts (`delivery`) are structured events
//! with named fields, the same in both formats. Only fields the gateway chose are written:
//! never a header value besides the platform's ids, never a body, never a callback URL, so an
//! API key cannot reach the log.

pub mod access;

use std::io::Write;
use std::sync::OnceLock;

use serde_json::{Map, Value};

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

fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Installs the logger once per process (later calls do nothing).
pub fn init(format: LogFormat) {
    let env = env_logger::Env::default().default_filter_or("info");
    let mut builder = env_logger::Builder::from_env(env);
    // The HTTP client's trace level prints whole request heads; keep it at debug whatever
    // RUST_LOG asks, so `RUST_LOG=trace` cannot put a caller's credentials in the log.
    for noisy in ["awc", "actix_http", "h2"] {
        builder.filter_module(noisy, log::LevelFilter::Debug);
    }
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let ts = buf.timestamp_millis().to_string();
            writeln!(buf, "{}", json_line(&ts, record))
        });
    } else {
        builder.format_timestamp_millis();
    }
    if builder.try_init().is_ok() {
        let _ = FORMAT.set(format);
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

impl Field<'_> {
    fn to_value(self) -> Value {
        match self {
            Field::Str(s) => Value::from(s),
            Field::Int(n) => Value::from(n),
            Field::Null => Value::Null,
        }
    }
}

/// One structured event: `message` and its fields, rendered for the configured format.
/// Null fields are left out.
pub fn event(target: &'static str, level: log::Level, message: &str, fields: &[(&str, Field)]) {
    if !log::log_enabled!(target: target, level) {
        return;
    }
    match format() {
        LogFormat::Text => log::log!(target: target, level, "{}", text_event(message, fields)),
        LogFormat::Json => log::log!(target: target, level, "{}", json_event(message, fields)),
    }
}

/// `message k=v k="v w"`.
pub fn text_event(message: &str, fields: &[(&str, Field)]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(message.len() + 32 * fields.len());
    out.push_str(message);
    for (k, v) in fields {
        if *v == Field::Null {
            continue;
        }
        out.push(' ');
        out.push_str(k);
        out.push('=');
        match *v {
            Field::Str(s) if !s.is_empty() && !s.contains([' ', '"', '=']) => out.push_str(s),
            Field::Int(n) => {
                let _ = write!(out, "{n}");
            }
            other => {
                let _ = write!(out, "{}", other.to_value());
            }
        }
    }
    out
}

/// `{"message": ..., fields...}`; the JSON formatter adds `ts`, `level` and `target`.
pub fn json_event(message: &str, fields: &[(&str, Field)]) -> String {
    let mut map = Map::new();
    map.insert("message".into(), Value::String(message.into()));
    for (k, v) in fields {
        if *v != Field::Null {
            map.insert((*k).into(), v.to_value());
        }
    }
    Value::Object(map).to_string()
}

/// A record as one JSON object. A structured event's message already is an object (from
/// [`json_event`]); any other record's text becomes `message`.
fn json_line(ts: &str, record: &log::Record) -> String {
    let text = record.args().to_string();
    let mut map = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) if record.target() == ACCESS || record.target() == DELIVERY => m,
        _ => {
            let mut m = Map::new();
            m.insert("message".into(), Value::String(text));
            m
        }
    };
    map.insert("ts".into(), Value::String(ts.into()));
    map.insert("level".into(), Value::String(record.level().to_string()));
    map.insert("target".into(), Value::String(record.target().into()));
    Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_quotes_what_would_split_and_skips_nulls() {
        let line = text_event(
            "GET /agents",
            &[
                ("status", Field::from(200u16)),
                ("error", Field::from("no answer in time")),
                ("run", Field::Null),
                ("quote", Field::from("a\"b")),
            ],
        );
        assert_eq!(
            line,
            r#"GET /agents status=200 error="no answer in time" quote="a\"b""#
        );
    }

    #[test]
    fn json_lines_carry_the_event_fields_at_top_level() {
        let msg = json_event(
            "call",
            &[("status", Field::from(429u16)), ("x", Field::Null)],
        );
        let args = format_args!("{msg}");
        let record = log::Record::builder()
            .args(args)
            .target(ACCESS)
            .level(log::Level::Info)
            .build();
        let v: Value = serde_json::from_str(&json_line("t", &record)).unwrap();
        assert_eq!(v["status"], 429);
        assert_eq!(v["message"], "call");
        assert_eq!(v["target"], "access");
        assert!(v.get("x").is_none());
        let plain = log::Record::builder()
            .args(format_args!("{{\"status\":1}}"))
            .target("other")
            .level(log::Level::Warn)
            .build();
        let v: Value = serde_json::from_str(&json_line("t", &plain)).unwrap();
        assert_eq!(v["message"], "{\"status\":1}");
        assert_eq!(v["level"], "WARN");
    }
}
