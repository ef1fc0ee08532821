//! The caller's API key appears in no answer and no log line, through every action and error.

use std::time::Duration;

use livechat_gateway::fake_livechat::InjectedResponse;
use serde_json::json;

use crate::helpers::{send, spawn_app_with, LOGS};

#[actix_web::test]
async fn the_api_key_never_shows_in_answers_or_logs() {
    let app = spawn_app_with(|s| {
        s.upstream_timeout_ms = 300;
        s.throttle_calls = 40;
    })
    .await;
    let mut seen = Vec::new();
    let ticket = send(
        app.post("/tickets"),
        Some(&json!({"message": "m", "requester": {"mail": "r@example.com"}})),
    )
    .await;
    let id = ticket.body["id"].as_str().unwrap_or("ABCDE").to_string();
    seen.push(ticket);
    let calls: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", "/agents".into(), None),
        (
            "POST",
            "/agents".into(),
            Some(json!({"login": "n@example.com", "name": "N", "password": "secret"})),
        ),
        ("DELETE", "/agents/n@example.com".into(), None),
        ("DELETE", "/agents/n@example.com".into(), None),
        ("GET", "/tickets".into(), None),
        ("GET", format!("/tickets/{id}"), None),
        ("GET", "/tickets/ZZZZZ".into(), None),
        (
            "PUT",
            format!("/tickets/{id}/tags"),
            Some(json!({"requester": {"mail": "r@example.com"}, "tags": ["x"]})),
        ),
        (
            "PUT",
            format!("/tickets/{id}/tags"),
            Some(json!({"subject": "no"})),
        ),
        ("POST", "/agents".into(), Some(json!({"login": "bad"}))),
    ];
    for (method, path, body) in &calls {
        let req = match *method {
            "GET" => app.get(path),
            "POST" => app.post(path),
            "PUT" => app.put(path),
            _ => app.delete(path),
        };
        seen.push(send(req, body.as_ref()).await);
    }
    for (status, body) in [
        (401, r#"{"error":"Invalid API key"}"#),
        (500, "oops"),
        (429, "{}"),
    ] {
        app.fake.push_response(InjectedResponse {
            status,
            headers: vec![],
            body: body.into(),
            delay: None,
        });
        seen.push(send(app.get("/agents"), None).await);
    }
    // LiveChat (or a proxy before it) quoting the Authorization header back.
    let quoted = format!(r#"{{"error":"bad header {}"}}"#, app.auth());
    app.fake.push_response(InjectedResponse {
        status: 400,
        headers: vec![],
        body: quoted,
        delay: None,
    });
    seen.push(send(app.get("/agents"), None).await);
    app.fake.push_response(InjectedResponse {
        status: 200,
        headers: vec![],
        body: "[]".into(),
        delay: Some(Duration::from_secs(2)),
    });
    seen.push(send(app.get("/agents"), None).await);
    for _ in 0..30 {
        seen.push(send(app.get("/agents"), None).await);
    }
    assert!(
        seen.iter().any(|r| r.status == 429),
        "the throttle path was exercised"
    );

    let encoded = app.auth();
    let needles = [app.api_key.as_str(), encoded.trim_start_matches("Basic ")];
    for r in &seen {
        for n in needles {
            assert!(!r.text.contains(n), "answer holds the key: {}", r.text);
            assert!(r
                .headers
                .iter()
                .all(|(_, v)| !v.to_str().unwrap_or("").contains(n)));
        }
    }
    let logs = LOGS.lock().unwrap().clone();
    assert!(!logs.is_empty(), "logs were captured");
    for line in &logs {
        for n in needles {
            assert!(!line.contains(n), "log line holds the key: {line}");
        }
    }
}
