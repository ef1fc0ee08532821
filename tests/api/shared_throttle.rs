//! The throttle across replicas: real gateway processes sharing one Redis count as one, and
//! keep answering under their own limit while that Redis is gone.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;

use livechat_gateway::fake_livechat::FakeLiveChat;

use crate::helpers::{eventually, free_port, random_hex, redis_url, temp_dir, unique};
use crate::processes::{Gateway, Process, BIN};

/// A gateway binary with its own SQLite file, on `redis`, with the other replicas' secret.
async fn replica(
    dir: &Path,
    name: &str,
    livechat: &str,
    redis: &str,
    secret: &str,
    calls: u32,
    redis_timeout_ms: u32,
) -> Gateway {
    let mut cmd = Command::new(BIN);
    cmd.env(
        "GATEWAY_DATABASE_URL",
        format!("sqlite://{}/{name}/gateway.db", dir.display()),
    )
    .env("GATEWAY_LIVECHAT_URL", livechat)
    .env("GATEWAY_REDIS_URL", redis)
    .env("GATEWAY_SECRET", secret)
    .env("GATEWAY_THROTTLE_CALLS", calls.to_string())
    .env("GATEWAY_THROTTLE_WINDOW_SECS", "60")
    .env("GATEWAY_REDIS_TIMEOUT_MS", redis_timeout_ms.to_string())
    .env("RUST_LOG", "warn")
    .env_remove("GATEWAY_SECRET_FILE")
    .env_remove("GATEWAY_THROTTLE_FALLBACK");
    Gateway::start(cmd, free_port(), &dir.join(format!("{name}.log"))).await
}

async fn throttle_status(replica: &Gateway) -> Value {
    let mut res = awc::Client::default()
        .get(replica.url("/readyz"))
        .send()
        .await
        .expect("readyz answers");
    res.json::<Value>().await.expect("JSON")["throttle"].clone()
}

struct Caller {
    client: awc::Client,
    login: String,
    key: String,
}

impl Caller {
    fn new(livechat: &FakeLiveChat) -> Self {
        let login = format!("{}@example.com", unique("replicas"));
        let key = unique("CANARY");
        livechat.add_account(&login, &key);
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish();
        Self { client, login, key }
    }

    /// The status of `n` calls to `replica`, sent at once.
    async fn calls(&self, replica: &Gateway, n: usize) -> Vec<u16> {
        let calls = (0..n).map(|_| async {
            self.client
                .get(replica.url("/agents"))
                .basic_auth(&self.login, &self.key)
                .send()
                .await
                .expect("the replica answers")
                .status()
                .as_u16()
        });
        join_all(calls).await
    }
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|&&s| s == status).count()
}

/// A redis-server of this test's own on `port`, or None when there is none on PATH.
fn own_redis(port: u16, dir: &Path) -> Option<Process> {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Process(child))
}

async fn redis_answers(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

#[actix_web::test]
async fn two_replicas_sharing_redis_admit_exactly_the_quota_between_them() {
    let Some(redis) = redis_url() else { return };
    let dir = temp_dir("replicas");
    let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    let lc = livechat.base_url();
    let secret = random_hex(32);
    // A loaded machine may take Redis past the default 300 ms; this test is about the shared
    // count, not the fallback, so it waits longer.
    let a = replica(&dir, "a", &lc, &redis, &secret, 100, 5_000).await;
    let b = replica(&dir, "b", &lc, &redis, &secret, 100, 5_000).await;
    let caller = Caller::new(&livechat);

    let (to_a, to_b) = futures_util::join!(caller.calls(&a, 75), caller.calls(&b, 75));
    let all: Vec<u16> = to_a.iter().chain(&to_b).copied().collect();
    assert_eq!(count(&all, 200), 100, "admitted across both: {all:?}");
    assert_eq!(count(&all, 429), 50, "{all:?}");
    assert!(
        count(&to_a, 200) > 0 && count(&to_b, 200) > 0,
        "both served"
    );
    assert_eq!(
        livechat.requests().len(),
        100,
        "refused calls not forwarded"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[actix_web::test]
async fn a_lost_redis_leaves_each_replica_its_own_limit_until_it_is_back() {
    if redis_url().is_none() {
        return;
    }
    let dir = temp_dir("redis-kill");
    let port = free_port();
    let Some(server) = own_redis(port, &dir) else {
        eprintln!("skipped: redis-server not on PATH");
        return;
    };
    eventually("our redis-server up", || redis_answers(port)).await;
    let redis = format!("redis://127.0.0.1:{port}");
    let livechat = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    let lc = livechat.base_url();
    let secret = random_hex(32);
    let a = replica(&dir, "a", &lc, &redis, &secret, 10, 300).await;
    let b = replica(&dir, "b", &lc, &redis, &secret, 10, 300).await;
    let caller = Caller::new(&livechat);

    // Shared: 6 through one replica and 4 through the other use up the quota of both.
    assert_eq!(count(&caller.calls(&a, 6).await, 200), 6);
    assert_eq!(count(&caller.calls(&b, 4).await, 200), 4);
    assert_eq!(caller.calls(&a, 1).await, [429]);
    assert_eq!(caller.calls(&b, 1).await, [429]);
    assert_eq!(throttle_status(&a).await["backend"], "redis");

    drop(server); // SIGKILL
                  // Each replica now counts alone, from what it admitted itself: A 6 of 10, B 4 of 10.
    let at_a = caller.calls(&a, 10).await;
    let at_b = caller.calls(&b, 10).await;
    assert_eq!((count(&at_a, 200), count(&at_a, 429)), (4, 6), "{at_a:?}");
    assert_eq!((count(&at_b, 200), count(&at_b, 429)), (6, 4), "{at_b:?}");
    for r in [&a, &b] {
        let status = throttle_status(r).await;
        assert_eq!(status["backend"], "local", "{status}");
        assert_eq!(status["fell_back"], true);
    }
    assert_eq!(
        a.log().matches("Redis cannot be reached").count(),
        1,
        "the change is logged once: {}",
        a.log()
    );

    // Back, and empty: the shared count starts again, across both replicas.
    let _server = own_redis(port, &dir).expect("redis-server again");
    for r in [&a, &b] {
        eventually("the replica back on Redis", || async {
            throttle_status(r).await["fell_back"] == false
        })
        .await;
    }
    let (again_a, again_b) = futures_util::join!(caller.calls(&a, 6), caller.calls(&b, 6));
    let again: Vec<u16> = again_a.iter().chain(&again_b).copied().collect();
    assert_eq!(
        count(&again, 200),
        10,
        "the shared limit is back: {again:?}"
    );
    assert_eq!(count(&again, 429), 2, "{again:?}");
    assert!(a.log().contains("Redis answers again"), "{}", a.log());
    std::fs::remove_dir_all(&dir).ok();
}
