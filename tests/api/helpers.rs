//! `spawn_app()`: a gateway on port 0 with its own SQLite file and its own fake LiveChat, and
//! a flow callback that records what it receives.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use livechat_gateway::state::AppState;
use serde_json::{json, Value};

use base64::Engine;
use livechat_gateway::clock::{ManualClock, SharedClock};
use livechat_gateway::fake_livechat::FakeLiveChat;
use livechat_gateway::settings::Settings;
use livechat_gateway::startup::Application;
pub use livechat_gateway::upstream::Generation;

pub struct TestApp {
    pub address: String,
    pub fake: FakeLiveChat,
    /// The connection's username: the owner's e-mail on v2, the account ID on v3.
    pub login: String,
    /// The account owner's e-mail (an agent login on either generation).
    pub owner: String,
    pub generation: Generation,
    pub api_key: String,
    pub db_dir: PathBuf,
    pub clock: Arc<ManualClock>,
    pub state: Arc<AppState>,
    pub client: awc::Client,
    pub server: actix_web::dev::ServerHandle,
}

pub fn basic(login: &str, key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{login}:{key}"))
    )
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

impl TestApp {
    pub fn auth(&self) -> String {
        basic(&self.login, &self.api_key)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn get(&self, path: &str) -> awc::ClientRequest {
        self.client
            .get(self.url(path))
            .insert_header(("Authorization", self.auth()))
    }

    pub fn post(&self, path: &str) -> awc::ClientRequest {
        self.client
            .post(self.url(path))
            .insert_header(("Authorization", self.auth()))
    }

    pub fn put(&self, path: &str) -> awc::ClientRequest {
        self.client
            .put(self.url(path))
            .insert_header(("Authorization", self.auth()))
    }

    pub fn delete(&self, path: &str) -> awc::ClientRequest {
        self.client
            .delete(self.url(path))
            .insert_header(("Authorization", self.auth()))
    }

    /// A second account at the same fake LiveChat.
    pub fn other_account(&self) -> (String, String) {
        let login = format!("{}@example.com", unique("other"));
        let key = unique("key");
        self.fake.add_account(&login, &key);
        (login, key)
    }
}

pub const CHAT_STARTS: &str = "/chat_starts_webhook/webhooks";
pub const CHAT_ENDS: &str = "/chat_ends_webhook/webhooks";
pub const TICKET_CREATED: &str = "/ticket_created_webhook/webhooks";

impl TestApp {
    pub async fn subscribe_as(
        &self,
        route: &str,
        callback: &str,
        login: &str,
        key: &str,
    ) -> (u16, Value, Option<String>) {
        let mut res = self
            .client
            .post(format!("{}{route}", self.address))
            .basic_auth(login, key)
            .send_json(&json!({"url": callback}))
            .await
            .expect("subscribe call");
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (res.status().as_u16(), body, location)
    }

    /// Subscribes as the default connection; returns (subscription id, Location).
    pub async fn subscribe(&self, route: &str, callback: &str) -> (String, String) {
        let (status, body, location) = self
            .subscribe_as(route, callback, &self.login, &self.api_key)
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["id"].as_str().unwrap().to_string(),
            location.expect("Location"),
        )
    }

    pub async fn delete_at(&self, location: &str, creds: Option<(&str, &str)>) -> u16 {
        let mut req = self.client.delete(location);
        if let Some((login, key)) = creds {
            req = req.basic_auth(login, key);
        }
        req.send().await.expect("delete call").status().as_u16()
    }

    /// The intake URL LiveChat was given for `subscription_id`.
    pub fn intake_url(&self, subscription_id: &str) -> String {
        let needle = format!("/livechat/events/{subscription_id}/");
        self.fake
            .webhooks(&self.login)
            .iter()
            .filter_map(|h| h["url"].as_str())
            .find(|u| u.contains(&needle))
            .expect("webhook registered at LiveChat")
            .to_string()
    }

