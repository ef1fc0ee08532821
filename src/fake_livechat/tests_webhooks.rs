//! Webhook registration and delivery tests, with a small actix-web receiver.

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use super::tests::{call, call_form, fake, LOGIN};
use super::*;

type Inbox = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// Binds a receiver on 127.0.0.1:0 answering `status`; returns its URL and what it received
/// (Authorization header, JSON body).
async fn receiver(status: u16) -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let sink = inbox.clone();
    let server = HttpServer::new(move || {
        let sink = sink.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let sink = sink.clone();
            async move {
                let auth = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(String::from);
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                sink.lock().unwrap().push((auth, json));
                HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    (format!("http://{addr}/hook"), inbox)
}

async fn register(f: &FakeLiveChat, event: &str, types: &[&str], url: &str) -> Value {
    let body = json!({"event_type": event, "data_types": types, "url": url});
    let (s, hook) = call(f, "POST", "/webhooks", Some(body)).await;
    assert_eq!(s, 200, "{hook}");
    hook
}

fn is_hex32(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()))
}

#[actix_web::test]
async fn webhook_register_list_delete() {
    let f = fake().await;
    let hook = register(
        &f,
        "chat_started",
        &["chat", "visitor"],
        "https://gw.test/livechat/events/1/t",
    )
    .await;
    assert!(is_hex32(&hook["id"]) && is_hex32(&hook["token"]) && hook["licence"].is_u64());
    assert_eq!(
        (hook["verified"].as_bool(), hook["data_types"].clone()),
        (Some(true), json!(["chat", "visitor"]))
    );
    let (s, list) = call(&f, "GET", "/webhooks", None).await;
    assert_eq!((s, list), (200, json!({"events": [hook.clone()]})));
    assert_eq!(f.webhooks(LOGIN), vec![hook.clone()]);
    let path = format!("/webhooks/{}", hook["id"].as_str().unwrap());
    let (s, del) = call(&f, "DELETE", &path, None).await;
    assert_eq!(
        (s, del),
        (
            200,
            json!({"result": "Push notification removed successfully"})
        )
    );
    let (s, nf) = call(&f, "DELETE", &path, None).await;
    assert_eq!((s, nf), (404, json!({"error": "Not found"})));
    assert!(f.webhooks(LOGIN).is_empty());
}

#[actix_web::test]
async fn webhook_register_validates_input() {
    let f = fake().await;
    let cases = [
        json!({"event_type": "chat_exploded", "data_types": ["chat"], "url": "https://x.test/"}),
        json!({"event_type": "chat_started", "data_types": ["ticket"], "url": "https://x.test/"}),
        json!({"event_type": "ticket_created", "data_types": ["ticket"], "url": "ftp://x.test/"}),
        json!({"event_type": "ticket_created", "data_types": ["ticket"]}),
        json!({"event_type": "ticket_created", "url": "https://x.test/"}),
    ];
    for body in cases {
        let (s, err) = call(&f, "POST", "/webhooks", Some(body.clone())).await;
        assert_eq!(
            (s, err["errors"].as_array().map(Vec::len)),
            (400, Some(1)),
            "{body}"
        );
    }
    assert!(f.webhooks(LOGIN).is_empty());
}

#[actix_web::test]
async fn webhook_register_form_and_quirks() {
    let f = fake().await;
    f.set_quirks(Quirks {
        webhook_create_returns_envelope: true,
        omit_webhook_token: true,
        ..Quirks::default()
    });
    register(&f, "ticket_created", &["ticket"], "https://gw.test/a").await;
    let form = "event_type=chat_ended&data_types%5B%5D=chat&data_types[]=pre_chat_survey&url=https%3A%2F%2Fgw.test%2Fb";
    let (s, env) = call_form(&f, "POST", "/webhooks", form).await;
    assert_eq!(s, 200, "{env}");
    let events = env["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["data_types"], json!(["chat", "pre_chat_survey"]));
    assert!(events.iter().all(|e| e.get("token").is_none()));
    let token = f.webhook_token(events[1]["id"].as_str().unwrap());
    assert!(token.is_some_and(|t| is_hex32(&json!(t))));
}

#[actix_web::test]
async fn fire_chat_events_send_only_requested_data_types() {
    let f = fake().await;
    let (url, inbox) = receiver(200).await;
    let hook = register(&f, "chat_started", &["chat", "visitor"], &url).await;
    register(&f, "chat_ended", &["chat", "pre_chat_survey"], &url).await;
    let first = f.fire(Some(LOGIN), "chat_started").await;
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].status, first[0].webhook_id.as_str()),
        (Some(200), hook["id"].as_str().unwrap())
    );
    let got = inbox.lock().unwrap()[0].1.clone();
    assert_eq!(got, first[0].payload);
    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["chat", "event_type", "license_id", "token", "visitor"]
    );
    assert_eq!(
        (got["event_type"].clone(), got["token"].clone()),
        (json!("chat_started"), hook["token"].clone())
    );
    assert_eq!(got["license_id"], json!(hook["licence"].to_string()));
    assert!(
        got["chat"]["started_timestamp"].is_i64() && got["chat"].get("ended_timestamp").is_none()
    );
    assert_eq!(got["chat"]["id"].as_str().map(str::len), Some(10));
    assert!(got["chat"]["messages"][0]["text"].is_string() && got["visitor"]["email"].is_string());
    let second = f.fire(Some(LOGIN), "chat_started").await;
    assert_ne!(
        second[0].payload["chat"]["id"], got["chat"]["id"],
        "two fires, two events"
    );
    let ended = f.fire(None, "chat_ended").await;
    let chat = &ended[0].payload["chat"];
    assert!(chat["ended_timestamp"].as_i64() >= chat["started_timestamp"].as_i64());
    assert!(
        ended[0].payload["pre_chat_survey"].is_array() && ended[0].payload.get("visitor").is_none()
    );
    assert_eq!(inbox.lock().unwrap().len(), 3);
    assert!(f.fire(Some(LOGIN), "visitor_left").await.is_empty());
}

