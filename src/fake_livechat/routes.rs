//! The single actix handler: records, injects, authenticates, then dispatches by path.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde_json::{json, Value};

use super::state::{Account, IdGen, State};
use super::{agents, form, helpdesk, hooks, lock, tickets, v3};
use super::{ErrorShape, InjectedResponse, Quirks, RecordedRequest};
use std::sync::Mutex;

/// Requests the fake remembers (see [`super::FakeLiveChat::requests`]).
const MAX_RECORDED: usize = 2_000;

/// A JSON answer before it becomes an `HttpResponse`.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply { status: 200, body }
    }

    /// 200, or 201 under [`Quirks::creates_return_201`].
    pub fn created(body: Value, q: &Quirks) -> Self {
        let status = if q.creates_return_201 { 201 } else { 200 };
        Reply { status, body }
    }
}

/// An error answer in `shape`, unless [`Quirks::error_shape`] overrides it.
pub(crate) fn fail(status: u16, shape: ErrorShape, msgs: Vec<String>, q: &Quirks) -> Reply {
    let body = match q.error_shape.unwrap_or(shape) {
        ErrorShape::ErrorString => json!({ "error": msgs.join("; ") }),
        ErrorShape::ErrorArray => json!({ "error": msgs }),
        ErrorShape::ErrorsArray => json!({ "errors": msgs }),
        ErrorShape::ErrorsString => json!({ "errors": msgs.join("; ") }),
    };
    Reply { status, body }
}

pub(crate) fn not_found(q: &Quirks) -> Reply {
    fail(404, ErrorShape::ErrorString, vec!["Not found".into()], q)
}

/// What a route handler gets: the caller's licence, id generator, quirks and parsed input.
pub(crate) struct Ctx<'a> {
    pub acct: &'a mut Account,
    pub ids: &'a mut IdGen,
    pub q: &'a Quirks,
    pub query: &'a Value,
    pub body: &'a Value,
}

pub(crate) async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_ascii_lowercase(), v)
        })
        .collect();
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    let parsed = form::parse_body(&content_type, &body);
    let recorded_body = match &parsed {
        Ok(v) => v.clone(),
        Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
    };
    let method = req.method().as_str().to_string();
    let path = req.path().to_string();
    let query = req.query_string().to_string();
    log::debug!("fake LiveChat: {method} {path}");

    let injected = {
        let mut st = lock(&state);
        // The sandbox runs for days: keep the recent requests only (tests see them all).
        if st.requests.len() >= MAX_RECORDED {
            st.requests.drain(..MAX_RECORDED / 2);
        }
        st.requests.push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            headers: headers.clone(),
            body: recorded_body,
        });
        st.injected.pop_front()
    };
    if let Some(inj) = injected {
        return injected_response(inj).await;
    }

    let query = form::parse_form(query.as_bytes());
    if let Some(rest) = path
        .strip_prefix("/v3.6/")
        .or_else(|| path.strip_prefix("/v1/"))
    {
        let mut st = lock(&state);
        let helpdesk = path.starts_with("/v1/");
        let answer = if helpdesk {
            let segs: Vec<String> = rest
                .split('/')
                .filter(|s| !s.is_empty())
                .map(form::percent_decode)
                .collect();
            let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
            helpdesk::process(&mut st, &method, &segs, &headers, &query, parsed)
        } else {
            let reply = match rest.split('/').collect::<Vec<_>>().as_slice() {
                [api, "action", action] if method == "POST" => {
                    v3::process(&mut st, api, action, &headers, parsed)
                }
                _ => v3::error("not_found", "No such method"),
            };
            reply.into()
        };
        return new_generation_response(&st.quirks, helpdesk, answer);
    }
    let reply = process(&mut lock(&state), &method, &path, &headers, &query, parsed);
    let callback = (method == "GET")
        .then(|| form::text(query.get("callback")))
        .flatten()
        .filter(|c| {
            !c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "_.$".contains(ch))
        });
    let mut builder = HttpResponse::build(
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    match callback {
        Some(cb) => builder
            .content_type("application/javascript")
            .body(format!("{cb}({});", reply.body)),
        None => builder
            .content_type("application/json")
            .body(reply.body.to_string()),
    }
}

