//! Triggers on LiveChat API v3 where they differ from v2 (the shared contract is in
//! `generations.rs`): one upstream webhook per account and trigger fanned out to every
//! subscription, `secret_key` checked, the webhook removed with its last subscription, the
//! chat's details for `chat_ended`, and HelpDesk's polling mark surviving a restart.

use livechat_gateway::fake_livechat::InjectedResponse;
use serde_json::{json, Value};

use crate::helpers::*;

async fn v3_app() -> TestApp {
    spawn_app_on(Generation::V3, |_| {}).await
}

/// The v3 webhooks of an account at the fake, for one action.
fn hooks(app: &TestApp, owner: &str, action: &str) -> Vec<Value> {
    app.fake
        .v3_webhooks(owner)
        .into_iter()
        .filter(|h| h["action"] == action)
        .collect()
}

/// A second v3 account at the same fake: (owner e-mail, account ID, token).
fn other_v3_account(app: &TestApp) -> (String, String, String) {
    let (owner, key) = app.other_account();
    let id = app.fake.account_id(&owner).expect("an account ID");
    (owner, id, key)
}

#[actix_web::test]
async fn one_webhook_per_account_fans_out_to_every_subscription() {
    let app = v3_app().await;
    let flows = [
        Callback::spawn().await,
        Callback::spawn().await,
        Callback::spawn().await,
    ];
    for f in &flows {
        app.subscribe(CHAT_STARTS, &f.url).await;
    }
    let (other_owner, other_id, other_key) = other_v3_account(&app);
    let theirs = Callback::spawn().await;
    let (status, body, _) = app
        .subscribe_as(CHAT_STARTS, &theirs.url, &other_id, &other_key)
        .await;
    assert_eq!(status, 201, "{body}");
    // More flows than LiveChat allows webhooks per action: still one webhook per account.
    let more = Callback::spawn().await;
    app.subscribe(CHAT_STARTS, &more.url).await;
    let ours = hooks(&app, &app.owner, "incoming_chat");
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0]["owner_client_id"], "gateway-test-client");
    assert_eq!(ours[0]["type"], "license");
    assert!(ours[0]["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/livechat/v3/events/", app.address)));
    assert_eq!(hooks(&app, &other_owner, "incoming_chat").len(), 1);

    let sent = app.fake.fire(Some(&app.owner), "chat_started").await;
    assert_eq!(sent.len(), 1, "one delivery from LiveChat");
    assert_eq!(sent[0].status, Some(200));
    for f in flows.iter().chain([&more]) {
        wait_for("every flow of the account", || f.received().len() == 1).await;
    }
    let ids: Vec<Value> = flows
        .iter()
        .map(|f| f.received()[0]["event_unique_id"].clone())
        .collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "the same event for each: {ids:?}"
    );
    app.wait_until_settled().await;
    assert!(
        theirs.received().is_empty(),
        "another account's flow sees none of it"
    );

    app.fake.fire(Some(&other_owner), "chat_started").await;
    wait_for("the other account's flow", || theirs.received().len() == 1).await;
    app.wait_until_settled().await;
    assert_eq!(flows[0].received().len(), 1);
}