    /// LiveChat posting an event to the gateway.
    pub async fn post_event(&self, intake_url: &str, event: &Value) -> (u16, Value) {
        let mut res = self
            .client
            .post(intake_url)
            .send_json(event)
            .await
            .expect("intake call");
        (
            res.status().as_u16(),
            res.json::<Value>().await.unwrap_or(Value::Null),
        )
    }

    /// Waits (bounded) until no delivery is pending.
    pub async fn wait_until_settled(&self) {
        eventually("no delivery pending", || async {
            self.counts().await.pending == 0
        })
        .await;
    }

    /// Waits (bounded) until the store has recorded `n` failed attempts of some delivery, so
    /// that moving the clock afterwards is measured from that failure.
    pub async fn wait_attempts_recorded(&self, n: u32) {
        eventually(&format!("attempt {n} recorded"), || async {
            let rows = self.state.store.list_deliveries(false).await.unwrap();
            rows.iter().any(|d| d.attempts >= n)
        })
        .await;
    }

    /// Asserts that the delivery worker, looking at the store after the clock was last moved,
    /// claims nothing: waits until it has completed two polls (the first may have begun before
    /// the clock moved) and checks that no delivery was claimed meanwhile.
    pub async fn assert_nothing_due(&self, why: &str) {
        let relay = &self.state.relay;
        let (polls, claimed) = (relay.polls(), relay.claimed());
        eventually("two worker polls", || async {
            relay.wake();
            relay.polls() >= polls + 2
        })
        .await;
        assert_eq!(relay.claimed(), claimed, "{why}");
    }

    /// Waits (bounded) until the subscription's row is gone from the store.
    pub async fn wait_subscription_gone(&self, id: &str) {
        eventually(&format!("subscription {id} gone"), || async {
            self.state.store.subscription(id).await.unwrap().is_none()
        })
        .await;
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let res = send(self.client.get(self.url("/metrics")), None).await;
        assert_eq!(res.status, 200);
        res.text
    }

    pub async fn counts(&self) -> livechat_gateway::store::Counts {
        use livechat_gateway::clock::Clock;
        let now = self.clock.now_ms();
        self.state.store.counts(now).await.unwrap()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(Generation::V2, tweak).await
}

/// A gateway whose connection uses `generation` (chosen by `auto` from its username).
pub async fn spawn_app_on(generation: Generation, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    capture_logs();
    let fake = FakeLiveChat::spawn("127.0.0.1:0")
        .await
        .expect("fake LiveChat starts");
    let owner = format!("{}@example.com", unique("agent"));
    let api_key = unique("CANARY");
    fake.add_account(&owner, &api_key);
    let login = match generation {
        Generation::V2 => owner.clone(),
        Generation::V3 => fake.account_id(&owner).expect("the account has an ID"),
    };
    let db_dir = scratch_root().join(unique("lcgw-test"));
    let mut settings = test_settings(&fake, &db_dir);
    tweak(&mut settings);
    let clock = ManualClock::new(1_700_000_000_000);
    let parts = Parts {
        fake,
        login,
        owner,
        generation,
        api_key,
        db_dir,
        clock,
    };
    start(parts, settings).await
}

fn test_settings(fake: &FakeLiveChat, db_dir: &std::path::Path) -> Settings {
    Settings::for_tests(
        fake.base_url().parse().expect("fake URL"),
        format!("sqlite://{}/gateway.db", db_dir.display()),
    )
}

/// What a gateway under test keeps across a restart.
struct Parts {
    fake: FakeLiveChat,
    login: String,
    owner: String,
    generation: Generation,
    api_key: String,
    db_dir: PathBuf,
    clock: Arc<ManualClock>,
}

async fn start(p: Parts, settings: Settings) -> TestApp {
    let app = Application::build_with_clock(settings, p.clock.clone() as SharedClock)
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let server = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        fake: p.fake,
        login: p.login,
        owner: p.owner,
        generation: p.generation,
        api_key: p.api_key,
        db_dir: p.db_dir,
        clock: p.clock,
        state,
        client: awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish(),
        server,
    }
}

