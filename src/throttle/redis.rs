//! The sliding log in Redis, shared by every replica: one script call per decision (EVALSHA,
//! loaded again by `redis::Script` when Redis answers NOSCRIPT, e.g. after a restart), Redis's
//! own clock, keys that expire by themselves and that name only the connection id.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};

use super::{Decision, Limits, LogView};
use crate::credentials::ConnectionId;

/// Every key the gateway writes starts with this.
pub const KEY_PREFIX: &str = "livechat-gateway:throttle:";

pub struct RedisThrottle {
    limits: Limits,
    conn: ConnectionManager,
    script: Script,
}

pub fn key(id: &ConnectionId) -> String {
    format!("{KEY_PREFIX}{id}")
}

impl RedisThrottle {
    /// Checks the URL now and connects on first use; the manager reconnects after a failure.
    /// Connecting or one answer may take up to `timeout` (`GATEWAY_REDIS_TIMEOUT_MS`, which
    /// the failover bounds each decision by again).
    pub fn connect_lazily(url: &str, limits: Limits, timeout: Duration) -> RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(timeout);
        Ok(Self {
            limits,
            conn: ConnectionManager::new_lazy_with_config(client, config)?,
            script: Script::new(include_str!("sliding_log.lua")),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Admits and records the call by Redis's clock.
    pub async fn check(&self, id: &ConnectionId) -> RedisResult<Decision> {
        self.check_at(id, None).await
    }

    /// As `check`, at a given time instead of Redis's (tests compare backends on one schedule).
    pub async fn check_at(&self, id: &ConnectionId, now_ms: Option<i64>) -> RedisResult<Decision> {
        let mut call = self.script.key(key(id));
        call.arg(self.limits.calls).arg(self.limits.window_ms);
        if let Some(now) = now_ms {
            call.arg(now);
        }
        let (admitted, in_window, oldest_ms, now_ms): (i64, u32, i64, i64) =
            call.invoke_async(&mut self.conn.clone()).await?;
        Ok(self.limits.decide(LogView {
            admitted: admitted == 1,
            in_window,
            oldest_ms,
            now_ms,
        }))
    }

    pub async fn ping(&self) -> RedisResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::throttle::LocalThrottle;
    use proptest::prelude::*;

    /// The default of `GATEWAY_REDIS_TIMEOUT_MS`.
    const MS_300: Duration = Duration::from_millis(300);

    fn redis_url() -> Option<String> {
        let url = std::env::var("GATEWAY_TEST_REDIS_URL").ok();
        if url.is_none() {
            eprintln!("skipped: GATEWAY_TEST_REDIS_URL not set");
        }
        url
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn fresh_id() -> ConnectionId {
        ConnectionId::from_stored(format!("test-{:016x}", rand::random::<u64>()))
    }

    /// Azure Cache for Redis (and most managed Redis) takes TLS only.
    #[test]
    fn a_tls_url_is_accepted() {
        runtime().block_on(async {
            let t = RedisThrottle::connect_lazily(
                "rediss://cache.example.com:6380",
                Limits::new(1, 1),
                MS_300,
            );
            assert!(t.is_ok(), "{:?}", t.err());
        });
    }

    #[test]
    fn keys_name_the_connection_id_only() {
        let id = ConnectionId::from_stored("AbC-123_x".into());
        assert_eq!(key(&id), "livechat-gateway:throttle:AbC-123_x");
    }

    #[test]
    fn the_log_expires_by_itself_and_survives_a_lost_script() {
        let Some(url) = redis_url() else { return };
        runtime().block_on(async {
            let t = RedisThrottle::connect_lazily(&url, Limits::new(2, 5), MS_300).unwrap();
            let id = fresh_id();
            assert!(matches!(
                t.check(&id).await.unwrap(),
                Decision::Admitted { remaining: 1, .. }
            ));
            let mut conn = t.conn.clone();
            let ttl: i64 = redis::cmd("PTTL")
                .arg(key(&id))
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(ttl > 0 && ttl <= 5_000, "PTTL {ttl}");
            // Redis restarted empty of scripts: the next call loads it again.
            redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query_async::<()>(&mut conn)
                .await
                .unwrap();
            assert!(matches!(
                t.check(&id).await.unwrap(),
                Decision::Admitted { remaining: 0, .. }
            ));
            assert!(matches!(
                t.check(&id).await.unwrap(),
                Decision::Rejected { .. }
            ));
        });
    }

    /// Gaps on a 100 ms grid land calls exactly one window after earlier ones, the edge where
    /// an off-by-one hides; arbitrary gaps cover the rest.
    fn gap() -> impl Strategy<Value = i64> {
        prop_oneof![0i64..3_000, (0i64..30).prop_map(|g| g * 100)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The script and the in-process log agree on every decision, headers included.
        #[test]
        fn the_script_decides_as_the_in_process_log(
            quota in 1u32..8,
            window_secs in 1u64..5,
            steps in proptest::collection::vec((gap(), 1usize..4), 1..120),
        ) {
            let Some(url) = redis_url() else { return Ok(()) };
            let limits = Limits::new(quota, window_secs);
            let clock = ManualClock::new(1_764_000_000_000);
            let local = LocalThrottle::new(limits, clock.clone());
            let id = fresh_id();
            let outcome: Result<(), TestCaseError> = runtime().block_on(async {
                let redis =
                    RedisThrottle::connect_lazily(&url, limits, Duration::from_secs(10))
                        .unwrap();
                for (gap, burst) in steps {
                    clock.advance_ms(gap);
                    for _ in 0..burst {
                        let shared = redis.check_at(&id, Some(clock.now_ms())).await.unwrap();
                        prop_assert_eq!(shared, local.check(&id));
                    }
                }
                Ok(())
            });
            outcome?;
        }
    }
}
