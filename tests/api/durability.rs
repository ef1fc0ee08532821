//! What must survive: events across a SIGKILL of the real binary, and no API key in clear on disk.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use livechat_gateway::fake_livechat::FakeLiveChat;

use crate::helpers::*;
use crate::processes::{Gateway, BIN};

pub fn gateway_command(dir: &Path, livechat: &str) -> Command {
    let mut cmd = Command::new(BIN);
    // Long enough to outlast the outage below: 100 steps of 300 ms.
    let schedule = std::iter::once("0s")
        .chain(std::iter::repeat_n("300ms", 100))
        .collect::<Vec<_>>()
        .join(",");
    cmd.env(
        "GATEWAY_DATABASE_URL",
        format!("sqlite://{}/data/gateway.db", dir.display()),
    )
    .env("GATEWAY_LIVECHAT_URL", livechat)
    .env("GATEWAY_ALLOW_PRIVATE_CALLBACKS", "true")
    .env("GATEWAY_RETRY_SCHEDULE", schedule)
    .env("GATEWAY_DELIVERY_TIMEOUT_MS", "1000")
    .env("RUST_LOG", "warn")
    .env_remove("GATEWAY_SECRET")
    .env_remove("GATEWAY_SECRET_FILE")
    .env_remove("GATEWAY_PUBLIC_URL");
    cmd
}

async fn start_gateway(dir: &Path, livechat: &str, port: u16) -> Gateway {
    start_gateway_with(dir, livechat, port, &[]).await
}

/// `start_gateway` with more environment variables (which win over the defaults above).
pub async fn start_gateway_with(
    dir: &Path,
    livechat: &str,
    port: u16,
    env: &[(&str, &str)],
) -> Gateway {
    let mut cmd = gateway_command(dir, livechat);
    cmd.envs(env.iter().copied());
    Gateway::start(cmd, port, &dir.join("gateway.log")).await
}

pub fn deliveries_cli(dir: &Path, livechat: &str, args: &[&str]) -> String {
    let out = gateway_command(dir, livechat)
        .arg("deliveries")
        .args(args)
        .output()
        .expect("CLI runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[actix_web::test]
async fn events_survive_sigkill_and_are_delivered_exactly_once() {
    let dir = temp_dir("durable");
    let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    let (login, key) = ("durable@example.com", "CANARY-durable-key-0123");
    livechat.add_account(login, key);
    let lc_url = livechat.base_url();
    let port = free_port();
    let callback_port = free_port(); // nothing listens there yet: the flow is down
    let callback_url = format!("http://127.0.0.1:{callback_port}/flow/callback?sig=abc");
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();

    let gw = start_gateway(&dir, &lc_url, port).await;
    let mut res = client
        .post(format!("http://127.0.0.1:{port}{CHAT_STARTS}"))
        .basic_auth(login, key)
        .send_json(&json!({"url": callback_url}))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let intake = livechat.webhooks(login)[0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(intake.contains(&id));

    let mut expected = Vec::new();
    for n in 0..20 {
        let sent = livechat.fire(Some(login), "chat_started").await;
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].status,
            Some(200),
            "event {n} accepted by the gateway"
        );
        expected.push(sent[0].payload["chat"]["id"].as_str().unwrap().to_string());
    }
    let listed = deliveries_cli(&dir, &lc_url, &["list"]);
    assert_eq!(listed.lines().count(), 21, "{listed}");
    assert!(
        listed.lines().nth(1).unwrap().contains("pending"),
        "{listed}"
    );

    gw.kill();

    let _gw = start_gateway(&dir, &lc_url, port).await;
    let flow = Callback::spawn_on(
        std::net::TcpListener::bind(("127.0.0.1", callback_port)).expect("callback port"),
    );
    wait_for("all 20 notifications", || flow.received().len() >= 20).await;
    // Let the gateway settle, then make sure nothing came twice.
    wait_for("no delivery listed", || {
        deliveries_cli(&dir, &lc_url, &["list"]).lines().count() == 1
    })
    .await;
    let received = flow.received();
    let ids: HashSet<String> = received
        .iter()
        .map(|n| n["event_unique_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(received.len(), 20, "each event exactly once");
    assert_eq!(ids.len(), 20);
    let chats: Vec<String> = received
        .iter()
        .map(|n| n["chat"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(chats, expected, "in order");
    std::fs::remove_dir_all(&dir).ok();
}

#[actix_web::test]
async fn the_api_key_and_callback_url_are_never_stored_in_clear() {
    let canary = format!("CANARY-{}", random_hex(12));
    let sig = format!("SIGCANARY{}", random_hex(12));
    let app = spawn_app().await;
    app.fake.add_account("canary@example.com", &canary);
    let mut cb = Callback::spawn().await;
    cb.url = cb.url.replace("sig=abc", &format!("sig={sig}"));
    assert!(cb.url.contains(&sig));
    let mut ids = Vec::new();
    for route in [CHAT_STARTS, CHAT_ENDS, TICKET_CREATED] {
        let (status, body, _) = app
            .subscribe_as(route, &cb.url, "canary@example.com", &canary)
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let sent = app
        .fake
        .fire(Some("canary@example.com"), "chat_started")
        .await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, Some(200));
    assert!(sent[0].url.contains(&ids[0]));
    wait_for("the notification", || cb.received().len() == 1).await;
    let files = database_bytes(&app.db_dir);
    assert!(files.contains_key("gateway.db"));
    for (name, bytes) in files {
        let hit = bytes.windows(canary.len()).any(|w| w == canary.as_bytes());
        assert!(!hit, "the API key appears in {name}");
        let hit = bytes.windows(sig.len()).any(|w| w == sig.as_bytes());
        assert!(!hit, "the callback's signature appears in {name}");
    }
}

#[actix_web::test]
async fn readiness_follows_the_store() {
    let app = spawn_app().await;
    let ready = |app: &TestApp| app.client.get(format!("{}/readyz", app.address)).send();
    assert_eq!(ready(&app).await.unwrap().status().as_u16(), 200);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("livechat_gateway_deliveries_pending 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("livechat_gateway_deliveries_dead 0"),
        "{metrics}"
    );
    app.state.store.close().await;
    let mut res = ready(&app).await.unwrap();
    assert_eq!(res.status().as_u16(), 503);
    assert_eq!(res.json::<Value>().await.unwrap()["statusCode"], 503);
}

#[cfg(unix)]
#[actix_web::test]
async fn the_database_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    let cb = Callback::spawn().await;
    app.subscribe(CHAT_STARTS, &cb.url).await;
    for name in ["gateway.db", "gateway.db-wal"] {
        let mode = std::fs::metadata(app.db_dir.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name} is {mode:o}");
    }
}

#[actix_web::test]
async fn one_sqlite_file_serves_one_gateway() {
    let app = spawn_app().await;
    let db = format!("sqlite://{}/gateway.db", app.db_dir.display());
    let settings =
        livechat_gateway::settings::Settings::for_tests(app.fake.base_url().parse().unwrap(), db);
    let second = livechat_gateway::startup::Application::build(settings).await;
    let err = second
        .err()
        .expect("a second gateway on the same file is refused")
        .to_string();
    assert!(err.contains("another livechat-gateway"), "{err}");
}