#[actix_web::test]
async fn a_delivery_without_the_webhook_secret_is_refused() {
    let app = v3_app().await;
    let flow = Callback::spawn().await;
    app.subscribe(CHAT_STARTS, &flow.url).await;
    // A genuine event first: it proves the account's organization.
    let sent = app.fake.fire(Some(&app.owner), "chat_started").await;
    wait_for("the genuine event", || flow.received().len() == 1).await;
    let org = sent[0].payload["organization_id"].clone();
    let hook = hooks(&app, &app.owner, "incoming_chat").remove(0);
    let url = hook["url"].as_str().unwrap().to_string();
    let chat = json!({"chat": {"id": "C1", "users": [], "thread": {"id": "T1", "events": []}}});
    let delivery = |secret: Value| {
        json!({"webhook_id": hook["id"], "secret_key": secret, "action": "incoming_chat",
            "organization_id": org, "payload": chat, "additional_data": {}})
    };
    let secret = hook["secret_key"].clone();
    let wrong = secret.as_str().unwrap().to_uppercase() + "x";
    let (status, body) = app.post_event(&url, &delivery(json!(wrong))).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["statusCode"], 401);
    let (status, _) = app.post_event(&url, &delivery(Value::Null)).await;
    assert_eq!(status, 400);
    let elsewhere = format!("{}/livechat/v3/events/AAAAAAAAAAAAAAAAAAAAAA", app.address);
    assert_eq!(
        app.post_event(&elsewhere, &delivery(secret.clone()))
            .await
            .0,
        404
    );
    let mut wrong_action = delivery(secret.clone());
    wrong_action["action"] = json!("chat_deactivated");
    assert_eq!(app.post_event(&url, &wrong_action).await.0, 400);
    app.wait_until_settled().await;
    assert_eq!(flow.received().len(), 1, "nothing refused reached the flow");

    let (status, body) = app.post_event(&url, &delivery(secret.clone())).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("accepted")));
    wait_for("the genuine delivery", || flow.received().len() == 2).await;
    assert_eq!(flow.received()[1]["chat"]["id"], "T1");
    let (_, again) = app.post_event(&url, &delivery(secret)).await;
    assert_eq!(
        again["status"], "duplicate",
        "LiveChat's retry is stored once"
    );
}

