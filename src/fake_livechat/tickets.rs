//! `/tickets` routes (design §3). List errors answer `{"errors":[..]}`, write errors `{"error":[..]}`.

use serde_json::{json, Map, Value};
use time::macros::format_description;
use time::Date;

use super::form::{int_list, is_email, str_list, text};
use super::routes::{fail, not_found, Ctx, Reply};
use super::state::{now, uuid_from, Account, Ticket};
use super::ErrorShape;

pub(crate) const PAGE_SIZE: usize = 25;
const STATUSES: [&str; 4] = ["open", "pending", "solved", "spam"];
const CREATE_SOURCES: [&str; 3] = ["chat-window", "mail", "lc2"];

/// Unix-second bounds of a `YYYY-MM-DD` day: (start, end inclusive).
fn day_bounds(s: &str) -> Option<(i64, i64)> {
    let date = Date::parse(s, format_description!("[year]-[month]-[day]")).ok()?;
    let start = date.midnight().assume_utc().unix_timestamp();
    Some((start, start + 86_399))
}

fn zero_or_one(v: Option<String>, name: &str, errors: &mut Vec<String>) -> Option<bool> {
    match v.as_deref() {
        None | Some("") => None,
        Some("0") => Some(false),
        Some("1") => Some(true),
        Some(_) => {
            errors.push(format!("{name}: must be 0 or 1"));
            None
        }
    }
}

/// `GET /tickets`: `{pages, total, tickets}`, 25 per page, newest modification first.
pub(crate) fn list(cx: &mut Ctx) -> Reply {
    let q = cx.query;
    let param = |k: &str| text(q.get(k)).filter(|s| !s.is_empty());
    let mut errors = Vec::new();
    let status = param("status");
    if status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        errors.push(format!("status: must be one of: {}", STATUSES.join(", ")));
    }
    let order = param("order").unwrap_or_else(|| "desc".into());
    if order != "desc" && order != "asc" {
        errors.push("order: must be 'desc' or 'asc'".into());
    }
    let page = match param("page") {
        None => 1,
        Some(p) => match p.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                errors.push("page: must be a positive integer".into());
                1
            }
        },
    };
    let mut bound = |k: &str| {
        let v = param(k)?;
        let b = day_bounds(&v);
        if b.is_none() {
            errors.push(format!("{k}: must be a date in YYYY-MM-DD format"));
        }
        b
    };
    let from = bound("date_from").map(|b| b.0).unwrap_or(i64::MIN);
    let to = bound("date_to").map(|b| b.1).unwrap_or(i64::MAX);
    let assigned = zero_or_one(param("assigned"), "assigned", &mut errors);
    let tagged = zero_or_one(param("tagged"), "tagged", &mut errors);
    let group = match param("group") {
        Some(g) => match g.trim().parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push("group: must be a group id".into());
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return fail(400, ErrorShape::ErrorsArray, errors, cx.q);
    }
    let assignee = param("assignee");
    let query = param("query").map(|s| s.to_lowercase());
    let requester = text(q.get("requester").and_then(|r| r.get("mail")))
        .or_else(|| param("requester[mail]"))
        .filter(|s| !s.is_empty());
    let tag = param("tag");
    let source = param("source");
    let source_id = param("source_id");

    let mut hits: Vec<&Ticket> = cx
        .acct
        .tickets
        .iter()
        .filter(|t| status.as_deref().is_none_or(|s| t.status == s))
        .filter(|t| {
            assignee.as_deref().is_none_or(|a| {
                t.assignee
                    .as_ref()
                    .is_some_and(|(id, _)| id.eq_ignore_ascii_case(a))
            })
        })
        .filter(|t| assigned.is_none_or(|want| t.assignee.is_some() == want))
        .filter(|t| {
            query
                .as_deref()
                .is_none_or(|needle| matches_query(t, needle))
        })
        .filter(|t| {
            requester
                .as_deref()
                .is_none_or(|m| t.requester_mail.eq_ignore_ascii_case(m))
        })
        .filter(|t| tag.as_deref().is_none_or(|g| t.tags.iter().any(|x| x == g)))
        .filter(|t| tagged.is_none_or(|want| t.tags.is_empty() != want))
        .filter(|t| group.is_none_or(|g| t.groups.contains(&g)))
        .filter(|t| source.as_deref().is_none_or(|s| t.source["type"] == s))
        .filter(|t| source_id.as_deref().is_none_or(|s| t.source["id"] == s))
        .filter(|t| activity(t).any(|ts| ts >= from && ts <= to))
        .collect();
    hits.sort_by_key(|t| (t.modified, t.seq));
    if order == "desc" {
        hits.reverse();
    }
    let total = hits.len();
    let tickets: Vec<Value> = hits
        .iter()
        .skip((page - 1).saturating_mul(PAGE_SIZE))
        .take(PAGE_SIZE)
        .map(|t| cx.acct.ticket_json(t, cx.q))
        .collect();
    if cx.q.list_tickets_bare_array {
        return Reply::ok(Value::Array(tickets));
    }
    let pages = total.div_ceil(PAGE_SIZE);
    Reply::ok(json!({ "pages": pages, "total": total, "tickets": tickets }))
}