/// A v3 or HelpDesk answer, with the retirement and paging headers the quirks ask for.
fn new_generation_response(q: &Quirks, helpdesk: bool, answer: helpdesk::Answer) -> HttpResponse {
    let status =
        StatusCode::from_u16(answer.reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    builder.content_type("application/json");
    if let Some(d) = &q.v3_deprecation {
        builder.insert_header(("deprecation", d.as_str()));
    }
    if let Some(l) = &q.v3_legacy {
        builder.insert_header(("legacy", l.as_str()));
    }
    if let (Some(pages), false) = (answer.total_pages, helpdesk && q.helpdesk_no_total_header) {
        builder.insert_header(("x-total-pages", pages.to_string()));
    }
    builder.body(answer.reply.body.to_string())
}

async fn injected_response(inj: InjectedResponse) -> HttpResponse {
    if let Some(delay) = inj.delay {
        actix_web::rt::time::sleep(delay).await;
    }
    let status = StatusCode::from_u16(inj.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in inj.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            builder.append_header((n, v));
        }
    }
    builder.body(inj.body)
}

/// `Authorization: Basic base64(login:key)` → (login, key).
pub(crate) fn basic_credentials(headers: &[(String, String)]) -> Option<(String, String)> {
    let value = headers.iter().find(|(k, _)| k == "authorization")?.1.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, key) = text.split_once(':')?;
    Some((login.to_string(), key.to_string()))
}

fn process(
    st: &mut State,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    query: &Value,
    parsed: Result<Value, String>,
) -> Reply {
    let q = st.quirks.clone();
    let version_ok = headers
        .iter()
        .any(|(k, v)| k == "x-api-version" && v.trim() == "2");
    if !version_ok {
        let status = q.missing_version_status.unwrap_or(401);
        let msg = "Missing or unsupported X-API-Version header (expected 2)".to_string();
        return fail(status, ErrorShape::ErrorString, vec![msg], &q);
    }
    let unauthorized = || {
        let msg = "Invalid username or API key".to_string();
        fail(401, ErrorShape::ErrorString, vec![msg], &q)
    };
    let Some((login, key)) = basic_credentials(headers) else {
        return unauthorized();
    };
    let State { accounts, ids, .. } = st;
    let Some(acct) = accounts.iter_mut().find(|a| {
        a.login.eq_ignore_ascii_case(&login) && !a.api_key.is_empty() && a.api_key == key
    }) else {
        return unauthorized();
    };
    let body = match parsed {
        Ok(body) => body,
        Err(msg) => return fail(400, ErrorShape::ErrorString, vec![msg], &q),
    };
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(form::percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let mut cx = Ctx {
        acct,
        ids,
        q: &q,
        query,
        body: &body,
    };
    match (method, segs.as_slice()) {
        ("GET", ["agents"]) => agents::list(&mut cx),
        ("POST", ["agents"]) => agents::create(&mut cx),
        ("GET", ["agents", login]) => agents::get(&mut cx, login),
        ("PUT", ["agents", login]) => agents::update(&mut cx, login),
        ("DELETE", ["agents", login]) => agents::delete(&mut cx, login),
        ("GET", ["tickets"]) => tickets::list(&mut cx),
        ("POST", ["tickets"]) => tickets::create(&mut cx),
        ("GET", ["tickets", id]) => tickets::get(&mut cx, id),
        ("PUT", ["tickets", id, "tags"]) => tickets::update_tags(&mut cx, id),
        ("GET", ["webhooks"]) => hooks::list(&mut cx),
        ("POST", ["webhooks"]) => hooks::create(&mut cx),
        ("DELETE", ["webhooks", id]) => hooks::delete(&mut cx, id),
        _ => not_found(&q),
    }
}
