//! The leak audit: one canary API key through every route, every error path and a forced
//! panic of the real binary at `RUST_LOG=trace`. It must appear nowhere: not in the log, not in
//! any answer's body or headers, not in `/metrics`, not in the SQLite files.

use std::process::Command;

use base64::Engine;
use livechat_gateway::fake_livechat::{FakeLiveChat, InjectedResponse};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::processes::{Gateway, BIN};

const LOGIN: &str = "leak.audit@example.com";

struct Audit {
    client: awc::Client,
    base: String,
    key: String,
    /// Everything the gateway answered: status line, headers and body of each call.
    seen: Vec<String>,
}

impl Audit {
    async fn call(&mut self, method: &str, path: &str, body: Option<Value>, key: &str) -> u16 {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .basic_auth(LOGIN, key);
        if key == "PANIC" {
            req = self
                .client
                .request(method.parse().unwrap(), format!("{}{path}", self.base))
                .basic_auth(LOGIN, &self.key)
                .insert_header(("x-gateway-test-panic", "1"));
        }
        let sent = match &body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        let Ok(mut res) = sent else {
            self.seen.push(format!("{method} {path}: no answer"));
            return 0;
        };
        let bytes = res.body().limit(1 << 24).await.unwrap_or_default();
        self.seen.push(format!(
            "{method} {path}: {} {:?} {}",
            res.status(),
            res.headers(),
            String::from_utf8_lossy(&bytes)
        ));
        res.status().as_u16()
    }
}

fn forms_of(key: &str) -> Vec<String> {
    let pair = format!("{LOGIN}:{key}");
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![key.to_string(), b64.encode(&pair), b64.encode(key)]
}

fn assert_absent(what: &str, haystack: &[u8], forms: &[String]) {
    for form in forms {
        let hit = haystack
            .windows(form.len())
            .position(|w| w == form.as_bytes());
        if let Some(at) = hit {
            let from = at.saturating_sub(200);
            let context = String::from_utf8_lossy(&haystack[from..(at + 200).min(haystack.len())]);
            panic!("the key ({form}) appears in {what}: …{context}…");
        }
    }
}

