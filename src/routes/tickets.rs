//! ListTickets, GetTicket, CreateTicket, UpdateTicket.

use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::macros::format_description;

use super::agents::{required, unexpected};
use super::Caller;
use crate::domain::{non_empty, one_of, Email, TicketId};
use crate::error::ApiError;
use crate::normalize;
use crate::upstream::LiveChat;

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    page: Option<String>,
    date_from: Option<String>,
    date_to: Option<String>,
    assignee: Option<String>,
    query: Option<String>,
    order: Option<String>,
}

impl ListQuery {
    pub fn into_upstream(self) -> Result<Vec<(String, String)>, ApiError> {
        let mut q = Vec::new();
        if let Some(s) = one_of(
            "status",
            self.status,
            &["open", "pending", "solved", "spam"],
        )? {
            q.push(("status".into(), s));
        }
        if let Some(p) = non_empty(self.page) {
            match p.parse::<u32>() {
                Ok(n) if n >= 1 => q.push(("page".into(), n.to_string())),
                _ => {
                    return Err(ApiError::BadRequest(
                        "`page` must be a whole number from 1.".into(),
                    ))
                }
            }
        }
        for (field, value) in [("date_from", self.date_from), ("date_to", self.date_to)] {
            if let Some(d) = non_empty(value) {
                let fmt = format_description!("[year]-[month]-[day]");
                if time::Date::parse(&d, &fmt).is_err() {
                    return Err(ApiError::BadRequest(format!(
                        "`{field}` must be a date like 2024-05-31."
                    )));
                }
                q.push((field.into(), d));
            }
        }
        if let Some(a) = non_empty(self.assignee) {
            q.push(("assignee".into(), a));
        }
        if let Some(text) = non_empty(self.query) {
            q.push(("query".into(), text));
        }
        if let Some(o) = one_of("order", self.order, &["desc", "asc"])? {
            q.push(("order".into(), o));
        }
        Ok(q)
    }
}

pub async fn list(
    caller: Caller,
    lc: web::Data<LiveChat>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner().into_upstream()?;
    let body = lc
        .call(&caller.creds, Method::GET, &["tickets"], &q, None)
        .await?;
    let mut res = HttpResponse::Ok();
    // LiveChat answers `{pages, total, tickets}`; one source models a bare array.
    let tickets = match body {
        Value::Object(mut o) => {
            for (key, header) in [("total", "x-total-count"), ("pages", "x-total-pages")] {
                if let Some(n) = o.get(key).and_then(Value::as_u64) {
                    res.insert_header((header, n.to_string()));
                }
            }
            match o.remove("tickets") {
                Some(Value::Array(t)) => t,
                _ => return Err(unexpected("ticket list")),
            }
        }
        Value::Array(t) => t,
        _ => return Err(unexpected("ticket list")),
    };
    let tickets: Vec<Value> = tickets.into_iter().map(normalize::ticket).collect();
    Ok(res.json(tickets))
}

/// The one ticket in an answer that may be the bare ticket or the list envelope.
fn pick_ticket(body: Value, id: &TicketId) -> Option<Value> {
    match body {
        Value::Object(mut o) if !o.contains_key("id") => match o.remove("tickets") {
            Some(Value::Array(list)) => list
                .into_iter()
                .find(|t| t.get("id").and_then(Value::as_str) == Some(id.as_str())),
            _ => None,
        },
        Value::Object(_) => Some(body),
        _ => None,
    }
}

pub async fn get(
    caller: Caller,
    lc: web::Data<LiveChat>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = TicketId::parse(&id)?;
    let ticket = fetch(&lc, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(normalize::ticket(ticket)))
}

async fn fetch(lc: &LiveChat, caller: &Caller, id: &TicketId) -> Result<Value, ApiError> {
    let body = lc
        .call(
            &caller.creds,
            Method::GET,
            &["tickets", id.as_str()],
            &[],
            None,
        )
        .await?;
    pick_ticket(body, id).ok_or_else(|| unexpected("ticket"))
}

