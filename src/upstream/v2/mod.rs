//! LiveChat REST API v2 (`X-API-Version: 2`, the login e-mail and API key over Basic): its
//! paths, its envelopes (which sources disagree on, livechat-v2.md), its error shapes and the
//! normalisation of its answers into the contract's shapes.

pub mod errors;
pub mod normalize;
pub mod normalize_raw;
mod scan;
mod stream;
mod webhooks;

use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::http::Method;
use actix_web::web::Bytes;
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use url::Url;

use super::transport::{join, Answer, Request, Transport};
use super::{
    JsonBody, LiveChatApi, NewAgent, NewTicket, TicketPage, TicketQuery, WebhookRegistration,
};
use crate::credentials::Credentials;
use crate::domain::{Email, TicketId};
use crate::error::ApiError;

#[derive(Clone)]
pub struct LiveChatV2 {
    transport: Transport,
    base: Url,
}

impl LiveChatV2 {
    pub fn new(base: &Url, transport: Transport) -> Self {
        Self {
            transport,
            base: base.clone(),
        }
    }

    /// One call to LiveChat v2. `Ok` holds the parsed JSON of a 2xx answer (Null when empty).
    pub async fn call(
        &self,
        creds: &Credentials,
        method: Method,
        segments: &[&str],
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let answer = self.send(creds, method, segments, query, body).await?;
        let retry_after = answer.header(RETRY_AFTER.as_str()).map(str::to_owned);
        errors::interpret(answer.status, retry_after, &answer.bytes, creds)
    }

    async fn send(
        &self,
        creds: &Credentials,
        method: Method,
        segments: &[&str],
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Answer, ApiError> {
        let request = Request {
            api: "v2",
            method,
            url: join(&self.base, segments),
            query,
            body,
            headers: vec![(
                HeaderName::from_static("x-api-version"),
                HeaderValue::from_static("2"),
            )],
        };
        self.transport.send(creds, request).await
    }

    /// A GET whose 2xx answer stays LiveChat's bytes, for the rewrites of `normalize_raw`;
    /// any other answer maps as `call` maps it.
    async fn get_bytes(&self, creds: &Credentials, segments: &[&str]) -> Result<Bytes, ApiError> {
        let answer = self.send(creds, Method::GET, segments, &[], None).await?;
        if answer.status.is_success() {
            return Ok(answer.bytes);
        }
        let retry_after = answer.header(RETRY_AFTER.as_str()).map(str::to_owned);
        match errors::interpret(answer.status, retry_after, &answer.bytes, creds) {
            Err(e) => Err(e),
            Ok(_) => Err(ApiError::internal("a non-2xx answer read as success")),
        }
    }

    async fn fetch_ticket(&self, creds: &Credentials, id: &TicketId) -> Result<Value, ApiError> {
        let body = self
            .call(creds, Method::GET, &["tickets", id.as_str()], &[], None)
            .await?;
        pick_ticket(body, id).ok_or_else(|| unexpected("ticket"))
    }
}

/// A 2xx answer rewritten by `normalize_raw`; an empty one or one without the expected shape
/// is `unexpected`, as `call` reads them.
fn raw_answer(
    bytes: &[u8],
    what: &str,
    rewrite: impl FnOnce(&[u8]) -> Result<Option<Vec<u8>>, normalize_raw::NotJson>,
) -> Result<Vec<u8>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(unexpected(what));
    }
    match rewrite(bytes) {
        Ok(Some(out)) => Ok(out),
        Ok(None) => Err(unexpected(what)),
        Err(normalize_raw::NotJson) => Err(ApiError::BadGateway(
            "LiveChat answered with something that is not JSON.".into(),
        )),
    }
}

pub fn unexpected(what: &str) -> ApiError {
    ApiError::BadGateway(format!("LiveChat answered with an unexpected {what}."))
}

#[async_trait(?Send)]
impl LiveChatApi for LiveChatV2 {
    async fn list_agents(&self, creds: &Credentials) -> Result<JsonBody, ApiError> {
        let bytes = self.get_bytes(creds, &["agents"]).await?;
        let agents = raw_answer(&bytes, "agents list", normalize_raw::agents_answer)?;
        Ok(JsonBody::from_json_text(agents))
    }

    async fn create_agent(&self, creds: &Credentials, agent: &NewAgent) -> Result<Value, ApiError> {
        let body = agent_body(agent);
        let created = self
            .call(creds, Method::POST, &["agents"], &[], Some(&body))
            .await?;
        if !created.is_object() {
            return Err(unexpected("created agent"));
        }
        Ok(normalize::agent(created))
    }

    async fn delete_agent(&self, creds: &Credentials, login: &Email) -> Result<Value, ApiError> {
        let body = self
            .call(
                creds,
                Method::DELETE,
                &["agents", login.as_str()],
                &[],
                None,
            )
            .await?;
        Ok(match body {
            Value::Object(_) => body,
            _ => json!({ "result": format!("{login} removed successfully") }),
        })
    }

