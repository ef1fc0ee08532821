//! Replicas sharing one PostgreSQL database behave as one gateway: real `livechat-gateway`
//! processes (skipped, saying so, when GATEWAY_TEST_POSTGRES_URL is not set).

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use livechat_gateway::fake_livechat::FakeLiveChat;
use livechat_gateway::store::scratch::{test_server_url, ScratchDatabase};
use livechat_gateway::store::Store;

use crate::helpers::*;
use crate::processes::{Gateway, BIN};

/// What the replicas of one test share: a fresh database, LiveChat, the secret.
struct Shared {
    db: ScratchDatabase,
    livechat: FakeLiveChat,
    secret: String,
    dir: std::path::PathBuf,
    login: String,
    key: String,
}

impl Shared {
    async fn new() -> Option<Self> {
        let server = test_server_url()?;
        let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
        let login = format!("{}@example.com", unique("shared"));
        let key = unique("CANARY");
        livechat.add_account(&login, &key);
        Some(Self {
            db: ScratchDatabase::create(&server)
                .await
                .expect("a test database"),
            livechat,
            secret: random_hex(32),
            dir: temp_dir("shared-store"),
            login,
            key,
        })
    }

    /// A replica on `port` whose URLs say `public` (the load balancer's, in production).
    fn replica(&self, name: &str, port: u16, public: &str) -> Gateway {
        // A flow that is down is asked again every 300 ms: the tests below switch theirs on.
        let schedule = std::iter::once("0s")
            .chain(std::iter::repeat_n("300ms", 200))
            .collect::<Vec<_>>()
            .join(",");
        let mut cmd = self.command();
        cmd.env("GATEWAY_RETRY_SCHEDULE", schedule)
            .env("GATEWAY_PUBLIC_URL", public);
        Gateway::spawn(cmd, port, &self.dir.join(format!("{name}.log")))
    }