#[derive(Deserialize, Default)]
pub struct Requester {
    mail: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Assignee {
    id: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Source {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

/// `CreateTicket_Request` and `UpdateTicket_Request` share their fields.
#[derive(Deserialize, Default)]
pub struct TicketBody {
    message: Option<String>,
    requester: Option<Requester>,
    subject: Option<String>,
    assignee: Option<Assignee>,
    source: Option<Source>,
    tags: Option<Vec<String>>,
}

impl TicketBody {
    pub fn into_create(self) -> Result<Value, ApiError> {
        let message = non_empty(self.message).ok_or_else(|| required("message"))?;
        let requester = self.requester.unwrap_or_default();
        let mail = non_empty(requester.mail).ok_or_else(|| required("requester.mail"))?;
        let mail = Email::parse("requester.mail", &mail)?;
        let mut req = Map::new();
        req.insert("mail".into(), mail.as_str().into());
        if let Some(n) = non_empty(requester.name) {
            req.insert("name".into(), n.into());
        }
        let mut out = Map::new();
        out.insert("message".into(), message.into());
        out.insert("requester".into(), Value::Object(req));
        if let Some(s) = non_empty(self.subject) {
            out.insert("subject".into(), s.into());
        }
        if let Some(id) = non_empty(self.assignee.and_then(|a| a.id)) {
            let id = Email::parse("assignee.id", &id)?;
            out.insert("assignee".into(), json!({ "id": id.as_str() }));
        }
        let source = self.source.unwrap_or_default();
        let mut src = Map::new();
        if let Some(t) = one_of("source.type", source.kind, &["chat-window", "mail", "lc2"])? {
            src.insert("type".into(), t.into());
        }
        if let Some(u) = non_empty(source.url) {
            let ok = url::Url::parse(&u).is_ok_and(|p| matches!(p.scheme(), "http" | "https"));
            if !ok {
                return Err(ApiError::BadRequest(
                    "`source.url` must be an http(s) URL.".into(),
                ));
            }
            src.insert("url".into(), u.into());
        }
        if !src.is_empty() {
            out.insert("source".into(), Value::Object(src));
        }
        if self.tags.is_some() {
            return Err(ApiError::BadRequest(
                "`tags` cannot be set when creating a ticket; use UpdateTicket afterwards.".into(),
            ));
        }
        Ok(Value::Object(out))
    }

    /// LiveChat v2 can only replace a ticket's tag set: anything else is refused, and a
    /// missing `tags` is refused too, since sending nothing could wipe the tags.
    pub fn into_update(self) -> Result<Value, ApiError> {
        let source = self.source.unwrap_or_default();
        let unsupported: Vec<&str> = [
            ("message", non_empty(self.message).is_some()),
            ("subject", non_empty(self.subject).is_some()),
            (
                "assignee.id",
                non_empty(self.assignee.and_then(|a| a.id)).is_some(),
            ),
            ("source.type", non_empty(source.kind).is_some()),
            ("source.url", non_empty(source.url).is_some()),
        ]
        .into_iter()
        .filter_map(|(f, given)| given.then_some(f))
        .collect();
        if !unsupported.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "LiveChat can only replace a ticket's tags; these fields cannot be updated: {}.",
                unsupported.join(", ")
            )));
        }
        let mail = non_empty(self.requester.and_then(|r| r.mail))
            .ok_or_else(|| required("requester.mail"))?;
        Email::parse("requester.mail", &mail)?;
        let tags = self.tags.ok_or_else(|| {
            ApiError::BadRequest(
                "`tags` is required: LiveChat can only replace a ticket's tags (send [] to clear them).".into(),
            )
        })?;
        let mut clean = Vec::with_capacity(tags.len());
        for t in tags {
            let t = t.trim().to_string();
            if t.is_empty() || t.chars().count() > 100 {
                return Err(ApiError::BadRequest(
                    "Each tag must be 1 to 100 characters long.".into(),
                ));
            }
            if !clean.contains(&t) {
                clean.push(t);
            }
        }
        Ok(json!({ "tag": clean }))
    }
}

pub async fn create(
    caller: Caller,
    lc: web::Data<LiveChat>,
    body: web::Json<TicketBody>,
) -> Result<HttpResponse, ApiError> {
    let upstream = body.into_inner().into_create()?;
    let ticket = lc
        .call(
            &caller.creds,
            Method::POST,
            &["tickets"],
            &[],
            Some(&upstream),
        )
        .await?;
    let ticket = match ticket {
        Value::Object(ref o) if o.contains_key("id") => ticket,
        other => pick_first(other).ok_or_else(|| unexpected("created ticket"))?,
    };
    Ok(HttpResponse::Ok().json(normalize::ticket(ticket)))
}

fn pick_first(body: Value) -> Option<Value> {
    body.get("tickets")?.as_array()?.last().cloned()
}

pub async fn update(
    caller: Caller,
    lc: web::Data<LiveChat>,
    id: web::Path<String>,
    body: web::Json<TicketBody>,
) -> Result<HttpResponse, ApiError> {
    let id = TicketId::parse(&id)?;
    let upstream = body.into_inner().into_update()?;
    let answer = lc
        .call(
            &caller.creds,
            Method::PUT,
            &["tickets", id.as_str(), "tags"],
            &[],
            Some(&upstream),
        )
        .await?;
    let ticket = match pick_ticket(answer, &id) {
        Some(t) => t,
        // The list envelope may not hold this ticket: read it back.
        None => fetch(&lc, &caller, &id).await?,
    };
    Ok(HttpResponse::Ok().json(normalize::ticket(ticket)))
}
