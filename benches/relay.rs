//! Intake and relay throughput: `cargo bench --bench relay`. Figures go to docs/benchmarks.md.
//! LiveChat (the project's fake) fires events at a sandbox-like gateway on a real SQLite file
//! with `synchronous=FULL`; a local flow callback counts what arrives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use livechat_gateway::fake_livechat::FakeLiveChat;
use livechat_gateway::settings::Settings;
use livechat_gateway::startup::Application;

const EVENTS: usize = 500;

#[actix_web::main]
async fn main() {
    let fake = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    fake.add_account("bench@example.com", "bench-key-0123456789");
    let dir = std::env::temp_dir().join(format!("lcgw-bench-{}", std::process::id()));
    let mut settings = Settings::for_tests(
        fake.base_url().parse().unwrap(),
        format!("sqlite://{}/gateway.db", dir.display()),
    );
    settings.workers = Some(2);
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());

    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let callback = format!("http://{}/flow", listener.local_addr().unwrap());
    let flow = HttpServer::new(move || {
        let c = counter.clone();
        App::new().route(
            "/flow",
            web::post().to(move || {
                c.fetch_add(1, Ordering::SeqCst);
                async { HttpResponse::Accepted().finish() }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(flow);

    let client = awc::Client::default();
    let res = client
        .post(format!("{base}/chat_starts_webhook/webhooks"))
        .basic_auth("bench@example.com", "bench-key-0123456789")
        .send_json(&serde_json::json!({ "url": callback }))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);

    let mut latencies = Vec::with_capacity(EVENTS);
    let started = Instant::now();
    for _ in 0..EVENTS {
        let t = Instant::now();
        let sent = fake.fire(Some("bench@example.com"), "chat_started").await;
        assert_eq!(sent[0].status, Some(200));
        latencies.push(t.elapsed());
    }
    let accepted = started.elapsed();
    while received.load(Ordering::SeqCst) < EVENTS {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "relay stalled"
        );
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    let relayed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{EVENTS} events fired one after another by LiveChat (the fake), stored durably, relayed:"
    );
    println!(
        "  intake: {:.0} events/s, acknowledgement p50 {:?}, p99 {:?}",
        EVENTS as f64 / accepted.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
    println!(
        "  all {EVENTS} at the flow after {relayed:?} ({:.0} events/s end to end)",
        EVENTS as f64 / relayed.as_secs_f64()
    );
    std::fs::remove_dir_all(dir).ok();
    std::process::exit(0);
}
