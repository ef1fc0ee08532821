//! The relay under load, as `bench/run` measures it: `cargo bench --bench relay_load`
//! (`RELAY_QUICK=1` for a short run). The release gateway runs as its own process on a real
//! SQLite file (`synchronous=FULL`); this process plays LiveChat (the project's fake for the
//! webhook registrations, then plain keep-alive senders posting to the registered intake URLs)
//! and the flows (one local callback per flow).
//!
//! 1. Intake: 1 sender (1 flow), then 8 senders (8 flows) post as fast as each gets its 200;
//!    meanwhile the callbacks hold the first delivery of each flow, so what is measured is the
//!    intake alone. 2. Delivery: the callbacks let go and the backlog drains; deliveries/s is
//!    that drain. 3. Latency: 8 senders paced at half of the slower of the two maxima; the time
//!    from each 200 to the flow's callback receiving that event, p50/p99.
//!
//! Prints `RELAY|measure|figure` lines for bench/report.py and a readable summary.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use livechat_gateway::fake_livechat::FakeLiveChat;
use serde_json::{json, Value};
use tokio::sync::watch;

const FLOWS: usize = 8;

/// What the flows saw: per flow, (event number, arrival) in arrival order.
#[derive(Default)]
struct Seen {
    arrivals: Vec<Vec<(u64, Instant)>>,
}

struct Flows {
    seen: Mutex<Seen>,
    open: watch::Sender<bool>,
}

fn login(flow: usize) -> String {
    format!("flow{flow}@example.com")
}
const KEY: &str = "relay-bench-key-0123456789";

/// LiveChat v2's `chat_started` body; the chat id carries (phase, flow, number).
fn event(phase: u8, flow: usize, n: u64) -> String {
    let t = 1_700_000_000 + n as i64;
    json!({
        "event_type": "chat_started", "token": "t", "license_id": "100",
        "chat": {
            "id": format!("P{phase}F{flow}N{n}"), "started_timestamp": t, "tags": ["sales"],
            "messages": [
                {"user_type": "visitor", "author_name": "Mary Brown", "text": "Hi, I have a question about my order.", "timestamp": t},
                {"user_type": "agent", "author_name": "Jane Doe", "agent_id": "jane.doe@example.com", "text": "Hello, how can I help you?", "timestamp": t + 8},
            ],
        },
        "visitor": {"id": format!("S{n}"), "name": "Mary Brown", "email": "mary.brown@email.com",
                    "custom_variables": [{"key": "Customer ID", "value": "CUST1"}]},
        "pre_chat_survey": [{"id": "1", "type": "name", "label": "Your name", "answer": "Mary Brown"}],
    })
    .to_string()
}

fn number(body: &Value) -> Option<(u8, u64)> {
    let id = body.pointer("/chat/id")?.as_str()?;
    let phase = id.get(1..2)?.parse().ok()?;
    let n = id.rsplit_once('N')?.1.parse().ok()?;
    Some((phase, n))
}

