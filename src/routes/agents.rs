//! ListAgents, CreateAgent, DeleteAgent.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use secrecy::SecretString;
use serde::Deserialize;

use super::Caller;
use crate::domain::{non_empty, one_of, present, Email, LenientInt};
use crate::error::ApiError;
use crate::upstream::{JsonBody, NewAgent, Upstreams};

pub async fn list(caller: Caller, up: web::Data<Upstreams>) -> Result<HttpResponse, ApiError> {
    let agents = up.api(&caller.creds)?.list_agents(&caller.creds).await?;
    Ok(json_body(agents))
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
    /// The checked request, or a 400 naming what is wrong.
    pub fn parse(self) -> Result<NewAgent, ApiError> {
        let login = present(self.login).ok_or_else(|| required("login"))?;
        let login = Email::parse("login", &login)?;
        let name = non_empty(self.name).ok_or_else(|| required("name"))?;
        let login_status = one_of(
            "login_status",
            self.login_status,
            &["accepting chats", "not accepting chats"],
        )?;
        let permission = one_of("permission", self.permission, &["administrator", "normal"])?;
        // "" is no password either: the documents say `minLength: 5`.
        let password = match self.password {
            Some(pw) if pw.chars().count() < 5 => {
                return Err(ApiError::BadRequest(
                    "`password` must be at least 5 characters long.".into(),
                ))
            }
            pw => pw.map(SecretString::from),
        };
        let max_chats_count = match self.max_chats_count {
            Some(LenientInt(Some(n))) if !(1..=1000).contains(&n) => {
                return Err(ApiError::BadRequest(
                    "`max_chats_count` must be a whole number from 1 to 1000.".into(),
                ))
            }
            Some(LenientInt(n)) => n,
            None => None,
        };
        Ok(NewAgent {
            login,
            name,
            login_status,
            job_title: non_empty(self.job_title),
            permission,
            password,
            max_chats_count,
        })
    }
}

pub async fn create(
    caller: Caller,
    up: web::Data<Upstreams>,
    body: web::Json<CreateAgent>,
) -> Result<HttpResponse, ApiError> {
    let agent = body.into_inner().parse()?;
    let created = up
        .api(&caller.creds)?
        .create_agent(&caller.creds, &agent)
        .await
        .map_err(refused_in_this_state)?;
    Ok(HttpResponse::Ok().json(created))
}

pub async fn delete(
    caller: Caller,
    up: web::Data<Upstreams>,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let login = Email::parse("login", &login)?;
    let answer = up
        .api(&caller.creds)?
        .delete_agent(&caller.creds, &login)
        .await
        .map_err(refused_in_this_state)?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The gateway has already checked every field the documents constrain, so LiveChat refusing
/// a well-formed request (400/422: the agent already exists, the owner cannot be removed) is
/// about the account's state (or an unknown assignee): 409, with LiveChat's message.
pub fn refused_in_this_state(e: ApiError) -> ApiError {
    match e {
        ApiError::Upstream {
            status: 400 | 422,
            message,
            ..
        } => ApiError::Conflict(message),
        other => other,
    }
}

/// A 200 with JSON text a generation already wrote.
pub fn json_body(body: JsonBody) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body.into_bytes())
}

pub fn required(field: &str) -> ApiError {
    ApiError::BadRequest(format!("`{field}` is required."))
}
