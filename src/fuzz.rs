//! Property-based fuzzing of every parser that reads what someone else wrote: the caller's
//! Basic credentials, LiveChat's answers (v2 and v3) and webhook deliveries, and the
//! settings an operator types. No input may panic; what parses must mean what it says. Cases
//! are bounded (`CASES` each) so `cargo test` stays quick; a failure proptest finds is saved
//! under `proptest-regressions/` and replayed first from then on.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use proptest::prelude::*;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::credentials::Credentials;
use crate::relay::{event, retry, trigger::Trigger};
use crate::settings::{parse_duration, parse_schedule};
use crate::upstream::v2::{normalize, normalize_raw};
use crate::upstream::v3::{agents, deliveries, events, tickets};

const CASES: u32 = 256;

/// Keys the normalisers look for, so generated objects reach past their first check.
const KEYS: &[&str] = &[
    "id",
    "login",
    "name",
    "email",
    "groups",
    "tags",
    "requester",
    "events",
    "date",
    "status",
    "chat",
    "chats",
    "visitor",
    "messages",
    "thread",
    "threads",
    "users",
    "properties",
    "agents",
    "payload",
    "action",
    "secret_key",
    "webhook_id",
    "organization_id",
    "chat_id",
    "thread_id",
    "tickets",
    "pages",
    "total",
    "created",
    "modified",
    "subject",
    "source",
    "type",
    "mail",
    "permission",
    "avatar",
    "avatar_path",
    "max_chats_count",
    "timestamp",
    "started_timestamp",
    "ended_timestamp",
    "event_type",
    "token",
    "license_id",
    "ticket",
    "author",
    "message",
    "text",
    "ID",
    "shortID",
    "teams",
    "assignment",
    "team",
    "agent",
    "createdAt",
    "updatedAt",
    "requester",
    "event",
    "events_created",
    "pre_chat_survey",
    "answer",
    "label",
    "user_type",
    "author_id",
    "created_at",
    "routing_status",
    "awaiting_approval",
    "job_title",
    "login_status",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0u64..2_000_000_000_000).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        "[A-Z0-9]{5}".prop_map(Value::String),
        "2024-0[1-9]-[12][0-9]T1[0-9]:00:00(\\.000)?Z".prop_map(Value::String),
        "[a-z]{1,6}@[a-z]{1,6}\\.com".prop_map(Value::String),
    ]
}

/// Any JSON, with objects keyed mostly by names LiveChat uses.
fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            4 => proptest::sample::select(KEYS).prop_map(String::from),
            1 => ".{0,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// What `normalize_raw::agents_answer` means, on a `Value`.
fn reference_agents(v: &Value) -> Option<Value> {
    let list = match v {
        Value::Array(items) => items,
        Value::Object(o) => o.get("agents")?.as_array()?,
        _ => return None,
    };
    Some(list.iter().cloned().map(normalize::agent).collect())
}

/// What `normalize_raw::ticket_answer` means, on a `Value`.
fn reference_ticket(v: &Value, id: &str) -> Option<Value> {
    let o = v.as_object()?;
    if o.contains_key("id") {
        return Some(normalize::ticket(v.clone()));
    }
    let found = o
        .get("tickets")?
        .as_array()?
        .iter()
        .find(|t| t.get("id").and_then(Value::as_str) == Some(id))?;
    Some(normalize::ticket(found.clone()))
}

