//! Subscribe and unsubscribe: the three triggers, SSRF refusals, ownership, idempotent DELETE.

use serde_json::{json, Value};

use livechat_gateway::fake_livechat::InjectedResponse;

use crate::helpers::*;

#[actix_web::test]
async fn each_trigger_subscribes_relays_and_unsubscribes() {
    let app = spawn_app().await;
    let callback = Callback::spawn().await;
    let cases = [
        (
            CHAT_STARTS,
            "chat_started",
            json!(["chat", "visitor", "pre_chat_survey"]),
        ),
        (
            CHAT_ENDS,
            "chat_ended",
            json!(["chat", "visitor", "pre_chat_survey"]),
        ),
        (TICKET_CREATED, "ticket_created", json!(["ticket"])),
    ];
    for (n, (route, event_type, data_types)) in cases.into_iter().enumerate() {
        let (id, location) = app.subscribe(route, &callback.url).await;
        assert_eq!(id.len(), 22);
        assert_eq!(location, format!("{}/webhooks/{id}", app.address));

        let hooks = app.fake.webhooks(&app.login);
        assert_eq!(hooks.len(), 1, "{hooks:?}");
        assert_eq!(hooks[0]["event_type"], event_type);
        assert_eq!(hooks[0]["data_types"], data_types);
        let intake = app.intake_url(&id);
        let registration = app
            .fake
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.method == "POST")
            .unwrap();
        assert_eq!(registration.path, "/webhooks");
        assert_eq!(registration.body["url"], intake.as_str());
        assert!(
            intake.starts_with(&format!("{}/livechat/events/{id}/", app.address)),
            "{intake}"
        );

        let event = if event_type == "ticket_created" {
            ticket_event("CCWWM")
        } else {
            chat_event(event_type, "MH022RD0K5")
        };
        let (status, _) = app.post_event(&intake, &event).await;
        assert_eq!(status, 200);
        wait_for("the notification", || callback.received().len() == n + 1).await;
        let got = callback.received()[n].clone();
        assert!(
            got["event_unique_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{got}"
        );
        assert!(
            got.get("token").is_none() && got.get("license_id").is_none(),
            "{got}"
        );
        if event_type == "ticket_created" {
            assert_eq!(got["ticket"]["id"], "CCWWM");
            assert_eq!(
                got["ticket"]["groups"],
                json!([{"id": 0, "name": "All operators"}, {"id": 3}])
            );
            assert_eq!(
                got["ticket"]["events"][0]["date"],
                "2014-08-18T10:05:05.000Z"
            );
        } else {
            assert_eq!(got["chat"]["id"], "MH022RD0K5");
            assert_eq!(got["chat"]["started_timestamp"], "2013-01-23T10:40:53.000Z");
            assert_eq!(
                got["chat"]["messages"][0]["timestamp"],
                "2013-01-23T10:40:53.000Z"
            );
            assert_eq!(got["visitor"]["name"], "Mary Brown");
            assert_eq!(got["pre_chat_survey"][0]["answer"], "Mary Brown");
        }

        assert_eq!(
            app.delete_at(&location, Some((&app.login, &app.api_key)))
                .await,
            204
        );
        assert!(
            app.fake.webhooks(&app.login).is_empty(),
            "LiveChat webhook removed"
        );
        assert_eq!(
            app.delete_at(&location, Some((&app.login, &app.api_key)))
                .await,
            404
        );
        let (status, _) = app.post_event(&intake, &event).await;
        assert_eq!(status, 404, "intake closed with the subscription");
    }
    assert_eq!(app.counts().await.subscriptions, 0);
}

