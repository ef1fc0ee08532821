//! Intake and delivery: tokens, limits, de-duplication, retries on the injected clock, gone flows.

use std::time::Duration;

use livechat_gateway::clock::Clock;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn intake_checks_token_size_and_json() {
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    let (id, _) = app.subscribe(CHAT_STARTS, &cb.url).await;
    let intake = app.intake_url(&id);
    let (base, token) = intake.rsplit_once('/').unwrap();

    let wrong = format!("{base}/{}", "x".repeat(token.len()));
    assert_eq!(
        app.post_event(&wrong, &chat_event("chat_started", "A"))
            .await
            .0,
        404
    );
    let unknown = format!(
        "{}/livechat/events/AAAAAAAAAAAAAAAAAAAAAA/{token}",
        app.address
    );
    assert_eq!(
        app.post_event(&unknown, &chat_event("chat_started", "A"))
            .await
            .0,
        404
    );

    let res = app
        .client
        .post(&intake)
        .insert_header(("content-type", "application/json"))
        .send_body("{not json")
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let big = vec![b' '; 1024 * 1024 + 10];
    let res = app
        .client
        .post(&intake)
        .insert_header(("content-type", "application/json"))
        .send_body(big)
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    // No credentials needed, and the throttle does not apply to LiveChat's deliveries.
    assert_eq!(
        app.post_event(&intake, &chat_event("chat_started", "A"))
            .await
            .0,
        200
    );
    app.wait_until_settled().await;
    assert_eq!(cb.received().len(), 1);
    assert_eq!(app.counts().await.pending, 0);
}

#[actix_web::test]
async fn a_duplicate_event_is_relayed_once() {
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    let (id, _) = app.subscribe(CHAT_ENDS, &cb.url).await;
    let intake = app.intake_url(&id);
    let mut first = chat_event("chat_ended", "CHAT1");
    assert_eq!(
        app.post_event(&intake, &first).await,
        (200, json!({"status": "accepted"}))
    );
    first["token"] = json!("another-delivery-token");
    assert_eq!(
        app.post_event(&intake, &first).await,
        (200, json!({"status": "duplicate"}))
    );
    assert_eq!(
        app.post_event(&intake, &chat_event("chat_ended", "CHAT2"))
            .await
            .0,
        200
    );
    // Deliveries to one flow keep their order, so a queued duplicate would arrive before CHAT2.
    wait_for("both chats", || cb.received().len() >= 2).await;
    let ids: Vec<_> = cb
        .received()
        .iter()
        .map(|n| n["chat"]["id"].clone())
        .collect();
    assert_eq!(ids, [json!("CHAT1"), json!("CHAT2")]);
    // Redelivered by LiveChat after the flow got it: still once.
    assert_eq!(
        app.post_event(&intake, &first).await.1["status"],
        "duplicate"
    );
}

