//! The connector's actions and triggers as a flow sees them, run once per LiveChat API
//! generation: the same requests must give the same contract on REST v2 and on Configuration
//! API v3.6 + HelpDesk.
//! (The exact v2 wire is pinned in `actions.rs`; v3-only paths are in `v3.rs`.)

use std::future::Future;

use serde_json::{json, Value};

use crate::helpers::{
    send, spawn_app_on, wait_for, Callback, Generation, TestApp, CHAT_ENDS, CHAT_STARTS,
    TICKET_CREATED,
};

/// Runs `test` against a fresh gateway for each generation.
async fn each_generation<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for generation in [Generation::V2, Generation::V3] {
        log::info!("contract suite on {generation:?}");
        test(spawn_app_on(generation, |_| {}).await).await;
    }
}

fn is_rfc3339_ms(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

async fn create_ticket(app: &TestApp, subject: &str, assignee: Option<&str>) -> Value {
    let mut body = json!({"message": "My shoes are broken",
        "requester": {"mail": "mary@example.com", "name": "Mary"}, "subject": subject});
    if let Some(a) = assignee {
        body["assignee"] = json!({ "id": a });
    }
    let res = send(app.post("/tickets"), Some(&body)).await;
    assert_eq!(res.status, 200, "{:?}: {}", app.generation, res.text);
    res.body
}

fn sorted(v: &Value) -> Vec<String> {
    let mut tags: Vec<String> = v
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| t.as_str().expect("a tag name").to_string())
        .collect();
    tags.sort();
    tags
}

#[actix_web::test]
async fn list_agents_shows_the_owner() {
    each_generation(|app| async move {
        let res = send(app.get("/agents"), None).await;
        assert_eq!(res.status, 200, "{:?}: {}", app.generation, res.text);
        let owner = res
            .body
            .as_array()
            .expect("an array")
            .iter()
            .find(|a| a["login"] == app.owner.as_str())
            .cloned()
            .expect("the owner is listed");
        assert_eq!(owner["permission"], "owner", "{:?}", app.generation);
        assert!(owner["name"].is_string() && owner["avatar"].is_string());
        assert_eq!(owner["status"], "accepting chats", "{:?}", app.generation);
    })
    .await;
}