#[actix_web::test]
async fn fire_ticket_created_adds_the_ticket() {
    let f = fake().await;
    let (url, inbox) = receiver(202).await;
    register(&f, "ticket_created", &["ticket"], &url).await;
    let d = f.fire(Some(LOGIN), "ticket_created").await;
    assert_eq!(d[0].status, Some(202));
    let ticket = &inbox.lock().unwrap()[0].1["ticket"].clone();
    let id = ticket["id"].as_str().unwrap();
    assert_eq!(id.len(), 5);
    assert_eq!(
        ticket["groups"],
        json!([{"id": 0, "name": "All operators"}])
    );
    assert!(ticket["events"][0]["date"]
        .as_str()
        .is_some_and(|d| d.contains('T')));
    assert_eq!(
        (ticket["status"].as_str(), ticket["source"]["type"].as_str()),
        (Some("open"), Some("chat-window"))
    );
    let (s, rest) = call(&f, "GET", &format!("/tickets/{id}"), None).await;
    assert_eq!((s, rest["groups"].clone()), (200, json!([0])));
    let d2 = f.fire(None, "ticket_created").await;
    assert_ne!(d2[0].payload["ticket"]["id"], ticket["id"]);
    assert_eq!(f.tickets(LOGIN).len(), 2);
    f.set_quirks(Quirks {
        webhook_ticket_rest_shape: true,
        ..Quirks::default()
    });
    let d3 = f.fire(None, "ticket_created").await;
    assert!(d3[0].payload["ticket"]["events"][0]["date"].is_i64());
}

#[actix_web::test]
async fn fire_targets_only_the_chosen_account() {
    let f = fake().await;
    f.add_account("other@beta.test", "k2");
    let (url, inbox) = receiver(200).await;
    register(&f, "chat_started", &["chat"], &url).await;
    assert!(f
        .fire(Some("other@beta.test"), "chat_started")
        .await
        .is_empty());
    assert!(f
        .fire(Some("nobody@x.test"), "chat_started")
        .await
        .is_empty());
    assert_eq!(f.fire(None, "chat_started").await.len(), 1);
    assert_eq!(inbox.lock().unwrap().len(), 1);
}

#[actix_web::test]
async fn deliver_resends_the_same_event() {
    let f = fake().await;
    let (url, inbox) = receiver(200).await;
    let hook = register(&f, "chat_ended", &["chat"], &url).await;
    let id = hook["id"].as_str().unwrap();
    let fired = f.fire(None, "chat_ended").await.remove(0);
    let again = f.deliver(id, fired.payload.clone()).await;
    assert_eq!((again.status, &again.payload), (Some(200), &fired.payload));
    let minimal = f.deliver(id, json!({"chat": {"id": "MH022RD0K5"}})).await;
    assert_eq!(minimal.payload["token"], hook["token"]);
    assert_eq!(minimal.payload["event_type"], "chat_ended");
    assert!(minimal.payload["license_id"].is_string());
    {
        let inbox = inbox.lock().unwrap();
        assert_eq!(inbox.len(), 3);
        assert_eq!(inbox[0].1, inbox[1].1);
    }
    let unknown = f.deliver("0123", json!({})).await;
    assert_eq!((unknown.status, unknown.url.as_str()), (None, ""));
}

#[actix_web::test]
async fn delivery_reports_failures_and_url_credentials() {
    let f = fake().await;
    let (url, inbox) = receiver(500).await;
    let with_creds = url.replace("http://", "http://gw%40user:p%3Ass@");
    register(&f, "chat_started", &["visitor"], &with_creds).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    register(&f, "chat_started", &["visitor"], &dead).await;
    let mut d = f.fire(None, "chat_started").await;
    d.sort_by_key(|d| d.status.is_none());
    assert_eq!((d[0].status, d[1].status), (Some(500), None));
    let auth = inbox.lock().unwrap()[0].0.clone().unwrap();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim_start_matches("Basic "))
        .unwrap();
    assert_eq!(decoded, b"gw@user:p:ss");
}

#[actix_web::test]
async fn delivery_quirks_token_and_guessed_fields() {
    let f = fake().await;
    let (url, _inbox) = receiver(200).await;
    let hook = register(&f, "chat_started", &["chat", "visitor"], &url).await;
    f.set_quirks(Quirks {
        delivery_token_differs: true,
        chat_started_has_ended_timestamp: true,
        webhook_guessed_fields: true,
        ..Quirks::default()
    });
    let p = f.fire(None, "chat_started").await.remove(0).payload;
    assert!(is_hex32(&p["token"]) && p["token"] != hook["token"]);
    assert_eq!(p["chat"]["ended_timestamp"], 0);
    assert!(p["chat"]["url"].is_string() && p["visitor"]["country"].is_string());
    assert!(p.get("event_unique_id").is_none());
}