    /// The binary with this test's shared settings (`serve` or another subcommand to add).
    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env("GATEWAY_DATABASE_URL", &self.db.url)
            .env("GATEWAY_SECRET", &self.secret)
            .env("GATEWAY_LIVECHAT_URL", self.livechat.base_url())
            .env("GATEWAY_HELPDESK_URL", self.livechat.base_url())
            .env("GATEWAY_LIVECHAT_CLIENT_ID", "shared-test-client")
            .env("GATEWAY_ALLOW_PRIVATE_CALLBACKS", "true")
            .env("RUST_LOG", "warn")
            .env_remove("GATEWAY_SECRET_FILE")
            .env_remove("GATEWAY_REDIS_URL");
        cmd
    }

    /// `livechat-gateway deliveries <args>` on the shared database: its standard output.
    fn deliveries(&self, args: &[&str]) -> String {
        let out = self
            .command()
            .arg("deliveries")
            .args(args)
            .output()
            .expect("the CLI runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    async fn subscribe(&self, through: &Gateway, route: &str, callback: &str) -> (String, String) {
        self.subscribe_as(through, &self.login, route, callback)
            .await
    }

    /// As `subscribe`, with `login` as the username (the account ID for LiveChat API v3).
    async fn subscribe_as(
        &self,
        through: &Gateway,
        login: &str,
        route: &str,
        callback: &str,
    ) -> (String, String) {
        let mut res = awc::Client::default()
            .post(through.url(route))
            .basic_auth(login, &self.key)
            .send_json(&json!({"url": callback}))
            .await
            .expect("subscribe answers");
        assert_eq!(res.status().as_u16(), 201, "{:?}", res.body().await);
        let location = res
            .headers()
            .get("location")
            .expect("Location")
            .to_str()
            .unwrap()
            .to_string();
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        (id, location)
    }

    async fn unsubscribe(&self, location: &str) -> u16 {
        self.unsubscribe_as(&self.login, location).await
    }

    async fn unsubscribe_as(&self, login: &str, location: &str) -> u16 {
        let res = awc::Client::default()
            .delete(location)
            .basic_auth(login, &self.key)
            .send()
            .await
            .expect("unsubscribe answers");
        res.status().as_u16()
    }

    /// A look at the shared database from outside the replicas.
    async fn store(&self) -> Store {
        Store::connect(&self.db.url)
            .await
            .expect("the test reads the store")
    }

    async fn finish(self) {
        self.db.drop_now().await.expect("the test database dropped");
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

async fn pending(store: &Store) -> i64 {
    store.counts(i64::MAX / 2).await.unwrap().pending
}

/// The chat each notification is about (one per event in these tests).
fn chat_ids(received: &[Value]) -> Vec<String> {
    received
        .iter()
        .map(|n| n["chat"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn subscribed_through_one_replica_delivered_through_the_other_removed_through_either() {
    let Some(shared) = Shared::new().await else {
        return;
    };
    let (port_a, port_b) = (free_port(), free_port());
    let public_b = format!("http://127.0.0.1:{port_b}");
    // Started at the same moment on an empty database: both apply the schema safely.
    let (a, b) = (
        shared.replica("a", port_a, &public_b),
        shared.replica("b", port_b, &public_b),
    );
    let (a, b) = (a.ready().await, b.ready().await);
    let flow = Callback::spawn().await;

    let (id, location) = shared.subscribe(&a, CHAT_STARTS, &flow.url).await;
    assert!(location.starts_with(&public_b), "{location}");
    let mut expected = Vec::new();
    for n in 0..5 {
        let sent = shared
            .livechat
            .fire(Some(&shared.login), "chat_started")
            .await;
        assert_eq!(sent.len(), 1);
        assert!(sent[0].url.starts_with(&public_b), "LiveChat posts to B");
        assert!(sent[0].url.contains(&id));
        assert_eq!(sent[0].status, Some(200), "event {n} acknowledged by B");
        expected.push(sent[0].payload["chat"]["id"].as_str().unwrap().to_string());
    }
    let store = shared.store().await;
    wait_for("5 notifications", || flow.received().len() >= 5).await;
    eventually("nothing pending", || async { pending(&store).await == 0 }).await;
    let stored = every_row(&shared.db.url).await;
    assert!(
        !stored.contains(&shared.key),
        "the API key is stored in clear"
    );
    assert!(
        !stored.contains(&flow.url),
        "the callback URL is stored in clear"
    );
    let received = flow.received();
    let chats: Vec<&str> = received
        .iter()
        .map(|n| n["chat"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(chats, expected, "each event once, in order");

    // B did not create the subscription; it removes it, here and at LiveChat.
    assert_eq!(shared.unsubscribe(&location).await, 204);
    assert!(shared.livechat.webhooks(&shared.login).is_empty());
    let closed = |s: Option<livechat_gateway::store::Subscription>| s.is_none_or(|s| !s.is_open());
    assert!(closed(store.subscription(&id).await.unwrap()));
    // And the other way round: created through B, removed through A.
    let (other, location) = shared.subscribe(&b, TICKET_CREATED, &flow.url).await;
    let through_a = location.replace(&public_b, &a.url(""));
    assert_eq!(shared.unsubscribe(&through_a).await, 204);
    assert!(closed(store.subscription(&other).await.unwrap()));
    assert!(shared.livechat.webhooks(&shared.login).is_empty());
    store.close().await;
    drop((a, b));
    shared.finish().await;
}

/// LiveChat API v3 allows three webhooks per action per app: flows saved at the same moment
/// through two replicas share one, which goes when the last of them leaves through either.
#[actix_web::test]
async fn replicas_share_one_v3_webhook_per_account_and_trigger() {
    let Some(shared) = Shared::new().await else {
        return;
    };
    let (port_a, port_b) = (free_port(), free_port());
    let public_a = format!("http://127.0.0.1:{port_a}");
    let (a, b) = (
        shared.replica("a", port_a, &public_a),
        shared.replica("b", port_b, &public_a),
    );
    let (a, b) = (a.ready().await, b.ready().await);
    let account = shared.livechat.account_id(&shared.login).unwrap();
    let mut flows = Vec::new();
    for _ in 0..6 {
        flows.push(Callback::spawn().await);
    }
    let subscribes = flows.iter().enumerate().map(|(i, f)| {
        let through = if i % 2 == 0 { &a } else { &b };
        shared.subscribe_as(through, &account, CHAT_STARTS, &f.url)
    });
    let made = futures_util::future::join_all(subscribes).await;
    let hooks = shared.livechat.v3_webhooks(&shared.login);
    assert_eq!(
        hooks.len(),
        1,
        "one webhook for six flows on two replicas: {hooks:?}"
    );

    let sent = shared
        .livechat
        .fire(Some(&shared.login), "chat_started")
        .await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, Some(200));
    for f in &flows {
        wait_for("every flow", || f.received().len() == 1).await;
    }
    for (i, (_, location)) in made.iter().enumerate() {
        let location = match i % 2 {
            0 => location.replace(&public_a, &b.url("")),
            _ => location.clone(),
        };
        assert_eq!(shared.unsubscribe_as(&account, &location).await, 204);
        let left = shared.livechat.v3_webhooks(&shared.login).len();
        assert_eq!(left, usize::from(i < 5), "after {} of 6 left", i + 1);
    }
    drop((a, b));
    shared.finish().await;
}

/// Every row of every table of the database, as text.
async fn every_row(db_url: &str) -> String {
    let pool = sqlx::PgPool::connect(db_url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut all = String::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{table}\" t"))
            .fetch_all(&pool)
            .await
            .unwrap();
        all.extend(rows);
    }
    pool.close().await;
    all
}

/// Deliveries leased at this moment: the ones in flight on the killed replica, and those the
/// survivor has in flight: (id, chat id).
async fn leased(db_url: &str) -> HashSet<(i64, String)> {
    let pool = sqlx::PgPool::connect(db_url).await.unwrap();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, payload::json->'chat'->>'id' FROM deliveries WHERE state = 'pending' AND lease_token IS NOT NULL",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().collect()
}

/// The longest wait of one flow for its next notification after `since`.
fn longest_pause(at: &[Instant], since: Instant) -> Duration {
    let mut last = since;
    let mut longest = Duration::ZERO;
    for t in at.iter().filter(|t| **t > since) {
        longest = longest.max(*t - last);
        last = *t;
    }
    longest
}

#[actix_web::test]
async fn a_replica_killed_mid_backlog_loses_none_of_200_events() {
    let Some(shared) = Shared::new().await else {
        return;
    };
    let (port_a, port_b) = (free_port(), free_port());
    let public_a = format!("http://127.0.0.1:{port_a}");
    let a = shared.replica("a", port_a, &public_a).ready().await;
    // Four flows, down for now (503: each waits, in order), fifty events each.
    let mut flows = Vec::new();
    for _ in 0..4 {
        let flow = Callback::spawn().await;
        flow.answer_all(503, Duration::ZERO);
        shared.subscribe(&a, CHAT_STARTS, &flow.url).await;
        flows.push(flow);
    }
    let mut fired = Vec::new();
    for _ in 0..50 {
        let sent = shared
            .livechat
            .fire(Some(&shared.login), "chat_started")
            .await;
        assert_eq!(sent.len(), 4);
        assert!(
            sent.iter().all(|s| s.status == Some(200)),
            "stored and acknowledged"
        );
        fired.push(sent[0].payload["chat"]["id"].as_str().unwrap().to_string());
    }
    let store = shared.store().await;
    assert_eq!(pending(&store).await, 200);

    // The flows come up (slowly: 50 ms an answer) and A works through them; B joins (it takes
    // a flow only between two of A's deliveries, so A most likely still has every flow in
    // flight); A dies with SIGKILL mid-backlog.
    for flow in &flows {
        flow.answer_all(202, Duration::from_millis(50));
    }
    wait_for("every flow flowing", || {
        flows.iter().all(|f| !f.received().is_empty())
    })
    .await;
    let b = shared.replica("b", port_b, &public_a).ready().await;
    let unique = |flows: &[Callback]| -> usize {
        flows
            .iter()
            .map(|f| {
                chat_ids(&f.received())
                    .into_iter()
                    .collect::<HashSet<_>>()
                    .len()
            })
            .sum()
    };
    wait_for("half delivered", || unique(&flows) >= 100).await;
    a.kill();
    let killed = Instant::now();
    let in_flight = leased(&shared.db.url).await;
    let before_kill: usize = flows.iter().map(|f| f.received().len()).sum();

    eventually("all 200 delivered", || async {
        unique(&flows) == 200 && pending(&store).await == 0
    })
    .await;
    let mut duplicates = Vec::new();
    let mut pause = Duration::ZERO;
    for flow in &flows {
        let got = chat_ids(&flow.received());
        let mut seen = HashSet::new();
        let mut order = Vec::new();
        for id in &got {
            if seen.insert(id.clone()) {
                order.push(id.clone());
            } else {
                duplicates.push(id.clone());
            }
        }
        assert_eq!(order, fired, "every event, in order");
        pause = pause.max(longest_pause(
            &flow.state.lock().unwrap().received_at,
            killed,
        ));
    }
    let leased_ids: HashSet<&String> = in_flight.iter().map(|(_, e)| e).collect();
    assert!(
        duplicates.iter().all(|d| leased_ids.contains(d)),
        "a duplicate of an event that was not in flight at the kill: {duplicates:?}, in flight {in_flight:?}"
    );
    // The leases A held run 10 s; B took them over because A was gone, not because they ran out.
    assert!(
        pause < Duration::from_secs(5),
        "a flow waited {pause:?} after the kill"
    );
    eprintln!(
        "failover: 200 events, {before_kill} notifications before the SIGKILL, {} leased at the \
         kill, {} delivered twice, longest pause of a flow after the kill {} ms, all done {} ms \
         after the kill",
        in_flight.len(),
        duplicates.len(),
        pause.as_millis(),
        killed.elapsed().as_millis()
    );
    assert!(!b.log().contains("panicked"), "{}", b.log());
    store.close().await;
    drop(b);
    shared.finish().await;
}

#[actix_web::test]
async fn a_dead_letter_replayed_from_the_command_line_goes_out_through_a_running_replica() {
    let Some(shared) = Shared::new().await else {
        return;
    };
    let port = free_port();
    let mut cmd = shared.command();
    cmd.env("GATEWAY_RETRY_SCHEDULE", "0s") // one attempt, then the dead letters
        .env("GATEWAY_PUBLIC_URL", format!("http://127.0.0.1:{port}"));
    let a = Gateway::spawn(cmd, port, &shared.dir.join("a.log"))
        .ready()
        .await;
    let flow = Callback::spawn().await;
    flow.answer_all(400, Duration::ZERO);
    shared.subscribe(&a, CHAT_STARTS, &flow.url).await;
    let sent = shared
        .livechat
        .fire(Some(&shared.login), "chat_started")
        .await;
    assert_eq!(sent[0].status, Some(200));
    let store = shared.store().await;
    eventually("a dead letter", || async {
        store.counts(0).await.unwrap().dead == 1
    })
    .await;
    let listed = shared.deliveries(&["list", "--dead"]);
    assert!(listed.contains("dead"), "{listed}");

    // Fixed, the flow takes it when an operator replays it from another process.
    flow.answer_all(202, Duration::ZERO);
    let replayed = shared.deliveries(&["replay", "--all-dead"]);
    assert!(replayed.contains('1'), "{replayed}");
    wait_for("the replayed notification", || flow.received().len() == 1).await;
    assert_eq!(
        chat_ids(&flow.received()),
        [sent[0].payload["chat"]["id"].as_str().unwrap()]
    );
    eventually("nothing left", || async {
        let c = store.counts(0).await.unwrap();
        c.dead == 0 && c.pending == 0
    })
    .await;
    store.close().await;
    drop(a);
    shared.finish().await;
}

#[actix_web::test]
async fn a_replica_on_postgres_without_the_shared_secret_refuses_to_start() {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "GATEWAY_DATABASE_URL",
            "postgres://gateway@127.0.0.1:9/gateway",
        )
        .env_remove("GATEWAY_SECRET")
        .env_remove("GATEWAY_SECRET_FILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("it kept running without a secret");
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(
        err.contains("GATEWAY_SECRET") && err.contains("every replica"),
        "{err}"
    );
}
