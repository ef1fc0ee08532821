//! The per-connection throttle of contract §4: at most `calls` admitted in ANY window of
//! `window` (a sliding log, not a token bucket, which would admit up to 2N-1 in some windows).
//!
//! One type, one async `check`, two backends: the in-process log (`local`) and a log in Redis
//! shared by every replica (`redis`). Both describe a call by a [`LogView`] and leave the
//! arithmetic of `remaining`, `reset` and `Retry-After` to [`Limits::decide`], so the two can
//! never disagree on a header.

mod failover;
pub mod local;
pub mod redis;

use serde::Serialize;

use crate::clock::SharedClock;
use crate::credentials::ConnectionId;
use crate::metrics::ThrottleBackend;
use crate::settings::ThrottleFallback;

pub use failover::Failover;
pub use local::LocalThrottle;
pub use redis::RedisThrottle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Admitted { remaining: u32, reset_secs: u64 },
    Rejected { retry_after_secs: u64 },
}

/// The shared throttle cannot be asked and `GATEWAY_THROTTLE_FALLBACK=deny`: the call is refused
/// with 503 rather than admitted uncounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the shared throttle cannot be reached")]
pub struct Unavailable;

/// Quota and window, the only policy there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub calls: u32,
    pub window_ms: i64,
}

/// What a sliding log looked like once it had decided one call: whether the call went in, how
/// many calls the window holds now (the new one included), its oldest entry, and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogView {
    pub admitted: bool,
    pub in_window: u32,
    /// The oldest admission still in the window (the new one when the log was empty).
    pub oldest_ms: i64,
    pub now_ms: i64,
}

fn ceil_secs(ms: i64) -> u64 {
    (ms.max(0) as u64).div_ceil(1000)
}

impl Limits {
    pub fn new(calls: u32, window_secs: u64) -> Self {
        Self {
            calls,
            window_ms: (window_secs as i64).saturating_mul(1000),
        }
    }

    pub fn window_secs(&self) -> u64 {
        (self.window_ms / 1000) as u64
    }

    /// `reset` is when the oldest admission leaves the window; a refused call may come back
    /// then, and never sooner than a second (Retry-After is whole seconds, rounded up).
    pub fn decide(&self, log: LogView) -> Decision {
        let until_oldest_leaves = ceil_secs(log.oldest_ms + self.window_ms - log.now_ms);
        if log.admitted {
            Decision::Admitted {
                remaining: self.calls.saturating_sub(log.in_window),
                reset_secs: until_oldest_leaves,
            }
        } else {
            Decision::Rejected {
                retry_after_secs: until_oldest_leaves.max(1),
            }
        }
    }

    pub fn policy_header(&self) -> String {
        format!(
            "\"per-connection\";q={};w={}",
            self.calls,
            self.window_secs()
        )
    }
}

pub fn ratelimit_header(remaining: u32, reset_secs: u64) -> String {
    // Every answered call carries one: itoa and a concat, not the formatter.
    let (mut r, mut t) = (itoa::Buffer::new(), itoa::Buffer::new());
    [
        "\"per-connection\";r=",
        r.format(remaining),
        ";t=",
        t.format(reset_secs),
    ]
    .concat()
}

/// The throttle a gateway runs: in-process, or Redis with its fallback.
pub enum Throttle {
    Local(LocalThrottle),
    Shared(Box<Failover>),
}

/// What `/readyz` says about the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ThrottleStatus {
    /// The backend deciding calls right now: `local` or `redis`.
    pub backend: &'static str,
    /// True while Redis is configured but cannot be reached.
    pub fell_back: bool,
    /// With Redis configured: what happens while it cannot be reached (`local` or `deny`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<ThrottleFallback>,
}

impl Throttle {
    /// The in-process throttle, or Redis (connected lazily, so a Redis that is down at start
    /// does not keep the gateway from serving under `local`).
    pub fn new(
        limits: Limits,
        redis_url: Option<&str>,
        fallback: ThrottleFallback,
        redis_timeout: std::time::Duration,
        clock: SharedClock,
    ) -> Result<Self, ::redis::RedisError> {
        let local = LocalThrottle::new(limits, clock);
        Ok(match redis_url {
            None => Throttle::Local(local),
            Some(url) => {
                let redis = RedisThrottle::connect_lazily(url, limits, redis_timeout)?;
                Throttle::Shared(Box::new(Failover::new(
                    redis,
                    local,
                    fallback,
                    redis_timeout,
                )))
            }
        })
    }

    pub fn limits(&self) -> Limits {
        match self {
            Throttle::Local(l) => l.limits(),
            Throttle::Shared(f) => f.limits(),
        }
    }

    /// Admits and records the call, or says how long until one would be admitted.
    pub async fn check(&self, id: &ConnectionId) -> Result<Decision, Unavailable> {
        match self {
            Throttle::Local(l) => Ok(l.check(id)),
            Throttle::Shared(f) => f.check(id).await,
        }
    }

    /// The backend in use; with Redis fallen back, also asks Redis (at most once per probe
    /// interval) whether it answers again, so readiness probes bring the gateway back.
    pub async fn status(&self) -> ThrottleStatus {
        match self {
            Throttle::Local(_) => ThrottleStatus {
                backend: "local",
                fell_back: false,
                fallback: None,
            },
            Throttle::Shared(f) => f.status().await,
        }
    }

    /// Connections this replica holds a log for (the in-process log, also kept under Redis).
    pub fn tracked_connections(&self) -> usize {
        match self {
            Throttle::Local(l) => l.tracked_connections(),
            Throttle::Shared(f) => f.local().tracked_connections(),
        }
    }

    /// 1 while Redis is configured and cannot be reached.
    pub fn fell_back(&self) -> bool {
        match self {
            Throttle::Local(_) => false,
            Throttle::Shared(f) => f.is_down(),
        }
    }

    /// The backend series of /metrics, and whether Redis answers (true without Redis).
    pub fn metrics_backend(&self) -> (ThrottleBackend, bool) {
        match self {
            Throttle::Local(_) => (ThrottleBackend::Memory, true),
            Throttle::Shared(f) => match (f.is_down(), f.mode()) {
                (false, _) => (ThrottleBackend::Redis, true),
                (true, ThrottleFallback::Local) => (ThrottleBackend::MemoryFallback, false),
                // Nothing decides: calls get 503 while Redis is down.
                (true, ThrottleFallback::Deny) => (ThrottleBackend::Redis, false),
            },
        }
    }

    pub fn policy_header(&self) -> String {
        self.limits().policy_header()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_the_oldest_admission() {
        let limits = Limits::new(3, 10);
        let view = |admitted, in_window, oldest_ms| LogView {
            admitted,
            in_window,
            oldest_ms,
            now_ms: 5_000,
        };
        assert_eq!(
            limits.decide(view(true, 1, 5_000)),
            Decision::Admitted {
                remaining: 2,
                reset_secs: 10
            }
        );
        assert_eq!(
            limits.decide(view(false, 3, 800)),
            Decision::Rejected {
                retry_after_secs: 6
            }
        );
        // The oldest leaves within the millisecond: still a whole second to wait.
        assert_eq!(
            limits.decide(view(false, 3, -4_999)),
            Decision::Rejected {
                retry_after_secs: 1
            }
        );
    }
}
