//! Test helpers: the gateway on port 0 with its own SQLite file and its own stub LiveChat, and
//! a flow callback that records what it receives. The stub answers only what the relay needs
//! (`POST /webhooks`, `DELETE /webhooks/{id}`); the in-process fake LiveChat can replace it.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use livechat_gateway::clock::ManualClock;
use livechat_gateway::settings::Settings;
use livechat_gateway::startup::Application;
use livechat_gateway::state::AppState;
use serde_json::{json, Value};
use url::Url;

pub const LOGIN: &str = "agent@example.com";
pub const API_KEY: &str = "key-0123456789";

pub fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// A fresh folder under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lcgw-{tag}-{}", random_hex(8)));
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

/// Waits (bounded) until `cond` holds.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
pub struct StubState {
    pub hooks: Vec<Value>,
    pub requests: Vec<Recorded>,
    /// Answer the next registrations with this status and a LiveChat error body.
    pub refuse_register: Option<u16>,
}

/// A stand-in for LiveChat's webhook endpoints.
#[derive(Clone)]
pub struct StubLiveChat {
    pub url: Url,
    pub state: Arc<Mutex<StubState>>,
}

async fn stub_register(
    req: HttpRequest,
    body: web::Json<Value>,
    st: web::Data<Mutex<StubState>>,
) -> HttpResponse {
    let mut st = st.lock().unwrap();
    st.requests.push(Recorded {
        method: "POST".into(),
        path: req.path().into(),
        body: body.0.clone(),
    });
    if req
        .headers()
        .get("x-api-version")
        .and_then(|v| v.to_str().ok())
        != Some("2")
    {
        return HttpResponse::BadRequest().json(json!({"error": "X-API-Version: 2 required"}));
    }
    if let Some(status) = st.refuse_register {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .json(json!({"error": ["Invalid url"]}));
    }
    let mut hook = body.0;
    hook["id"] = json!(random_hex(16));
    hook["token"] = json!(random_hex(16));
    hook["licence"] = json!(12345);
    st.hooks.push(hook);
    // The documented answer: the whole list in the `events` envelope.
    HttpResponse::Ok().json(json!({"events": st.hooks}))
}

async fn stub_delete(
    req: HttpRequest,
    id: web::Path<String>,
    st: web::Data<Mutex<StubState>>,
) -> HttpResponse {
    let mut st = st.lock().unwrap();
    st.requests.push(Recorded {
        method: "DELETE".into(),
        path: req.path().into(),
        body: Value::Null,
    });
    let before = st.hooks.len();
    st.hooks.retain(|h| h["id"] != json!(id.as_str()));
    if st.hooks.len() == before {
        HttpResponse::NotFound().json(json!({"error": "Not found"}))
    } else {
        HttpResponse::Ok().json(json!({"result": "Push notification removed successfully"}))
    }
}

impl StubLiveChat {
    pub async fn spawn() -> Self {
        let state = web::Data::new(Mutex::new(StubState::default()));
        let l = listener();
        let url = Url::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/webhooks", web::post().to(stub_register))
                .route("/webhooks/{id}", web::delete().to(stub_delete))
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

    /// The webhooks registered now.
    pub fn webhooks(&self) -> Vec<Value> {
        self.state.lock().unwrap().hooks.clone()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}

#[derive(Default)]
pub struct CallbackState {
    pub received: Vec<Value>,
    pub attempts: usize,
    /// Answers for the next attempts: (status, Retry-After); then 202.
    pub script: VecDeque<(u16, Option<String>)>,
}

/// A flow's callback endpoint.
#[derive(Clone)]
pub struct Callback {
    pub url: String,
    pub state: Arc<Mutex<CallbackState>>,
}

async fn callback_receive(body: web::Bytes, st: web::Data<Mutex<CallbackState>>) -> HttpResponse {
    let mut st = st.lock().unwrap();
    st.attempts += 1;
    let (status, retry_after) = st.script.pop_front().unwrap_or((202, None));
    if (200..300).contains(&status) {
        st.received
            .push(serde_json::from_slice(&body).expect("JSON notification"));
    }
    let mut res = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Some(r) = retry_after {
        res.insert_header(("Retry-After", r));
    }
    res.finish()
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

    pub fn answer_next(&self, answers: &[(u16, Option<&str>)]) {
        let mut st = self.state.lock().unwrap();
        st.script
            .extend(answers.iter().map(|(s, r)| (*s, r.map(String::from))));
    }
}

pub struct TestApp {
    pub address: String,
    pub livechat: StubLiveChat,
    pub clock: Arc<ManualClock>,
    pub state: Arc<AppState>,
    pub db_dir: PathBuf,
    pub client: awc::Client,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The gateway with `Settings::for_tests` (private callbacks allowed), changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    let livechat = StubLiveChat::spawn().await;
    let db_dir = temp_dir("app");
    let db = format!("sqlite://{}/gateway.db", db_dir.display());
    let mut settings = Settings::for_tests(livechat.url.clone(), db);
    configure(&mut settings);
    let clock = ManualClock::new(1_700_000_000_000);
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        livechat,
        clock,
        state,
        db_dir,
        client: awc::Client::builder()
            .timeout(Duration::from_secs(10))
            .finish(),
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
        let (status, body, location) = self.subscribe_as(route, callback, LOGIN, API_KEY).await;
        assert_eq!(status, 201, "{body}");
        (
            body["id"].as_str().unwrap().to_string(),
            location.expect("Location"),
        )
    }

    pub async fn delete(&self, location: &str, creds: Option<(&str, &str)>) -> u16 {
        let mut req = self.client.delete(location);
        if let Some((login, key)) = creds {
            req = req.basic_auth(login, key);
        }
        req.send().await.expect("delete call").status().as_u16()
    }

    /// The intake URL LiveChat was given for `subscription_id`.
    pub fn intake_url(&self, subscription_id: &str) -> String {
        let needle = format!("/livechat/events/{subscription_id}/");
        self.livechat
            .webhooks()
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
        let started = Instant::now();
        while self.counts().await.pending > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "deliveries still pending"
            );
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (bounded) until the store has recorded `n` failed attempts of some delivery, so
    /// that moving the clock afterwards is measured from that failure.
    pub async fn wait_attempts_recorded(&self, n: u32) {
        let started = Instant::now();
        loop {
            let rows = self.state.store.list_deliveries(false).await.unwrap();
            if rows.iter().any(|d| d.attempts >= n) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "attempt {n} not recorded"
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn counts(&self) -> livechat_gateway::store::Counts {
        self.state.store.counts().await.unwrap()
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
