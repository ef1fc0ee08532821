//! `serve --sandbox`: the project's fake LiveChat v2 in-process, seeded with demo data, and a
//! route that makes it fire demo webhook events so a newcomer sees a trigger work.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::fake_livechat::{DemoCredentials, FakeLiveChat};
use crate::settings::{Settings, DEFAULT_DATABASE_URL};
use crate::startup::BoxError;
use crate::state::AppState;

pub const SANDBOX_DATABASE_URL: &str = "sqlite://./data/sandbox.db";
pub const EVENTS: [&str; 3] = ["chat_started", "chat_ended", "ticket_created"];

pub struct Sandbox {
    pub fake: FakeLiveChat,
    pub demo: DemoCredentials,
}

/// Starts the fake and points `settings` at it. Sandbox subscriptions go to their own SQLite
/// file unless a database was chosen, so they never mix with real ones.
pub async fn start(settings: &mut Settings) -> Result<Sandbox, BoxError> {
    let fake = FakeLiveChat::spawn("127.0.0.1:0").await?;
    let demo = fake.seed_demo();
    settings.livechat_url = fake.base_url().parse()?;
    settings.allow_private_callbacks = true;
    if settings.store.database_url == DEFAULT_DATABASE_URL {
        settings.store.database_url = SANDBOX_DATABASE_URL.into();
    }
    Ok(Sandbox { fake, demo })
}

pub fn banner(public_url: &str, demo: &DemoCredentials) -> String {
    let base = public_url.trim_end_matches('/');
    format!(
        "\nSandbox: a built-in LiveChat v2 stand-in answers instead of the real API.\n\
         Demo credentials (HTTP Basic): {login} / {key}\n\
         Try:        curl -u '{login}:{key}' {base}/agents\n\
         Swagger UI: {base}/swagger-ui/\n\
         Fire a demo event to subscribed triggers: curl -X POST {base}/sandbox/events/chat_started\n\
         (events: {events})\n",
        login = demo.login,
        key = demo.api_key,
        events = EVENTS.join(", "),
    )
}

/// `POST /sandbox/events/{event_type}`: the fake LiveChat delivers one demo event to every
/// webhook registered for it.
pub async fn fire(
    state: web::Data<AppState>,
    event: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let fake = state
        .sandbox
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("No such route.".into()))?;
    if !EVENTS.contains(&event.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "The event must be one of: {}.",
            EVENTS.join(", ")
        )));
    }
    let deliveries = fake.fire(None, &event).await;
    let sent: Vec<_> = deliveries
        .iter()
        .map(|d| json!({"webhook_id": d.webhook_id, "status": d.status}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "event_type": event.as_str(),
        "deliveries": sent,
        "hint": if sent.is_empty() { "No trigger is subscribed to this event yet." } else { "LiveChat delivered the event to the gateway, which relays it to the flow." },
    })))
}
