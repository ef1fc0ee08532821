//! The HelpDesk API v1 face of the fake (livechat-v3-helpdesk.md §4) over the same tickets as
//! the v2 face: a ticket's v2 `id` is its `shortID` here, its `ID` a UUID; tags, teams and
//! agents are referred to by UUIDs derived from their names, logins and group ids.

use serde_json::{json, Map, Value};

use super::form::{is_email, str_list, text};
use super::routes::Reply;
use super::state::{iso, now, uuid_from, Account, State, Ticket};
use super::tickets::{new_ticket, PAGE_SIZE};
use super::v3;

fn fail(status: u16, message: &str) -> Reply {
    Reply {
        status,
        body: json!({"error": message, "details": []}),
    }
}

pub(crate) fn team_id(acct: &Account, group: i64) -> String {
    uuid_from(&format!("team/{}/{group}", acct.licence))
}

pub(crate) fn tag_id(acct: &Account, name: &str) -> String {
    uuid_from(&format!("tag/{}/{name}", acct.licence))
}

pub(crate) fn agent_id(acct: &Account, login: &str) -> String {
    uuid_from(&format!(
        "hd-agent/{}/{}",
        acct.licence,
        login.to_lowercase()
    ))
}

/// Every tag name HelpDesk knows for the account: the seeded ones and those on tickets.
fn tag_names(acct: &Account) -> Vec<String> {
    let mut names = acct.helpdesk_tags.clone();
    for t in acct.tickets.iter().flat_map(|t| t.tags.iter()) {
        if !names.contains(t) {
            names.push(t.clone());
        }
    }
    names
}

pub(crate) struct Answer {
    pub reply: Reply,
    pub total_pages: Option<usize>,
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Self {
        Answer {
            reply,
            total_pages: None,
        }
    }
}

pub(crate) fn process(
    st: &mut State,
    method: &str,
    segs: &[&str],
    headers: &[(String, String)],
    query: &Value,
    parsed: Result<Value, String>,
) -> Answer {
    let Some(acct) = v3::account(&mut st.accounts, headers) else {
        return fail(401, "Unauthorized").into();
    };
    let body = match parsed {
        Ok(b) => b,
        Err(_) => return fail(400, "Invalid JSON").into(),
    };
    match (method, segs) {
        ("GET", ["tickets"]) => list(acct, query),
        ("POST", ["tickets"]) => create(acct, &body).into(),
        ("GET", ["tickets", id]) => match find(acct, id) {
            Some(t) => Reply::ok(ticket_json(acct, t)).into(),
            None => fail(404, "Ticket not found").into(),
        },
        ("POST", ["tickets", id, "tags"]) => add_tags(acct, id, &body).into(),
        ("DELETE", ["tickets", id, "tags", tag]) => remove_tag(acct, id, tag).into(),
        ("GET", ["agents"]) => Reply::ok(Value::Array(
            acct.agents
                .iter()
                .map(|a| {
                    json!({"ID": agent_id(acct, &a.login), "email": a.login, "name": a.name,
                        "status": "active", "roles": ["agent"],
                        "teamIDs": a.groups.iter().map(|g| team_id(acct, *g)).collect::<Vec<_>>()})
                })
                .collect(),
        ))
        .into(),
        ("GET", ["tags"]) => Reply::ok(Value::Array(
            tag_names(acct)
                .iter()
                .map(|n| json!({"ID": tag_id(acct, n), "name": n}))
                .collect(),
        ))
        .into(),
        ("GET", ["teams"]) => Reply::ok(Value::Array(
            acct.groups
                .iter()
                .map(|(g, n)| json!({"ID": team_id(acct, *g), "name": n}))
                .collect(),
        ))
        .into(),
        _ => fail(404, "Not found").into(),
    }
}

fn find<'a>(acct: &'a Account, id: &str) -> Option<&'a Ticket> {
    acct.tickets
        .iter()
        .find(|t| t.uuid.eq_ignore_ascii_case(id))
}

/// HelpDesk's ticket object (§4.3).
pub(crate) fn ticket_json(acct: &Account, t: &Ticket) -> Value {
    let events: Vec<Value> = t
        .events
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| {
            let author = &e["author"];
            let kind = if author["type"] == "agent" { "agent" } else { "customer" };
            json!({"type": "message", "createdAt": iso(e["date"].as_i64().unwrap_or(t.created)),
                "isPrivate": e["is_private"].as_bool().unwrap_or(false),
                "actor": {"type": kind, "name": author["name"], "email": author["id"]},
                "message": {"text": e["message"], "richTextHtml": format!("<p>{}</p>", e["message"].as_str().unwrap_or(""))}})
        })
        .collect();
    let status = if t.status == "spam" {
        "open"
    } else {
        t.status.as_str()
    };
    let mut v = json!({
        "ID": t.uuid, "shortID": t.id, "status": status, "subject": t.subject,
        "requester": {"email": t.requester_mail, "name": t.requester_name},
        "teamIDs": t.groups.iter().map(|g| team_id(acct, *g)).collect::<Vec<_>>(),
        "tagIDs": t.tags.iter().map(|n| tag_id(acct, n)).collect::<Vec<_>>(),
        "createdAt": iso(t.created), "updatedAt": iso(t.modified),
        "lastMessageAt": iso(t.events.iter().filter_map(|e| e["date"].as_i64()).max().unwrap_or(t.created)),
        "events": events,
    });
    if let Some((login, _)) = &t.assignee {
        v["assignment"] = json!({"agent": {"ID": agent_id(acct, login)}});
    }
    v
}

