//! Abuse at the gateway's side: oversized heads and bodies, slow clients, floods of wrong
//! credentials, path tricks, and a leaked intake URL. Each gets the contract's answer and
//! leaves everyone else served.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn assert_shape(res: &Res, status: u16, case: &str) {
    assert_eq!(res.status, status, "{case}: {}", res.text);
    assert_eq!(res.body["statusCode"], status, "{case}: {}", res.text);
}

#[actix_web::test]
async fn header_blocks_over_the_limit_get_431() {
    let app = spawn_app().await;
    let big = "x".repeat(40 * 1024);
    let res = send(app.get("/agents").insert_header(("x-padding", big)), None).await;
    assert_shape(&res, 431, "40 KiB of headers");
    // Past actix's own 128 KiB the answer is a bare 431, and the connection is closed: on a
    // client of its own, so that no later call picks that connection from the pool.
    let huge = "x".repeat(200 * 1024);
    let sent = awc::Client::default()
        .get(app.url("/agents"))
        .insert_header(("Authorization", app.auth()))
        .insert_header(("x-padding", huge))
        .send()
        .await
        .expect("an answer");
    assert_eq!(sent.status().as_u16(), 431);
    assert!(app.fake.requests().is_empty(), "nothing reached LiveChat");
    let res = send(app.get("/agents"), None).await;
    assert_eq!(res.status, 200, "still serving: {}", res.text);
}

#[actix_web::test]
async fn bodies_over_the_limit_get_413() {
    let app = spawn_app().await;
    let body =
        json!({"message": "m", "requester": {"mail": "a@b.co"}, "subject": "x".repeat(100_000)});
    assert_shape(
        &send(app.post("/tickets"), Some(&body)).await,
        413,
        "a ticket",
    );
    assert!(app.fake.requests().is_empty(), "nothing reached LiveChat");
    let cb = Callback::spawn().await;
    let (id, _) = app.subscribe(CHAT_STARTS, &cb.url).await;
    let mut event = chat_event("chat_started", "C1");
    event["padding"] = json!("x".repeat(2 * 1024 * 1024));
    let res = send(app.client.post(app.intake_url(&id)), Some(&event)).await;
    assert_shape(&res, 413, "an intake body");
    assert_eq!(app.counts().await.pending, 0, "nothing stored");
}

/// Opens a connection that sends part of a request head and then nothing.
async fn half_open(address: &str) -> TcpStream {
    let addr = address.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    conn.write_all(b"GET /agents HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
        .await
        .unwrap();
    conn
}

#[actix_web::test]
async fn slow_clients_neither_hold_connections_nor_delay_others() {
    let app = spawn_app_with(|s| s.request_head_timeout_ms = 500).await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        slow.push(half_open(&app.address).await);
    }
    let started = Instant::now();
    let res = send(app.get("/agents"), None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a normal call waited {:?}",
        started.elapsed()
    );
    // Each slow head is cut off: the server answers 408 or closes, within its timeout.
    let started = Instant::now();
    for conn in slow.iter_mut().take(20) {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "a slow client held its connection");
        let text = String::from_utf8_lossy(&buf);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn thousands_of_wrong_credentials_leave_other_connections_alone() {
    let app = spawn_app_with(|s| s.throttle_calls = 100).await;
    let wrong = futures_util::future::join_all((0..40).map(|worker| {
        let app = &app;
        async move {
            let mut statuses = Vec::new();
            for n in 0..50 {
                let res = app
                    .client
                    .get(app.url("/agents"))
                    .basic_auth(&app.login, format!("wrong-{worker}-{n}"))
                    .send()
                    .await
                    .expect("an answer");
                statuses.push(res.status().as_u16());
            }
            statuses
        }
    }));
    let good = async {
        let mut answers = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            let res = send(app.get("/agents"), None).await;
            answers.push((
                res.status,
                started.elapsed(),
                res.header("ratelimit").map(String::from),
            ));
        }
        answers
    };
    let (wrong, good) = futures_util::future::join(wrong, good).await;
    let wrong: Vec<u16> = wrong.into_iter().flatten().collect();
    assert_eq!(wrong.len(), 2_000);
    assert!(wrong.iter().all(|s| *s == 401 || *s == 429), "{wrong:?}");
    for (n, (status, took, ratelimit)) in good.iter().enumerate() {
        assert_eq!(*status, 200, "call {n}");
        assert!(*took < Duration::from_secs(5), "call {n} took {took:?}");
        let left = format!("r={}", 100 - n - 1);
        assert!(
            ratelimit.as_deref().is_some_and(|r| r.contains(&left)),
            "call {n}: the wrong keys spent this connection's quota: {ratelimit:?}"
        );
    }
}

