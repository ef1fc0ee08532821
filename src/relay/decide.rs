//! What one attempt's answer means for its delivery and for the later deliveries of its flow.
//! A pure decision (attempt, delivery, policy, time, jitter), so the worker around it is I/O.
//!
//! Order: a flow's deliveries go out one after another. When the flow as a whole asks to wait
//! (429, 503, or its callback unreachable or silent) the whole flow waits. When the flow
//! refuses one notification on its own (any other non-2xx but 404/410), that one holds the
//! later ones for at most the order hold, counted from its first refusal; then they go on in
//! order and it continues on its own schedule to success or the dead letters.

use super::deliver::Attempt;
use super::retry;
use crate::settings::Schedule;
use crate::store::{Delivery, Outcome};

/// The settings a decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub schedule: &'a Schedule,
    /// `GATEWAY_ORDER_HOLD_SECS` in milliseconds (0: a refused delivery never holds).
    pub order_hold_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Record this outcome under the lease.
    Record(Outcome),
    /// 404 or 410: the flow is gone (close the subscription, drop what it still owes).
    FlowGone(u16),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub decision: Decision,
    /// The delivery's hold on its flow ran out since its previous attempt: counted once as a
    /// released notification.
    pub hold_expired: bool,
}

/// Whether a failed attempt is the flow as a whole asking to wait, rather than the flow
/// refusing this one notification.
pub fn whole_flow_waits(status: Option<u16>) -> bool {
    matches!(status, None | Some(429) | Some(503))
}

/// `jitter` is the factor (0.8..=1.2) applied to the schedule's next step.
pub fn decide(
    attempt: &Attempt,
    d: &Delivery,
    policy: Policy<'_>,
    now_ms: i64,
    jitter: f64,
) -> Verdict {
    let hold_expired = d
        .releases_flow_at_ms
        .is_some_and(|t| d.updated_ms <= t && t <= now_ms);
    let decision = match attempt {
        Attempt::Delivered(_) => Decision::Record(Outcome::Delivered { at_ms: now_ms }),
        Attempt::Gone(status) => Decision::FlowGone(*status),
        Attempt::Failed {
            status,
            error,
            retry_after_ms,
        } => {
            let attempts = d.attempts.saturating_add(1);
            let next =
                retry::next_attempt_at(policy.schedule, attempts, now_ms, *retry_after_ms, jitter);
            match next {
                Some(next_attempt_ms) => Decision::Record(Outcome::Retry {
                    attempts,
                    next_attempt_ms,
                    status: *status,
                    error: error.clone(),
                    releases_flow_at_ms: releases_flow_at(d, *status, policy, now_ms),
                }),
                None => Decision::Record(Outcome::Dead {
                    attempts,
                    status: *status,
                    error: error.clone(),
                }),
            }
        }
    };
    Verdict {
        decision,
        hold_expired,
    }
}

