//! When to try a delivery again: the configured schedule with ±20 % jitter, never earlier than
//! the callback's `Retry-After` (seconds or an HTTP date).

use std::time::UNIX_EPOCH;

use actix_web::http::header::HttpDate;
use rand::Rng;

use crate::settings::Schedule;

/// Longest `Retry-After` the gateway honours.
const MAX_RETRY_AFTER_MS: i64 = 24 * 3_600_000;

/// The next attempt after `attempts` failed ones, or `None` when the schedule is exhausted.
/// `schedule[0]` is the first attempt's delay, so the delay after n failures is `schedule[n]`.
pub fn next_attempt_ms(
    schedule: &Schedule,
    attempts: u32,
    now_ms: i64,
    retry_after_ms: Option<i64>,
) -> Option<i64> {
    next_attempt_at(schedule, attempts, now_ms, retry_after_ms, jitter_factor())
}

/// `next_attempt_ms` with the jitter drawn by the caller: `factor` in 0.8..=1.2 scales the step.
pub fn next_attempt_at(
    schedule: &Schedule,
    attempts: u32,
    now_ms: i64,
    retry_after_ms: Option<i64>,
    factor: f64,
) -> Option<i64> {
    let step = schedule.0.get(attempts as usize)?;
    let delay = (step.as_millis() as f64 * factor.clamp(0.8, 1.2)).round() as i64;
    let wait = retry_after_ms.map_or(delay, |r| delay.max(r.clamp(0, MAX_RETRY_AFTER_MS)));
    Some(now_ms.saturating_add(wait))
}

/// A random jitter factor for `next_attempt_at`: ±20 %.
pub fn jitter_factor() -> f64 {
    rand::thread_rng().gen_range(0.8..=1.2)
}

/// `Retry-After` as milliseconds from now: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<i64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some((secs.min(i64::MAX as u64 / 1000) as i64).saturating_mul(1000));
    }
    let date: HttpDate = v.parse().ok()?;
    let at = std::time::SystemTime::from(date)
        .duration_since(UNIX_EPOCH)
        .ok()?;
    Some((at.as_millis() as i64 - now_ms).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse_schedule;

    #[test]
    fn schedule_with_jitter_and_retry_after() {
        let s = parse_schedule("0s,10s,1m").unwrap();
        assert_eq!(next_attempt_ms(&s, 0, 1000, None), Some(1000));
        for _ in 0..50 {
            let t = next_attempt_ms(&s, 1, 0, None).unwrap();
            assert!((8_000..=12_000).contains(&t), "{t}");
        }
        assert_eq!(next_attempt_ms(&s, 1, 0, Some(100_000)), Some(100_000));
        assert!(next_attempt_ms(&s, 2, 0, Some(1_000)).unwrap() >= 48_000);
        assert_eq!(next_attempt_ms(&s, 3, 0, None), None);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120", 0), Some(120_000));
        let now = 1_445_412_480_000; // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(30_000)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