/// Every moment the ticket saw activity (creation, modification, events).
fn activity(t: &Ticket) -> impl Iterator<Item = i64> + '_ {
    let events = t.events.iter().filter_map(|e| e["date"].as_i64());
    [t.created, t.modified].into_iter().chain(events)
}

fn matches_query(t: &Ticket, needle: &str) -> bool {
    let mut hay = vec![t.id.clone(), t.subject.clone(), t.requester_mail.clone()];
    hay.extend(t.requester_name.clone());
    hay.extend(t.tags.iter().cloned());
    hay.extend(
        t.events
            .iter()
            .filter_map(|e| e["message"].as_str().map(String::from)),
    );
    hay.iter().any(|h| h.to_lowercase().contains(needle))
}

/// `GET /tickets/<id>`: the bare ticket.
pub(crate) fn get(cx: &mut Ctx, id: &str) -> Reply {
    match cx.acct.tickets.iter().find(|t| t.id == id) {
        Some(t) => Reply::ok(cx.acct.ticket_json(t, cx.q)),
        None => not_found(cx.q),
    }
}

/// Builds a new open ticket with its first (client) message event.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_ticket(
    acct: &mut Account,
    id: String,
    at: i64,
    subject: &str,
    message: &str,
    requester: (&str, Option<&str>),
    source: Value,
    assignee: Option<(String, String)>,
    groups: Vec<i64>,
) -> Ticket {
    let (mail, name) = requester;
    let mut event_source = source.clone();
    if let Some(s) = event_source.as_object_mut() {
        s.remove("id");
    }
    let mut events = vec![json!({
        "type": "message", "date": at, "is_private": false, "message": message,
        "author": {"id": mail, "name": name.unwrap_or(mail), "type": "client"},
        "source": event_source,
    })];
    if let Some((id, name)) = &assignee {
        let owner = acct
            .agent(&acct.login)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        events.push(json!({
            "type": "assignee_changed", "date": at,
            "author": {"id": acct.login, "name": owner},
            "to": {"id": id, "name": name},
        }));
    }
    Ticket {
        uuid: uuid_from(&format!("ticket/{}/{id}", acct.licence)),
        id,
        status: "open".into(),
        subject: subject.to_string(),
        requester_mail: mail.to_string(),
        requester_name: name.map(String::from),
        assignee,
        groups,
        tags: Vec::new(),
        created: at,
        modified: at,
        source,
        events,
        seq: acct.next_seq(),
    }
}