impl TestApp {
    /// Stops this gateway (as a deploy would) and starts another on the same SQLite file, fake
    /// LiveChat and clock, with the default test settings.
    pub async fn restart(self) -> TestApp {
        self.server.stop(true).await;
        self.state.relay.stop();
        self.state.store.close().await;
        let settings = test_settings(&self.fake, &self.db_dir);
        let parts = Parts {
            fake: self.fake,
            login: self.login,
            owner: self.owner,
            generation: self.generation,
            api_key: self.api_key,
            db_dir: self.db_dir,
            clock: self.clock,
        };
        start(parts, settings).await
    }
}

/// Every log line of this test process, at debug level, for the "key never logged" checks.
pub static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Debug
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let line = format!("{} {} {}", r.level(), r.target(), r.args());
            LOGS.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = log::set_boxed_logger(Box::new(Capture));
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// What a test looks at in an answer.
pub struct Res {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub text: String,
    pub body: serde_json::Value,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `req` (with a JSON body when given) and reads the whole answer.
pub async fn send(req: awc::ClientRequest, body: Option<&serde_json::Value>) -> Res {
    let sent = match body {
        Some(b) => req.send_json(b).await,
        None => req.send().await,
    };
    let mut res = sent.expect("the gateway answers");
    let bytes = res.body().limit(16 * 1024 * 1024).await.expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Res {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        text,
    }
}

pub fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// Where tests keep their SQLite files: a memory-backed tmpfs where the machine has one, so
/// that `synchronous=FULL` commits do not queue behind a busy disk (a SIGKILL still loses
/// nothing there: what is written survives the process), else the system temp dir.
pub fn scratch_root() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let writable = std::fs::metadata(&shm).is_ok_and(|m| m.is_dir() && !m.permissions().readonly());
    if writable {
        shm
    } else {
        std::env::temp_dir()
    }
}

/// A fresh folder under `scratch_root()`.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = scratch_root().join(format!("lcgw-{tag}-{}", random_hex(8)));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Binds 127.0.0.1 on a port the OS chose.
pub fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind")
}

/// A port that is free now (for a server started later).
pub fn free_port() -> u16 {
    listener().local_addr().unwrap().port()
}

/// Waits until `cond` holds, polling an observable condition (no sleep stands in for an
/// outcome); fails the test after 15 s.
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !cond().await {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `eventually` for a condition that needs no await.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    eventually(what, || std::future::ready(cond())).await;
}

#[derive(Default)]
pub struct CallbackState {
    pub received: Vec<Value>,
    pub attempts: usize,
    /// Answers for the next attempts: (status, Retry-After); then 202.
    pub script: VecDeque<(u16, Option<String>)>,
    /// Chat or ticket ids this flow always refuses, with the status it answers.
    pub refuse: HashMap<String, u16>,
    /// What it answers when nothing above says otherwise (202 when unset).
    pub usual: Option<u16>,
    /// How long it takes to answer a notification it accepted (it has taken it by then).
    pub slowness: Duration,
    /// When each accepted notification arrived (beside `received`).
    pub received_at: Vec<Instant>,
}

/// A flow's callback endpoint.
#[derive(Clone)]
pub struct Callback {
    pub url: String,
    pub state: Arc<Mutex<CallbackState>>,
}

async fn callback_receive(body: web::Bytes, st: web::Data<Mutex<CallbackState>>) -> HttpResponse {
    let (res, slowness) = callback_answer(&body, &mut st.lock().unwrap());
    if !slowness.is_zero() {
        actix_web::rt::time::sleep(slowness).await;
    }
    res
}

fn callback_answer(body: &[u8], st: &mut CallbackState) -> (HttpResponse, Duration) {
    st.attempts += 1;
    let notification: Value = serde_json::from_slice(body).expect("JSON notification");
    let subject = notification["chat"]["id"]
        .as_str()
        .or(notification["ticket"]["id"].as_str())
        .unwrap_or_default();
    let refused = st.refuse.get(subject).map(|s| (*s, None));
    let (status, retry_after) = refused
        .or_else(|| st.script.pop_front())
        .unwrap_or((st.usual.unwrap_or(202), None));
    let accepted = (200..300).contains(&status);
    if accepted {
        st.received.push(notification);
        st.received_at.push(Instant::now());
    }
    let mut res = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Some(r) = retry_after {
        res.insert_header(("Retry-After", r));
    }
    let slowness = if accepted {
        st.slowness
    } else {
        Duration::ZERO
    };
    (res.finish(), slowness)
}