#[actix_web::test]
async fn query_parameters_are_checked() {
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    let post = |q: &str| {
        app.client
            .post(format!("{}{CHAT_STARTS}?{q}", app.address))
            .basic_auth(&app.login, &app.api_key)
            .send_json(&json!({"url": cb.url}))
    };
    assert_eq!(
        post("event_type=chat_ended")
            .await
            .unwrap()
            .status()
            .as_u16(),
        400
    );
    assert_eq!(
        post("data_types[]=ticket").await.unwrap().status().as_u16(),
        400
    );
    assert_eq!(
        post("event_type=chat_started&data_types[]=chat&data_types[]=visitor")
            .await
            .unwrap()
            .status()
            .as_u16(),
        201
    );
    assert_eq!(
        app.fake.webhooks(&app.login)[0]["data_types"],
        json!(["chat", "visitor"])
    );
    let (status, _, _) = app
        .subscribe_as(CHAT_STARTS, "", &app.login, &app.api_key)
        .await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn private_and_odd_callbacks_are_refused() {
    let app = spawn_app_with(|s| s.allow_private_callbacks = false).await;
    for url in [
        "http://127.0.0.1:9/cb",
        "http://localhost:9/cb",
        "http://10.1.2.3/cb",
        "http://192.168.0.10/cb",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/cb",
        "http://[::1]/cb",
        "http://[fe80::1]/cb",
        "http://[::ffff:127.0.0.1]/cb",
        "ftp://example.com/cb",
        "file:///etc/passwd",
        "not a url",
    ] {
        let (status, body, _) = app
            .subscribe_as(CHAT_STARTS, url, &app.login, &app.api_key)
            .await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["statusCode"], 400);
    }
    assert!(app.fake.requests().is_empty(), "nothing reached LiveChat");
    assert_eq!(app.counts().await.subscriptions, 0);
}

#[actix_web::test]
async fn only_the_owner_unsubscribes() {
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    let (id, location) = app.subscribe(CHAT_ENDS, &cb.url).await;

    // Another LiveChat account: the same 404 as for an unknown id.
    let (other_login, other_key) = app.other_account();
    assert_eq!(
        app.delete_at(&location, Some((&other_login, &other_key)))
            .await,
        404
    );
    // Credentials LiveChat refuses: 401, as on every other operation.
    assert_eq!(
        app.delete_at(&location, Some(("other@example.com", "other-key")))
            .await,
        401
    );
    assert_eq!(
        app.delete_at(&location, Some((&app.login, "a-different-key")))
            .await,
        401
    );
    assert_eq!(app.delete_at(&location, None).await, 401);
    assert_eq!(
        app.fake.webhooks(&app.login).len(),
        1,
        "the subscription survives"
    );
    assert_eq!(app.counts().await.subscriptions, 1);
    assert!(!app.fake.requests().iter().any(|r| r.method == "DELETE"));

    assert_eq!(
        app.delete_at(
            &format!("{}/webhooks/AAAAAAAAAAAAAAAAAAAAAA", app.address),
            Some((&app.login, &app.api_key))
        )
        .await,
        404
    );
    assert_eq!(
        app.delete_at(
            &format!("{}/webhooks/..%2F..", app.address),
            Some((&app.login, &app.api_key))
        )
        .await,
        404
    );

    assert_eq!(
        app.delete_at(&location, Some((&app.login, &app.api_key)))
            .await,
        204
    );
    assert_eq!(
        app.delete_at(&location, Some((&app.login, &app.api_key)))
            .await,
        404
    );
    assert!(app.fake.webhooks(&app.login).is_empty());
    let _ = id;
}

#[actix_web::test]
async fn a_livechat_refusal_stores_nothing() {
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    app.fake.push_response(InjectedResponse::json(
        400,
        json!({"errors": ["Invalid url"]}),
    ));
    let (status, body, location) = app
        .subscribe_as(TICKET_CREATED, &cb.url, &app.login, &app.api_key)
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["statusCode"], 400);
    assert!(
        body["message"].as_str().unwrap().contains("Invalid url"),
        "{body}"
    );
    assert!(location.is_none());
    assert_eq!(app.counts().await.subscriptions, 0);
}

