//! ListTickets, GetTicket, CreateTicket, UpdateTicket.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use time::macros::format_description;

use super::agents::{refused_in_this_state, required};
use super::Caller;
use crate::domain::{non_empty, object, one_of, present, Email, TicketId};
use crate::error::ApiError;
use crate::openapi::operations::{MAX_PAGE, MAX_TAG_CHARS};
use crate::upstream::{NewTicket, TicketQuery, Upstreams};

/// Unknown parameters are refused: the document lists every one (a typo would otherwise be a
/// filter silently not applied).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
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
    pub fn parse(self) -> Result<TicketQuery, ApiError> {
        let status = one_of(
            "status",
            self.status,
            &["open", "pending", "solved", "spam"],
        )?;
        // Given at all (even ""), a value must be what the document declares.
        let page = match self.page {
            None => None,
            Some(p) => match p.trim().parse::<i64>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => Some(n as u32),
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "`page` must be a whole number from 1 to {MAX_PAGE}."
                    )))
                }
            },
        };
        let date = |field: &str, value: Option<String>| -> Result<Option<String>, ApiError> {
            let Some(d) = value else {
                return Ok(None);
            };
            let fmt = format_description!("[year]-[month]-[day]");
            match time::Date::parse(&d, &fmt) {
                Ok(_) => Ok(Some(d)),
                Err(_) => Err(ApiError::BadRequest(format!(
                    "`{field}` must be a date like 2024-05-31."
                ))),
            }
        };
        Ok(TicketQuery {
            status,
            page,
            date_from: date("date_from", self.date_from)?,
            date_to: date("date_to", self.date_to)?,
            assignee: non_empty(self.assignee),
            query: non_empty(self.query),
            order: one_of("order", self.order, &["desc", "asc"])?,
        })
    }
}

pub async fn list(
    caller: Caller,
    up: web::Data<Upstreams>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner().parse()?;
    let page = up
        .api(&caller.creds)?
        .list_tickets(&caller.creds, &query)
        .await?;
    let mut res = HttpResponse::Ok();
    for (n, header) in [(page.total, "x-total-count"), (page.pages, "x-total-pages")] {
        if let Some(n) = n {
            res.insert_header((header, n.to_string()));
        }
    }
    Ok(res.json(page.tickets))
}

pub async fn get(
    caller: Caller,
    up: web::Data<Upstreams>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = TicketId::parse(&id)?;
    let ticket = up
        .api(&caller.creds)?
        .get_ticket(&caller.creds, &id)
        .await?;
    Ok(super::agents::json_body(ticket))
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
    #[serde(default, deserialize_with = "object")]
    requester: Option<Requester>,
    subject: Option<String>,
    #[serde(default, deserialize_with = "object")]
    assignee: Option<Assignee>,
    #[serde(default, deserialize_with = "object")]
    source: Option<Source>,
    tags: Option<Vec<String>>,
}

impl TicketBody {
    pub fn into_create(self) -> Result<NewTicket, ApiError> {
        let message = non_empty(self.message).ok_or_else(|| required("message"))?;
        let requester = self.requester.unwrap_or_default();
        let mail = present(requester.mail).ok_or_else(|| required("requester.mail"))?;
        let requester_mail = Email::parse("requester.mail", &mail)?;
        // Given at all, it must be an agent's login: the documents say `format: email`.
        let assignee = match self.assignee.and_then(|a| a.id) {
            Some(id) => Some(Email::parse("assignee.id", &id)?),
            None => None,
        };
        let source = self.source.unwrap_or_default();
        let source_type = one_of("source.type", source.kind, &["chat-window", "mail", "lc2"])?;
        let source_url = non_empty(source.url);
        if let Some(u) = &source_url {
            let ok = url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https"));
            if !ok {
                return Err(ApiError::BadRequest(
                    "`source.url` must be an http(s) URL.".into(),
                ));
            }
        }
        if self.tags.is_some() {
            return Err(ApiError::BadRequest(
                "`tags` cannot be set when creating a ticket; use UpdateTicket afterwards.".into(),
            ));
        }
        Ok(NewTicket {
            message,
            requester_mail,
            requester_name: non_empty(requester.name),
            subject: non_empty(self.subject),
            assignee,
            source_type,
            source_url,
        })
    }

    /// LiveChat v2 can only replace a ticket's tag set: anything else is refused, and a
    /// missing `tags` is refused too, since sending nothing could wipe the tags. Answers the
    /// cleaned, de-duplicated tag set.
    pub fn into_update(self) -> Result<Vec<String>, ApiError> {
        let source = self.source.unwrap_or_default();
        // Only "" or leaving it out means "not given" here (the documents say `maxLength: 0`).
        let given = |v: Option<String>| v.is_some_and(|s| !s.is_empty());
        let unsupported: Vec<&str> = [
            ("message", given(self.message)),
            ("subject", given(self.subject)),
            ("assignee.id", given(self.assignee.and_then(|a| a.id))),
            ("source.type", given(source.kind)),
            ("source.url", given(source.url)),
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
        let mail = present(self.requester.and_then(|r| r.mail))
            .ok_or_else(|| required("requester.mail"))?;
        Email::parse("requester.mail", &mail)?;
        let tags = self.tags.ok_or_else(|| {
            ApiError::BadRequest(
                "`tags` is required: LiveChat can only replace a ticket's tags (send [] to clear them).".into(),
            )
        })?;
        let mut clean = Vec::with_capacity(tags.len());
        for t in tags {
            let long = t.chars().count() > MAX_TAG_CHARS;
            let t = t.trim().to_string();
            if t.is_empty() || long {
                return Err(ApiError::BadRequest(format!(
                    "Each tag must be 1 to {MAX_TAG_CHARS} characters long."
                )));
            }
            if !clean.contains(&t) {
                clean.push(t);
            }
        }
        Ok(clean)
    }
}

pub async fn create(
    caller: Caller,
    up: web::Data<Upstreams>,
    body: web::Json<TicketBody>,
) -> Result<HttpResponse, ApiError> {
    let ticket = body.into_inner().into_create()?;
    let created = up
        .api(&caller.creds)?
        .create_ticket(&caller.creds, &ticket)
        .await
        .map_err(refused_in_this_state)?;
    Ok(HttpResponse::Ok().json(created))
}

pub async fn update(
    caller: Caller,
    up: web::Data<Upstreams>,
    id: web::Path<String>,
    body: web::Json<TicketBody>,
) -> Result<HttpResponse, ApiError> {
    let id = TicketId::parse(&id)?;
    let tags = body.into_inner().into_update()?;
    let ticket = up
        .api(&caller.creds)?
        .replace_tags(&caller.creds, &id, &tags)
        .await
        .map_err(refused_in_this_state)?;
    Ok(HttpResponse::Ok().json(ticket))
}
