//! Tickets on HelpDesk API v1 (livechat-v3-helpdesk.md §4, §6), shaped as the contract's v2
//! tickets. Pure: the I/O is in `mod.rs`.

use serde_json::{json, Map, Value};
use time::macros::format_description;

use super::lookups::field_of;
use crate::dates::date_field;
use crate::error::ApiError;
use crate::upstream::{NewTicket, TicketQuery};

pub const PAGE_SIZE: u32 = 25;

/// HelpDesk's statuses in the contract's words: `onhold` waits like `pending`, `closed`
/// (UNCERTAIN) is done like `solved`.
fn status(s: Option<&Value>) -> Option<Value> {
    let s = s?.as_str()?;
    Some(json!(match s {
        "onhold" => "pending",
        "closed" => "solved",
        other => other,
    }))
}

/// The id lists a ticket refers to, resolved.
pub struct Names<'a> {
    pub agents: &'a [Value],
    pub tags: &'a [Value],
    pub teams: &'a [Value],
}

/// A HelpDesk ticket as the contract's ticket. `id` is HelpDesk's `ID` (the UUID its paths
/// take), `short_id` the short code HelpDesk shows people. Teams become `groups` by name only
/// (their ids are UUIDs where the contract has integers); there is no `source`.
pub fn ticket(t: &Value, names: &Names) -> Value {
    let mut out = Map::new();
    let text = |k: &str| t.get(k).filter(|v| !v.is_null()).cloned();
    if let Some(id) = text("ID") {
        out.insert("id".into(), id);
    }
    if let Some(s) = text("shortID") {
        out.insert("short_id".into(), s);
    }
    if let Some(s) = status(t.get("status")) {
        out.insert("status".into(), s);
    }
    if let Some(s) = text("subject") {
        out.insert("subject".into(), s);
    }
    if let Some(r) = t.get("requester").filter(|r| r.is_object()) {
        let mut req = Map::new();
        if let Some(m) = r.get("email").filter(|v| !v.is_null()) {
            req.insert("mail".into(), m.clone());
        }
        if let Some(n) = r.get("name").filter(|v| !v.is_null()) {
            req.insert("name".into(), n.clone());
        }
        out.insert("requester".into(), Value::Object(req));
    }
    if let Some(agent) = t.pointer("/assignment/agent/ID").and_then(Value::as_str) {
        let email = field_of(names.agents, "ID", agent, "email");
        let name = field_of(names.agents, "ID", agent, "name");
        out.insert(
            "assignee".into(),
            json!({"id": email.unwrap_or_else(|| json!(agent)), "name": name}),
        );
    }
    let ids = |k: &str| -> Vec<String> {
        t.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    // An id no look-up knows stays visible as itself rather than vanishing.
    let tags: Vec<Value> = ids("tagIDs")
        .iter()
        .map(|id| field_of(names.tags, "ID", id, "name").unwrap_or_else(|| json!(id)))
        .collect();
    out.insert("tags".into(), Value::Array(tags));
    let groups: Vec<Value> = ids("teamIDs")
        .iter()
        .map(|id| json!({"name": field_of(names.teams, "ID", id, "name").unwrap_or_else(|| json!(id))}))
        .collect();
    out.insert("groups".into(), Value::Array(groups));
    if let Some(d) = text("createdAt") {
        out.insert("date".into(), d);
    }
    if let Some(d) = text("updatedAt") {
        out.insert("modified".into(), d);
    }
    let events: Vec<Value> = t
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(event)
        .collect();
    out.insert("events".into(), Value::Array(events));
    date_field(&mut out, "date");
    date_field(&mut out, "modified");
    Value::Object(out)
}

fn event(e: &Value) -> Value {
    let actor = e.get("actor").cloned().unwrap_or(Value::Null);
    let kind = if actor.get("type").and_then(Value::as_str) == Some("agent") {
        "agent"
    } else {
        "client"
    };
    let mut out = Map::new();
    out.insert(
        "author".into(),
        json!({"id": actor.get("email"), "name": actor.get("name"), "type": kind}),
    );
    if let Some(m) = e.pointer("/message/text") {
        out.insert("message".into(), m.clone());
    }
    if let Some(p) = e.get("isPrivate") {
        out.insert("is_private".into(), p.clone());
    }
    out.insert(
        "type".into(),
        e.get("type").cloned().unwrap_or_else(|| json!("message")),
    );
    if let Some(d) = e.get("createdAt") {
        out.insert("date".into(), d.clone());
    }
    date_field(&mut out, "date");
    Value::Object(out)
}

fn next_day(d: &str) -> Option<String> {
    let fmt = format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(d, &fmt).ok()?.next_day()?;
    day.format(&fmt).ok()
}

/// `GET /v1/tickets`' query. `assignee` has no HelpDesk filter (§4.2): it is applied to the
/// page afterwards. Dates bound the creation date, half-open as HelpDesk reads them.
pub fn list_query(q: &TicketQuery) -> Vec<(String, String)> {
    let mut out = vec![
        (
            "silo".to_string(),
            if q.status.as_deref() == Some("spam") {
                "spam"
            } else {
                "tickets"
            }
            .to_string(),
        ),
        ("page".into(), q.page.unwrap_or(1).to_string()),
        ("pageSize".into(), PAGE_SIZE.to_string()),
        ("sortBy".into(), "updatedAt".into()),
        (
            "order".into(),
            q.order.clone().unwrap_or_else(|| "desc".into()),
        ),
    ];
    if let Some(s) = q.status.as_deref().filter(|s| *s != "spam") {
        out.push(("status".into(), s.into()));
    }
    if let Some(d) = &q.date_from {
        out.push(("createdDateFrom".into(), format!("{d}T00:00:00Z")));
    }
    if let Some(d) = q.date_to.as_deref().and_then(next_day) {
        out.push(("createdDateTo".into(), format!("{d}T00:00:00Z")));
    }
    if let Some(text) = &q.query {
        out.push(("query".into(), text.clone()));
    }
    out
}

/// `POST /v1/tickets`' body; `assignee` is the HelpDesk agent ID of the contract's e-mail.
pub fn create_body(t: &NewTicket, assignee: Option<&str>) -> Value {
    let mut requester = json!({"email": t.requester_mail.as_str()});
    if let Some(n) = &t.requester_name {
        requester["name"] = json!(n);
    }
    let mut body = json!({
        "requester": requester,
        "subject": t.subject.as_deref().unwrap_or("(no subject)"),
        "message": {"text": t.message},
    });
    if let Some(id) = assignee {
        body["assignment"] = json!({"agent": {"ID": id}});
    }
    body
}

/// The tag IDs for `names`, or a 400 naming those HelpDesk does not have (no call to create
/// one was seen anywhere, §6).
pub fn tag_ids(names: &[String], tags: &[Value]) -> Result<Vec<String>, ApiError> {
    let mut ids = Vec::new();
    let mut missing = Vec::new();
    for n in names {
        match field_of(tags, "name", n, "ID").and_then(|v| v.as_str().map(String::from)) {
            Some(id) => ids.push(id),
            None => missing.push(n.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "HelpDesk has no tags named: {}. Create them in HelpDesk first.",
            missing.join(", ")
        )));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_helpdesk_ticket() {
        let t = json!({"ID": "u-1", "shortID": "8AKHMF", "status": "onhold", "subject": "S",
            "requester": {"email": "m@x.com", "name": "M"}, "assignment": {"agent": {"ID": "a-1"}},
            "teamIDs": ["t-1"], "tagIDs": ["g-1", "g-x"], "createdAt": "2024-05-01T10:00:00Z",
            "updatedAt": "2024-05-02T10:00:00Z",
            "events": [{"createdAt": "2024-05-01T10:00:00Z", "actor": {"type": "customer", "name": "M", "email": "m@x.com"},
                        "message": {"text": "hi"}}]});
        let agents = [json!({"ID": "a-1", "email": "jane@x.com", "name": "Jane"})];
        let tags = [json!({"ID": "g-1", "name": "vip"})];
        let teams = [json!({"ID": "t-1", "name": "Sales"})];
        let names = Names {
            agents: &agents,
            tags: &tags,
            teams: &teams,
        };
        let v = ticket(&t, &names);
        assert_eq!(v["id"], "u-1");
        assert_eq!(v["status"], "pending");
        assert_eq!(v["requester"], json!({"mail": "m@x.com", "name": "M"}));
        assert_eq!(v["assignee"], json!({"id": "jane@x.com", "name": "Jane"}));
        assert_eq!(v["tags"], json!(["vip", "g-x"]));
        assert_eq!(v["groups"], json!([{"name": "Sales"}]));
        assert_eq!(v["date"], "2024-05-01T10:00:00.000Z");
        assert_eq!(v["events"][0]["author"]["type"], "client");
        assert_eq!(v["events"][0]["message"], "hi");
    }

    #[test]
    fn list_query_maps_filters() {
        let q = TicketQuery {
            status: Some("spam".into()),
            date_to: Some("2024-02-29".into()),
            ..TicketQuery::default()
        };
        let got = list_query(&q);
        assert!(got.contains(&("silo".into(), "spam".into())));
        assert!(!got.iter().any(|(k, _)| k == "status"));
        assert!(got.contains(&("createdDateTo".into(), "2024-03-01T00:00:00Z".into())));
        assert!(tag_ids(&["nope".into()], &[]).is_err());
    }
}
