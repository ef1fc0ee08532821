//! The in-process sliding log. Each connection's log sits behind its own lock in a moka cache,
//! so calls on different connections never wait for each other. The injected clock alone
//! decides admission; moka's idle expiry (one window, on its own clock) only frees memory, and
//! a log idle that long holds nothing that still counts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

use super::{Decision, Limits, LogView};
use crate::clock::SharedClock;
use crate::credentials::ConnectionId;

/// Admission times (ms) within the last window, oldest first.
type Log = Arc<Mutex<VecDeque<i64>>>;

pub struct LocalThrottle {
    limits: Limits,
    clock: SharedClock,
    logs: Cache<ConnectionId, Log>,
}

/// Drops what left the window, then admits the call if the window has room.
pub fn record(log: &mut VecDeque<i64>, limits: Limits, now_ms: i64) -> LogView {
    let horizon = now_ms - limits.window_ms;
    while log.front().is_some_and(|&t| t <= horizon) {
        log.pop_front();
    }
    let admitted = log.len() < limits.calls as usize;
    if admitted {
        log.push_back(now_ms);
    }
    LogView {
        admitted,
        in_window: log.len() as u32,
        oldest_ms: log.front().copied().unwrap_or(now_ms),
        now_ms,
    }
}

impl LocalThrottle {
    pub fn new(limits: Limits, clock: SharedClock) -> Self {
        let idle = Duration::from_millis(limits.window_ms.max(1) as u64);
        Self {
            limits,
            clock,
            logs: Cache::builder().time_to_idle(idle).build(),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Admits and records the call, or says how long until one would be admitted.
    pub fn check(&self, id: &ConnectionId) -> Decision {
        let log = self.logs.get_with_by_ref(id, Log::default);
        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
        let view = record(&mut log, self.limits, self.clock.now_ms());
        self.limits.decide(view)
    }

    /// How many connections hold a log now (for the memory bound and metrics).
    pub fn tracked_connections(&self) -> usize {
        self.logs.run_pending_tasks();
        self.logs.entry_count() as usize
    }

    /// How long an untouched log is kept.
    pub fn idle_expiry(&self) -> Option<Duration> {
        self.logs.policy().time_to_idle()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn id(s: &str) -> ConnectionId {
        ConnectionId::from_stored(s.into())
    }

    fn throttle(calls: u32, window_secs: u64, clock: Arc<ManualClock>) -> LocalThrottle {
        LocalThrottle::new(Limits::new(calls, window_secs), clock)
    }

    #[test]
    fn rejects_the_call_past_quota_with_the_exact_wait() {
        let clock = ManualClock::new(1_000_000);
        let t = throttle(3, 60, clock.clone());
        assert_eq!(
            t.check(&id("a")),
            Decision::Admitted {
                remaining: 2,
                reset_secs: 60
            }
        );
        clock.advance_ms(10_500);
        t.check(&id("a"));
        t.check(&id("a"));
        assert_eq!(
            t.check(&id("a")),
            Decision::Rejected {
                retry_after_secs: 50
            }
        );
        // Another connection is unaffected.
        assert!(matches!(t.check(&id("b")), Decision::Admitted { .. }));
        // A retry at now + Retry-After is admitted.
        clock.advance_ms(50_000);
        assert!(matches!(t.check(&id("a")), Decision::Admitted { .. }));
    }

    #[test]
    fn logs_are_kept_per_connection_and_freed_after_one_idle_window() {
        let clock = ManualClock::new(0);
        let t = throttle(5, 60, clock.clone());
        for i in 0..1000 {
            t.check(&id(&format!("c{i}")));
        }
        assert_eq!(t.tracked_connections(), 1000);
        assert_eq!(t.idle_expiry(), Some(Duration::from_secs(60)));
    }

    /// Gaps on a 100 ms grid land calls exactly one window after earlier ones, the edge where
    /// an off-by-one hides; arbitrary gaps cover the rest.
    fn gap() -> impl Strategy<Value = i64> {
        prop_oneof![0i64..3_000, (0i64..30).prop_map(|g| g * 100)]
    }

    proptest! {
        /// Over random schedules: no window of W ever admits more than N, and a call is only
        /// rejected when N calls really were admitted in the window before it.
        #[test]
        fn no_window_admits_more_than_quota(
            quota in 1u32..8,
            window_secs in 1u64..5,
            steps in proptest::collection::vec((gap(), 1usize..4), 1..200),
        ) {
            let clock = ManualClock::new(0);
            let t = throttle(quota, window_secs, clock.clone());
            let w = window_secs as i64 * 1000;
            let mut admitted: Vec<i64> = Vec::new();
            for (gap, burst) in steps {
                clock.advance_ms(gap);
                for _ in 0..burst {
                    let now = clock.now_ms();
                    let in_window = admitted.iter().filter(|&&a| a > now - w).count();
                    match t.check(&id("x")) {
                        Decision::Admitted { .. } => {
                            prop_assert!(in_window < quota as usize);
                            admitted.push(now);
                        }
                        Decision::Rejected { retry_after_secs } => {
                            prop_assert_eq!(in_window, quota as usize);
                            let oldest = admitted.iter().copied().filter(|&a| a > now - w).min().unwrap();
                            let wait = (oldest + w - now).max(0) as u64;
                            prop_assert_eq!(retry_after_secs, wait.div_ceil(1000).max(1));
                        }
                    }
                }
            }
            for &start in &admitted {
                let n = admitted.iter().filter(|&&a| a >= start && a < start + w).count();
                prop_assert!(n <= quota as usize);
            }
        }
    }
}