/// LiveChat sends an app's webhooks for every account that installed the app: each account's
/// flows still get only that account's chats.
#[actix_web::test]
async fn an_account_never_sees_another_accounts_chats() {
    let app = v3_app().await;
    app.fake
        .set_quirks(livechat_gateway::fake_livechat::Quirks {
            v3_webhooks_see_every_account: true,
            ..Default::default()
        });
    let ours = Callback::spawn().await;
    app.subscribe(CHAT_STARTS, &ours.url).await;
    app.subscribe(CHAT_ENDS, &ours.url).await;
    let (other_owner, other_id, other_key) = other_v3_account(&app);
    let theirs = Callback::spawn().await;
    for route in [CHAT_STARTS, CHAT_ENDS] {
        let (status, _, _) = app
            .subscribe_as(route, &theirs.url, &other_id, &other_key)
            .await;
        assert_eq!(status, 201);
    }
    for round in 1..=2 {
        for event in ["chat_started", "chat_ended"] {
            let sent = app.fake.fire(Some(&app.owner), event).await;
            assert_eq!(sent.len(), 2, "both accounts' webhooks get it");
            assert!(sent.iter().all(|d| d.status == Some(200)), "{sent:?}");
        }
        wait_for("our two notifications", || {
            ours.received().len() == 2 * round
        })
        .await;
    }
    app.fake.fire(Some(&other_owner), "chat_started").await;
    wait_for("their own chat", || theirs.received().len() == 1).await;
    app.fake.fire(Some(&app.owner), "chat_started").await;
    wait_for("ours again", || ours.received().len() == 5).await;
    app.wait_until_settled().await;
    assert_eq!(
        theirs.received().len(),
        1,
        "only their own chat: {:?}",
        theirs.received()
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("livechat_gateway_intake_events_total{outcome=\"other_account\"} 6"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn the_webhook_goes_when_the_last_subscription_leaves() {
    let app = v3_app().await;
    let (a, b) = (Callback::spawn().await, Callback::spawn().await);
    let (_, loc_a) = app.subscribe(CHAT_ENDS, &a.url).await;
    let (_, loc_b) = app.subscribe(CHAT_ENDS, &b.url).await;
    let creds = Some((app.login.as_str(), app.api_key.as_str()));
    assert_eq!(app.delete_at(&loc_a, creds).await, 204);
    assert_eq!(
        hooks(&app, &app.owner, "chat_deactivated").len(),
        1,
        "b still needs it"
    );
    app.fake.fire(Some(&app.owner), "chat_ended").await;
    wait_for("b's notification", || b.received().len() == 1).await;
    assert!(a.received().is_empty());
    assert_eq!(app.delete_at(&loc_b, creds).await, 204);
    assert!(hooks(&app, &app.owner, "chat_deactivated").is_empty());
    let unregister = app
        .fake
        .requests()
        .into_iter()
        .rfind(|r| r.path.ends_with("/unregister_webhook"))
        .expect("unregistered");
    assert_eq!(unregister.body["owner_client_id"], "gateway-test-client");

    // A flow that is gone (410) takes the webhook with it too.
    let gone = Callback::spawn().await;
    app.subscribe(CHAT_ENDS, &gone.url).await;
    assert_eq!(hooks(&app, &app.owner, "chat_deactivated").len(), 1);
    gone.answer_next(&[(410, None)]);
    app.fake.fire(Some(&app.owner), "chat_ended").await;
    eventually("the webhook removed", || async {
        hooks(&app, &app.owner, "chat_deactivated").is_empty()
    })
    .await;
}

#[actix_web::test]
async fn chat_ended_carries_the_chat_and_is_not_lost_without_it() {
    let app = v3_app().await;
    let flow = Callback::spawn().await;
    app.subscribe(CHAT_ENDS, &flow.url).await;
    // Until the account's organization is proven by reading a chat, LiveChat failing to
    // answer means "send it again" (503), not a guess.
    app.fake.push_response(InjectedResponse::default());
    let refused = app.fake.fire(Some(&app.owner), "chat_ended").await;
    assert_eq!(refused[0].status, Some(503));
    assert_eq!(app.counts().await.pending, 0);
    app.fake.fire(Some(&app.owner), "chat_ended").await;
    wait_for("the enriched notification", || flow.received().len() == 1).await;
    let full = &flow.received()[0];
    assert_eq!(
        full["chat"]["messages"].as_array().unwrap().len(),
        2,
        "{full}"
    );
    assert_eq!(
        full["visitor"]["email"].as_str().map(|e| e.contains('@')),
        Some(true)
    );
    assert!(app
        .fake
        .requests()
        .iter()
        .any(|r| r.path == "/v3.6/agent/action/get_chat"));

    // LiveChat failing get_chat: the flow still learns that the chat ended, and which one.
    app.fake.push_response(InjectedResponse::default());
    let sent = app.fake.fire(Some(&app.owner), "chat_ended").await;
    assert_eq!(sent[0].status, Some(200));
    wait_for("the bare notification", || flow.received().len() == 2).await;
    let bare = &flow.received()[1];
    assert_eq!(bare["chat"]["id"], sent[0].payload["payload"]["thread_id"]);
    assert!(bare["chat"]["ended_timestamp"].is_string(), "{bare}");
    assert_eq!(bare["chat"]["messages"], json!([]));
    assert!(app
        .metrics()
        .await
        .contains("livechat_gateway_chat_details_missing_total 1"));
}

/// GETs of HelpDesk's ticket list the poller made (its look for new tickets).
fn polls(app: &TestApp) -> usize {
    app.fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/tickets" && r.query.contains("createdDateFrom"))
        .count()
}

#[actix_web::test]
async fn ticket_polling_keeps_its_mark_across_a_restart() {
    let app = v3_app().await;
    let flow = Callback::spawn().await;
    app.subscribe(TICKET_CREATED, &flow.url).await;
    app.fake.fire(Some(&app.owner), "ticket_created").await;
    app.clock.advance_ms(59_000);
    let before = polls(&app);
    app.clock.advance_ms(1_000);
    eventually("a poll once the interval passed", || async {
        polls(&app) > before
    })
    .await;
    wait_for("the first ticket", || flow.received().len() == 1).await;
    app.wait_until_settled().await;

    let app = app.restart().await;
    app.fake.fire(Some(&app.owner), "ticket_created").await;
    let before = polls(&app);
    app.clock.advance_ms(60_000);
    eventually("a poll after the restart", || async {
        polls(&app) > before
    })
    .await;
    let from = app
        .fake
        .requests()
        .into_iter()
        .rfind(|r| r.query.contains("createdDateFrom"))
        .map(|r| r.query_json()["createdDateFrom"].clone())
        .unwrap();
    let first_created = flow.received()[0]["ticket"]["date"]
        .as_str()
        .unwrap()
        .replace(".000Z", "Z");
    assert_eq!(
        from,
        json!(first_created),
        "the restarted gateway reads on from its mark"
    );
    wait_for("the second ticket", || flow.received().len() == 2).await;
    app.wait_until_settled().await;
    let got = flow.received();
    assert_ne!(
        got[0]["ticket"]["id"], got[1]["ticket"]["id"],
        "the first did not fire again"
    );
    let before = polls(&app);
    app.clock.advance_ms(60_000);
    eventually("another poll", || async { polls(&app) > before }).await;
    app.wait_until_settled().await;
    assert_eq!(flow.received().len(), 2);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("livechat_gateway_helpdesk_polls_total{outcome=\"ok\"}"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn the_sandbox_fires_v3_triggers() {
    use livechat_gateway::clock::SharedClock;
    use livechat_gateway::settings::{ApiChoice, Settings};
    use livechat_gateway::startup::Application;

    let dir = scratch_root().join(unique("lcgw-sandbox"));
    let mut settings = Settings::for_tests(
        "http://127.0.0.1:9".parse().unwrap(),
        format!("sqlite://{}/gateway.db", dir.display()),
    );
    settings.sandbox = true;
    settings.livechat_api = ApiChoice::V3;
    settings.livechat_client_id = None;
    let clock = livechat_gateway::clock::ManualClock::new(1_700_000_000_000);
    let app = Application::build_with_clock(settings, clock as SharedClock)
        .await
        .unwrap();
    let demo = app.demo().unwrap().clone();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = awc::Client::default();
    let flow = Callback::spawn().await;
    let res = client
        .post(format!("{base}{CHAT_STARTS}"))
        .basic_auth(&demo.account_id, &demo.api_key)
        .send_json(&json!({"url": flow.url}))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let mut fired = client
        .post(format!("{base}/sandbox/events/chat_started"))
        .send()
        .await
        .unwrap();
    let body: Value = fired.json().await.unwrap();
    assert_eq!(body["deliveries"][0]["status"], 200, "{body}");
    wait_for("the demo chat", || flow.received().len() == 1).await;
    assert!(flow.received()[0]["chat"]["messages"].is_array());
}

#[actix_web::test]
async fn a_webhook_removed_at_livechat_comes_back_with_the_next_subscription() {
    let app = v3_app().await;
    let first = Callback::spawn().await;
    app.subscribe(CHAT_STARTS, &first.url).await;
    let hook = hooks(&app, &app.owner, "incoming_chat").remove(0);
    let removed = app
        .client
        .post(format!(
            "{}/v3.6/configuration/action/unregister_webhook",
            app.fake.base_url()
        ))
        .insert_header(("Authorization", app.auth()))
        .send_json(&json!({"id": hook["id"], "owner_client_id": "gateway-test-client"}))
        .await
        .unwrap();
    assert_eq!(
        removed.status().as_u16(),
        200,
        "someone removes it in the console"
    );
    assert!(hooks(&app, &app.owner, "incoming_chat").is_empty());

    let second = Callback::spawn().await;
    app.subscribe(CHAT_STARTS, &second.url).await;
    let back = hooks(&app, &app.owner, "incoming_chat");
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0]["url"], hook["url"], "the same intake URL");
    app.fake.fire(Some(&app.owner), "chat_started").await;
    wait_for("both flows", || {
        first.received().len() == 1 && second.received().len() == 1
    })
    .await;
}
