//! `spawn_app()`: a gateway on port 0 with its own SQLite file and its own fake LiveChat.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once};

use base64::Engine;
use livechat_gateway::clock::{ManualClock, SharedClock};
use livechat_gateway::fake_livechat::FakeLiveChat;
use livechat_gateway::settings::Settings;
use livechat_gateway::startup::Application;

pub struct TestApp {
    pub address: String,
    pub fake: FakeLiveChat,
    pub login: String,
    pub api_key: String,
    pub db_dir: PathBuf,
    pub clock: Arc<ManualClock>,
    pub client: awc::Client,
}

pub fn basic(login: &str, key: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{login}:{key}")))
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
        self.client.get(self.url(path)).insert_header(("Authorization", self.auth()))
    }

    pub fn post(&self, path: &str) -> awc::ClientRequest {
        self.client.post(self.url(path)).insert_header(("Authorization", self.auth()))
    }

    pub fn put(&self, path: &str) -> awc::ClientRequest {
        self.client.put(self.url(path)).insert_header(("Authorization", self.auth()))
    }

    pub fn delete(&self, path: &str) -> awc::ClientRequest {
        self.client.delete(self.url(path)).insert_header(("Authorization", self.auth()))
    }

    /// A second account at the same fake LiveChat.
    pub fn other_account(&self) -> (String, String) {
        let login = format!("{}@example.com", unique("other"));
        let key = unique("key");
        self.fake.add_account(&login, &key);
        (login, key)
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    capture_logs();
    let fake = FakeLiveChat::spawn("127.0.0.1:0").await.expect("fake LiveChat starts");
    let login = format!("{}@example.com", unique("agent"));
    let api_key = unique("CANARY");
    fake.add_account(&login, &api_key);
    let db_dir = std::env::temp_dir().join(unique("lcgw-test"));
    let mut settings = Settings::for_tests(
        fake.base_url().parse().expect("fake URL"),
        format!("sqlite://{}/gateway.db", db_dir.display()),
    );
    tweak(&mut settings);
    let clock = ManualClock::new(1_700_000_000_000);
    let app = Application::build_with_clock(settings, clock.clone() as SharedClock)
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        fake,
        login,
        api_key,
        db_dir,
        clock,
        client: awc::Client::builder().timeout(std::time::Duration::from_secs(30)).finish(),
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
