//! The per-connection throttle of contract §4: at most `calls` admitted in ANY window of
//! `window` (a sliding log, not a token bucket, which would admit up to 2N-1 in some windows).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::clock::SharedClock;
use crate::credentials::ConnectionId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Admitted { remaining: u32, reset_secs: u64 },
    Rejected { retry_after_secs: u64 },
}

pub struct Throttle {
    calls: u32,
    window_ms: i64,
    clock: SharedClock,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Admission times (ms) per connection within the last window, oldest first.
    log: HashMap<ConnectionId, VecDeque<i64>>,
    last_sweep_ms: i64,
}

fn ceil_secs(ms: i64) -> u64 {
    (ms.max(0) as u64).div_ceil(1000)
}

impl Throttle {
    pub fn new(calls: u32, window_secs: u64, clock: SharedClock) -> Self {
        Self {
            calls,
            window_ms: (window_secs as i64).saturating_mul(1000),
            clock,
            state: Mutex::new(State::default()),
        }
    }

    pub fn calls(&self) -> u32 {
        self.calls
    }

    pub fn window_secs(&self) -> u64 {
        (self.window_ms / 1000) as u64
    }

    /// Admits and records the call, or says how long until one would be admitted.
    pub fn check(&self, id: &ConnectionId) -> Decision {
        let now = self.clock.now_ms();
        let horizon = now - self.window_ms;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if now - state.last_sweep_ms >= self.window_ms {
            // Connections idle for a whole window hold nothing that still counts.
            state
                .log
                .retain(|_, q| q.back().is_some_and(|&t| t > horizon));
            state.last_sweep_ms = now;
        }
        let q = state.log.entry(id.clone()).or_default();
        while q.front().is_some_and(|&t| t <= horizon) {
            q.pop_front();
        }
        if q.len() < self.calls as usize {
            q.push_back(now);
            let oldest = *q.front().expect("just pushed");
            Decision::Admitted {
                remaining: self.calls - q.len() as u32,
                reset_secs: ceil_secs(oldest + self.window_ms - now),
            }
        } else {
            let oldest = *q.front().expect("full queue");
            Decision::Rejected {
                retry_after_secs: ceil_secs(oldest + self.window_ms - now).max(1),
            }
        }
    }

    /// How many connections hold state now (for the memory bound and metrics).
    pub fn tracked_connections(&self) -> usize {
        self.state.lock().map(|s| s.log.len()).unwrap_or(0)
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
    format!("\"per-connection\";r={remaining};t={reset_secs}")
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

    #[test]
    fn rejects_the_call_past_quota_with_the_exact_wait() {
        let clock = ManualClock::new(1_000_000);
        let t = Throttle::new(3, 60, clock.clone());
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
    fn idle_connections_are_forgotten() {
        let clock = ManualClock::new(0);
        let t = Throttle::new(5, 60, clock.clone());
        for i in 0..1000 {
            t.check(&id(&format!("c{i}")));
        }
        assert_eq!(t.tracked_connections(), 1000);
        clock.advance_ms(60_000);
        t.check(&id("fresh"));
        assert_eq!(t.tracked_connections(), 1);
    }

    proptest! {
        /// Over random schedules: no window of W ever admits more than N, and a call is only
        /// rejected when N calls really were admitted in the window before it.
        #[test]
        fn no_window_admits_more_than_quota(
            quota in 1u32..8,
            window_secs in 1u64..5,
            steps in proptest::collection::vec((0i64..3_000, 1usize..4), 1..200),
        ) {
            let clock = ManualClock::new(0);
            let t = Throttle::new(quota, window_secs, clock.clone() as Arc<_>);
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
                            prop_assert_eq!(retry_after_secs, ceil_secs(oldest + w - now).max(1));
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