impl Callback {
    pub async fn spawn() -> Self {
        Self::spawn_on(listener())
    }

    pub fn spawn_on(l: TcpListener) -> Self {
        let state = web::Data::new(Mutex::new(CallbackState::default()));
        let url = format!("http://{}/flow/callback?sig=abc", l.local_addr().unwrap());
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/flow/callback", web::post().to(callback_receive))
        })
        .workers(1)
        .disable_signals()
        .listen(l)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Self {
            url,
            state: state.into_inner(),
        }
    }

    pub fn received(&self) -> Vec<Value> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn attempts(&self) -> usize {
        self.state.lock().unwrap().attempts
    }

    /// The flow refuses the notification about this chat or ticket every time.
    pub fn refuse(&self, subject_id: &str, status: u16) {
        let mut st = self.state.lock().unwrap();
        st.refuse.insert(subject_id.into(), status);
    }

    /// From now on answers `status` to every notification not scripted or refused, after
    /// `slowness` when it accepts one.
    pub fn answer_all(&self, status: u16, slowness: Duration) {
        let mut st = self.state.lock().unwrap();
        st.usual = Some(status);
        st.slowness = slowness;
    }

    pub fn answer_next(&self, answers: &[(u16, Option<&str>)]) {
        let mut st = self.state.lock().unwrap();
        st.script
            .extend(answers.iter().map(|(s, r)| (*s, r.map(String::from))));
    }
}

pub fn chat_event(event_type: &str, chat_id: &str) -> Value {
    json!({
        "event_type": event_type, "token": "27f41c8da685c81a890f9e5f8ce48387", "license_id": "1025707",
        "chat": {"id": chat_id, "started_timestamp": 1358937653, "ended_timestamp": 1358939109,
            "messages": [{"user_type": "agent", "author_name": "John Doe", "agent_id": "john.doe@mycompany.com",
                "text": "Hello", "timestamp": 1358937653}],
            "tags": ["sales"], "groups": [0]},
        "visitor": {"id": "S126126161.O136OJPO1", "name": "Mary Brown", "email": "mary.brown@email.com"},
        "pre_chat_survey": [{"id": "135963440121804757", "type": "name", "label": "Your name", "answer": "Mary Brown"}]
    })
}

pub fn ticket_event(ticket_id: &str) -> Value {
    json!({
        "event_type": "ticket_created", "token": "27f41c8da685c81a890f9e5f8ce48387", "license_id": "1025707",
        "ticket": {"id": ticket_id, "status": "open", "subject": "Broken shoes",
            "requester": {"mail": "mary.brown@email.com", "name": "Mary Brown"},
            "groups": [{"id": 0, "name": "All operators"}, 3], "tags": [],
            "source": {"type": "mail"},
            "events": [{"type": "message", "date": "2014-08-18T10:05:05Z", "is_private": false, "message": "Hi",
                "author": {"id": "mary.brown@email.com", "name": "Mary Brown", "type": "client"}}]}
    })
}

/// Reads every file of the SQLite database (db, -wal, -shm) that exists.
pub fn database_bytes(dir: &std::path::Path) -> HashMap<String, Vec<u8>> {
    ["gateway.db", "gateway.db-wal", "gateway.db-shm"]
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok().map(|b| (f.to_string(), b)))
        .collect()
}

/// The shared Redis for tests, or None (and a note saying the test was skipped).
pub fn redis_url() -> Option<String> {
    let url = std::env::var("GATEWAY_TEST_REDIS_URL").ok();
    if url.is_none() {
        eprintln!("skipped: GATEWAY_TEST_REDIS_URL not set");
    }
    url
}
