//! The real binary's log, in both formats: one line per call carrying the platform's ids (or
//! a generated request id, returned to the caller), one per delivery attempt, never the key.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use livechat_gateway::fake_livechat::FakeLiveChat;
use serde_json::{json, Value};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_livechat-gateway");

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path, livechat: &str, port: u16, format: &str) -> Gateway {
    let log = std::fs::File::create(dir.join("gateway.log")).unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env(
            "GATEWAY_DATABASE_URL",
            format!("sqlite://{}/data/gateway.db", dir.display()),
        )
        .env("GATEWAY_LIVECHAT_URL", livechat)
        .env("GATEWAY_ALLOW_PRIVATE_CALLBACKS", "true")
        .env("GATEWAY_LOG_FORMAT", format)
        .env("RUST_LOG", "info")
        .env_remove("GATEWAY_SECRET")
        .env_remove("GATEWAY_SECRET_FILE")
        .env_remove("GATEWAY_PUBLIC_URL")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("gateway starts");
    Gateway(child)
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("gateway.log")).unwrap_or_default()
}

/// Runs the scripted calls against a gateway logging in `format`; returns the log and the
/// values that must never appear in it.
async fn scripted_log(format: &str) -> (String, Vec<String>, String) {
    let dir = temp_dir(&format!("logs-{format}"));
    let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    let login = format!("{}@example.com", unique("logs"));
    let key = unique("CANARY-log-key");
    livechat.add_account(&login, &key);
    let port = free_port();
    let _gw = start(&dir, &livechat.base_url(), port, format);
    let base = format!("http://127.0.0.1:{port}");
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    eventually("the gateway ready", || async {
        let ready = client.get(format!("{base}/readyz")).send().await;
        ready.is_ok_and(|res| res.status().is_success())
    })
    .await;

    let res = client
        .get(format!("{base}/agents"))
        .basic_auth(&login, &key)
        .insert_header(("x-ms-client-request-id", "req-0f8fad5b-1"))
        .insert_header(("x-ms-correlation-id", "corr-7c9e6679"))
        .insert_header(("x-ms-workflow-run-id", "08585-run-42"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("x-ms-client-request-id").unwrap(),
        "req-0f8fad5b-1"
    );
    let res = client
        .get(format!("{base}/agents"))
        .basic_auth(&login, "wrong-CANARY-key")
        .send()
        .await
        .unwrap();
    let generated = res
        .headers()
        .get("x-ms-client-request-id")
        .expect("a generated request id")
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(generated.len(), 36, "{generated}");

    let cb = Callback::spawn().await;
    let callback = format!("{}&secret=CBSECRET{}", cb.url, random_hex(4));
    let mut res = client
        .post(format!("{base}{TICKET_CREATED}"))
        .basic_auth(&login, &key)
        .send_json(&json!({ "url": callback }))
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{:?}", res.body().await);
    let intake = livechat.webhooks(&login)[0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let token = intake.rsplit('/').next().unwrap().to_string();
    let res = client
        .post(&intake)
        .send_json(&ticket_event("LOG1"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    wait_for("the delivery", || cb.received().len() == 1).await;
    eventually("the delivery's log line", || async {
        read_log(&dir).contains("delivered")
    })
    .await;
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{key}"));
    let never = vec![key, "wrong-CANARY-key".into(), pair, callback, token];
    (read_log(&dir), never, generated)
}

fn assert_never(log: &str, never: &[String]) {
    for secret in never {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds {secret}:\n{log}"
        );
    }
}

#[actix_web::test]
async fn json_logs_one_object_a_line_with_the_call_and_delivery_fields() {
    let (log, never, generated) = scripted_log("json").await;
    assert_never(&log, &never);
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let call = lines
        .iter()
        .find(|v| v["client_request_id"] == "req-0f8fad5b-1")
        .unwrap_or_else(|| panic!("no line for the call:\n{log}"));
    assert_eq!(call["target"], "access");
    assert_eq!(call["method"], "GET");
    assert_eq!(call["route"], "/agents");
    assert_eq!(call["status"], 200);
    assert_eq!(call["correlation_id"], "corr-7c9e6679");
    assert_eq!(call["workflow_run_id"], "08585-run-42");
    assert!(call["operation"].as_str().is_some_and(|o| !o.is_empty()));
    assert!(call["duration_ms"].is_u64());
    assert_eq!(call["connection"].as_str().map(str::len), Some(8));
    let refused = lines
        .iter()
        .find(|v| v["client_request_id"] == generated.as_str())
        .unwrap_or_else(|| panic!("no line for the generated id:\n{log}"));
    assert_eq!(refused["status"], 401);
    let delivery = lines
        .iter()
        .find(|v| v["target"] == "delivery")
        .unwrap_or_else(|| panic!("no delivery line:\n{log}"));
    assert_eq!(delivery["outcome"], "delivered");
    assert_eq!(delivery["attempt"], 1);
    assert_eq!(delivery["event_type"], "ticket_created");
    assert!(lines
        .iter()
        .all(|v| v["ts"].is_string() && v["level"].is_string()));
}

#[actix_web::test]
async fn text_logs_hold_the_same_fields_and_never_the_key() {
    let (log, never, generated) = scripted_log("text").await;
    assert_never(&log, &never);
    let call = log
        .lines()
        .find(|l| l.contains("client_request_id=req-0f8fad5b-1"))
        .unwrap_or_else(|| panic!("no line for the call:\n{log}"));
    for field in [
        "GET /agents 200",
        "route=/agents",
        "status=200",
        "correlation_id=corr-7c9e6679",
        "workflow_run_id=08585-run-42",
        "operation=",
        "duration_ms=",
        "connection=",
    ] {
        assert!(call.contains(field), "{field} missing in {call}");
    }
    let connection = call
        .split(' ')
        .find_map(|kv| kv.strip_prefix("connection="))
        .map(str::len);
    assert_eq!(connection, Some(8), "the connection's tag in {call}");
    assert!(
        log.lines()
            .any(|l| l.contains(&format!("client_request_id={generated}"))
                && l.contains("status=401")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("outcome=delivered") && l.contains("attempt=1")),
        "{log}"
    );
}

/// Lines below warn wait to be written together (here for up to a minute); a warning takes
/// every line before it out at once, in order, and a gateway that stops writes what is left.
#[actix_web::test]
async fn log_lines_wait_for_a_warning_or_the_stop_and_keep_their_order() {
    let dir = temp_dir("logs-batched");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let livechat = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = [("GATEWAY_LOG_FLUSH_MS", "60000"), ("RUST_LOG", "info")];
    let mut gw = crate::durability::start_gateway_with(&dir, &livechat, free_port(), &env).await;
    let client = awc::Client::default();
    let call = |path: &str, id: &'static str| {
        client
            .get(gw.url(path))
            .basic_auth("batched@example.com", "CANARY-batched-key")
            .insert_header(("x-ms-client-request-id", id))
            .send()
    };

    assert_eq!(call("/healthz", "req-waits-1").await.unwrap().status(), 200);
    assert!(
        !gw.log().contains("req-waits-1"),
        "an info line waits: {}",
        gw.log()
    );
    // LiveChat cannot be reached: a 502, logged at warn.
    assert_eq!(call("/agents", "req-fails-2").await.unwrap().status(), 502);
    let log = gw.log();
    let (waited, failed) = (log.find("req-waits-1"), log.find("req-fails-2"));
    assert!(
        waited.is_some() && failed.is_some() && waited < failed,
        "both lines, in order, as soon as the 502 is answered:\n{log}"
    );

    assert_eq!(call("/healthz", "req-last-3").await.unwrap().status(), 200);
    crate::shutdown::signal(&gw, libc::SIGTERM);
    let status = crate::shutdown::exit_status(&mut gw, Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    assert!(
        gw.log().contains("req-last-3"),
        "the stop writes the rest:\n{}",
        gw.log()
    );
    std::fs::remove_dir_all(&dir).ok();
}
