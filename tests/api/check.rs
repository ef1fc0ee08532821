//! `livechat-gateway check`, `deliveries list --json` and the subcommands' `--help`, through
//! the real binary.

use std::ffi::OsStr;
use std::process::{Command, Output};

use livechat_gateway::fake_livechat::FakeLiveChat;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_livechat-gateway");

fn gateway<A: AsRef<OsStr>, K: AsRef<OsStr>, V: AsRef<OsStr>>(
    args: &[A],
    env: &[(K, V)],
) -> Output {
    let mut cmd = Command::new(BIN);
    for var in [
        "GATEWAY_SECRET",
        "GATEWAY_SECRET_FILE",
        "GATEWAY_PUBLIC_URL",
        "GATEWAY_REDIS_URL",
        "GATEWAY_DATABASE_URL",
        "GATEWAY_LIVECHAT_URL",
        "GATEWAY_LIVECHAT_CLIENT_ID",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

struct Checked {
    ok: bool,
    text: String,
}

impl Checked {
    /// The report line of one check.
    fn line(&self, what: &str) -> &str {
        self.text
            .lines()
            .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(what)))
            .unwrap_or_else(|| panic!("no `{what}` line in:\n{}", self.text))
    }
}

/// Runs `check` off the test's runtime, which serves the fake LiveChat meanwhile.
async fn check(env: &[(&'static str, String)], args: &[&str]) -> Checked {
    let mut all = vec!["check".to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    let env = env.to_vec();
    let out = actix_web::rt::task::spawn_blocking(move || gateway(&all, &env))
        .await
        .unwrap();
    Checked {
        ok: out.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

struct Setup {
    livechat: FakeLiveChat,
    login: String,
    key: String,
    env: Vec<(&'static str, String)>,
}

async fn setup() -> Setup {
    let dir = temp_dir("check");
    let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    let login = format!("{}@example.com", unique("check"));
    let key = unique("CANARY-check");
    livechat.add_account(&login, &key);
    let env = vec![
        (
            "GATEWAY_DATABASE_URL",
            format!("sqlite://{}/data/gateway.db", dir.display()),
        ),
        ("GATEWAY_LIVECHAT_URL", livechat.base_url()),
        ("GATEWAY_PUBLIC_URL", "https://localhost".to_string()),
    ];
    Setup {
        livechat,
        login,
        key,
        env,
    }
}

#[actix_web::test]
async fn a_sound_setup_passes_every_check() {
    let mut s = setup().await;
    if let Ok(redis) = std::env::var("GATEWAY_TEST_REDIS_URL") {
        s.env.push(("GATEWAY_REDIS_URL", redis));
    }
    let c = check(&s.env, &["--login", &s.login, "--api-key", &s.key]).await;
    assert!(c.ok, "{}", c.text);
    assert!(c.line("store").starts_with("ok"), "{}", c.text);
    assert!(c.line("public URL").starts_with("ok"), "{}", c.text);
    assert!(c.line("LiveChat login").starts_with("ok"), "{}", c.text);
    assert!(c.text.contains("Everything the gateway needs is in order."));
    assert!(!c.text.contains(&s.key), "the key is echoed:\n{}", c.text);
    drop(s.livechat);
}

#[actix_web::test]
async fn a_v3_connection_is_told_what_its_chat_triggers_need() {
    let mut s = setup().await;
    let account = s.livechat.account_id(&s.login).unwrap();
    let args = ["--login", account.as_str(), "--api-key", s.key.as_str()];
    let c = check(&s.env, &args).await;
    assert!(c.ok, "a warning, not a failure:\n{}", c.text);
    let line = c.line("v3 chat triggers");
    assert!(
        line.starts_with("warn") && line.contains("GATEWAY_LIVECHAT_CLIENT_ID"),
        "{line}"
    );
    s.env.push(("GATEWAY_LIVECHAT_CLIENT_ID", "my-app".into()));
    let c = check(&s.env, &args).await;
    assert!(c.line("v3 chat triggers").starts_with("ok"), "{}", c.text);
    let v2 = check(&s.env, &["--login", &s.login, "--api-key", &s.key]).await;
    assert!(!v2.text.contains("v3 chat triggers"), "{}", v2.text);
    drop(s.livechat);
}

#[actix_web::test]
async fn a_shared_postgres_store_passes_with_the_shared_secret() {
    use livechat_gateway::store::scratch::{test_server_url, ScratchDatabase};
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await.unwrap();
    let mut s = setup().await;
    s.env[0].1 = db.url.clone();
    s.env.push(("GATEWAY_SECRET", random_hex(32)));
    let c = check(&s.env, &[]).await;
    // On this machine: loopback (no TLS needed) and the same clock, so nothing to warn about.
    let store = c.line("store");
    assert!(store.starts_with("ok"), "{}", c.text);
    assert!(store.contains("0 subscription(s)"), "{store}");
    assert!(
        !store.contains(&server),
        "the URL is shown redacted: {store}"
    );
    db.drop_now().await.unwrap();
}

#[actix_web::test]
async fn an_unreachable_store_and_redis_are_failures_with_a_fix() {
    let mut s = setup().await;
    // A folder that cannot be made: its parent is a file.
    let file = temp_dir("check-file").join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    s.env[0].1 = format!("sqlite://{}/data/gateway.db", file.display());
    s.env.push((
        "GATEWAY_REDIS_URL",
        format!("redis://127.0.0.1:{}", free_port()),
    ));
    let c = check(&s.env, &[]).await;
    assert!(!c.ok, "{}", c.text);
    let store = c.line("store");
    assert!(store.starts_with("FAIL"), "{store}");
    assert!(store.contains("GATEWAY_DATABASE_URL"), "{store}");
    assert!(c.line("Redis").starts_with("FAIL"), "{}", c.text);
    assert!(c.line("LiveChat login").starts_with("skip"), "{}", c.text);
    assert!(c.text.contains("2 problems"), "{}", c.text);
}

#[actix_web::test]
async fn a_wrong_livechat_key_is_named_and_never_echoed() {
    let s = setup().await;
    let wrong = unique("CANARY-wrong");
    let c = check(&s.env, &["--login", &s.login, "--api-key", &wrong]).await;
    assert!(!c.ok, "{}", c.text);
    let line = c.line("LiveChat login");
    assert!(
        line.starts_with("FAIL") && line.contains("refused"),
        "{line}"
    );
    assert!(c.line("store").starts_with("ok"), "{}", c.text);
    assert!(!c.text.contains(&wrong), "the key is echoed:\n{}", c.text);
}

#[actix_web::test]
async fn a_plain_http_public_url_is_a_failure() {
    let mut s = setup().await;
    s.env[2].1 = "http://gateway.example.com".into();
    let c = check(&s.env, &[]).await;
    assert!(!c.ok, "{}", c.text);
    let line = c.line("public URL");
    assert!(
        line.starts_with("FAIL") && line.contains("not https"),
        "{line}"
    );
}

#[actix_web::test]
async fn deliveries_list_prints_json_for_scripts() {
    let s = setup().await;
    let out = gateway(&["deliveries", "list", "--json"], &s.env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v, serde_json::json!([]));
}

#[test]
fn every_subcommand_help_has_examples() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["openapi", "--help"],
        &["check", "--help"],
        &["deliveries", "--help"],
        &["deliveries", "list", "--help"],
        &["deliveries", "replay", "--help"],
    ] {
        let out = gateway::<_, &str, &str>(args, &[]);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Examples:\n  livechat-gateway "),
            "{args:?}:\n{text}"
        );
    }
}
