//! ListAgents, CreateAgent, DeleteAgent.

use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Caller;
use crate::domain::{non_empty, one_of, Email, LenientInt};
use crate::error::ApiError;
use crate::normalize;
use crate::upstream::LiveChat;

pub async fn list(caller: Caller, lc: web::Data<LiveChat>) -> Result<HttpResponse, ApiError> {
    let body = lc
        .call(&caller.creds, Method::GET, &["agents"], &[], None)
        .await?;
    let agents = match body {
        Value::Array(items) => items.into_iter().map(normalize::agent).collect::<Vec<_>>(),
        Value::Object(mut o) => match o.remove("agents") {
            Some(Value::Array(items)) => items.into_iter().map(normalize::agent).collect(),
            _ => return Err(unexpected("agents list")),
        },
        _ => return Err(unexpected("agents list")),
    };
    Ok(HttpResponse::Ok().json(agents))
}

/// `CreateAgent_Request`. No `Debug`: it may hold the new agent's password.
#[derive(Deserialize)]
pub struct CreateAgent {
    login: Option<String>,
    name: Option<String>,
    login_status: Option<String>,
    job_title: Option<String>,
    permission: Option<String>,
    password: Option<String>,
    max_chats_count: Option<LenientInt>,
}

impl CreateAgent {
    /// The JSON body LiveChat gets, or a 400 naming what is wrong.
    pub fn into_upstream(self) -> Result<Value, ApiError> {
        let login = non_empty(self.login).ok_or_else(|| required("login"))?;
        let login = Email::parse("login", &login)?;
        let name = non_empty(self.name).ok_or_else(|| required("name"))?;
        let mut out = Map::new();
        out.insert("login".into(), login.as_str().into());
        out.insert("name".into(), name.into());
        if let Some(s) = one_of(
            "login_status",
            self.login_status,
            &["accepting chats", "not accepting chats"],
        )? {
            out.insert("login_status".into(), s.into());
        }
        if let Some(t) = non_empty(self.job_title) {
            out.insert("job_title".into(), t.into());
        }
        if let Some(p) = one_of("permission", self.permission, &["administrator", "normal"])? {
            out.insert("permission".into(), p.into());
        }
        if let Some(pw) = self.password.filter(|p| !p.is_empty()) {
            if pw.chars().count() < 5 {
                return Err(ApiError::BadRequest(
                    "`password` must be at least 5 characters long.".into(),
                ));
            }
            out.insert("password".into(), pw.into());
        }
        if let Some(LenientInt(Some(n))) = self.max_chats_count {
            if !(1..=1000).contains(&n) {
                return Err(ApiError::BadRequest(
                    "`max_chats_count` must be a whole number from 1 to 1000.".into(),
                ));
            }
            out.insert("max_chats_count".into(), n.into());
        }
        Ok(Value::Object(out))
    }
}

pub async fn create(
    caller: Caller,
    lc: web::Data<LiveChat>,
    body: web::Json<CreateAgent>,
) -> Result<HttpResponse, ApiError> {
    let upstream = body.into_inner().into_upstream()?;
    let agent = lc
        .call(
            &caller.creds,
            Method::POST,
            &["agents"],
            &[],
            Some(&upstream),
        )
        .await?;
    if !agent.is_object() {
        return Err(unexpected("created agent"));
    }
    Ok(HttpResponse::Ok().json(normalize::agent(agent)))
}

pub async fn delete(
    caller: Caller,
    lc: web::Data<LiveChat>,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let login = Email::parse("login", &login)?;
    let body = lc
        .call(
            &caller.creds,
            Method::DELETE,
            &["agents", login.as_str()],
            &[],
            None,
        )
        .await?;
    let body = match body {
        Value::Object(_) => body,
        _ => serde_json::json!({ "result": format!("{login} removed successfully") }),
    };
    Ok(HttpResponse::Ok().json(body))
}

pub fn required(field: &str) -> ApiError {
    ApiError::BadRequest(format!("`{field}` is required."))
}

pub fn unexpected(what: &str) -> ApiError {
    ApiError::BadGateway(format!("LiveChat answered with an unexpected {what}."))
}