#[actix_web::test]
async fn a_failing_callback_gets_the_event_once_it_recovers() {
    let app = spawn_app().await; // schedule 0s, 5s, 5m, ...
    let cb = Callback::spawn().await;
    cb.answer_next(&[(500, None), (500, None)]);
    let (id, _) = app.subscribe(TICKET_CREATED, &cb.url).await;
    assert_eq!(
        app.post_event(&app.intake_url(&id), &ticket_event("T1"))
            .await
            .0,
        200
    );

    wait_for("the first attempt", || cb.attempts() == 1).await;
    app.wait_attempts_recorded(1).await;
    app.clock.advance_ms(6_000); // 5 s + 20 %
    wait_for("the second attempt", || cb.attempts() == 2).await;
    app.wait_attempts_recorded(2).await;
    app.clock.advance_ms(360_000); // 5 min + 20 %
    wait_for("the delivery", || cb.received().len() == 1).await;
    app.wait_until_settled().await;
    assert_eq!(cb.attempts(), 3);
    assert_eq!(cb.received()[0]["ticket"]["id"], "T1");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("livechat_gateway_delivery_attempts_total{outcome=\"delivered\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("livechat_gateway_delivery_attempts_total{outcome=\"retry\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("livechat_gateway_deliveries_pending 0"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn retries_wait_for_their_time_and_for_retry_after() {
    let app = spawn_app_with(|s| {
        s.retry_schedule = livechat_gateway::settings::parse_schedule("0s,10s,10s").unwrap()
    })
    .await;
    let cb = Callback::spawn().await;
    cb.answer_next(&[(503, None), (429, Some("120"))]);
    let (id, _) = app.subscribe(CHAT_STARTS, &cb.url).await;
    assert_eq!(
        app.post_event(&app.intake_url(&id), &chat_event("chat_started", "R1"))
            .await
            .0,
        200
    );
    wait_for("the first attempt", || cb.attempts() == 1).await;
    app.wait_attempts_recorded(1).await;

    // 10 s − 20 % = 8 s is the earliest the schedule allows.
    app.clock.advance_ms(7_900);
    app.assert_nothing_due("no attempt before its time").await;
    assert_eq!(cb.attempts(), 1, "no attempt before its time");
    app.clock.advance_ms(4_200); // 12.1 s: past 10 s + 20 %
    wait_for("the second attempt", || cb.attempts() == 2).await;
    app.wait_attempts_recorded(2).await;

    // The 429 asked for 120 s, later than the schedule's 10 s.
    app.clock.advance_ms(13_000);
    app.assert_nothing_due("Retry-After honoured").await;
    assert_eq!(cb.attempts(), 2, "Retry-After honoured");
    app.clock.advance_ms(108_000);
    wait_for("the delivery", || cb.received().len() == 1).await;
}

#[actix_web::test]
async fn an_exhausted_event_is_kept_dead_and_can_be_replayed() {
    let app = spawn_app_with(|s| {
        s.retry_schedule = livechat_gateway::settings::parse_schedule("0s,1s").unwrap()
    })
    .await;
    let cb = Callback::spawn().await;
    cb.answer_next(&[(500, None), (400, None)]);
    let (id, _) = app.subscribe(CHAT_STARTS, &cb.url).await;
    assert_eq!(
        app.post_event(&app.intake_url(&id), &chat_event("chat_started", "D1"))
            .await
            .0,
        200
    );
    wait_for("the first attempt", || cb.attempts() == 1).await;
    app.wait_attempts_recorded(1).await;
    app.clock.advance_ms(1_300);
    wait_for("the second attempt", || cb.attempts() == 2).await;
    app.wait_attempts_recorded(2).await;
    eventually("the dead delivery", || async {
        !app.state
            .store
            .list_deliveries(true)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    let dead = app.state.store.list_deliveries(true).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].attempts, dead[0].last_status), (2, Some(400)));
    let n = app
        .state
        .store
        .replay(
            &livechat_gateway::store::ReplaySelector::AllDead,
            app.clock.now_ms(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    app.state.relay.wake();
    wait_for("the replayed delivery", || cb.received().len() == 1).await;
}

#[actix_web::test]
async fn a_gone_flow_loses_its_subscription_and_livechat_webhook() {
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    cb.answer_next(&[(410, None)]);
    let (id, location) = app.subscribe(CHAT_STARTS, &cb.url).await;
    let intake = app.intake_url(&id);
    assert_eq!(
        app.post_event(&intake, &chat_event("chat_started", "G1"))
            .await
            .0,
        200
    );
    wait_for("LiveChat webhook removal", || {
        app.fake.webhooks(&app.login).is_empty()
    })
    .await;
    // The webhook goes first, then the flow's remaining events: wait for both.
    app.wait_until_settled().await;
    assert_eq!(app.counts().await.subscriptions, 0);
    assert_eq!(app.counts().await.pending, 0);
    assert_eq!(
        app.post_event(&intake, &chat_event("chat_started", "G2"))
            .await
            .0,
        404
    );
    assert_eq!(
        app.delete_at(&location, Some((&app.login, &app.api_key)))
            .await,
        404
    );
    assert!(cb.received().is_empty());
}

/// DNS rebinding: a name that was public when the subscription was checked and points at a
/// private address at delivery time is never connected to. `localhost` stands for such a name.
#[actix_web::test]
async fn the_delivery_client_connects_to_public_addresses_only() {
    use livechat_gateway::relay::deliver::{client, post, Attempt};
    let cb = Callback::spawn().await;
    let port = cb
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let by_name = format!("http://localhost:{port}/flow/callback");
    let timeout = Duration::from_secs(5);

    let strict = client(timeout, false);
    match post(&strict, &by_name, "{}", timeout, 0).await {
        Attempt::Failed {
            status: None,
            error,
            ..
        } => {
            assert!(error.contains("non-public"), "{error}")
        }
        other => panic!("connected anyway: {other:?}"),
    }
    assert_eq!(cb.attempts(), 0, "nothing reached the private address");

    let lenient = client(timeout, true);
    assert!(matches!(
        post(&lenient, &by_name, "{}", timeout, 0).await,
        Attempt::Delivered(_)
    ));
    assert_eq!(cb.attempts(), 1);
}

/// A flow's callback that takes the request and never answers costs one failed attempt at the
/// delivery timeout, with no answer read, so the worker moves on and the event is retried.
#[actix_web::test]
async fn a_callback_that_never_answers_fails_the_attempt_at_the_timeout() {
    use livechat_gateway::relay::deliver::{client, post, Attempt};
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/flow/callback", silent.local_addr().unwrap());
    // Accepts and holds each connection without a byte back.
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            open.push(conn);
        }
    });
    let timeout = Duration::from_millis(300);
    let attempt = tokio::time::timeout(
        Duration::from_secs(10),
        post(&client(timeout, true), &url, "{}", timeout, 0),
    )
    .await
    .expect("the attempt ends at its own timeout");
    match attempt {
        Attempt::Failed {
            status: None,
            error,
            retry_after_ms: None,
        } => assert_eq!(error, "no answer within 300 ms"),
        other => panic!("not a failed attempt: {other:?}"),
    }
    held.abort();
}
