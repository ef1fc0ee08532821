//! LiveChat announces a version's retirement in answer headers: `Legacy: YYYY-MM-DD` once it
//! is legacy, `Deprecation: YYYY-MM-DD` once it is deprecated. Operators must learn of it
//! before the version is switched off, so every answer carrying one is counted for `/metrics`
//! and each distinct notice is logged once per UTC day (not once per call).

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::header::HeaderMap;

use crate::clock::SharedClock;
use crate::metrics::NoticeCounter;

const DAY_MS: i64 = 86_400_000;
/// Distinct notices remembered; an upstream inventing new values cannot grow the map.
const MAX_REMEMBERED: usize = 64;
const MAX_VALUE_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    Legacy,
    Deprecation,
}

impl Notice {
    pub const ALL: [Notice; 2] = [Notice::Legacy, Notice::Deprecation];

    pub fn header(self) -> &'static str {
        match self {
            Notice::Legacy => "legacy",
            Notice::Deprecation => "deprecation",
        }
    }
}

pub struct Notices {
    clock: SharedClock,
    /// (notice, API, header value) → the UTC day it was last logged.
    logged: Mutex<HashMap<(Notice, &'static str, String), i64>>,
    counter: NoticeCounter,
}

impl Notices {
    pub fn new(clock: SharedClock, counter: NoticeCounter) -> Self {
        Self {
            clock,
            logged: Mutex::new(HashMap::new()),
            counter,
        }
    }

    /// Looks at one answer of `api` (`"configuration v3.6"`, `"helpdesk v1"`, ...).
    pub fn observe(&self, api: &'static str, headers: &HeaderMap) {
        for notice in Notice::ALL {
            let Some(value) = headers.get(notice.header()) else {
                continue;
            };
            self.counter.inc(api, notice.header());
            let value: String = String::from_utf8_lossy(value.as_bytes())
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_VALUE_CHARS)
                .collect();
            if self.first_today((notice, api, value.clone())) {
                log::warn!(
                    "LiveChat {api} answered `{}: {value}`: this API version is being retired; \
                     plan the move to the next version (logged once a day)",
                    notice.header()
                );
            }
        }
    }

    fn first_today(&self, key: (Notice, &'static str, String)) -> bool {
        let today = self.clock.now_ms().div_euclid(DAY_MS);
        let mut logged = self
            .logged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if logged.len() >= MAX_REMEMBERED && !logged.contains_key(&key) {
            logged.clear();
        }
        logged.insert(key, today) != Some(today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn counts_every_answer_and_logs_once_a_day() {
        let clock = ManualClock::new(10 * DAY_MS);
        let counter = NoticeCounter::default();
        let notices = Notices::new(clock.clone(), counter.clone());
        let key = || {
            (
                Notice::Deprecation,
                "configuration v3.6",
                "2027-01-31".into(),
            )
        };
        assert!(notices.first_today(key()));
        assert!(!notices.first_today(key()), "same day: logged already");
        clock.advance_ms(DAY_MS);
        assert!(notices.first_today(key()), "the next day: logged again");
        let other = (Notice::Legacy, "configuration v3.6", "2026-12-01".into());
        assert!(
            notices.first_today(other),
            "another notice is logged on its own"
        );

        notices.observe("helpdesk v1", &headers(&[("deprecation", "2027-01-31")]));
        notices.observe("helpdesk v1", &headers(&[("deprecation", "2027-01-31")]));
        notices.observe("helpdesk v1", &headers(&[("legacy", "2026-12-01")]));
        notices.observe("helpdesk v1", &headers(&[]));
        assert_eq!(counter.get("helpdesk v1", "deprecation"), 2);
        assert_eq!(counter.get("helpdesk v1", "legacy"), 1);
    }

    #[test]
    fn remembers_a_bounded_number_of_notices() {
        let notices = Notices::new(ManualClock::new(0), NoticeCounter::default());
        for i in 0..(MAX_REMEMBERED * 3) {
            notices.first_today((Notice::Legacy, "v2", i.to_string()));
        }
        assert!(notices.logged.lock().unwrap().len() <= MAX_REMEMBERED);
    }
}