#[actix_web::test]
async fn a_canary_key_appears_nowhere() {
    let dir = temp_dir("leaks");
    let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    let key = format!("CANARY{}", random_hex(12));
    livechat.add_account(LOGIN, &key);
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.env(
        "GATEWAY_DATABASE_URL",
        format!("sqlite://{}/data/gateway.db", dir.display()),
    )
    .env("GATEWAY_LIVECHAT_URL", livechat.base_url())
    .env("GATEWAY_ALLOW_PRIVATE_CALLBACKS", "true")
    .env("GATEWAY_THROTTLE_CALLS", "60")
    .env("GATEWAY_UPSTREAM_TIMEOUT_MS", "2000")
    .env("RUST_LOG", "trace")
    .env("RUST_BACKTRACE", "1")
    .env_remove("GATEWAY_SECRET")
    .env_remove("GATEWAY_SECRET_FILE");
    let gw = Gateway::start(cmd, port, &dir.join("gateway.log")).await;
    let flow = Callback::spawn().await;
    let mut audit = Audit {
        client: awc::Client::default(),
        base: gw.url(""),
        key: key.clone(),
        seen: Vec::new(),
    };
    let k = key.clone();
    let agent = json!({"login": "new.agent@example.com", "name": "New Agent"});
    let ticket = json!({"message": "Help", "requester": {"mail": "c@example.com"}, "subject": "S"});
    // Every connector route, successes first.
    audit.call("GET", "/agents", None, &k).await;
    audit.call("POST", "/agents", Some(agent.clone()), &k).await;
    audit.call("POST", "/agents", Some(agent), &k).await; // 409: exists
    audit
        .call("DELETE", "/agents/new.agent%40example.com", None, &k)
        .await;
    audit.call("GET", "/tickets?status=open", None, &k).await;
    audit
        .call("POST", "/tickets", Some(ticket.clone()), &k)
        .await;
    let id = livechat.tickets(LOGIN).last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    audit.call("GET", &format!("/tickets/{id}"), None, &k).await;
    let tags = json!({"tags": ["vip"]});
    audit
        .call("PUT", &format!("/tickets/{id}/tags"), Some(tags), &k)
        .await;
    let mut hooks = Vec::new();
    for route in [CHAT_STARTS, CHAT_ENDS, TICKET_CREATED] {
        let status = audit
            .call("POST", route, Some(json!({"url": flow.url})), &k)
            .await;
        assert_eq!(status, 201, "{:?}", audit.seen.last());
        let body = audit.seen.last().unwrap().clone();
        let id = body
            .split("\"id\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        hooks.push(id.to_string());
    }
    // Intake, deliveries, and the routes without credentials.
    for event in ["chat_started", "chat_ended", "ticket_created"] {
        livechat.fire(Some(LOGIN), event).await;
    }
    wait_for("three notifications", || flow.received().len() >= 3).await;
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/apiDefinition.swagger.json",
        "/api-docs/openapi.json",
    ] {
        audit.call("GET", path, None, &k).await;
    }
    // Error paths: bad input, unknown things, wrong method, a wrong key, LiveChat quoting the
    // key back in a 4xx, a 5xx and a non-JSON 200, then a forced panic and the throttle.
    audit
        .call("POST", "/agents", Some(json!({"login": "nope"})), &k)
        .await;
    audit.call("GET", "/tickets/%FF", None, &k).await;
    audit.call("GET", "/nowhere", None, &k).await;
    audit.call("PATCH", "/agents", None, &k).await;
    audit.call("GET", "/agents", None, &format!("{k}x")).await;
    let quoting = format!("invalid key {key} for {LOGIN}:{key}");
    for (status, body) in [
        (400, json!({"error": quoting}).to_string()),
        (500, json!({"error": quoting}).to_string()),
        (200, format!("<html>{quoting}</html>")),
        (401, json!({"errors": [quoting]}).to_string()),
    ] {
        livechat.push_response(InjectedResponse {
            status,
            body,
            ..InjectedResponse::json(status, json!(null))
        });
        audit.call("GET", "/agents", None, &k).await;
    }
    audit.call("GET", "/agents", None, "PANIC").await;
    assert_eq!(
        audit.call("GET", "/healthz", None, &k).await,
        200,
        "serving after a panic"
    );
    for hook in &hooks {
        audit
            .call("DELETE", &format!("/webhooks/{hook}"), None, &k)
            .await;
    }
    let mut throttled = false;
    for _ in 0..80 {
        throttled |= audit.call("GET", "/agents", None, &k).await == 429;
    }
    assert!(throttled, "the throttle's answers were audited too");
    audit.call("GET", "/metrics", None, &k).await;

    let forms = forms_of(&key);
    eprintln!(
        "leak audit: {} answers, {} log bytes",
        audit.seen.len(),
        gw.log().len()
    );
    for seen in &audit.seen {
        assert_absent("an answer", seen.as_bytes(), &forms);
    }
    assert!(
        audit
            .seen
            .iter()
            .any(|s| s.contains("invalid key [redacted]")),
        "LiveChat's quote of the key came back, redacted"
    );
    let log = gw.log();
    assert!(log.contains("forced panic"), "the panic reached the log");
    assert!(
        log.contains("TRACE") || log.contains("trace"),
        "the log is at trace level"
    );
    assert_absent("the log", log.as_bytes(), &forms);
    drop(gw);
    for (name, bytes) in database_bytes(&dir.join("data")) {
        assert_absent(&name, &bytes, &forms);
    }
    assert!(
        !database_bytes(&dir.join("data")).is_empty(),
        "the store was audited"
    );
    std::fs::remove_dir_all(&dir).ok();
}