#[actix_web::test]
async fn create_and_delete_an_agent() {
    each_generation(|app| async move {
        let g = app.generation;
        let body = json!({"login": "jenny@example.com", "name": "Jenny Doe",
            "permission": "administrator", "login_status": "accepting chats", "max_chats_count": "4"});
        let res = send(app.post("/agents"), Some(&body)).await;
        assert_eq!(res.status, 200, "{g:?}: {}", res.text);
        let agent = &res.body;
        assert_eq!(agent["login"], "jenny@example.com", "{g:?}");
        assert_eq!(agent["name"], "Jenny Doe", "{g:?}");
        assert_eq!(agent["permission"], "administrator", "{g:?}");
        assert_eq!(agent["max_chats_count"], 4, "{g:?}: an integer");
        assert_eq!(agent["job_title"], "Support Agent", "{g:?}");
        assert!(agent["status"].is_string(), "{g:?}");
        assert!(
            agent["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .all(|x| x["id"].is_i64() && x["name"].is_string()),
            "{g:?}: {}",
            agent["groups"]
        );
        assert!(agent.get("last_logout").is_none(), "{g:?}: never, not 1970");
        let listed = send(app.get("/agents"), None).await;
        assert!(listed.text.contains("jenny@example.com"), "{g:?}");

        let gone = send(app.delete("/agents/jenny@example.com"), None).await;
        assert_eq!(gone.status, 200, "{g:?}: {}", gone.text);
        assert!(gone.body["result"]
            .as_str()
            .unwrap()
            .contains("jenny@example.com"));
        let again = send(app.delete("/agents/jenny@example.com"), None).await;
        assert_eq!(again.status, 404, "{g:?}: {}", again.text);
        assert_eq!(again.body["statusCode"], 404);
    })
    .await;
}

#[actix_web::test]
async fn create_get_and_list_tickets() {
    each_generation(|app| async move {
        let g = app.generation;
        let created = create_ticket(&app, "Broken shoes", Some(&app.owner)).await;
        let id = created["id"].as_str().expect("an id").to_string();
        let t = &created;
        assert_eq!(t["subject"], "Broken shoes", "{g:?}");
        assert_eq!(t["status"], "open", "{g:?}");
        assert_eq!(t["requester"]["mail"], "mary@example.com", "{g:?}");
        assert_eq!(t["assignee"]["id"], app.owner.as_str(), "{g:?}: {t}");
        assert!(is_rfc3339_ms(&t["date"]), "{g:?}: {}", t["date"]);
        assert!(is_rfc3339_ms(&t["modified"]), "{g:?}");
        let first = &t["events"][0];
        assert_eq!(first["message"], "My shoes are broken", "{g:?}: {t}");
        assert_eq!(first["author"]["type"], "client", "{g:?}");
        assert!(is_rfc3339_ms(&first["date"]), "{g:?}");
        let got = send(app.get(&format!("/tickets/{id}")), None).await;
        assert_eq!(got.status, 200, "{g:?}: {}", got.text);
        assert_eq!(got.body["id"], id.as_str(), "{g:?}");
        assert_eq!(got.body["subject"], "Broken shoes", "{g:?}");

        create_ticket(&app, "Lost parcel", None).await;
        let all = send(app.get("/tickets?status=open&order=asc"), None).await;
        assert_eq!(all.status, 200, "{g:?}: {}", all.text);
        let list = all.body.as_array().expect("the tickets array");
        assert_eq!(list.len(), 2, "{g:?}");
        assert!(list.iter().all(|t| is_rfc3339_ms(&t["modified"])), "{g:?}");
        assert_eq!(all.header("x-total-pages"), Some("1"), "{g:?}");
        let found = send(app.get("/tickets?query=parcel"), None).await;
        let found = found.body.as_array().expect("an array").clone();
        assert_eq!(found.len(), 1, "{g:?}");
        assert_eq!(found[0]["subject"], "Lost parcel", "{g:?}");
        let mine = send(app.get(&format!("/tickets?assignee={}", app.owner)), None).await;
        let mine = mine.body.as_array().expect("an array").clone();
        assert_eq!(mine.len(), 1, "{g:?}: only the assigned ticket");
        assert_eq!(mine[0]["id"], id.as_str(), "{g:?}");
    })
    .await;
}

#[actix_web::test]
async fn update_ticket_replaces_the_tag_set() {
    each_generation(|app| async move {
        let g = app.generation;
        let id = create_ticket(&app, "tags", None).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("/tickets/{id}/tags");
        for tags in [
            json!(["sales", "feedback"]),
            json!(["vip", "sales"]),
            json!([]),
        ] {
            let body = json!({"requester": {"mail": "mary@example.com"}, "tags": tags});
            let res = send(app.put(&path), Some(&body)).await;
            assert_eq!(res.status, 200, "{g:?}: {}", res.text);
            assert_eq!(res.body["id"], id.as_str(), "{g:?}");
            assert_eq!(sorted(&res.body["tags"]), sorted(&tags), "{g:?}");
        }
        let refused = send(
            app.put(&path),
            Some(&json!({"requester": {"mail": "m@example.com"}})),
        )
        .await;
        assert_eq!(refused.status, 400, "{g:?}: no tags, no call");
    })
    .await;
}

#[actix_web::test]
async fn unknown_tickets_and_agents_are_404s_in_the_contract_shape() {
    each_generation(|app| async move {
        let g = app.generation;
        let unknown = match g {
            Generation::V2 => "ZZZZZ",
            Generation::V3 => "00000000-0000-4000-8000-000000000000",
        };
        let res = send(app.get(&format!("/tickets/{unknown}")), None).await;
        assert_eq!(res.status, 404, "{g:?}: {}", res.text);
        assert_eq!(res.body["statusCode"], 404, "{g:?}");
        assert!(res.body["message"].is_string(), "{g:?}");
        let agent = send(app.delete("/agents/nobody@example.com"), None).await;
        assert_eq!(agent.status, 404, "{g:?}: {}", agent.text);
    })
    .await;
}

/// The webhooks this gateway holds at the fake LiveChat for the app's account, whichever face.
fn upstream_hooks(app: &TestApp) -> usize {
    match app.generation {
        Generation::V2 => app.fake.webhooks(&app.owner).len(),
        Generation::V3 => app.fake.v3_webhooks(&app.owner).len(),
    }
}

/// LiveChat firing `event_type` for the app's account: a webhook delivery on either face, and
/// for tickets on v3 the poll interval passing (HelpDesk is polled, not pushed).
async fn livechat_fires(app: &TestApp, event_type: &str) {
    for d in app.fake.fire(Some(&app.owner), event_type).await {
        assert_eq!(d.status, Some(200), "{:?}: {:?}", app.generation, d.payload);
    }
    if event_type == "ticket_created" {
        app.clock.advance_ms(60_000);
    }
}

#[actix_web::test]
async fn chat_triggers_reach_the_flow_and_unsubscribe() {
    each_generation(|app| async move {
        let g = app.generation;
        let started = Callback::spawn().await;
        let ended = Callback::spawn().await;
        let (_, start_loc) = app.subscribe(CHAT_STARTS, &started.url).await;
        let (_, end_loc) = app.subscribe(CHAT_ENDS, &ended.url).await;
        assert_eq!(upstream_hooks(&app), 2, "{g:?}");

        livechat_fires(&app, "chat_started").await;
        wait_for("chat_started", || started.received().len() == 1).await;
        let n = &started.received()[0];
        assert!(n["chat"]["id"].is_string(), "{g:?}: {n}");
        assert!(is_rfc3339_ms(&n["chat"]["started_timestamp"]), "{g:?}: {n}");
        let first = &n["chat"]["messages"][0];
        assert_eq!(first["user_type"], "visitor", "{g:?}: {n}");
        assert!(
            first["text"].is_string() && is_rfc3339_ms(&first["timestamp"]),
            "{g:?}"
        );
        assert!(n["visitor"]["name"].is_string(), "{g:?}: {n}");
        assert_eq!(n["pre_chat_survey"][0]["type"], "name", "{g:?}: {n}");
        assert!(n["event_unique_id"].is_string(), "{g:?}");

        livechat_fires(&app, "chat_ended").await;
        wait_for("chat_ended", || ended.received().len() == 1).await;
        let n = &ended.received()[0];
        assert!(is_rfc3339_ms(&n["chat"]["ended_timestamp"]), "{g:?}: {n}");
        assert_eq!(n["chat"]["messages"][1]["user_type"], "agent", "{g:?}: {n}");
        assert_eq!(n["chat"]["tags"], json!(["sales"]), "{g:?}: {n}");
        assert_eq!(
            started.received().len(),
            1,
            "{g:?}: each trigger its own event"
        );

        assert_eq!(
            app.delete_at(&start_loc, Some((&app.login, &app.api_key)))
                .await,
            204
        );
        assert_eq!(
            app.delete_at(&end_loc, Some((&app.login, &app.api_key)))
                .await,
            204
        );
        assert_eq!(upstream_hooks(&app), 0, "{g:?}: nothing left at LiveChat");
        livechat_fires(&app, "chat_started").await;
        app.wait_until_settled().await;
        assert_eq!(started.received().len(), 1, "{g:?}");
    })
    .await;
}

#[actix_web::test]
async fn ticket_created_reaches_the_flow_once() {
    each_generation(|app| async move {
        let g = app.generation;
        let before = create_ticket(&app, "Before the flow", None).await;
        let flow = Callback::spawn().await;
        app.subscribe(TICKET_CREATED, &flow.url).await;

        livechat_fires(&app, "ticket_created").await;
        wait_for("ticket_created", || flow.received().len() == 1).await;
        let n = &flow.received()[0];
        let t = &n["ticket"];
        assert!(t["id"].is_string() && t["id"] != before["id"], "{g:?}: {n}");
        assert!(
            t["subject"]
                .as_str()
                .unwrap()
                .starts_with("Question about order"),
            "{g:?}: {n}"
        );
        assert!(t["requester"]["mail"].is_string(), "{g:?}: {n}");
        assert_eq!(t["status"], "open", "{g:?}");
        assert!(is_rfc3339_ms(&t["events"][0]["date"]), "{g:?}: {n}");
        assert!(n["event_unique_id"].is_string(), "{g:?}");

        app.clock.advance_ms(60_000);
        app.assert_nothing_due("no ticket fires twice").await;
        app.wait_until_settled().await;
        assert_eq!(flow.received().len(), 1, "{g:?}");
    })
    .await;
}
