//! Contract §4 through the real HTTP stack: exactly N admitted, the rest 429 with the exact wait.

use futures_util::future::join_all;
use livechat_gateway::settings::ThrottleFallback;
use serde_json::{json, Value};

use crate::helpers::{basic, free_port, redis_url, send, spawn_app, spawn_app_with, TestApp, LOGS};

#[actix_web::test]
async fn a_thousand_concurrent_calls_admit_exactly_the_quota() {
    let app = spawn_app().await;
    let calls = (0..1000).map(|_| send(app.get("/agents"), None));
    let answers = join_all(calls).await;
    let admitted = answers.iter().filter(|r| r.status == 200).count();
    let refused: Vec<_> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!(admitted, 100);
    assert_eq!(refused.len(), 900);
    for r in &refused {
        // The clock stands still, so every call waits the whole window.
        assert_eq!(r.header("retry-after"), Some("60"));
        assert_eq!(r.body["statusCode"], 429);
        assert_eq!(
            r.body["message"],
            "Rate limit is exceeded. Try again in 60 seconds."
        );
        assert_eq!(r.header("ratelimit"), Some(r#""per-connection";r=0;t=60"#));
    }
    assert_eq!(
        app.fake.requests().len(),
        100,
        "refused calls are not forwarded"
    );
    let ok = answers.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(
        ok.header("ratelimit-policy"),
        Some(r#""per-connection";q=100;w=60"#)
    );
    assert!(ok
        .header("ratelimit")
        .is_some_and(|v| v.starts_with(r#""per-connection";r="#)));
}

#[actix_web::test]
async fn a_retry_after_the_announced_wait_is_admitted_and_others_are_unaffected() {
    let app = spawn_app_with(|s| {
        s.throttle_calls = 3;
        s.throttle_window_secs = 10;
    })
    .await;
    send(app.get("/agents"), None).await;
    app.clock.advance_ms(4_200);
    send(app.get("/agents"), None).await;
    let third = send(app.get("/agents"), None).await;
    assert_eq!(
        third.header("ratelimit"),
        Some(r#""per-connection";r=0;t=6"#)
    );
    let refused = send(app.get("/agents"), None).await;
    assert_eq!(refused.status, 429);
    // The first call leaves the window 5.8 s from now: rounded up, 6.
    assert_eq!(refused.header("retry-after"), Some("6"));

    let (login, key) = app.other_account();
    let other = send(
        app.client
            .get(app.url("/agents"))
            .insert_header(("Authorization", basic(&login, &key))),
        None,
    )
    .await;
    assert_eq!(other.status, 200, "another connection has its own quota");

    app.clock.advance_ms(5_799);
    assert_eq!(
        send(app.get("/agents"), None).await.status,
        429,
        "not a millisecond early"
    );
    app.clock.advance_ms(1);
    assert_eq!(send(app.get("/agents"), None).await.status, 200);
}

#[actix_web::test]
async fn bad_input_counts_but_refused_calls_do_not() {
    let app = spawn_app_with(|s| s.throttle_calls = 2).await;
    assert_eq!(
        send(app.get("/tickets?status=nope"), None).await.status,
        400
    );
    assert_eq!(send(app.get("/agents"), None).await.status, 200);
    for _ in 0..5 {
        assert_eq!(send(app.get("/agents"), None).await.status, 429);
    }
    app.clock.advance_ms(60_000);
    assert_eq!(
        send(app.get("/agents"), None).await.status,
        200,
        "refusals did not count"
    );
}

/// A Redis URL where nothing listens.
fn dead_redis() -> String {
    format!("redis://127.0.0.1:{}", free_port())
}

async fn readyz(app: &TestApp) -> Value {
    let res = send(app.client.get(app.url("/readyz")), None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

#[actix_web::test]
async fn readiness_names_the_store_and_the_throttle_in_use() {
    let app = spawn_app().await;
    assert_eq!(
        readyz(&app).await,
        json!({"status": "ready", "store": "sqlite", "throttle": {"backend": "local", "fell_back": false}})
    );
}

#[actix_web::test]
async fn an_unreachable_redis_falls_back_to_the_local_limit_without_a_5xx() {
    let password = format!("REDISPW{}", free_port());
    let url = dead_redis().replace("redis://", &format!("redis://:{password}@"));
    let app = spawn_app_with(|s| {
        s.redis_url = Some(url);
        s.throttle_calls = 3;
    })
    .await;
    let statuses: Vec<u16> = join_all((0..5).map(|_| send(app.get("/agents"), None)))
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 3);
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 2);
    let refused = send(app.get("/agents"), None).await;
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert_eq!(
        readyz(&app).await["throttle"],
        json!({"backend": "local", "fell_back": true, "fallback": "local"})
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"livechat_gateway_throttle_backend{backend="memory_fallback"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("livechat_gateway_redis_up 0"), "{metrics}");
    let logs = LOGS.lock().unwrap().clone();
    assert!(logs.iter().any(|l| l.contains("Redis cannot be reached")));
    assert!(
        logs.iter().all(|l| !l.contains(&password)),
        "the Redis password stays out of the log"
    );
}

#[actix_web::test]
async fn with_fallback_deny_an_unreachable_redis_answers_503_and_forwards_nothing() {
    let app = spawn_app_with(|s| {
        s.redis_url = Some(dead_redis());
        s.throttle_fallback = ThrottleFallback::Deny;
    })
    .await;
    let res = send(app.get("/agents"), None).await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(res.body["statusCode"], 503);
    assert!(res.body["message"]
        .as_str()
        .is_some_and(|m| m.contains("rate limit")));
    assert!(app.fake.requests().is_empty(), "nothing reached LiveChat");
    assert_eq!(
        readyz(&app).await["throttle"],
        json!({"backend": "none", "fell_back": true, "fallback": "deny"})
    );
}

#[actix_web::test]
async fn the_redis_throttle_answers_with_the_same_headers() {
    let Some(url) = redis_url() else { return };
    let app = spawn_app_with(|s| {
        s.redis_url = Some(url);
        s.throttle_calls = 2;
    })
    .await;
    let first = send(app.get("/agents"), None).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("ratelimit"),
        Some(r#""per-connection";r=1;t=60"#)
    );
    assert_eq!(
        first.header("ratelimit-policy"),
        Some(r#""per-connection";q=2;w=60"#)
    );
    assert_eq!(send(app.get("/agents"), None).await.status, 200);
    let refused = send(app.get("/agents"), None).await;
    assert_eq!(refused.status, 429);
    // Redis's clock moved a little since the first call: still 60 s, rounded up.
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert_eq!(
        readyz(&app).await["throttle"],
        json!({"backend": "redis", "fell_back": false, "fallback": "local"})
    );
}

#[actix_web::test]
async fn a_redis_that_accepts_but_never_answers_does_not_stall_calls() {
    // Holds every connection open and says nothing, like a hung server.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", hung.local_addr().unwrap());
    std::thread::spawn(move || {
        let held: Vec<_> = hung.incoming().map_while(Result::ok).collect();
        drop(held);
    });
    let app = spawn_app_with(|s| {
        s.redis_url = Some(url);
        s.throttle_calls = 2;
    })
    .await;
    let statuses: Vec<u16> = join_all((0..3).map(|_| send(app.get("/agents"), None)))
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(readyz(&app).await["throttle"]["fell_back"], true);
}
