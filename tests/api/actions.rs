//! The seven actions: the exact call LiveChat gets and the normalised answer the flow gets.

use livechat_gateway::fake_livechat::{Quirks, RecordedRequest};
use serde_json::{json, Value};

use crate::helpers::{send, spawn_app, TestApp};

fn last_request(app: &TestApp) -> RecordedRequest {
    app.fake.requests().pop().expect("LiveChat was called")
}

fn header<'a>(r: &'a RecordedRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn assert_upstream(app: &TestApp, r: &RecordedRequest, method: &str, path: &str) {
    assert_eq!(r.method, method);
    assert_eq!(r.path, path);
    assert_eq!(header(r, "x-api-version"), Some("2"));
    assert_eq!(
        header(r, "authorization"),
        Some(app.auth().as_str()),
        "the caller's own Basic pair"
    );
}

fn is_rfc3339_ms(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

async fn create_ticket(app: &TestApp, subject: &str) -> Value {
    let body = json!({"message": "My shoes are broken", "requester": {"mail": "mary@example.com", "name": "Mary"},
        "subject": subject, "source": {"type": "mail"}});
    let res = send(app.post("/tickets"), Some(&body)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

#[actix_web::test]
async fn list_agents_returns_the_agents_with_the_callers_credentials() {
    let app = spawn_app().await;
    let res = send(app.get("/agents"), None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_upstream(&app, &last_request(&app), "GET", "/agents");
    let agents = res.body.as_array().expect("an array");
    let owner = agents
        .iter()
        .find(|a| a["login"] == app.login.as_str())
        .expect("the owner is listed");
    assert_eq!(owner["permission"], "owner");
    assert!(owner.get("name").is_some());
}

#[actix_web::test]
async fn create_agent_maps_fields_and_normalises_the_answer() {
    let app = spawn_app().await;
    let body = json!({"login": "jenny@example.com", "name": "Jenny Doe", "permission": "administrator",
        "login_status": "accepting chats", "job_title": "Support Agent", "password": "s3cret",
        "max_chats_count": "4"});
    let res = send(app.post("/agents"), Some(&body)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let sent = last_request(&app);
    assert_upstream(&app, &sent, "POST", "/agents");
    assert_eq!(sent.body["login"], "jenny@example.com");
    assert_eq!(sent.body["name"], "Jenny Doe");
    assert_eq!(sent.body["permission"], "administrator");
    assert_eq!(sent.body["login_status"], "accepting chats");
    assert_eq!(
        sent.body["max_chats_count"], 4,
        "a string on input, a number for LiveChat"
    );
    let agent = res.body;
    assert_eq!(agent["login"], "jenny@example.com");
    assert_eq!(agent["max_chats_count"], 4);
    assert!(agent["groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g.is_object() && g["id"].is_i64()));
    assert!(
        agent.get("last_logout").is_none(),
        "0 means never: absent, not 1970"
    );
    assert!(agent.get("status").is_some());
}

#[actix_web::test]
async fn delete_agent_removes_it() {
    let app = spawn_app().await;
    let created = send(
        app.post("/agents"),
        Some(&json!({"login": "gone@example.com", "name": "Gone"})),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let res = send(app.delete("/agents/gone@example.com"), None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_upstream(
        &app,
        &last_request(&app),
        "DELETE",
        "/agents/gone@example.com",
    );
    assert!(res.body["result"]
        .as_str()
        .unwrap()
        .contains("gone@example.com"));
    let again = send(app.delete("/agents/gone@example.com"), None).await;
    assert_eq!(again.status, 404, "LiveChat's 404 is carried over");
    assert_eq!(again.body["statusCode"], 404);
}

#[actix_web::test]
async fn create_and_get_ticket_normalise_dates_and_groups() {
    let app = spawn_app().await;
    let created = create_ticket(&app, "Broken shoes").await;
    let sent = app
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_upstream(&app, &sent, "POST", "/tickets");
    assert_eq!(sent.body["message"], "My shoes are broken");
    assert_eq!(sent.body["requester"]["mail"], "mary@example.com");
    assert_eq!(sent.body["requester"]["name"], "Mary");
    assert_eq!(sent.body["source"]["type"], "mail");
    let id = created["id"].as_str().expect("an id").to_string();
    assert!(
        is_rfc3339_ms(&created["date"]),
        "created date: {}",
        created["date"]
    );
    assert!(is_rfc3339_ms(&created["events"][0]["date"]));

    let res = send(app.get(&format!("/tickets/{id}")), None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_upstream(&app, &last_request(&app), "GET", &format!("/tickets/{id}"));
    let t = res.body;
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["subject"], "Broken shoes");
    assert!(is_rfc3339_ms(&t["modified"]));
    assert!(t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g.is_object() && g["id"].is_i64()));
    assert_eq!(t["requester"]["mail"], "mary@example.com");
}

#[actix_web::test]
async fn create_ticket_with_assignee_from_the_dropdown() {
    let app = spawn_app().await;
    let body = json!({"message": "Hi", "requester": {"mail": "a@example.com"},
        "assignee": {"id": app.login}, "source": {"type": "chat-window", "url": "https://shop.example.com/cart"}});
    let res = send(app.post("/tickets"), Some(&body)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let sent = last_request(&app);
    assert_eq!(sent.body["assignee"]["id"], app.login.as_str());
    assert_eq!(sent.body["source"]["url"], "https://shop.example.com/cart");
}

#[actix_web::test]
async fn list_tickets_passes_filters_and_returns_the_array() {
    let app = spawn_app().await;
    create_ticket(&app, "one").await;
    create_ticket(&app, "two").await;
    let res = send(
        app.get("/tickets?status=open&order=asc&page=1&date_from=2000-01-01&query=shoes"),
        None,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let sent = last_request(&app);
    assert_upstream(&app, &sent, "GET", "/tickets");
    for part in [
        "status=open",
        "order=asc",
        "page=1",
        "date_from=2000-01-01",
        "query=shoes",
    ] {
        assert!(
            sent.query.split('&').any(|p| p == part),
            "{part} in {}",
            sent.query
        );
    }
    let tickets = res
        .body
        .as_array()
        .expect("the tickets array, not the envelope");
    assert_eq!(tickets.len(), 2);
    assert!(tickets.iter().all(|t| is_rfc3339_ms(&t["modified"])));
    assert_eq!(res.header("x-total-count"), Some("2"));
}

#[actix_web::test]
async fn update_ticket_replaces_tags_whatever_envelope_livechat_answers() {
    let app = spawn_app().await;
    let id = create_ticket(&app, "tags").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for envelope in [false, true] {
        app.fake.set_quirks(Quirks {
            update_tags_returns_envelope: envelope,
            ..Quirks::default()
        });
        let tags = if envelope {
            json!(["vip"])
        } else {
            json!(["sales", "feedback"])
        };
        let body = json!({"requester": {"mail": "mary@example.com"}, "tags": tags});
        let res = send(app.put(&format!("/tickets/{id}/tags")), Some(&body)).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let sent = app
            .fake
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.method == "PUT")
            .unwrap();
        assert_upstream(&app, &sent, "PUT", &format!("/tickets/{id}/tags"));
        assert_eq!(
            sent.body,
            json!({"tag": tags}),
            "tags are sent as `tag`, nothing else"
        );
        assert_eq!(res.body["id"], id.as_str(), "one ticket, not the envelope");
        assert_eq!(res.body["tags"], tags);
    }
    let cleared = send(
        app.put(&format!("/tickets/{id}/tags")),
        Some(&json!({"requester": {"mail": "m@example.com"}, "tags": []})),
    )
    .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(
        cleared.body["tags"],
        json!([]),
        "an explicit empty array clears them"
    );
}

#[actix_web::test]
async fn update_ticket_refuses_what_livechat_cannot_change() {
    let app = spawn_app().await;
    let id = create_ticket(&app, "x").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.fake.clear_requests();
    let res = send(app.put(&format!("/tickets/{id}/tags")),
        Some(&json!({"requester": {"mail": "m@example.com"}, "subject": "new", "assignee": {"id": "a@example.com"}, "tags": ["a"]}))).await;
    assert_eq!(res.status, 400);
    let msg = res.body["message"].as_str().unwrap();
    assert!(
        msg.contains("subject") && msg.contains("assignee.id") && msg.contains("tags"),
        "{msg}"
    );
    let res = send(
        app.put(&format!("/tickets/{id}/tags")),
        Some(&json!({"requester": {"mail": "m@example.com"}})),
    )
    .await;
    assert_eq!(
        res.status, 400,
        "no tags: nothing is sent, so nothing is wiped"
    );
    assert!(app.fake.requests().is_empty(), "nothing reached LiveChat");
}

#[actix_web::test]
async fn every_uncertain_livechat_shape_gives_the_flow_the_same_answer() {
    let app = spawn_app().await;
    let quirks = [
        Quirks {
            ticket_groups_as_objects: true,
            ..Quirks::default()
        },
        Quirks {
            ticket_dates_iso: true,
            ..Quirks::default()
        },
        Quirks {
            list_tickets_bare_array: true,
            ..Quirks::default()
        },
        Quirks {
            creates_return_201: true,
            agent_create_includes_license_id: true,
            ..Quirks::default()
        },
        Quirks {
            update_tags_returns_envelope: true,
            ..Quirks::default()
        },
    ];
    for (i, q) in quirks.into_iter().enumerate() {
        app.fake.set_quirks(q.clone());
        let t = create_ticket(&app, &format!("quirk {i}")).await;
        let id = t["id"].as_str().expect("id").to_string();
        for res in [
            send(app.get(&format!("/tickets/{id}")), None).await,
            send(
                app.put(&format!("/tickets/{id}/tags")),
                Some(&json!({"requester": {"mail": "m@example.com"}, "tags": ["q"]})),
            )
            .await,
        ] {
            assert_eq!(res.status, 200, "{q:?}: {}", res.text);
            assert!(
                is_rfc3339_ms(&res.body["date"]) && is_rfc3339_ms(&res.body["modified"]),
                "{q:?}: {}",
                res.text
            );
            assert!(
                res.body["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|g| g["id"].is_i64()),
                "{q:?}"
            );
            assert!(
                res.body["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|e| is_rfc3339_ms(&e["date"])),
                "{q:?}"
            );
        }
        let list = send(app.get("/tickets"), None).await;
        assert_eq!(list.status, 200, "{q:?}: {}", list.text);
        assert!(list.body.as_array().is_some_and(|l| !l.is_empty()), "{q:?}");
        let agent = send(
            app.post("/agents"),
            Some(&json!({"login": format!("q{i}@example.com"), "name": "Q"})),
        )
        .await;
        assert_eq!(
            agent.status, 200,
            "{q:?}: a 201 from LiveChat is still a success: {}",
            agent.text
        );
        assert!(agent.body["groups"].as_array().is_some());
    }
}
