//! Per-flow order and the order hold (GATEWAY_ORDER_HOLD_SECS), on the injected clock.

use livechat_gateway::clock::Clock;
use livechat_gateway::relay::admin;
use livechat_gateway::settings::parse_schedule;
use serde_json::Value;

use crate::helpers::*;

fn chat_ids(received: &[Value]) -> Vec<String> {
    received
        .iter()
        .map(|n| n["chat"]["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn fire(app: &TestApp, intake: &str, chats: &[&str]) {
    for chat in chats {
        let (status, _) = app
            .post_event(intake, &chat_event("chat_started", chat))
            .await;
        assert_eq!(status, 200, "{chat} accepted");
    }
}

fn gauge(metrics: &str, name: &str) -> i64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from {metrics}"))
}

#[actix_web::test]
async fn a_refused_notification_delays_the_later_ones_at_most_the_hold() {
    let app = spawn_app_with(|s| s.retry_schedule = parse_schedule("0s,5s,5m").unwrap()).await;
    let t0 = app.clock.now_ms();
    let cb = Callback::spawn().await;
    cb.refuse("POISON", 400);
    let (id, _) = app.subscribe(CHAT_STARTS, &cb.url).await;
    fire(&app, &app.intake_url(&id), &["GOOD1", "POISON", "GOOD2"]).await;

    wait_for("GOOD1 and POISON's first attempt", || cb.attempts() == 2).await;
    app.wait_attempts_recorded(1).await;
    app.clock.advance_ms(6_000); // POISON's second attempt (5 s + 20 %)
    wait_for("POISON's second attempt", || cb.attempts() == 3).await;
    app.wait_attempts_recorded(2).await;
    app.clock.set_ms(t0 + 59_999);
    app.assert_nothing_due("GOOD2 held behind POISON").await;
    assert_eq!(chat_ids(&cb.received()), ["GOOD1"]);
    let metrics = app.metrics().await;
    assert_eq!(gauge(&metrics, "livechat_gateway_deliveries_held"), 1);
    let list = admin::table(
        &app.state.store.list_deliveries(false).await.unwrap(),
        app.clock.now_ms(),
    );
    assert!(list.contains("holds until"), "{list}");
    assert!(list.contains("held behind"), "{list}");

    // The hold (60 s from the first refusal) is over: GOOD2 goes, POISON keeps its schedule.
    app.clock.set_ms(t0 + 60_000);
    wait_for("GOOD2", || cb.received().len() == 2).await;
    assert_eq!(chat_ids(&cb.received()), ["GOOD1", "GOOD2"]);
    eventually("GOOD2 recorded", || async {
        app.counts().await.pending == 1
    })
    .await;
    let metrics = app.metrics().await;
    assert_eq!(gauge(&metrics, "livechat_gateway_deliveries_held"), 0);
    assert_eq!(gauge(&metrics, "livechat_gateway_deliveries_released"), 1);
    let list = admin::table(
        &app.state.store.list_deliveries(false).await.unwrap(),
        app.clock.now_ms(),
    );
    assert!(list.contains("released"), "{list}");

    // POISON still reaches the dead letters after its schedule, with its last status.
    app.clock.set_ms(t0 + 6_000 + 360_000);
    wait_for("POISON's third attempt", || cb.attempts() == 5).await;
    eventually("POISON dead", || async { app.counts().await.dead == 1 }).await;
    let dead = app.state.store.list_deliveries(true).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].payload.contains("POISON"), "{:?}", dead[0]);
    assert_eq!((dead[0].attempts, dead[0].last_status), (3, Some(400)));
    let metrics = app.metrics().await;
    assert_eq!(
        gauge(&metrics, "livechat_gateway_order_holds_expired_total"),
        1
    );
    assert_eq!(gauge(&metrics, "livechat_gateway_deliveries_released"), 0);
}

#[actix_web::test]
async fn with_no_hold_a_refused_notification_never_holds_its_flow() {
    let app = spawn_app_with(|s| s.order_hold_secs = 0).await;
    let cb = Callback::spawn().await;
    cb.refuse("POISON", 422);
    let (id, _) = app.subscribe(CHAT_STARTS, &cb.url).await;
    fire(&app, &app.intake_url(&id), &["POISON", "GOOD1", "GOOD2"]).await;
    wait_for("both good ones", || cb.received().len() == 2).await;
    assert_eq!(chat_ids(&cb.received()), ["GOOD1", "GOOD2"]);
}

#[actix_web::test]
async fn a_429_holds_the_whole_flow_for_its_retry_after_then_delivers_in_order() {
    // A hold shorter than the Retry-After: a 429 is the flow asking to wait, not a refusal.
    let app = spawn_app_with(|s| s.order_hold_secs = 10).await;
    let cb = Callback::spawn().await;
    cb.answer_next(&[(429, Some("30"))]);
    let (id, _) = app.subscribe(CHAT_STARTS, &cb.url).await;
    fire(&app, &app.intake_url(&id), &["C1", "C2", "C3"]).await;
    wait_for("C1's first attempt", || cb.attempts() == 1).await;
    app.wait_attempts_recorded(1).await;

    app.clock.advance_ms(29_999);
    app.assert_nothing_due("the flow waits for its Retry-After")
        .await;
    assert!(cb.received().is_empty());
    assert_eq!(cb.attempts(), 1);
    app.clock.advance_ms(1);
    wait_for("the backlog", || cb.received().len() == 3).await;
    assert_eq!(chat_ids(&cb.received()), ["C1", "C2", "C3"]);
    assert_eq!(cb.attempts(), 4);
}

#[actix_web::test]
async fn a_flow_unreachable_for_an_hour_gets_its_backlog_in_order() {
    let app = spawn_app_with(|s| s.order_hold_secs = 1).await;
    let t0 = app.clock.now_ms();
    let port = free_port(); // nothing listens there yet: the flow is down
    let url = format!("http://127.0.0.1:{port}/flow/callback?sig=abc");
    let (id, _) = app.subscribe(CHAT_STARTS, &url).await;
    let chats = ["B1", "B2", "B3", "B4", "B5"];
    fire(&app, &app.intake_url(&id), &chats).await;

    // Attempts at 0 s, 5 s, 5 min and 30 min after that (each +20 % at most) all fail.
    let mut at = t0;
    for (n, step_ms) in [(1, 0), (2, 6_000), (3, 360_000), (4, 2_160_000)] {
        at += step_ms;
        app.clock.set_ms(at);
        app.wait_attempts_recorded(n).await;
    }
    app.clock.set_ms(t0 + 3_600_000);
    app.assert_nothing_due("the whole flow waits").await;
    let rows = app.state.store.list_deliveries(false).await.unwrap();
    assert_eq!(rows.len(), 5);
    assert!(
        rows[1..].iter().all(|d| d.attempts == 0),
        "waiting uses up no attempt: {rows:?}"
    );
    assert_eq!(app.counts().await.held, 4);

    // Back after an hour: the next attempt (2 h after the fourth, +20 %) takes the backlog.
    let cb = Callback::spawn_on(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    app.clock.set_ms(at + 8_640_000);
    wait_for("the backlog", || cb.received().len() == 5).await;
    assert_eq!(chat_ids(&cb.received()), chats);
    assert_eq!(cb.attempts(), 5, "each once");
    app.wait_until_settled().await;
}