#[actix_web::test]
async fn unsubscribe_succeeds_when_livechat_lost_the_webhook() {
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    let (_, location) = app.subscribe(CHAT_STARTS, &cb.url).await;
    // LiveChat lost the webhook on its side (removed in its web app, say).
    let hook = app.fake.webhooks(&app.login)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gone = app
        .client
        .delete(format!("{}/webhooks/{hook}", app.fake.base_url()))
        .basic_auth(&app.login, &app.api_key)
        .insert_header(("X-API-Version", "2"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status().as_u16(), 200);
    app.fake.clear_requests();
    assert_eq!(
        app.delete_at(&location, Some((&app.login, &app.api_key)))
            .await,
        204
    );
    let deletes: Vec<Value> = app
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| json!(r.path))
        .collect();
    assert_eq!(deletes.len(), 1);
}

#[actix_web::test]
async fn unsubscribing_keeps_the_events_already_accepted() {
    let app = spawn_app().await; // schedule 0s, 5s, ...
    let cb = Callback::spawn().await;
    cb.answer_next(&[(500, None)]);
    let (id, location) = app.subscribe(CHAT_STARTS, &cb.url).await;
    let intake = app.intake_url(&id);
    assert_eq!(
        app.post_event(&intake, &chat_event("chat_started", "KEPT"))
            .await
            .0,
        200
    );
    wait_for("the first attempt", || cb.attempts() == 1).await;
    app.wait_attempts_recorded(1).await;

    // The platform saves the flow: DELETE, then a new subscribe.
    let owner = Some((app.login.as_str(), app.api_key.as_str()));
    assert_eq!(app.delete_at(&location, owner).await, 204);
    assert!(
        app.fake.webhooks(&app.login).is_empty(),
        "LiveChat webhook removed"
    );
    assert_eq!(
        app.post_event(&intake, &chat_event("chat_started", "LATE"))
            .await
            .0,
        404,
        "a closed subscription takes no new events"
    );
    assert_eq!(app.delete_at(&location, owner).await, 404);
    let counts = app.counts().await;
    assert_eq!((counts.subscriptions, counts.pending), (0, 1));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("livechat_gateway_subscriptions 0"),
        "{metrics}"
    );
    app.subscribe(CHAT_STARTS, &cb.url).await;

    // The flow recovers: the accepted event still reaches it, once.
    app.clock.advance_ms(6_000);
    wait_for("the kept event", || cb.received().len() == 1).await;
    app.wait_until_settled().await;
    assert_eq!(cb.received()[0]["chat"]["id"], "KEPT");
    assert_eq!(cb.attempts(), 2);
    // The closed subscription is purged once it owes nothing (right after the outcome).
    app.wait_subscription_gone(&id).await;
    app.clock.advance_ms(600_000);
    app.assert_nothing_due("nothing left to deliver").await;
    assert_eq!(cb.received().len(), 1, "exactly once");
    assert_eq!(app.counts().await.subscriptions, 1);
}

#[actix_web::test]
async fn a_closed_subscription_whose_flow_is_gone_drops_its_events() {
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    cb.answer_next(&[(500, None), (410, None)]);
    let (id, location) = app.subscribe(TICKET_CREATED, &cb.url).await;
    let intake = app.intake_url(&id);
    for t in ["T1", "T2"] {
        assert_eq!(app.post_event(&intake, &ticket_event(t)).await.0, 200);
    }
    wait_for("the first attempt", || cb.attempts() == 1).await;
    app.wait_attempts_recorded(1).await;
    assert_eq!(
        app.delete_at(&location, Some((&app.login, &app.api_key)))
            .await,
        204
    );
    assert_eq!(app.counts().await.pending, 2);

    app.clock.advance_ms(6_000);
    wait_for("the 410", || cb.attempts() == 2).await;
    app.wait_until_settled().await;
    app.wait_subscription_gone(&id).await;
    assert!(cb.received().is_empty());
    let counts = app.counts().await;
    assert_eq!(
        (counts.subscriptions, counts.pending, counts.dead),
        (0, 0, 0)
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("livechat_gateway_notifications_dropped_total 2"),
        "{metrics}"
    );
    app.clock.advance_ms(600_000);
    app.assert_nothing_due("nothing left").await;
    assert_eq!(cb.attempts(), 2);
}