/// Objects of fewer than `most` members with keys and values drawn from these.
fn object_of(
    key: impl Strategy<Value = &'static str>,
    value: impl Strategy<Value = Value>,
    most: usize,
) -> impl Strategy<Value = Value> {
    proptest::collection::vec((key, value), 0..most)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

/// A ticket as LiveChat sends it, more or less: its events and opened spans lists of objects
/// with dates of every kind among their fields, next to any other JSON.
fn ticket_json() -> impl Strategy<Value = Value> {
    let key =
        proptest::sample::select(&["date", "from", "to", "message", "author", "type", "x"][..]);
    let item = object_of(key, prop_oneof![3 => leaf(), 1 => json()], 6);
    let items = proptest::collection::vec(prop_oneof![40 => item, 1 => leaf()], 0..6);
    let top = proptest::sample::select(
        &[
            "id",
            "date",
            "modified",
            "groups",
            "currentGroup",
            "status",
            "subject",
            "requester",
        ][..],
    );
    (
        proptest::collection::vec((top, json()), 0..6),
        prop_oneof![4 => items.clone().prop_map(Value::Array), 1 => json()],
        prop_oneof![2 => items.prop_map(Value::Array), 1 => json()],
        (
            prop::bool::weighted(0.9),
            prop::bool::weighted(0.8),
            any::<bool>(),
        ),
    )
        .prop_map(|(fields, events, opened, (id, has_events, has_opened))| {
            let mut t: Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            if id {
                t.insert("id".into(), Value::from("5FUED"));
            }
            if has_events {
                t.insert("events".into(), events);
            }
            if has_opened {
                t.insert("opened".into(), opened);
            }
            Value::Object(t)
        })
}

/// A list of agents as LiveChat sends it, more or less, now and then in its envelope.
fn agents_json() -> impl Strategy<Value = Value> {
    let key = proptest::sample::select(
        &[
            "groups",
            "max_chats_count",
            "last_logout",
            "login",
            "name",
            "status",
        ][..],
    );
    let number_text = "[ 0-9a-z]{0,4}".prop_map(Value::String);
    let value = prop_oneof![3 => leaf(), 1 => json(), 1 => number_text];
    let agent = object_of(key, value, 7);
    let list = proptest::collection::vec(prop_oneof![30 => agent, 1 => leaf()], 0..6)
        .prop_map(Value::Array);
    (list, prop::bool::weighted(0.1)).prop_map(|(list, wrapped)| match wrapped {
        true => serde_json::json!({ "agents": list }),
        false => list,
    })
}

/// JSON text, or the same text cut short or with a byte flipped.
fn json_bytes() -> impl Strategy<Value = Vec<u8>> {
    text_of(
        prop_oneof![4 => json(), 1 => ticket_json(), 1 => agents_json()],
        0u8..3,
    )
}

/// Each value's text (now and then spaced out), as it is (`how` 0), cut short (1) or with a
/// byte put in (2).
fn text_of(
    values: impl Strategy<Value = Value>,
    how: impl Strategy<Value = u8>,
) -> impl Strategy<Value = Vec<u8>> {
    (values, any::<u16>(), any::<u8>(), how).prop_map(|(v, at, byte, how)| {
        let mut b = match at % 4 {
            0 => serde_json::to_vec_pretty(&v).unwrap_or_default(),
            _ => v.to_string().into_bytes(),
        };
        let i = usize::from(at) % (b.len() + 1);
        match how {
            0 => {}
            1 => b.truncate(i),
            _ => b.insert(i, byte),
        }
        b
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn basic_credentials_parse_or_are_refused(header in ".{0,80}") {
        let _ = Credentials::from_authorization(Some(&header));
    }

    #[test]
    fn basic_credentials_round_trip(login in "[^:]{1,40}", key in ".{1,40}", raw in any::<Vec<u8>>()) {
        let login = login.trim();
        prop_assume!(!login.is_empty());
        let header = format!("Basic {}", STANDARD.encode(format!("{login}:{key}")));
        let creds = Credentials::from_authorization(Some(&header)).expect("a well-formed pair");
        prop_assert_eq!(&creds.login, login);
        prop_assert_eq!(creds.api_key.expose_secret(), key.as_str());
        prop_assert_eq!(creds.basic_header(), header);
        // Whatever bytes are encoded, a refusal never quotes them.
        let odd = format!("Basic {}", STANDARD.encode(&raw));
        if let Err(e) = Credentials::from_authorization(Some(&odd)) {
            prop_assert!(raw.len() < 4 || !e.to_string().contains(&*String::from_utf8_lossy(&raw)));
        }
    }

    #[test]
    fn v2_raw_answers_are_rewritten_into_json_or_refused(bytes in json_bytes(), id in "[A-Z0-9]{5}") {
        for out in [normalize_raw::agents_answer(&bytes), normalize_raw::ticket_answer(&bytes, &id)]
            .into_iter()
            .flatten()
            .flatten()
        {
            // JSON by RFC 8259's grammar, which sets no range on numbers: a number LiveChat writes
            // beyond f64 (`1E27050301`) is passed through as written, which a `Value` cannot hold.
            let json = serde_json::from_slice::<Box<serde_json::value::RawValue>>(&out);
            prop_assert!(json.is_ok(), "{}", String::from_utf8_lossy(&out));
        }
    }

    /// The hand-written reader under the raw rewrites refuses what is not JSON and, for what a
    /// `Value` can hold, answers what the `Value` reference answers.
    #[test]
    fn v2_raw_rewrites_agree_with_the_value_reference(bytes in json_bytes(), id in "[A-Z0-9]{5}") {
        let agents = normalize_raw::agents_answer(&bytes);
        let ticket = normalize_raw::ticket_answer(&bytes, &id);
        if serde_json::from_slice::<Box<serde_json::value::RawValue>>(&bytes).is_err() {
            prop_assert!(agents.is_err() && ticket.is_err(), "{}", String::from_utf8_lossy(&bytes));
        }
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            let out = |r: Result<Option<Vec<u8>>, _>| {
                r.expect("what a Value holds is read").map(|b| serde_json::from_slice::<Value>(&b).expect("JSON out"))
            };
            prop_assert_eq!(out(agents), reference_agents(&v));
            prop_assert_eq!(out(ticket), reference_ticket(&v, &id));
        }
    }

    /// The one-walk agents rewrite writes, byte for byte, what the tree writes.
    #[test]
    fn v2_streamed_agents_are_the_trees_bytes(bytes in text_of(agents_json(), prop_oneof![6 => Just(0u8), 1 => 1u8..3])) {
        let streamed = normalize_raw::agents_answer(&bytes);
        let tree = normalize_raw::agents_answer_tree(&bytes);
        match (streamed, tree) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", String::from_utf8_lossy(&bytes)),
            (a, b) => prop_assert!(a.is_err() && b.is_err(), "{}", String::from_utf8_lossy(&bytes)),
        }
    }

    /// The one-walk ticket rewrite writes, byte for byte, what the tree writes.
    #[test]
    fn v2_streamed_tickets_are_the_trees_bytes(bytes in text_of(ticket_json(), prop_oneof![6 => Just(0u8), 1 => 1u8..3])) {
        let streamed = normalize_raw::ticket_answer(&bytes, "5FUED");
        let tree = normalize_raw::ticket_answer_tree(&bytes, "5FUED");
        match (streamed, tree) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", String::from_utf8_lossy(&bytes)),
            (a, b) => prop_assert!(a.is_err() && b.is_err(), "{}", String::from_utf8_lossy(&bytes)),
        }
    }

    #[test]
    fn v2_values_normalise_without_panicking(v in json()) {
        let _ = normalize::group(v.clone());
        let _ = normalize::ticket(v.clone());
        let _ = normalize::agent(v.clone());
        let _ = normalize::chat(v);
    }

    #[test]
    fn v3_answers_normalise_without_panicking(v in json(), list in proptest::collection::vec(json(), 0..4)) {
        let statuses: HashMap<String, String> = agents::statuses(&v);
        let _ = agents::agent(&v, &list, &statuses);
        let _ = agents::list_item(&v, &statuses);
        let names = tickets::Names { agents: &list, tags: &list, teams: &list };
        let _ = tickets::ticket(&v, &names);
        let _ = events::chat_parts(&v, Some(1_700_000_000_000));
    }

    #[test]
    fn v3_deliveries_parse_or_are_refused(v in json(), types in proptest::collection::vec("[a-z_]{1,12}", 0..4)) {
        let _ = deliveries::envelope(v.clone());
        let _ = deliveries::chat_started(&v);
        for trigger in Trigger::ALL {
            if let Ok(ids) = deliveries::chat_ids(trigger, &v) {
                let _ = deliveries::chat_ended(&ids, Some(&v), 1_700_000_000_000);
            }
        }
        let named = v.get("organization_id").and_then(Value::as_str);
        let _ = deliveries::owner(named, named);
        let _ = deliveries::for_data_types(&v, &types);
    }

    #[test]
    fn v2_intake_bodies_become_notifications_or_400(v in json()) {
        for trigger in Trigger::ALL {
            match event::notification(trigger, v.clone()) {
                Ok(note) => prop_assert!(!note.event_unique_id.is_empty()),
                Err(e) => prop_assert_eq!(actix_web::ResponseError::status_code(&e).as_u16(), 400),
            }
        }
    }

    #[test]
    fn durations_parse_or_are_refused(s in "[0-9]{0,22}(ms|s|m|h|x|)") {
        let _ = parse_duration(&s);
    }

    #[test]
    fn schedules_round_trip(steps in proptest::collection::vec(0u64..100_000_000, 1..12), spaces in any::<bool>()) {
        let sep = if spaces { " , " } else { "," };
        let text = steps.iter().map(|ms| format!("{ms}ms")).collect::<Vec<_>>().join(sep);
        let parsed = parse_schedule(&text).expect("a valid schedule");
        let ms: Vec<u64> = parsed.0.iter().map(|d| d.as_millis() as u64).collect();
        prop_assert_eq!(ms, steps);
    }

    #[test]
    fn any_schedule_text_parses_or_is_refused(s in "[0-9a-z, ]{0,40}") {
        let _ = parse_schedule(&s);
    }

    #[test]
    fn retry_times_never_go_backwards(
        steps in proptest::collection::vec(0u64..u64::MAX / 2, 1..6),
        attempts in 0u32..8,
        now in 0i64..4_000_000_000_000,
        retry_after in proptest::option::of(any::<i64>()),
        factor in -10.0f64..10.0,
        header in ".{0,40}",
    ) {
        let text = steps.iter().map(|ms| format!("{ms}ms")).collect::<Vec<_>>().join(",");
        if let Ok(schedule) = parse_schedule(&text) {
            if let Some(at) = retry::next_attempt_at(&schedule, attempts, now, retry_after, factor) {
                prop_assert!(at >= now);
            }
        }
        if let Some(wait) = retry::parse_retry_after(&header, now) {
            prop_assert!(wait >= 0);
        }
    }
}
