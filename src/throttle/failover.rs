//! Redis first; while it cannot be reached, the fallback `GATEWAY_THROTTLE_FALLBACK` names.
//! A Redis that failed is asked again at most once per probe interval (by one call or one
//! readiness check), so a dead Redis costs the other calls no waiting at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{Decision, Limits, LocalThrottle, RedisThrottle, ThrottleStatus, Unavailable};
use crate::credentials::ConnectionId;
use crate::settings::ThrottleFallback;

/// How often a Redis that failed is asked again.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

pub struct Failover {
    redis: RedisThrottle,
    /// Decides while Redis is down; while Redis is up it also records this replica's
    /// admissions, so falling back does not hand every connection a fresh quota.
    local: LocalThrottle,
    mode: ThrottleFallback,
    /// The longest one decision waits for Redis before the fallback decides it.
    timeout: Duration,
    down: AtomicBool,
    next_probe: Mutex<Instant>,
}

/// Who decides one call.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Redis,
    Fallback,
}

impl Failover {
    pub fn new(
        redis: RedisThrottle,
        local: LocalThrottle,
        mode: ThrottleFallback,
        timeout: Duration,
    ) -> Self {
        Self {
            redis,
            local,
            mode,
            timeout,
            down: AtomicBool::new(false),
            next_probe: Mutex::new(Instant::now()),
        }
    }

    pub fn limits(&self) -> Limits {
        self.redis.limits()
    }

    pub fn local(&self) -> &LocalThrottle {
        &self.local
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    pub fn mode(&self) -> ThrottleFallback {
        self.mode
    }

    pub async fn check(&self, id: &ConnectionId) -> Result<Decision, Unavailable> {
        if self.route() == Route::Redis {
            let answer = tokio::time::timeout(self.timeout, self.redis.check(id)).await;
            match answer {
                Ok(Ok(decision)) => {
                    self.answered();
                    if matches!(decision, Decision::Admitted { .. }) {
                        let _ = self.local.check(id);
                    }
                    return Ok(decision);
                }
                Ok(Err(e)) => self.failed(&e.to_string()),
                Err(_) => self.failed("no answer in time"),
            }
        }
        match self.mode {
            ThrottleFallback::Local => Ok(self.local.check(id)),
            ThrottleFallback::Deny => Err(Unavailable),
        }
    }

    pub async fn status(&self) -> ThrottleStatus {
        if self.is_down() && self.route() == Route::Redis {
            match tokio::time::timeout(self.timeout, self.redis.ping()).await {
                Ok(Ok(())) => self.answered(),
                Ok(Err(e)) => self.failed(&e.to_string()),
                Err(_) => self.failed("no answer in time"),
            }
        }
        let down = self.is_down();
        ThrottleStatus {
            backend: match (down, self.mode) {
                (false, _) => "redis",
                (true, ThrottleFallback::Local) => "local",
                (true, ThrottleFallback::Deny) => "none",
            },
            fell_back: down,
            fallback: Some(self.mode),
        }
    }

    /// Redis while it answers; after a failure, Redis for one caller per probe interval.
    fn route(&self) -> Route {
        if !self.is_down() {
            return Route::Redis;
        }
        let now = Instant::now();
        let mut next = self.next_probe.lock().unwrap_or_else(|p| p.into_inner());
        if now < *next {
            return Route::Fallback;
        }
        *next = now + PROBE_INTERVAL;
        Route::Redis
    }

    fn answered(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            log::warn!("throttle: Redis answers again; the shared throttle decides again");
        }
    }

    fn failed(&self, why: &str) {
        *self.next_probe.lock().unwrap_or_else(|p| p.into_inner()) =
            Instant::now() + PROBE_INTERVAL;
        if !self.down.swap(true, Ordering::Relaxed) {
            let then = match self.mode {
                ThrottleFallback::Local => "each replica throttles on its own until it answers",
                ThrottleFallback::Deny => "connector calls get 503 until it answers",
            };
            log::warn!("throttle: Redis cannot be reached ({why}); {then}");
        }
    }
}
