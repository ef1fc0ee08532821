//! No input makes the gateway fail: hostile bodies, paths and queries get a 4xx in the
//! contract's shape (or a normal answer), never a 5xx, and the gateway keeps serving.

use serde_json::{json, Value};

use crate::helpers::{send, spawn_app_with};

fn nasty_bodies() -> Vec<Value> {
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    vec![
        json!(null),
        json!(42),
        json!("string"),
        json!([]),
        json!({}),
        deep,
        json!({"login": null, "name": null, "message": null, "requester": null, "tags": null, "url": null}),
        json!({"login": 1, "name": [], "message": {}, "requester": "x", "tags": [1, null], "url": 7}),
        json!({"login": "a@b.co", "name": "\u{0000}\u{202e}", "max_chats_count": 1e308, "password": "\u{1F600}\u{1F600}"}),
        json!({"message": "m", "requester": {"mail": "a@b.co\r\nX-Injected: 1"}, "source": {"type": null, "url": "http://[::1"}}),
        json!({"requester": {"mail": "a@b.co"}, "tags": ["x".repeat(10_000)]}),
        json!({"url": "http://user:pass@127.0.0.1:1/"}),
        json!({"url": "gopher://127.0.0.1/"}),
    ]
}

#[actix_web::test]
async fn hostile_input_never_yields_a_server_error() {
    let app = spawn_app_with(|s| s.throttle_calls = 10_000).await;
    let paths = [
        "/agents",
        "/agents/%FF%FE",
        "/agents/a%2F..%2F..%2Fetc%40x.com",
        "/tickets",
        "/tickets/%00",
        "/tickets/ABCDE/tags",
        "/tickets?status=%FF&page=99999999999999999999&date_from=2024-02-30&order=",
        "/tickets?status=open&status=spam",
        "/chat_starts_webhook/webhooks",
        "/chat_starts_webhook/webhooks?event_type=chat_ended",
        "/ticket_created_webhook/webhooks?data_types=chat",
        "/webhooks/%2e%2e",
        "/livechat/events/x/y",
        "/livechat/events/%FF/%FF",
    ];
    for path in paths {
        for method in ["GET", "POST", "PUT", "DELETE"] {
            for body in nasty_bodies() {
                let req = app
                    .client
                    .request(method.parse().unwrap(), app.url(path))
                    .insert_header(("Authorization", app.auth()));
                let res = send(req, Some(&body)).await;
                assert!(
                    res.status < 500
                        || res.status == 502
                            && res.body["message"]
                                .as_str()
                                .is_some_and(|m| m.contains("LiveChat")),
                    "{method} {path} {body}: {} {}",
                    res.status,
                    res.text
                );
                if res.status >= 400 {
                    assert_eq!(
                        res.body["statusCode"], res.status,
                        "{method} {path}: {}",
                        res.text
                    );
                }
            }
        }
    }
    assert_eq!(
        send(app.client.get(app.url("/healthz")), None).await.status,
        200,
        "still serving"
    );
}