/// `GET /v1/tickets`: a bare array, total pages in `x-total-pages`.
fn list(acct: &Account, query: &Value) -> Answer {
    let param = |k: &str| text(query.get(k)).filter(|s| !s.is_empty());
    let silo = param("silo").unwrap_or_else(|| "tickets".into());
    let status = param("status");
    let needle = param("query").map(|s| s.to_lowercase());
    let from = param("createdDateFrom").unwrap_or_default();
    let to = param("createdDateTo").unwrap_or_else(|| "9999".into());
    let page: usize = param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let size: usize = param("pageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(PAGE_SIZE)
        .clamp(1, 100);
    let mut hits: Vec<&Ticket> = acct
        .tickets
        .iter()
        .filter(|t| (t.status == "spam") == (silo == "spam"))
        .filter(|t| status.as_deref().is_none_or(|s| t.status == s))
        .filter(|t| {
            let created = iso(t.created);
            created.as_str() >= from.as_str() && created.as_str() < to.as_str()
        })
        .filter(|t| {
            needle.as_deref().is_none_or(|n| {
                [&t.subject, &t.requester_mail]
                    .iter()
                    .any(|h| h.to_lowercase().contains(n))
                    || t.events.iter().any(|e| {
                        e["message"]
                            .as_str()
                            .is_some_and(|m| m.to_lowercase().contains(n))
                    })
            })
        })
        .collect();
    match param("sortBy").as_deref() {
        Some("createdAt") => hits.sort_by_key(|t| (t.created, t.seq)),
        _ => hits.sort_by_key(|t| (t.modified, t.seq)),
    }
    if param("order").as_deref() != Some("asc") {
        hits.reverse();
    }
    let pages = hits.len().div_ceil(size);
    let items: Vec<Value> = hits
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|t| ticket_json(acct, t))
        .collect();
    Answer {
        reply: Reply::ok(Value::Array(items)),
        total_pages: Some(pages),
    }
}

fn create(acct: &mut Account, body: &Value) -> Reply {
    let empty = Map::new();
    let body = body.as_object().unwrap_or(&empty);
    let requester = body.get("requester");
    let mail = text(requester.and_then(|r| r.get("email"))).unwrap_or_default();
    if !is_email(&mail) {
        return fail(400, "requester.email must be a valid e-mail address");
    }
    let name = text(requester.and_then(|r| r.get("name"))).filter(|n| !n.is_empty());
    let Some(message) =
        text(body.get("message").and_then(|m| m.get("text"))).filter(|m| !m.trim().is_empty())
    else {
        return fail(400, "message.text is required");
    };
    let subject = text(body.get("subject")).unwrap_or_default();
    let agent = body.get("assignment").and_then(|a| a.get("agent"));
    let assignee = match text(agent.and_then(|a| a.get("ID"))) {
        None => None,
        Some(id) => match acct.agents.iter().find(|a| agent_id(acct, &a.login) == id) {
            Some(a) => Some((a.login.clone(), a.name.clone())),
            None => return fail(400, "Unknown agent"),
        },
    };
    let teams = body.get("teamIDs").and_then(str_list).unwrap_or_default();
    let mut groups = Vec::new();
    for team in &teams {
        match acct.groups.iter().find(|(g, _)| &team_id(acct, *g) == team) {
            Some((g, _)) => groups.push(*g),
            None => return fail(400, "Unknown team"),
        }
    }
    if groups.is_empty() {
        groups.push(0);
    }
    let short = short_id(acct);
    let ticket = new_ticket(
        acct,
        short,
        now(),
        &subject,
        &message,
        (&mail, name.as_deref()),
        json!({"type": "mail"}),
        assignee,
        groups,
    );
    let out = ticket_json(acct, &ticket);
    acct.tickets.push(ticket);
    Reply::ok(out)
}

/// A fresh `shortID`, unique in the account.
fn short_id(acct: &Account) -> String {
    let mut n = acct.tickets.len() as u64 + 1;
    loop {
        let id = format!("HD{}", super::state::base36(n, 4));
        if !acct.tickets.iter().any(|t| t.id == id) {
            return id;
        }
        n += 1;
    }
}

fn add_tags(acct: &mut Account, id: &str, body: &Value) -> Reply {
    let ids = body.get("tagIDs").and_then(str_list).unwrap_or_default();
    let names = tag_names(acct);
    let mut add = Vec::new();
    for tag in &ids {
        match names.iter().find(|n| &tag_id(acct, n) == tag) {
            Some(n) => add.push(n.clone()),
            None => return fail(400, "Unknown tag"),
        }
    }
    let Some(pos) = acct.tickets.iter().position(|t| t.uuid == id) else {
        return fail(404, "Ticket not found");
    };
    let t = &mut acct.tickets[pos];
    for n in add {
        if !t.tags.contains(&n) {
            t.tags.push(n);
        }
    }
    t.modified = now().max(t.modified);
    Reply::ok(json!({}))
}

fn remove_tag(acct: &mut Account, id: &str, tag: &str) -> Reply {
    let name = tag_names(acct).into_iter().find(|n| tag_id(acct, n) == tag);
    let Some(pos) = acct.tickets.iter().position(|t| t.uuid == id) else {
        return fail(404, "Ticket not found");
    };
    let t = &mut acct.tickets[pos];
    if let Some(n) = name {
        t.tags.retain(|x| x != &n);
    }
    t.modified = now().max(t.modified);
    Reply::ok(json!({}))
}
