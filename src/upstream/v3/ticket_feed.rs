//! The feed behind `ticket_created` on HelpDesk, which has no ticket webhook
//! (livechat-v3-helpdesk.md §4.4): tickets created after a high-water mark `(createdAt, ID)`,
//! oldest first, in the contract's shape. The mark itself lives in the store.

use actix_web::http::Method;
use serde_json::Value;

use super::LiveChatV3;
use crate::credentials::Credentials;
use crate::dates::{format_ms, parse_ms};
use crate::error::ApiError;

/// Tickets read per page, and pages per poll: a backlog larger than this goes out over the
/// following polls (the mark moves to the last one read).
const PAGE: u32 = 100;
const MAX_PAGES: u32 = 10;

/// A high-water mark: the newest creation time (ms) already fired, and the IDs of the tickets
/// fired with exactly that time (HelpDesk may give whole seconds only, so several tickets
/// share one time, and an ID order would not say which are new).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark {
    pub created_ms: i64,
    pub ids: Vec<String>,
}

/// One ticket's place in the feed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub created_ms: i64,
    pub id: String,
}

impl Place {
    fn of(t: &Value) -> Option<Place> {
        Some(Place {
            created_ms: t.get("createdAt").and_then(parse_ms)?,
            id: t.get("ID").and_then(Value::as_str)?.to_string(),
        })
    }
}

impl Mark {
    pub fn is_after(&self, p: &Place) -> bool {
        p.created_ms > self.created_ms
            || (p.created_ms == self.created_ms && !self.ids.contains(&p.id))
    }

    /// The mark once `p` (which `is_after` it) has fired.
    pub fn passing(mut self, p: &Place) -> Mark {
        if p.created_ms != self.created_ms {
            self.created_ms = p.created_ms;
            self.ids.clear();
        }
        self.ids.push(p.id.clone());
        self
    }

    /// The store's form: the IDs space separated.
    pub fn ids_text(&self) -> String {
        self.ids.join(" ")
    }

    pub fn from_store(created_ms: i64, ids: &str) -> Mark {
        Mark {
            created_ms,
            ids: ids.split_whitespace().map(String::from).collect(),
        }
    }
}

/// The tickets of `raw` that `after` has not passed, oldest first. A ticket without a
/// readable `createdAt` or `ID` is skipped (logged): it could never be placed against a mark.
pub fn newer(raw: Vec<Value>, after: &Mark) -> Vec<(Place, Value)> {
    let mut out: Vec<(Place, Value)> = raw
        .into_iter()
        .filter_map(|t| match Place::of(&t) {
            Some(p) => Some((p, t)),
            None => {
                log::warn!("HelpDesk listed a ticket without a readable createdAt or ID");
                None
            }
        })
        .filter(|(p, _)| after.is_after(p))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// HelpDesk's `createdDateFrom` is inclusive; whole seconds, so a ticket of the mark's own
/// second is read again and placed by its ID.
fn from_param(created_ms: i64) -> String {
    let secs = created_ms.div_euclid(1000) * 1000;
    format_ms(secs)
        .map(|s| s.replace(".000Z", "Z"))
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

fn query(extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut q: Vec<(String, String)> = [("silo", "tickets"), ("sortBy", "createdAt")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    q.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    q
}

impl LiveChatV3 {
    async fn ticket_page(
        &self,
        creds: &Credentials,
        q: &[(String, String)],
    ) -> Result<Vec<Value>, ApiError> {
        let (body, _) = self
            .calls
            .helpdesk(creds, Method::GET, &["tickets"], q, None)
            .await?;
        match body {
            Value::Array(items) => Ok(items),
            _ => Err(ApiError::BadGateway(
                "HelpDesk answered with an unexpected ticket list.".into(),
            )),
        }
    }

    /// The mark of HelpDesk's newest tickets now: where a connection's first subscription
    /// starts, so tickets that existed before it do not fire.
    pub async fn newest_mark(&self, creds: &Credentials) -> Result<Mark, ApiError> {
        let q = query(&[
            ("order", "desc".into()),
            ("page", "1".into()),
            ("pageSize", PAGE.to_string()),
        ]);
        let places: Vec<Place> = self
            .ticket_page(creds, &q)
            .await?
            .iter()
            .filter_map(Place::of)
            .collect();
        let newest = places.iter().map(|p| p.created_ms).max().unwrap_or(0);
        Ok(Mark {
            created_ms: newest,
            ids: places
                .into_iter()
                .filter(|p| p.created_ms == newest)
                .map(|p| p.id)
                .collect(),
        })
    }

    /// Tickets `after` has not passed, oldest first, each with its place and in the
    /// contract's shape.
    pub async fn tickets_after(
        &self,
        creds: &Credentials,
        after: &Mark,
    ) -> Result<Vec<(Place, Value)>, ApiError> {
        let mut raw = Vec::new();
        for page in 1..=MAX_PAGES {
            let q = query(&[
                ("createdDateFrom", from_param(after.created_ms)),
                ("order", "asc".into()),
                ("page", page.to_string()),
                ("pageSize", PAGE.to_string()),
            ]);
            let items = self.ticket_page(creds, &q).await?;
            let last = items.len() < PAGE as usize;
            raw.extend(items);
            if last {
                break;
            }
        }
        let fresh = newer(raw, after);
        let (places, tickets): (Vec<Place>, Vec<Value>) = fresh.into_iter().unzip();
        let shaped = self.shape_tickets(creds, &tickets).await?;
        Ok(places.into_iter().zip(shaped).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_tickets_the_mark_has_not_passed_in_order() {
        let t = |id: &str, at: &str| json!({"ID": id, "createdAt": at});
        let mark = Mark::from_store(1_700_000_000_000, "b");
        let raw = vec![
            t("c", "2023-11-14T22:13:21Z"),
            t("a", "2023-11-14T22:13:20Z"),
            t("b", "2023-11-14T22:13:20Z"),
            t("c", "2023-11-14T22:13:21Z"),
            t("z", "2023-11-14T22:13:19Z"),
            json!({"ID": "no-date"}),
        ];
        let fresh = newer(raw, &mark);
        let ids: Vec<&str> = fresh.iter().map(|(p, _)| p.id.as_str()).collect();
        assert_eq!(
            ids,
            ["a", "c"],
            "same second: every ID not yet fired; older never"
        );
        let moved = fresh.iter().fold(mark, |m, (p, _)| m.passing(p));
        assert_eq!(moved, Mark::from_store(1_700_000_001_000, "c"));
        let same = Mark::from_store(1_700_000_000_000, "b").passing(&fresh[0].0);
        assert_eq!(same.ids_text(), "b a");
        assert_eq!(from_param(1_700_000_000_999), "2023-11-14T22:13:20Z");
    }
}
