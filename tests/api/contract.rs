//! The documents and the gateway agree (what schemathesis checks in CI, pinned here): every
//! 405 names the allowed methods, what the documents call valid is served, and what they
//! call invalid is refused before LiveChat sees it.

use livechat_gateway::openapi::openapi3_json;
use livechat_gateway::startup::{allowed_methods, OTHER_ROUTES};
use serde_json::{json, Value};

use crate::helpers::{send, spawn_app, CHAT_STARTS};

fn sample(pattern: &str) -> String {
    pattern
        .replace("{login}", "someone@example.com")
        .replace("{ticketId}", "ABCDE")
        .replace("{hookId}", "unknownhook")
        .replace("{event_type}", "chat_started")
        .replace("{token}", "t")
        .replace("{_:.*}", "index.html")
}

#[actix_web::test]
async fn every_405_carries_allow_with_the_methods_the_route_takes() {
    let app = spawn_app().await;
    let doc = openapi3_json();
    let documented = doc["paths"].as_object().unwrap().keys().cloned();
    let others = OTHER_ROUTES.iter().map(|(p, _)| p.to_string());
    for pattern in documented.chain(others) {
        let allowed = allowed_methods(&pattern);
        assert!(!allowed.is_empty(), "{pattern}");
        for method in ["TRACE", "PATCH", "OPTIONS"] {
            let req = app
                .client
                .request(method.parse().unwrap(), app.url(&sample(&pattern)))
                .insert_header(("Authorization", app.auth()));
            let res = send(req, None).await;
            assert_eq!(res.status, 405, "{method} {pattern}: {}", res.text);
            assert_eq!(res.body["statusCode"], 405);
            assert_eq!(
                res.header("allow"),
                Some(allowed.join(", ").as_str()),
                "{method} {pattern}"
            );
        }
        for method in allowed {
            let req = app
                .client
                .request(method.parse().unwrap(), app.url(&sample(&pattern)))
                .insert_header(("Authorization", app.auth()));
            assert_ne!(send(req, None).await.status, 405, "{method} {pattern}");
        }
    }
}

#[actix_web::test]
async fn what_the_documents_call_invalid_is_refused_before_livechat() {
    let app = spawn_app().await;
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/tickets?page=2147483648".into(), None),
        ("GET", "/tickets?page=".into(), None),
        ("GET", "/tickets?date_to=".into(), None),
        ("GET", "/tickets?status=".into(), None),
        ("GET", "/tickets?colour=blue".into(), None),
        ("GET", "/tickets?=".into(), None),
        (
            "POST",
            "/agents".into(),
            Some(json!({"login": "new@example.com", "name": "New", "password": ""})),
        ),
        (
            "POST",
            "/agents".into(),
            Some(json!({"login": "new@example.com", "name": "New", "permission": ""})),
        ),
        (
            "POST",
            "/tickets".into(),
            Some(
                json!({"message": "m", "requester": {"mail": "r@example.com"}, "source": [null, null]}),
            ),
        ),
        (
            "POST",
            "/tickets".into(),
            Some(json!({"message": "m", "requester": ["r@example.com"]})),
        ),
        (
            "POST",
            "/tickets".into(),
            Some(
                json!({"message": "m", "requester": {"mail": "r@example.com"}, "assignee": {"id": ""}}),
            ),
        ),
        (
            "PUT",
            "/tickets/ABCDE/tags".into(),
            Some(json!({"requester": {"mail": "r@example.com"}, "tags": ["a"], "subject": " "})),
        ),
        (
            "PUT",
            "/tickets/ABCDE/tags".into(),
            Some(json!({"requester": {"mail": "r@example.com"}, "tags": ["x".repeat(101)]})),
        ),
        (
            "POST",
            format!("{CHAT_STARTS}?event_type=chat_started&extra=1"),
            Some(json!({"url": "https://example.com/cb"})),
        ),
        (
            "POST",
            format!("{CHAT_STARTS}?event_type=&data_types="),
            Some(json!({"url": "https://example.com/cb"})),
        ),
        (
            "POST",
            CHAT_STARTS.into(),
            Some(json!({"url": "https://example.com/a b"})),
        ),
        (
            "POST",
            CHAT_STARTS.into(),
            Some(json!({"url": "https://example.com*/cb"})),
        ),
        (
            "POST",
            CHAT_STARTS.into(),
            Some(json!({"url": "https://example.com/cb?x=%zz"})),
        ),
        (
            "POST",
            CHAT_STARTS.into(),
            Some(json!({"url": "https://example.com/cb?x=]"})),
        ),
    ];
    for (method, path, body) in cases {
        let req = match method {
            "GET" => app.get(&path),
            "POST" => app.post(&path),
            _ => app.put(&path),
        };
        let res = send(req, body.as_ref()).await;
        assert_eq!(res.status, 400, "{method} {path} {body:?}: {}", res.text);
        assert_eq!(res.body["statusCode"], 400);
    }
    assert!(
        app.fake.requests().is_empty(),
        "nothing reached LiveChat: {:?}",
        app.fake
            .requests()
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );
}

#[actix_web::test]
async fn what_the_documents_call_valid_is_served() {
    let app = spawn_app().await;
    // `null` is "not given" on every optional field (the documents say nullable).
    let res = send(
        app.post("/tickets"),
        Some(
            &json!({"message": "m", "requester": {"mail": "r@example.com", "name": null},
            "subject": null, "assignee": null, "source": {"type": null, "url": null}}),
        ),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let id = res.body["id"].as_str().unwrap().to_string();
    let res = send(
        app.put(&format!("/tickets/{id}/tags")),
        Some(&json!({"requester": {"mail": "r@example.com"}, "tags": [], "message": "", "subject": null})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = send(
        app.post("/agents"),
        Some(
            &json!({"login": "n@example.com", "name": "N", "job_title": null,
            "login_status": null, "permission": null, "password": null, "max_chats_count": ""}),
        ),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = send(app.get("/tickets?page=2147483647&order=asc"), None).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[actix_web::test]
async fn livechat_refusing_a_well_formed_change_is_a_409() {
    let app = spawn_app().await;
    let agent = json!({"login": "twice@example.com", "name": "Twice"});
    assert_eq!(send(app.post("/agents"), Some(&agent)).await.status, 200);
    let again = send(app.post("/agents"), Some(&agent)).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(again.body["message"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    // The account's owner cannot be removed.
    let owner = send(app.delete(&format!("/agents/{}", app.login)), None).await;
    assert_eq!(owner.status, 409, "{}", owner.text);
    let doc = openapi3_json();
    for (path, method) in [("/agents", "post"), ("/agents/{login}", "delete")] {
        assert!(
            doc["paths"][path][method]["responses"]["409"].is_object(),
            "{method} {path} documents its 409"
        );
    }
}

#[test]
fn subscribe_links_to_delete_hook() {
    let doc = openapi3_json();
    let link = &doc["paths"][CHAT_STARTS]["post"]["responses"]["201"]["links"]["DeleteHook"];
    assert_eq!(link["operationId"], "DeleteHook");
    assert_eq!(link["parameters"]["hookId"], "$response.body#/id");
}
