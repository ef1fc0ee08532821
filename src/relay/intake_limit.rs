//! A leaked intake URL must not be able to fill the disk: LiveChat's deliveries to one
//! subscription pass a smoothing limit (governor's GCRA: a burst of the minute's quota, then
//! an even rate), and past it get 429 with `Retry-After`, which LiveChat answers by retrying.
//! Unlike the connector's throttle (an exact window the contract promises each connection),
//! nothing here is promised to anyone, so smoothing is the right shape.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::SharedClock;

/// The gateway's clock as governor reads it, so tests move it by hand.
#[derive(Clone)]
struct Ticks(SharedClock);

impl GovernorClock for Ticks {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now_ms()).unwrap_or(0))
    }
}

type Keyed = RateLimiter<String, HashMapStateStore<String>, Ticks, NoOpMiddleware<Duration>>;

pub struct IntakeLimit {
    limiter: Keyed,
    ticks: Ticks,
}

impl IntakeLimit {
    /// `per_minute` deliveries per subscription (0 is read as 1).
    pub fn new(per_minute: u32, clock: SharedClock) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        let ticks = Ticks(clock);
        Self {
            limiter: RateLimiter::hashmap_with_clock(quota, ticks.clone()),
            ticks,
        }
    }

    /// Admits one delivery to `subscription_id`, or says in how many whole seconds the next
    /// one would be. Call it only for a known subscription: unknown ids must not grow the map.
    pub fn check(&self, subscription_id: &str) -> Result<(), u64> {
        match self.limiter.check_key(&subscription_id.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.ticks.now());
                Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
            }
        }
    }

    /// Forgets subscriptions whose bucket is full again (their state says nothing).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_burst_then_an_even_rate_per_subscription() {
        let clock = ManualClock::new(1_700_000_000_000);
        let limit = IntakeLimit::new(3, clock.clone());
        for _ in 0..3 {
            assert_eq!(limit.check("a"), Ok(()));
        }
        assert_eq!(limit.check("a"), Err(20), "one cell every 20 s");
        assert_eq!(limit.check("b"), Ok(()), "another subscription has its own");
        clock.advance_ms(19_500);
        assert_eq!(limit.check("a"), Err(1));
        clock.advance_ms(500);
        assert_eq!(limit.check("a"), Ok(()));
        assert!(limit.check("a").is_err());
    }
}