    async fn list_tickets(
        &self,
        creds: &Credentials,
        query: &TicketQuery,
    ) -> Result<TicketPage, ApiError> {
        let q = ticket_query(query);
        let body = self
            .call(creds, Method::GET, &["tickets"], &q, None)
            .await?;
        // LiveChat answers `{pages, total, tickets}`; one source models a bare array.
        let mut page = TicketPage::default();
        let tickets = match body {
            Value::Object(mut o) => {
                page.total = o.get("total").and_then(Value::as_u64);
                page.pages = o.get("pages").and_then(Value::as_u64);
                match o.remove("tickets") {
                    Some(Value::Array(t)) => t,
                    _ => return Err(unexpected("ticket list")),
                }
            }
            Value::Array(t) => t,
            _ => return Err(unexpected("ticket list")),
        };
        page.tickets = tickets.into_iter().map(normalize::ticket).collect();
        Ok(page)
    }

    async fn get_ticket(&self, creds: &Credentials, id: &TicketId) -> Result<JsonBody, ApiError> {
        let bytes = self.get_bytes(creds, &["tickets", id.as_str()]).await?;
        let ticket = raw_answer(&bytes, "ticket", |b| {
            normalize_raw::ticket_answer(b, id.as_str())
        })?;
        Ok(JsonBody::from_json_text(ticket))
    }

    async fn create_ticket(
        &self,
        creds: &Credentials,
        ticket: &NewTicket,
    ) -> Result<Value, ApiError> {
        let body = ticket_body(ticket);
        let created = self
            .call(creds, Method::POST, &["tickets"], &[], Some(&body))
            .await?;
        let created = match created {
            Value::Object(ref o) if o.contains_key("id") => created,
            other => pick_last(other).ok_or_else(|| unexpected("created ticket"))?,
        };
        Ok(normalize::ticket(created))
    }

    async fn replace_tags(
        &self,
        creds: &Credentials,
        id: &TicketId,
        tags: &[String],
    ) -> Result<Value, ApiError> {
        let body = json!({ "tag": tags });
        let answer = self
            .call(
                creds,
                Method::PUT,
                &["tickets", id.as_str(), "tags"],
                &[],
                Some(&body),
            )
            .await?;
        let ticket = match pick_ticket(answer, id) {
            Some(t) => t,
            // The list envelope may not hold this ticket: read it back.
            None => self.fetch_ticket(creds, id).await?,
        };
        Ok(normalize::ticket(ticket))
    }

    async fn register_webhook(
        &self,
        creds: &Credentials,
        hook: &WebhookRegistration<'_>,
    ) -> Result<String, ApiError> {
        webhooks::register(self, creds, hook).await
    }

    async fn remove_webhook(&self, creds: &Credentials, webhook_id: &str) -> Result<(), ApiError> {
        match self
            .call(creds, Method::DELETE, &["webhooks", webhook_id], &[], None)
            .await
        {
            Ok(_) | Err(ApiError::Upstream { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn agent_body(a: &NewAgent) -> Value {
    let mut out = Map::new();
    out.insert("login".into(), a.login.as_str().into());
    out.insert("name".into(), a.name.clone().into());
    let optional = [
        ("login_status", &a.login_status),
        ("job_title", &a.job_title),
        ("permission", &a.permission),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            out.insert(key.into(), v.clone().into());
        }
    }
    if let Some(pw) = &a.password {
        out.insert("password".into(), pw.expose_secret().into());
    }
    if let Some(n) = a.max_chats_count {
        out.insert("max_chats_count".into(), n.into());
    }
    Value::Object(out)
}

fn ticket_query(q: &TicketQuery) -> Vec<(String, String)> {
    let page = q.page.map(|p| p.to_string());
    [
        ("status", q.status.as_ref()),
        ("page", page.as_ref()),
        ("date_from", q.date_from.as_ref()),
        ("date_to", q.date_to.as_ref()),
        ("assignee", q.assignee.as_ref()),
        ("query", q.query.as_ref()),
        ("order", q.order.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.clone())))
    .collect()
}

fn ticket_body(t: &NewTicket) -> Value {
    let mut requester = Map::new();
    requester.insert("mail".into(), t.requester_mail.as_str().into());
    if let Some(n) = &t.requester_name {
        requester.insert("name".into(), n.clone().into());
    }
    let mut out = Map::new();
    out.insert("message".into(), t.message.clone().into());
    out.insert("requester".into(), Value::Object(requester));
    if let Some(s) = &t.subject {
        out.insert("subject".into(), s.clone().into());
    }
    if let Some(a) = &t.assignee {
        out.insert("assignee".into(), json!({ "id": a.as_str() }));
    }
    let mut source = Map::new();
    if let Some(k) = &t.source_type {
        source.insert("type".into(), k.clone().into());
    }
    if let Some(u) = &t.source_url {
        source.insert("url".into(), u.clone().into());
    }
    if !source.is_empty() {
        out.insert("source".into(), Value::Object(source));
    }
    Value::Object(out)
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

fn pick_last(body: Value) -> Option<Value> {
    body.get("tickets")?.as_array()?.last().cloned()
}