/// A hold, once it has a deadline, keeps it (counted from the first refusal): the later
/// deliveries that went ahead cannot be put back behind this one.
fn releases_flow_at(
    d: &Delivery,
    status: Option<u16>,
    policy: Policy<'_>,
    now_ms: i64,
) -> Option<i64> {
    match d.releases_flow_at_ms {
        Some(t) => Some(t),
        None if whole_flow_waits(status) => None,
        None => Some(now_ms.saturating_add(policy.order_hold_ms.max(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse_schedule;
    use crate::store::DeliveryState;

    fn pending(attempts: u32, updated_ms: i64, releases: Option<i64>) -> Delivery {
        Delivery {
            id: 1,
            subscription_id: "s".into(),
            event_type: "chat_started".into(),
            event_unique_id: "u".into(),
            payload: "{}".into(),
            state: DeliveryState::Pending,
            attempts,
            next_attempt_ms: updated_ms,
            last_status: None,
            last_error: None,
            created_ms: 0,
            updated_ms,
            releases_flow_at_ms: releases,
        }
    }

    fn failed(status: Option<u16>, retry_after_ms: Option<i64>) -> Attempt {
        Attempt::Failed {
            status,
            error: "no".into(),
            retry_after_ms,
        }
    }

    fn retry_of(v: &Verdict) -> (i64, Option<i64>) {
        match &v.decision {
            Decision::Record(Outcome::Retry {
                next_attempt_ms,
                releases_flow_at_ms,
                ..
            }) => (*next_attempt_ms, *releases_flow_at_ms),
            other => panic!("not a retry: {other:?}"),
        }
    }

    #[test]
    fn a_refusal_holds_the_flow_for_the_hold_from_the_first_refusal() {
        let schedule = parse_schedule("0s,5s,5m").unwrap();
        let policy = Policy {
            schedule: &schedule,
            order_hold_ms: 60_000,
        };
        let first = decide(
            &failed(Some(400), None),
            &pending(0, 0, None),
            policy,
            1_000,
            1.0,
        );
        assert_eq!(retry_of(&first), (6_000, Some(61_000)));
        assert!(!first.hold_expired);
        // The second refusal keeps the first one's deadline.
        let d = pending(1, 1_000, Some(61_000));
        let second = decide(&failed(Some(500), None), &d, policy, 6_000, 1.0);
        assert_eq!(retry_of(&second), (306_000, Some(61_000)));
        assert!(!second.hold_expired);
        // The next attempt after the deadline counts the release, once.
        let d = pending(2, 6_000, Some(61_000));
        let third = decide(&Attempt::Delivered(202), &d, policy, 306_000, 1.0);
        assert_eq!(
            third.decision,
            Decision::Record(Outcome::Delivered { at_ms: 306_000 })
        );
        assert!(third.hold_expired);
        let d = pending(3, 306_000, Some(61_000));
        assert!(!decide(&failed(Some(400), None), &d, policy, 400_000, 1.0).hold_expired);
    }

    #[test]
    fn the_whole_flow_waits_on_429_503_and_an_unreachable_callback() {
        let schedule = parse_schedule("0s,5s,5m").unwrap();
        let policy = Policy {
            schedule: &schedule,
            order_hold_ms: 60_000,
        };
        for status in [Some(429), Some(503), None] {
            let v = decide(
                &failed(status, Some(30_000)),
                &pending(0, 0, None),
                policy,
                0,
                1.0,
            );
            assert_eq!(retry_of(&v), (30_000, None), "{status:?}");
        }
        for status in [400, 401, 408, 422, 500, 502, 302] {
            assert!(!whole_flow_waits(Some(status)), "{status}");
        }
        // Once released, a later 503 does not put the flow back behind it.
        let d = pending(1, 0, Some(60_000));
        let v = decide(&failed(Some(503), None), &d, policy, 1_000, 1.0);
        assert_eq!(retry_of(&v).1, Some(60_000));
    }

    #[test]
    fn no_hold_releases_at_once_and_exhaustion_is_dead_with_its_status() {
        let schedule = parse_schedule("0s,5s").unwrap();
        let policy = Policy {
            schedule: &schedule,
            order_hold_ms: 0,
        };
        let v = decide(
            &failed(Some(400), None),
            &pending(0, 0, None),
            policy,
            7,
            1.2,
        );
        assert_eq!(retry_of(&v), (6_007, Some(7)));
        let d = pending(1, 7, Some(7));
        let v = decide(&failed(Some(422), None), &d, policy, 6_007, 1.0);
        assert!(v.hold_expired);
        assert_eq!(
            v.decision,
            Decision::Record(Outcome::Dead {
                attempts: 2,
                status: Some(422),
                error: "no".into()
            })
        );
        assert_eq!(
            decide(&Attempt::Gone(410), &d, policy, 9, 1.0).decision,
            Decision::FlowGone(410)
        );
    }
}
