//! What only LiveChat API v3 connections do: the account-ID pair and a User-Agent on every
//! call, what v3 cannot map refused before anything goes upstream, the region retry,
//! propagation lag, and retirement headers surfacing in `/metrics`.

use livechat_gateway::fake_livechat::{InjectedResponse, Quirks};
use livechat_gateway::settings::ApiChoice;
use serde_json::json;

use crate::helpers::{send, spawn_app_on, spawn_app_with, Generation};

#[actix_web::test]
async fn v3_calls_carry_the_account_pair_and_a_user_agent() {
    let app = spawn_app_on(Generation::V3, |_| {}).await;
    assert_eq!(send(app.get("/agents"), None).await.status, 200);
    assert_eq!(send(app.get("/tickets"), None).await.status, 200);
    let requests = app.fake.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    for want in [
        "/v3.6/configuration/action/list_agents",
        "/v3.6/agent/action/list_routing_statuses",
        "/v1/tickets",
    ] {
        assert!(paths.contains(&want), "{want} in {paths:?}");
    }
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(app.auth().as_str()),
            "{}",
            r.path
        );
        assert!(
            r.header("user-agent")
                .is_some_and(|ua| ua.starts_with("livechat-gateway/")),
            "{}",
            r.path
        );
        assert!(
            r.header("x-api-version").is_none(),
            "v2's header stays on v2"
        );
    }
}

#[actix_web::test]
async fn what_v3_cannot_do_is_refused_before_livechat() {
    let app = spawn_app_on(Generation::V3, |_| {}).await;
    for (body, mentions) in [
        (
            json!({"login": "p@example.com", "name": "P", "password": "s3cret"}),
            "password",
        ),
        (
            json!({"login": "p@example.com", "name": "P", "max_chats_count": 25}),
            "max_chats_count",
        ),
    ] {
        let res = send(app.post("/agents"), Some(&body)).await;
        assert_eq!(res.status, 400, "{}", res.text);
        assert!(res.body["message"].as_str().unwrap().contains(mentions));
    }
    assert!(app.fake.requests().is_empty(), "nothing reached LiveChat");

    let ticket = send(
        app.post("/tickets"),
        Some(&json!({"message": "m", "requester": {"mail": "m@example.com"}})),
    )
    .await;
    let id = ticket.body["id"].as_str().unwrap().to_string();
    let res = send(
        app.put(&format!("/tickets/{id}/tags")),
        Some(&json!({"requester": {"mail": "m@example.com"}, "tags": ["vip", "no-such-tag"]})),
    )
    .await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert!(res.body["message"]
        .as_str()
        .unwrap()
        .contains("no-such-tag"));
    assert!(
        !app.fake
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/tags")),
        "no tag was added when one name is unknown"
    );
}

#[actix_web::test]
async fn a_misdirected_request_is_retried_once_in_the_region_it_names() {
    let app = spawn_app_on(Generation::V3, |_| {}).await;
    app.fake.set_quirks(Quirks {
        v3_region: Some("fra".into()),
        ..Quirks::default()
    });
    let res = send(app.get("/agents"), None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let regions: Vec<Option<String>> = app
        .fake
        .requests()
        .iter()
        .map(|r| r.header("x-region").map(String::from))
        .collect();
    assert_eq!(regions[0], None, "no region is guessed");
    assert_eq!(regions[1].as_deref(), Some("fra"), "the retry names it");
    assert!(
        regions[2..].iter().all(|r| r.as_deref() == Some("fra")),
        "later calls go there at once: {regions:?}"
    );
    app.fake.clear_requests();
    assert_eq!(send(app.get("/agents"), None).await.status, 200);
    assert_eq!(
        app.fake.requests().len(),
        2,
        "remembered: no second refusal"
    );

    // A region that refuses too is not retried forever.
    app.fake.set_quirks(Quirks {
        v3_region: Some("dal".into()),
        ..Quirks::default()
    });
    app.fake.clear_requests();
    let res = send(app.get("/agents"), None).await;
    assert_eq!(res.status, 200, "moved to dal: {}", res.text);
    let refusal = InjectedResponse::json(
        421,
        json!({"error": {"type": "misdirected_request", "message": "Wrong region", "data": {"region": "elsewhere"}}}),
    );
    app.fake.push_response(refusal.clone());
    app.fake.push_response(refusal);
    app.fake.clear_requests();
    let res = send(app.get("/agents"), None).await;
    assert_eq!(res.status, 502, "{}", res.text);
    assert_eq!(app.fake.requests().len(), 2, "one retry, no more");
}

#[actix_web::test]
async fn a_created_agent_livechat_does_not_show_yet_is_answered_from_the_request() {
    let app = spawn_app_on(Generation::V3, |_| {}).await;
    app.fake.set_quirks(Quirks {
        v3_create_propagation_lag: true,
        ..Quirks::default()
    });
    let res = send(
        app.post("/agents"),
        Some(&json!({"login": "lag@example.com", "name": "Lag", "max_chats_count": 3})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["login"], "lag@example.com");
    assert_eq!(res.body["max_chats_count"], 3);
    assert_eq!(res.body["status"], "offline");
}

#[actix_web::test]
async fn an_email_username_on_a_v3_only_gateway_is_refused_clearly() {
    let app = spawn_app_with(|s| s.livechat_api = ApiChoice::V3).await;
    let res = send(app.get("/agents"), None).await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert!(res.body["message"].as_str().unwrap().contains("account ID"));
    assert!(app.fake.requests().is_empty());
}

#[actix_web::test]
async fn deprecation_headers_surface_in_metrics() {
    let app = spawn_app_on(Generation::V3, |_| {}).await;
    app.fake.set_quirks(Quirks {
        v3_deprecation: Some("2027-03-01".into()),
        v3_legacy: Some("2026-09-01".into()),
        ..Quirks::default()
    });
    for _ in 0..2 {
        assert_eq!(send(app.get("/agents"), None).await.status, 200);
    }
    assert_eq!(send(app.get("/tickets"), None).await.status, 200);
    let metrics = app.metrics().await;
    for line in [
        r#"livechat_gateway_upstream_retirement_notices_total{api="configuration v3.6",notice="deprecation"} 2"#,
        r#"livechat_gateway_upstream_retirement_notices_total{api="agent chat v3.6",notice="legacy"} 2"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(metrics.contains(r#"api="helpdesk v1",notice="deprecation"} "#));
    let logged = crate::helpers::LOGS.lock().unwrap().clone();
    let warnings = logged
        .iter()
        .filter(|l| l.contains("deprecation: 2027-03-01") && l.contains("configuration v3.6"))
        .count();
    assert_eq!(warnings, 1, "counted twice, logged once that day");
}