#[actix_web::test]
async fn path_tricks_stay_inside_their_segment() {
    let app = spawn_app_with(|s| s.throttle_calls = 10_000).await;
    let ids = [
        "..%2F..%2Fagents",
        "ABC%2F..%2F..%2Fwebhooks",
        "%2e%2e",
        ".",
        "ABC%00",
        "ABC%20",
        "ABC;x=1",
        "ABC%3Fx%3D1",
        "ABC%23frag",
        "ABC%252F",
        "%C0%AE%C0%AE",
        "%EF%BC%A1%EF%BC%A2",
        "%FF%FE",
        "ABC%0D%0AX-Injected:%201",
    ];
    let logins = [
        "a%40b.com%2F..%2F..%2Fwebhooks",
        "..%2F..",
        "a%2540b.com",
        "%2e%2e%40x.com",
        "a%40b.com%00",
        "a%40b.com%0D%0AX:%20y",
        "a%40b.com%3Fpage%3D2",
    ];
    let mut calls: Vec<(&str, String, Option<Value>)> = Vec::new();
    for id in ids {
        calls.push(("GET", format!("/tickets/{id}"), None));
        calls.push((
            "PUT",
            format!("/tickets/{id}/tags"),
            Some(json!({"tags": ["a"]})),
        ));
        calls.push(("DELETE", format!("/webhooks/{id}"), None));
    }
    for login in logins {
        calls.push(("DELETE", format!("/agents/{login}"), None));
    }
    calls.push(("DELETE", format!("/webhooks/{}", "A".repeat(10_000)), None));
    for (method, path, body) in calls {
        let req = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .insert_header(("Authorization", app.auth()));
        let res = send(req, body.as_ref()).await;
        let case = format!("{method} {path}");
        assert!(res.status < 500, "{case}: {} {}", res.status, res.text);
        if res.status >= 400 {
            assert_shape(&res, res.status, &case);
        }
    }
    for r in app.fake.requests() {
        let segments: Vec<&str> = r.path.split('/').skip(1).collect();
        assert!(
            !segments
                .iter()
                .any(|s| *s == ".." || *s == "." || s.is_empty()),
            "{} {}",
            r.method,
            r.path
        );
        // The gateway lists agents to check a connection; everything else names one thing.
        let expected = match (r.method.as_str(), segments[0]) {
            ("GET", "agents") if segments.len() == 1 => 1,
            ("PUT", "tickets") => 3,
            _ => 2,
        };
        assert_eq!(segments.len(), expected, "{} {}", r.method, r.path);
        assert!(r.query.is_empty(), "{} {}?{}", r.method, r.path, r.query);
    }
}

#[actix_web::test]
async fn a_leaked_intake_url_is_held_to_the_delivery_limit() {
    let app = spawn_app_with(|s| s.intake_limit_per_min = 3).await;
    let cb = Callback::spawn().await;
    let (id, _) = app.subscribe(CHAT_STARTS, &cb.url).await;
    let (other, _) = app.subscribe(CHAT_ENDS, &cb.url).await;
    let (url, other_url) = (app.intake_url(&id), app.intake_url(&other));
    for n in 0..3 {
        let event = chat_event("chat_started", &format!("C{n}"));
        assert_eq!(app.post_event(&url, &event).await.0, 200, "event {n}");
    }
    let res = send(
        app.client.post(&url),
        Some(&chat_event("chat_started", "C3")),
    )
    .await;
    assert_shape(&res, 429, "over the limit");
    assert_eq!(
        res.header("retry-after"),
        Some("20"),
        "one event every 20 s"
    );
    let event = chat_event("chat_ended", "E1");
    assert_eq!(
        app.post_event(&other_url, &event).await.0,
        200,
        "its own limit"
    );
    wait_for("the four admitted events delivered", || {
        cb.received().len() >= 4
    })
    .await;
    app.wait_until_settled().await;
    assert_eq!(cb.received().len(), 4, "the refused one was not stored");
    assert!(app
        .metrics()
        .await
        .contains(r#"intake_events_total{outcome="limited"} 1"#));
    // LiveChat retries later and gets through.
    app.clock.advance_ms(20_000);
    let (status, _) = app
        .post_event(&url, &chat_event("chat_started", "C3"))
        .await;
    assert_eq!(status, 200);
}
