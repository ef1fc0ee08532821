//! Micro-benchmarks of what the profile of one call shows: `cargo bench --bench micro`.
//! Figures go to bench/RESULTS.md. The answers are the ones the side-by-side benchmark's mock
//! LiveChat serves (bench/mock/), so a figure here explains one there.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use livechat_gateway::clock::{ManualClock, SharedClock};
use livechat_gateway::credentials::{ConnectionId, Credentials, Keys};
use livechat_gateway::relay::event;
use livechat_gateway::relay::trigger::Trigger;
use livechat_gateway::store::{NewDelivery, Store, Subscription};
use livechat_gateway::throttle::{Limits, LocalThrottle};
use livechat_gateway::upstream::v2::{normalize, normalize_raw};
use secrecy::SecretString;

const TICKET: &[u8] = include_bytes!("../bench/mock/ticket.json");
const AGENTS: &[u8] = include_bytes!("../bench/mock/agents.json");
const CHAT_STARTED: &str = r#"{"event_type":"chat_started","token":"27fe8e6b2a1b6e1f","license_id":"100",
 "chat":{"id":"MH022RD0K5","started_timestamp":1358937653,"tags":["sales"],"groups":[0],
  "messages":[{"user_type":"visitor","author_name":"Mary Brown","text":"Hi, I have a question about my order.","timestamp":1358937653},
   {"user_type":"agent","author_name":"Jane Doe","agent_id":"jane.doe@example.com","text":"Hello, how can I help you?","timestamp":1358937661}]},
 "visitor":{"id":"S1358937600.8c4d","name":"Mary Brown","email":"mary.brown@email.com","custom_variables":[{"key":"Customer ID","value":"CUST1"}]},
 "pre_chat_survey":[{"id":"135963440121805","type":"name","label":"Your name","answer":"Mary Brown"}]}"#;
const AUTH: &str =
    "Basic YWdlbnQwMDAwMEBleGFtcGxlLmNvbTpiZW5jaC1hcGkta2V5LTAwMDAwLTAxMjM0NTY3ODlhYmNkZWY=";

fn throttle(c: &mut Criterion) {
    // The in-process backend's decision (the Redis one is a network round trip).
    let mut g = c.benchmark_group("throttle decision");
    // One live connection, admitted at a steady 100 calls per window.
    let clock = ManualClock::new(0);
    let t = LocalThrottle::new(Limits::new(100, 60), clock.clone() as SharedClock);
    let id = ConnectionId::from_stored("one-connection-0123456789ab".into());
    g.bench_function("1 live connection", |b| {
        b.iter(|| {
            clock.advance_ms(600);
            black_box(t.check(black_box(&id)))
        })
    });
    // 100,000 live connections, each called about once every 50 s of clock time.
    let clock = ManualClock::new(0);
    let t = LocalThrottle::new(Limits::new(100, 60), clock.clone() as SharedClock);
    let ids: Vec<ConnectionId> = (0..100_000)
        .map(|i| ConnectionId::from_stored(format!("conn-{i:06}-0123456789abcdef")))
        .collect();
    for id in &ids {
        t.check(id);
    }
    let mut i = 0usize;
    g.bench_function("100,000 live connections", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            if i.is_multiple_of(2) {
                clock.advance_ms(1);
            }
            black_box(t.check(black_box(&ids[i])))
        })
    });
    g.finish();
}

fn connection_id(c: &mut Criterion) {
    let keys = Keys::derive(&SecretString::from(
        "bench-secret-0123456789abcdef0123".to_string(),
    ));
    c.bench_function("connection id from the Authorization header", |b| {
        b.iter(|| {
            let creds = Credentials::from_authorization(Some(black_box(AUTH))).unwrap();
            black_box(keys.connection_id(&creds))
        })
    });
}

fn normalise(c: &mut Criterion) {
    let mut g = c.benchmark_group("normalise, bytes to bytes");
    g.bench_function("25 KB ticket (60 events), raw rewrite (GetTicket)", |b| {
        b.iter(|| black_box(normalize_raw::ticket_answer(black_box(TICKET), "6W6TC").unwrap()))
    });
    g.bench_function("25 KB ticket (60 events), through a Value tree", |b| {
        b.iter(|| {
            let v = serde_json::from_slice(black_box(TICKET)).unwrap();
            black_box(serde_json::to_vec(&normalize::ticket(v)).unwrap())
        })
    });
    g.bench_function("1.6 KB agents list, raw rewrite (ListAgents)", |b| {
        b.iter(|| black_box(normalize_raw::agents_answer(black_box(AGENTS)).unwrap()))
    });
    g.bench_function("1.6 KB agents list, through a Value tree", |b| {
        b.iter(|| {
            let v: Vec<serde_json::Value> = serde_json::from_slice(black_box(AGENTS)).unwrap();
            let out: Vec<_> = v.into_iter().map(normalize::agent).collect();
            black_box(serde_json::to_vec(&out).unwrap())
        })
    });
    g.bench_function("chat_started webhook", |b| {
        b.iter(|| {
            let v = serde_json::from_str(black_box(CHAT_STARTED)).unwrap();
            let note = event::notification(Trigger::ChatStarted, v).unwrap();
            black_box(note.body.to_string())
        })
    });
    g.finish();
}

fn intake_commit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("lcgw-micro-{}", std::process::id()));
    let url = format!("sqlite://{}/gateway.db", dir.display());
    let store = rt.block_on(Store::connect(&url)).unwrap();
    rt.block_on(store.insert_subscription(&Subscription {
        id: "sub-bench".into(),
        connection_id: "conn".into(),
        event_type: "chat_started".into(),
        data_types: vec!["chat".into(), "visitor".into()],
        sealed_callback: "v1.x".into(),
        token_sha256: "00".into(),
        livechat_webhook_id: Some("wh".into()),
        sealed_credentials: "v1.x".into(),
        created_ms: 0,
        closed_ms: None,
        account_key: None,
    }))
    .unwrap();
    let payload = event::notification(
        Trigger::ChatStarted,
        serde_json::from_str(CHAT_STARTED).unwrap(),
    )
    .unwrap()
    .body
    .to_string();
    let mut n = 0u64;
    let mut g = c.benchmark_group("intake");
    g.sample_size(20);
    g.bench_function("one commit (SQLite, synchronous=FULL)", |b| {
        b.iter_batched(
            || {
                n += 1;
                NewDelivery {
                    subscription_id: "sub-bench".into(),
                    event_type: "chat_started".into(),
                    event_unique_id: format!("chat_started:{n}"),
                    payload: payload.clone(),
                    next_attempt_ms: i64::MAX / 2,
                }
            },
            |d| rt.block_on(store.insert_delivery(&d, 0)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
    rt.block_on(store.close());
    std::fs::remove_dir_all(dir).ok();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = micro;
    config = config();
    targets = throttle, connection_id, normalise, intake_commit
}
criterion_main!(micro);
