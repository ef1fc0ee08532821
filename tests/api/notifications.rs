//! What a flow receives validates against the trigger's notification schema in the connector
//! definition, whatever shape LiveChat's webhook takes.

use livechat_gateway::fake_livechat::Quirks;
use livechat_gateway::openapi;
use serde_json::{json, Value};

use crate::helpers::*;

fn validator(definition: &str) -> jsonschema::Validator {
    let swagger = openapi::swagger2(None);
    let schema = json!({
        "definitions": swagger["definitions"],
        "$ref": format!("#/definitions/{definition}"),
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the notification schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, body: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {}\n{body:#}", errors.join("\n"));
}

#[actix_web::test]
async fn fired_events_validate_against_the_notification_schemas() {
    let chat_schema = validator("WebhookChatResponse");
    let ticket_schema = validator("WebhookTicketResponse");
    let quirk_sets = [
        Quirks::default(),
        Quirks {
            webhook_guessed_fields: true,
            chat_started_has_ended_timestamp: true,
            ..Quirks::default()
        },
        Quirks {
            webhook_ticket_rest_shape: true,
            delivery_token_differs: true,
            ..Quirks::default()
        },
    ];
    for quirks in quirk_sets {
        let app = spawn_app().await;
        app.fake.set_quirks(quirks.clone());
        let cb = Callback::spawn().await;
        for route in [CHAT_STARTS, CHAT_ENDS, TICKET_CREATED] {
            app.subscribe(route, &cb.url).await;
        }
        let mut expected = 0;
        for event in ["chat_started", "chat_ended", "ticket_created"] {
            let sent = app.fake.fire(Some(&app.login), event).await;
            assert_eq!(sent.len(), 1, "{event}: one subscribed webhook");
            assert_eq!(sent[0].status, Some(200), "{event}: the gateway took it");
            expected += 1;
            wait_for("the notification", || cb.received().len() == expected).await;
            let got = cb.received()[expected - 1].clone();
            let what = format!("{event} with {quirks:?}");
            assert!(
                got["event_unique_id"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{what}"
            );
            assert!(
                got.get("token").is_none() && got.get("license_id").is_none(),
                "{what}: LiveChat's credentials stay behind"
            );
            if event == "ticket_created" {
                assert_valid(&ticket_schema, &got, &what);
                assert!(got["ticket"]["id"].is_string());
            } else {
                assert_valid(&chat_schema, &got, &what);
                assert!(
                    got["chat"]["started_timestamp"]
                        .as_str()
                        .is_some_and(|s| s.ends_with('Z')),
                    "{what}"
                );
            }
        }
        // The intake URL's token is a credential of its own: it stays out of the log.
        let logs = LOGS.lock().unwrap().clone();
        assert!(
            logs.iter().any(|l| l.contains("/livechat/events/")),
            "intake calls are logged"
        );
        for hook in app.fake.webhooks(&app.login) {
            let url = hook["url"].as_str().unwrap();
            let token = url.rsplit('/').next().unwrap();
            assert!(token.len() >= 32, "{url}");
            assert!(
                logs.iter().all(|l| !l.contains(token)),
                "a log line holds an intake token"
            );
        }
    }
}

#[actix_web::test]
async fn a_redelivered_event_reaches_the_flow_once() {
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    app.subscribe(TICKET_CREATED, &cb.url).await;
    let first = app
        .fake
        .fire(Some(&app.login), "ticket_created")
        .await
        .remove(0);
    assert_eq!(first.status, Some(200));
    // LiveChat retries the same delivery (it did not see our 200 in time, say).
    let again = app
        .fake
        .deliver(&first.webhook_id, first.payload.clone())
        .await;
    assert_eq!(again.status, Some(200), "a duplicate is acknowledged");
    app.wait_until_settled().await;
    let other = app
        .fake
        .fire(Some(&app.login), "ticket_created")
        .await
        .remove(0);
    assert_eq!(other.status, Some(200));
    wait_for("the second ticket", || cb.received().len() >= 2).await;
    app.wait_until_settled().await;
    let ids: Vec<_> = cb
        .received()
        .iter()
        .map(|n| n["ticket"]["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![
            first.payload["ticket"]["id"].clone(),
            other.payload["ticket"]["id"].clone()
        ]
    );
}
