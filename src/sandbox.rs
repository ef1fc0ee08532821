//! `serve --sandbox`: the project's fake LiveChat (v2, v3.6 and HelpDesk faces) in-process, seeded with demo data, and a
//! route that makes it fire demo webhook events so a newcomer sees a trigger work.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::fake_livechat::{DemoCredentials, FakeLiveChat};
use crate::settings::{ApiChoice, Settings, DEFAULT_DATABASE_URL};
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
    // The same fake serves HelpDesk's face (tickets on v3).
    settings.helpdesk_url = fake.base_url().parse()?;
    settings.allow_private_callbacks = true;
    // v3 chat triggers need a Developer Console app; the fake accepts any Client ID.
    settings
        .livechat_client_id
        .get_or_insert_with(|| "sandbox-client".into());
    if settings.store.database_url == DEFAULT_DATABASE_URL {
        settings.store.database_url = SANDBOX_DATABASE_URL.into();
    }
    Ok(Sandbox { fake, demo })
}

/// What the sandbox prints at start: the demo credentials of each generation this gateway
/// serves (`--livechat-api`), and how to try them.
pub fn banner(public_url: &str, demo: &DemoCredentials, choice: ApiChoice) -> String {
    let base = public_url.trim_end_matches('/');
    let mut pairs = Vec::new();
    if choice != ApiChoice::V3 {
        pairs.push(("LiveChat API v2", demo.login.as_str()));
    }
    if choice != ApiChoice::V2 {
        pairs.push(("LiveChat API v3.6 + HelpDesk", demo.account_id.as_str()));
    }
    let key = &demo.api_key;
    let mut out =
        String::from("\nSandbox: a built-in LiveChat stand-in answers instead of the real API.\n");
    for (api, login) in &pairs {
        out.push_str(&format!(
            "Demo credentials for {api} (HTTP Basic): {login} / {key}\n"
        ));
    }
    let login = pairs.first().map(|p| p.1).unwrap_or_default();
    out.push_str(&format!(
        "Try:        curl -u '{login}:{key}' {base}/agents\n\
         Swagger UI: {base}/swagger-ui/\n\
         Fire a demo event to subscribed triggers: curl -X POST {base}/sandbox/events/chat_started\n\
         (events: {events})\n",
        events = EVENTS.join(", "),
    ));
    out
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
        "hint": hint(&event, sent.is_empty(), state.settings.helpdesk_poll_secs),
    })))
}

fn hint(event: &str, nothing_sent: bool, poll_secs: u64) -> String {
    let relayed = "LiveChat delivered the event to the gateway, which relays it to the flow.";
    match (event, nothing_sent) {
        ("ticket_created", true) => format!(
            "A ticket was added. LiveChat API v3 connections see it at their next HelpDesk poll (within {poll_secs} s); no v2 trigger is subscribed to it."
        ),
        ("ticket_created", false) => format!(
            "{relayed} LiveChat API v3 connections see the new ticket at their next HelpDesk poll (within {poll_secs} s)."
        ),
        (_, true) => "No trigger is subscribed to this event yet.".into(),
        (_, false) => relayed.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_shows_the_pairs_of_the_chosen_generations() {
        let demo = DemoCredentials {
            login: "john.doe@example.com".into(),
            api_key: "k".into(),
            account_id: "3f0c1d2e-4b5a-4c6d-8e9f-0a1b2c3d4e5f".into(),
        };
        let v3 = banner("http://gw", &demo, ApiChoice::V3);
        assert!(v3.contains(&demo.account_id) && !v3.contains(&demo.login));
        assert!(v3.contains("curl -u '3f0c1d2e-4b5a-4c6d-8e9f-0a1b2c3d4e5f:k'"));
        let auto = banner("http://gw", &demo, ApiChoice::Auto);
        assert!(auto.contains(&demo.account_id) && auto.contains(&demo.login));
        assert!(!banner("http://gw", &demo, ApiChoice::V2).contains(&demo.account_id));
    }
}