async fn callback(
    flows: web::Data<Flows>,
    flow: web::Path<usize>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut open = flows.open.subscribe();
    // Held until the bench opens the gate (intake measured alone), then answered at once.
    let _ = open.wait_for(|o| *o).await;
    let at = Instant::now();
    if let (Some((_, n)), Some(slot)) = (
        number(&body),
        flows.seen.lock().unwrap().arrivals.get_mut(*flow),
    ) {
        slot.push((n, at));
    }
    HttpResponse::Ok().finish()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Gateway(Child);
impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Posts `events` one after another on one keep-alive connection; the instant of each 200.
async fn send_all(
    url: String,
    events: Vec<(u64, String)>,
    pace: Option<Duration>,
) -> Vec<(u64, Instant)> {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let mut acks = Vec::with_capacity(events.len());
    let started = tokio::time::Instant::now();
    for (i, (n, body)) in events.into_iter().enumerate() {
        if let Some(p) = pace {
            tokio::time::sleep_until(started + p * i as u32).await;
        }
        let res = client
            .post(&url)
            .insert_header(("content-type", "application/json"))
            .send_body(body)
            .await
            .expect("intake reachable");
        assert_eq!(res.status().as_u16(), 200, "intake refused an event");
        acks.push((n, Instant::now()));
    }
    acks
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

#[actix_web::main]
async fn main() {
    let quick = std::env::var("RELAY_QUICK").is_ok_and(|v| v == "1");
    let per_sender: u64 = if quick { 250 } else { 1500 };
    let paced_secs: u64 = if quick { 3 } else { 10 };

    let fake = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    for f in 0..FLOWS {
        fake.add_account(&login(f), KEY);
    }
    let (open, _) = watch::channel(false);
    let flows = web::Data::new(Flows {
        seen: Mutex::new(Seen {
            arrivals: vec![Vec::new(); FLOWS],
        }),
        open,
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let cb_base = format!("http://{}", listener.local_addr().unwrap());
    let data = flows.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/flow/{flow}", web::post().to(callback))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);

    let dir = std::env::temp_dir().join(format!("lcgw-relay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("gateway.log")).unwrap();
    let _gateway = Gateway(
        Command::new(env!("CARGO_BIN_EXE_livechat-gateway"))
            .arg("serve")
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEWAY_LIVECHAT_URL", fake.base_url())
            .env(
                "GATEWAY_DATABASE_URL",
                format!("sqlite://{}/gateway.db", dir.display()),
            )
            .env("GATEWAY_SECRET", "relay-bench-secret-0123456789abcdef")
            .env("GATEWAY_ALLOW_PRIVATE_CALLBACKS", "true")
            .env("GATEWAY_THROTTLE_CALLS", "1000000")
            // One flow gets more within seconds than a minute's intake quota admits; once the
            // relay drains fast the whole run fits in less than the refill it relied on.
            .env("GATEWAY_INTAKE_LIMIT_PER_MIN", "1000000")
            // Longer than the intake phase, during which the first delivery of a flow is held.
            .env("GATEWAY_DELIVERY_TIMEOUT_MS", "300000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the release gateway (cargo bench builds it)"),
    );
    // The shared disk can make one fsync take seconds while other builds run.
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let up = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "gateway did not start"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }

    let mut intake = Vec::new();
    for f in 0..FLOWS {
        let res = client
            .post(format!("{base}/chat_starts_webhook/webhooks"))
            .basic_auth(login(f), KEY)
            .send_json(&json!({ "url": format!("{cb_base}/flow/{f}") }))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201, "subscribe flow {f}");
        let hooks = fake.webhooks(&login(f));
        let url = hooks[0]["url"].as_str().expect("registered intake URL");
        intake.push(url.to_string());
    }

    let mut report: Vec<(String, String)> = Vec::new();
    let mut max_ack = f64::MAX;
    let mut max_delivery = f64::MAX;
    let mut in_order = true;
    for (phase, senders) in [(1u8, 1usize), (2, FLOWS)] {
        flows.open.send_replace(false);
        for a in flows.seen.lock().unwrap().arrivals.iter_mut() {
            a.clear();
        }
        let batches: Vec<_> = (0..senders)
            .map(|f| {
                let events = (0..per_sender).map(|n| (n, event(phase, f, n))).collect();
                send_all(intake[f].clone(), events, None)
            })
            .collect();
        let started = Instant::now();
        futures_util::future::join_all(batches).await;
        let acked = started.elapsed();
        let total = per_sender * senders as u64;
        let ack_rate = total as f64 / acked.as_secs_f64();

        let released = Instant::now();
        flows.open.send_replace(true);
        loop {
            let got: usize = flows
                .seen
                .lock()
                .unwrap()
                .arrivals
                .iter()
                .map(Vec::len)
                .sum();
            if got as u64 >= total {
                break;
            }
            assert!(
                released.elapsed() < Duration::from_secs(300),
                "relay stalled at {got}/{total}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(2)).await;
        }
        let seen = flows.seen.lock().unwrap();
        let last = seen
            .arrivals
            .iter()
            .flat_map(|a| a.iter().map(|(_, t)| *t))
            .max()
            .unwrap();
        let drain = last.duration_since(released);
        let delivery_rate = total as f64 / drain.as_secs_f64();
        for a in seen.arrivals.iter().take(senders) {
            in_order &= a.windows(2).all(|w| w[0].0 < w[1].0) && a.len() as u64 == per_sender;
        }
        drop(seen);
        let s = if senders == 1 { "" } else { "s" };
        report.push((
            format!("acks/s, {senders} sender{s}"),
            format!("{ack_rate:.0} events/s"),
        ));
        report.push((
            format!("deliveries/s, {senders} flow{s}"),
            format!("{delivery_rate:.0} deliveries/s"),
        ));
        if senders == FLOWS {
            max_ack = ack_rate;
            max_delivery = delivery_rate;
        }
    }

    // Half load: paced senders, the gate open, the 200 → callback time per event.
    flows.open.send_replace(true);
    for a in flows.seen.lock().unwrap().arrivals.iter_mut() {
        a.clear();
    }
    let rate = max_ack.min(max_delivery) / 2.0;
    let per = ((rate / FLOWS as f64) * paced_secs as f64).max(1.0) as u64;
    let pace = Duration::from_secs_f64(FLOWS as f64 / rate);
    let batches: Vec<_> = (0..FLOWS)
        .map(|f| {
            let events = (0..per).map(|n| (n, event(3, f, n))).collect();
            send_all(intake[f].clone(), events, Some(pace))
        })
        .collect();
    let acks = futures_util::future::join_all(batches).await;
    let total = per * FLOWS as u64;
    let waited = Instant::now();
    loop {
        let got: usize = flows
            .seen
            .lock()
            .unwrap()
            .arrivals
            .iter()
            .map(Vec::len)
            .sum();
        if got as u64 >= total {
            break;
        }
        assert!(waited.elapsed() < Duration::from_secs(120), "relay stalled");
        actix_web::rt::time::sleep(Duration::from_millis(2)).await;
    }
    let seen = flows.seen.lock().unwrap();
    let mut lat = Vec::new();
    for (f, acked) in acks.iter().enumerate() {
        let arrived: HashMap<u64, Instant> = seen.arrivals[f].iter().copied().collect();
        for (n, at) in acked {
            // The callback may see the event before the 200 is back at the sender: that is 0.
            lat.push(arrived[n].saturating_duration_since(*at));
        }
        in_order &= seen.arrivals[f].windows(2).all(|w| w[0].0 < w[1].0);
    }
    drop(seen);
    lat.sort();
    report.push((
        "half load".into(),
        format!("{rate:.0} events/s over {FLOWS} flows, {total} events"),
    ));
    report.push((
        "200 → callback p50 at half load".into(),
        format!("{:.1} ms", pct(&lat, 0.5).as_secs_f64() * 1e3),
    ));
    report.push((
        "200 → callback p99 at half load".into(),
        format!("{:.1} ms", pct(&lat, 0.99).as_secs_f64() * 1e3),
    ));
    report.push((
        "one flow in order".into(),
        (if in_order { "yes" } else { "NO" }).into(),
    ));
    for (k, v) in &report {
        println!("RELAY|{k}|{v}");
    }
    for (k, v) in &report {
        eprintln!("  {k:<36} {v}");
    }
    std::fs::remove_dir_all(dir).ok();
}