/// `POST /tickets`: 200 with the bare new ticket; errors `{"error":[..]}`.
pub(crate) fn create(cx: &mut Ctx) -> Reply {
    let empty = Map::new();
    let body = cx.body.as_object().unwrap_or(&empty);
    let mut errors = Vec::new();
    let message = text(body.get("message")).filter(|m| !m.trim().is_empty());
    if message.is_none() {
        errors.push("message: is required".into());
    }
    let requester = body.get("requester");
    let mail = text(requester.and_then(|r| r.get("mail"))).filter(|m| !m.is_empty());
    match &mail {
        None => errors.push("requester[mail]: is required".into()),
        Some(m) if !is_email(m) => {
            errors.push("requester[mail]: must be a valid e-mail address".into())
        }
        Some(_) => {}
    }
    let name = text(requester.and_then(|r| r.get("name"))).filter(|n| !n.is_empty());
    let src = body.get("source");
    let source_type = text(src.and_then(|s| s.get("type"))).filter(|s| !s.is_empty());
    if source_type
        .as_deref()
        .is_some_and(|s| !CREATE_SOURCES.contains(&s))
    {
        errors.push(format!(
            "source[type]: must be one of: {}",
            CREATE_SOURCES.join(", ")
        ));
    }
    let source_type = source_type.unwrap_or_else(|| "lc2".into());
    let mut source = json!({ "type": source_type });
    if source_type == "chat-window" {
        if let Some(url) = text(src.and_then(|s| s.get("url"))).filter(|u| !u.is_empty()) {
            source["url"] = json!(url);
        }
    }
    let assignee_id =
        text(body.get("assignee").and_then(|a| a.get("id"))).filter(|a| !a.is_empty());
    let assignee = match assignee_id {
        None => None,
        Some(id) => match cx.acct.agent(&id) {
            Some(a) => Some((a.login.clone(), a.name.clone())),
            None => {
                errors.push(format!("assignee[id]: unknown agent {id}"));
                None
            }
        },
    };
    let groups = match body.get("group").or_else(|| body.get("groups")) {
        None | Some(Value::Null) => vec![0],
        Some(v) => match int_list(v) {
            Some(ids)
                if ids
                    .iter()
                    .all(|g| cx.acct.groups.iter().any(|(k, _)| k == g)) =>
            {
                ids
            }
            _ => {
                errors.push("group: must be an array of existing group ids".into());
                vec![0]
            }
        },
    };
    if !errors.is_empty() {
        return fail(400, ErrorShape::ErrorArray, errors, cx.q);
    }
    let subject = text(body.get("subject"))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "(no subject)".into());
    let id = cx.ids.ticket_id();
    let ticket = new_ticket(
        cx.acct,
        id,
        now(),
        &subject,
        &message.unwrap_or_default(),
        (&mail.unwrap_or_default(), name.as_deref()),
        source,
        assignee,
        groups,
    );
    let out = cx.acct.ticket_json(&ticket, cx.q);
    cx.acct.tickets.push(ticket);
    Reply::created(out, cx.q)
}

/// `PUT /tickets/<id>/tags`: replaces the tag set; the bare ticket (or the list envelope by quirk).
pub(crate) fn update_tags(cx: &mut Ctx, id: &str) -> Reply {
    let Some(pos) = cx.acct.tickets.iter().position(|t| t.id == id) else {
        return not_found(cx.q);
    };
    let tags = match cx.body.get("tag") {
        None | Some(Value::Null) => {
            return fail(
                400,
                ErrorShape::ErrorArray,
                vec!["tag: is required".into()],
                cx.q,
            )
        }
        Some(v) => match str_list(v) {
            Some(tags) => tags,
            None => {
                let msg = "tag: must be an array of strings".to_string();
                return fail(400, ErrorShape::ErrorArray, vec![msg], cx.q);
            }
        },
    };
    let mut unique: Vec<String> = Vec::new();
    for t in tags.into_iter().filter(|t| !t.trim().is_empty()) {
        if !unique.contains(&t) {
            unique.push(t);
        }
    }
    let ticket = &mut cx.acct.tickets[pos];
    ticket.tags = unique;
    ticket.modified = now().max(ticket.modified);
    let out = cx.acct.ticket_json(&cx.acct.tickets[pos], cx.q);
    if cx.q.update_tags_returns_envelope {
        return Reply::ok(json!({ "pages": 1, "total": 1, "tickets": [out] }));
    }
    Reply::ok(out)
}
