//! Contract §5: every error in one JSON shape, and bad input never reaching LiveChat.

use std::time::Duration;

use livechat_gateway::fake_livechat::InjectedResponse;
use serde_json::json;

use crate::helpers::{send, spawn_app, spawn_app_with, Res};

fn assert_error_shape(res: &Res, status: u16) {
    assert_eq!(res.status, status, "{}", res.text);
    assert_eq!(res.body["statusCode"], status, "{}", res.text);
    assert!(
        res.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        res.text
    );
}

fn canned(status: u16, body: &str) -> InjectedResponse {
    InjectedResponse {
        status,
        headers: vec![],
        body: body.into(),
        delay: None,
    }
}

#[actix_web::test]
async fn missing_or_malformed_credentials_get_401_and_reach_nothing() {
    let app = spawn_app().await;
    for auth in [
        None,
        Some("Bearer abc"),
        Some("Basic not-base64!"),
        Some("Basic YWJj"),
    ] {
        let mut req = app.client.get(app.url("/agents"));
        if let Some(a) = auth {
            req = req.insert_header(("Authorization", a));
        }
        let res = send(req, None).await;
        assert_error_shape(&res, 401);
        assert_eq!(
            res.header("www-authenticate"),
            Some(r#"Basic realm="livechat""#)
        );
    }
    assert!(app.fake.requests().is_empty());
}

#[actix_web::test]
async fn invalid_input_gets_400_and_never_reaches_livechat() {
    let app = spawn_app().await;
    let cases: Vec<(&str, &str, Option<serde_json::Value>)> = vec![
        ("POST", "/agents", Some(json!({"name": "No Login"}))),
        (
            "POST",
            "/agents",
            Some(json!({"login": "not-an-email", "name": "X"})),
        ),
        ("POST", "/agents", Some(json!({"login": "a@example.com"}))),
        (
            "POST",
            "/agents",
            Some(json!({"login": "a@example.com", "name": "X", "permission": "owner"})),
        ),
        (
            "POST",
            "/agents",
            Some(json!({"login": "a@example.com", "name": "X", "login_status": "busy"})),
        ),
        (
            "POST",
            "/agents",
            Some(json!({"login": "a@example.com", "name": "X", "password": "1234"})),
        ),
        (
            "POST",
            "/agents",
            Some(json!({"login": "a@example.com", "name": "X", "max_chats_count": "many"})),
        ),
        ("POST", "/agents", Some(json!(["not", "an", "object"]))),
        ("DELETE", "/agents/not-an-email", None),
        ("GET", "/tickets/bad!id", None),
        ("GET", "/tickets?status=closed", None),
        ("GET", "/tickets?order=sideways", None),
        ("GET", "/tickets?page=0", None),
        ("GET", "/tickets?date_from=31.12.2024", None),
        (
            "POST",
            "/tickets",
            Some(json!({"requester": {"mail": "a@example.com"}})),
        ),
        ("POST", "/tickets", Some(json!({"message": "hi"}))),
        (
            "POST",
            "/tickets",
            Some(json!({"message": "hi", "requester": {"mail": "nope"}})),
        ),
        (
            "POST",
            "/tickets",
            Some(
                json!({"message": "hi", "requester": {"mail": "a@example.com"}, "source": {"type": "fax"}}),
            ),
        ),
        (
            "POST",
            "/tickets",
            Some(
                json!({"message": "hi", "requester": {"mail": "a@example.com"}, "source": {"url": "javascript:alert(1)"}}),
            ),
        ),
        ("PUT", "/tickets/ABCDE/tags", Some(json!({"tags": ["a"]}))),
        (
            "PUT",
            "/tickets/ABCDE/tags",
            Some(json!({"requester": {"mail": "a@example.com"}, "tags": "a"})),
        ),
    ];
    for (method, path, body) in cases {
        let req = match method {
            "GET" => app.get(path),
            "POST" => app.post(path),
            "PUT" => app.put(path),
            _ => app.delete(path),
        };
        let res = send(req, body.as_ref()).await;
        assert_eq!(res.status, 400, "{method} {path} {body:?}: {}", res.text);
        assert_error_shape(&res, 400);
    }
    let not_json = send(
        app.post("/agents")
            .insert_header(("content-type", "application/json")),
        None,
    )
    .await;
    assert_error_shape(&not_json, 400);
    let garbage = app
        .post("/agents")
        .insert_header(("content-type", "application/json"))
        .send_body("{nope");
    assert_error_shape(&send_raw(garbage).await, 400);
    let huge = json!({"login": "a@example.com", "name": "x".repeat(100_000)});
    assert_error_shape(&send(app.post("/agents"), Some(&huge)).await, 413);
    assert!(
        app.fake.requests().is_empty(),
        "no bad input reached LiveChat: {:?}",
        app.fake
            .requests()
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );
}

async fn send_raw(fut: awc::SendClientRequest) -> Res {
    let mut res = fut.await.expect("answer");
    let bytes = res.body().await.expect("body");
    Res {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        text: String::from_utf8_lossy(&bytes).into_owned(),
        body: serde_json::from_slice(&bytes).unwrap_or_default(),
    }
}

#[actix_web::test]
async fn livechat_4xx_bodies_of_every_shape_are_carried_over() {
    let app = spawn_app().await;
    for (status, body, want) in [
        (
            400,
            r#"{"errors":["Login is invalid"]}"#,
            "Login is invalid",
        ),
        (
            400,
            r#"{"error":["Message is required"]}"#,
            "Message is required",
        ),
        (404, r#"{"error":"Not found"}"#, "Not found"),
        (
            403,
            r#"{"errors":"Forbidden for this licence"}"#,
            "Forbidden for this licence",
        ),
    ] {
        app.fake.push_response(canned(status, body));
        let res = send(app.get("/agents"), None).await;
        assert_error_shape(&res, status);
        assert!(
            res.body["message"].as_str().unwrap().contains(want),
            "{}",
            res.text
        );
    }
}

#[actix_web::test]
async fn livechat_429_keeps_its_retry_after() {
    let app = spawn_app().await;
    app.fake.push_response(InjectedResponse {
        status: 429,
        headers: vec![("Retry-After".into(), "42".into())],
        body: r#"{"error":"Too many requests"}"#.into(),
        delay: None,
    });
    let res = send(app.get("/agents"), None).await;
    assert_error_shape(&res, 429);
    assert_eq!(res.header("retry-after"), Some("42"));
}

#[actix_web::test]
async fn livechat_5xx_or_garbage_is_a_502() {
    let app = spawn_app().await;
    for (status, body) in [
        (500, r#"{"error":"boom"}"#),
        (503, "<html>down</html>"),
        (200, "<html>not json</html>"),
    ] {
        app.fake.push_response(canned(status, body));
        assert_error_shape(&send(app.get("/agents"), None).await, 502);
    }
}

#[actix_web::test]
async fn livechat_too_slow_is_a_504() {
    let app = spawn_app_with(|s| s.upstream_timeout_ms = 300).await;
    app.fake.push_response(InjectedResponse {
        status: 200,
        headers: vec![],
        body: "[]".into(),
        delay: Some(Duration::from_secs(3)),
    });
    assert_error_shape(&send(app.get("/agents"), None).await, 504);
}

#[actix_web::test]
async fn livechat_unreachable_is_a_502() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = spawn_app_with(|s| s.livechat_url = url.parse().unwrap()).await;
    assert_error_shape(&send(app.get("/agents"), None).await, 502);
}

#[actix_web::test]
async fn unknown_routes_and_request_ids() {
    let app = spawn_app().await;
    assert_error_shape(&send(app.get("/nope"), None).await, 404);
    let res = send(
        app.get("/agents")
            .insert_header(("x-ms-client-request-id", "abc-123")),
        None,
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-ms-client-request-id"), Some("abc-123"));
}

#[actix_web::test]
async fn a_livechat_redirect_is_not_followed_with_the_callers_key() {
    let app = spawn_app().await;
    app.fake.push_response(InjectedResponse {
        status: 302,
        headers: vec![(
            "Location".into(),
            format!("{}/elsewhere", app.fake.base_url()),
        )],
        body: String::new(),
        delay: None,
    });
    let res = send(app.get("/agents"), None).await;
    assert_error_shape(&res, 502);
    let paths: Vec<String> = app.fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/agents"], "the redirect was not followed");
}

#[actix_web::test]
async fn an_empty_optional_number_is_not_given() {
    let app = spawn_app().await;
    let body = json!({"login": "blank@example.com", "name": "Blank", "max_chats_count": ""});
    let res = send(app.post("/agents"), Some(&body)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let sent = app.fake.requests().pop().unwrap();
    assert!(sent.body.get("max_chats_count").is_none(), "{}", sent.body);
}
