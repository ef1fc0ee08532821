//! Chaos durability: hundreds of events from concurrent senders while the real gateway is
//! killed with SIGKILL and restarted, again and again. Every event the gateway answered 200
//! reaches the flow; an event reaches it twice only if its delivery was in flight (leased)
//! at a kill.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use livechat_gateway::fake_livechat::FakeLiveChat;
use serde_json::json;

use crate::durability::gateway_command;
use crate::helpers::*;
use crate::processes::Gateway;

const SENDERS: usize = 4;
const EACH: usize = 75;
const KILLS: usize = 4;

/// Event ids whose delivery is leased in the store of a killed gateway.
async fn leased(dir: &Path) -> HashSet<String> {
    let url = format!("sqlite://{}/data/gateway.db?mode=ro", dir.display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("the store opens");
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT event_unique_id FROM deliveries WHERE state = 'pending' AND lease_token IS NOT NULL",
    )
    .fetch_all(&pool)
    .await
    .expect("leases read");
    pool.close().await;
    rows.into_iter().map(|(id,)| id).collect()
}

async fn start(dir: &Path, livechat: &str, port: u16) -> Gateway {
    let mut cmd = gateway_command(dir, livechat);
    cmd.env("GATEWAY_DELIVERY_TIMEOUT_MS", "5000");
    Gateway::start(cmd, port, &dir.join("gateway.log")).await
}

/// LiveChat's side: sends each event until the gateway answers 200 (LiveChat retries any
/// other outcome), and records which events were acknowledged, by their chat id.
async fn sender(
    livechat: &FakeLiveChat,
    hook: &str,
    n: usize,
    acked: Rc<RefCell<HashSet<String>>>,
) {
    for i in 0..EACH {
        let chat = format!("CHAOS{n}X{i}");
        let payload = chat_event("chat_started", &chat);
        loop {
            let sent = livechat.deliver(hook, payload.clone()).await;
            if sent.status == Some(200) {
                acked.borrow_mut().insert(chat.clone());
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[actix_web::test]
async fn sigkills_under_load_lose_no_acknowledged_event() {
    let dir = temp_dir("chaos");
    let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    let (login, key) = ("chaos@example.com", "CANARY-chaos-key-0123");
    livechat.add_account(login, key);
    let lc = livechat.base_url();
    let port = free_port();
    let flow = Callback::spawn().await;
    // A flow that takes its time, so that deliveries are in flight when the gateway dies.
    flow.answer_all(202, Duration::from_millis(10));
    let mut gw = start(&dir, &lc, port).await;
    let res = awc::Client::default()
        .post(gw.url(CHAT_STARTS))
        .basic_auth(login, key)
        .send_json(&json!({ "url": flow.url }))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let hook = livechat.webhooks(login)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let acked = Rc::new(RefCell::new(HashSet::new()));
    let senders = futures_util::future::join_all(
        (0..SENDERS).map(|n| sender(&livechat, &hook, n, acked.clone())),
    );
    let mut in_flight_at_kills: HashSet<String> = HashSet::new();
    let mut leased_per_kill = Vec::new();
    let chaos = async {
        for k in 0..KILLS {
            let target = (k + 1) * SENDERS * EACH / (KILLS + 1);
            wait_for("progress before the next kill", || {
                acked.borrow().len() >= target
            })
            .await;
            gw.kill();
            let leased = leased(&dir).await;
            leased_per_kill.push(leased.len());
            in_flight_at_kills.extend(leased);
            gw = start(&dir, &lc, port).await;
        }
        gw
    };
    let started = Instant::now();
    let (_, gw) = futures_util::future::join(senders, chaos).await;
    let acked: HashSet<String> = acked.borrow().clone();
    assert_eq!(
        acked.len(),
        SENDERS * EACH,
        "LiveChat got a 200 for every event in the end"
    );

    let chats = |flow: &Callback| -> Vec<String> {
        flow.received()
            .iter()
            .map(|n| n["chat"]["id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    eventually("every acknowledged event delivered", || async {
        let got: HashSet<String> = chats(&flow).into_iter().collect();
        acked.is_subset(&got)
    })
    .await;
    let received = flow.received();
    let mut seen = HashSet::new();
    let mut duplicates = Vec::new();
    for n in &received {
        let id = n["event_unique_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !seen.insert(id.clone()) {
            duplicates.push(id);
        }
    }
    assert!(
        duplicates.iter().all(|d| in_flight_at_kills.contains(d)),
        "delivered twice without being in flight at a kill: {duplicates:?}"
    );
    eprintln!(
        "chaos: {} events from {SENDERS} senders, {KILLS} SIGKILLs, leased at each kill {leased_per_kill:?}, \
         {} notifications, {} delivered twice, 0 lost, {} ms",
        acked.len(),
        received.len(),
        duplicates.len(),
        started.elapsed().as_millis()
    );
    drop(gw);
    std::fs::remove_dir_all(&dir).ok();
}
