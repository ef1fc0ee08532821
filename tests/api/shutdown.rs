//! Graceful shutdown of the real binary on SIGTERM and on Ctrl-C (SIGINT): no new connection,
//! the call and the delivery in flight finish, every accepted event stays, exit status 0,
//! all within `GATEWAY_SHUTDOWN_GRACE_SECS`.

use std::time::{Duration, Instant};

use livechat_gateway::fake_livechat::{FakeLiveChat, InjectedResponse};
use serde_json::json;

use crate::durability::{deliveries_cli, start_gateway_with};
use crate::helpers::*;
use crate::processes::Gateway;

const LOGIN: &str = "graceful@example.com";
const KEY: &str = "CANARY-graceful-key-0123";

fn slow_answer(delay: Duration) -> InjectedResponse {
    InjectedResponse {
        delay: Some(delay),
        ..InjectedResponse::json(200, json!([]))
    }
}

fn agent_lists(livechat: &FakeLiveChat) -> usize {
    let requests = livechat.requests();
    requests
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/agents")
        .count()
}

/// Starts a call that LiveChat answers after `delay`; returns once LiveChat has it.
async fn call_in_flight(
    livechat: &FakeLiveChat,
    base: &str,
    delay: Duration,
) -> actix_web::rt::task::JoinHandle<Option<u16>> {
    let before = agent_lists(livechat);
    livechat.push_response(slow_answer(delay));
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let url = format!("{base}/agents");
    let call = actix_web::rt::spawn(async move {
        let res = client.get(url).basic_auth(LOGIN, KEY).send().await;
        res.ok().map(|r| r.status().as_u16())
    });
    wait_for("the call in flight", || agent_lists(livechat) > before).await;
    call
}

pub fn signal(gw: &Gateway, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(gw.pid()).expect("a pid");
    // SAFETY: kill(2) with a child's pid and a plain signal number.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

pub async fn exit_status(gw: &mut Gateway, within: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = gw.try_wait() {
            return status;
        }
        assert!(started.elapsed() < within, "still running after {within:?}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stops_gracefully_on(sig: libc::c_int) {
    let dir = temp_dir("shutdown");
    let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    livechat.add_account(LOGIN, KEY);
    let lc = livechat.base_url();
    let port = free_port();
    let env = [
        ("GATEWAY_DELIVERY_TIMEOUT_MS", "10000"),
        ("GATEWAY_SHUTDOWN_GRACE_SECS", "10"),
    ];
    let mut gw = start_gateway_with(&dir, &lc, port, &env).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = awc::Client::default();
    let flow = Callback::spawn().await;
    flow.answer_all(202, Duration::from_secs(2));
    let down = format!("http://127.0.0.1:{}/flow/callback", free_port());
    for (route, url) in [(CHAT_STARTS, &flow.url), (CHAT_ENDS, &down)] {
        let res = client
            .post(format!("{base}{route}"))
            .basic_auth(LOGIN, KEY)
            .send_json(&json!({ "url": url }))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
    }
    // One delivery in flight (the flow takes 2 s), one pending (its flow is down).
    for event in ["chat_started", "chat_ended"] {
        let sent = livechat.fire(Some(LOGIN), event).await;
        assert_eq!(sent[0].status, Some(200), "{event} accepted");
    }
    wait_for("the delivery in flight", || flow.attempts() == 1).await;
    let call = call_in_flight(&livechat, &base, Duration::from_secs(2)).await;

    let signalled = Instant::now();
    signal(&gw, sig);
    wait_for("new connections refused", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    })
    .await;
    assert_eq!(
        call.await.unwrap(),
        Some(200),
        "the call in flight finished"
    );
    let status = exit_status(&mut gw, Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(10));
    assert_eq!(flow.received().len(), 1);
    let listed = deliveries_cli(&dir, &lc, &["list"]);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(
        rows.len(),
        1,
        "only the undelivered event is left: {listed}"
    );
    assert!(rows[0].contains("pending"), "{listed}");
    std::fs::remove_dir_all(&dir).ok();
}

#[actix_web::test]
async fn sigterm_finishes_what_is_in_flight_and_exits_0() {
    stops_gracefully_on(libc::SIGTERM).await;
}

#[actix_web::test]
async fn ctrl_c_finishes_what_is_in_flight_and_exits_0() {
    stops_gracefully_on(libc::SIGINT).await;
}

#[actix_web::test]
async fn the_grace_bounds_the_wait() {
    let dir = temp_dir("grace");
    let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    livechat.add_account(LOGIN, KEY);
    let port = free_port();
    let env = [("GATEWAY_SHUTDOWN_GRACE_SECS", "1")];
    let mut gw = start_gateway_with(&dir, &livechat.base_url(), port, &env).await;
    let base = format!("http://127.0.0.1:{port}");
    let _call = call_in_flight(&livechat, &base, Duration::from_secs(20)).await;
    let signalled = Instant::now();
    signal(&gw, libc::SIGTERM);
    let status = exit_status(&mut gw, Duration::from_secs(8)).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    std::fs::remove_dir_all(&dir).ok();
}
