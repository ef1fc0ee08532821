//! The upstream as typed capabilities. Handlers call a [`LiveChatApi`] with parsed inputs and
//! get the connector contract's shapes back; each LiveChat API generation is one implementation
//! that owns its paths, envelopes, error shapes and normalisation. [`Upstreams`] picks the one
//! that serves a caller.

pub mod generation;
pub mod notices;
pub mod transport;
pub mod types;
pub mod v2;
pub mod v3;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::credentials::Credentials;
use crate::domain::{Email, TicketId};
use crate::error::ApiError;
use crate::settings::{ApiChoice, Settings};
pub use generation::Generation;
use notices::Notices;
pub use types::{JsonBody, NewAgent, NewTicket, TicketPage, TicketQuery, WebhookRegistration};

/// What the connector needs from LiveChat, in the contract's shapes (agents and tickets as the
/// normalised JSON objects of `connector-contract.md`). awc's client is per worker and not
/// `Send`, so neither are these futures.
#[async_trait(?Send)]
pub trait LiveChatApi {
    /// The JSON array of agents.
    async fn list_agents(&self, creds: &Credentials) -> Result<JsonBody, ApiError>;
    async fn create_agent(&self, creds: &Credentials, agent: &NewAgent) -> Result<Value, ApiError>;
    /// `{"result": "<login> removed successfully"}` or LiveChat's own confirmation.
    async fn delete_agent(&self, creds: &Credentials, login: &Email) -> Result<Value, ApiError>;

    async fn list_tickets(
        &self,
        creds: &Credentials,
        query: &TicketQuery,
    ) -> Result<TicketPage, ApiError>;
    async fn get_ticket(&self, creds: &Credentials, id: &TicketId) -> Result<JsonBody, ApiError>;
    async fn create_ticket(
        &self,
        creds: &Credentials,
        ticket: &NewTicket,
    ) -> Result<Value, ApiError>;
    /// Replaces the ticket's whole tag set; answers the ticket as it is afterwards.
    async fn replace_tags(
        &self,
        creds: &Credentials,
        id: &TicketId,
        tags: &[String],
    ) -> Result<Value, ApiError>;

    /// Registers a webhook for a trigger and answers LiveChat's id for it.
    async fn register_webhook(
        &self,
        creds: &Credentials,
        hook: &WebhookRegistration<'_>,
    ) -> Result<String, ApiError>;
    /// Removes a webhook; one LiveChat no longer knows counts as removed.
    async fn remove_webhook(&self, creds: &Credentials, webhook_id: &str) -> Result<(), ApiError>;
}

/// Every generation the gateway can talk to, built once per worker.
pub struct Upstreams {
    choice: ApiChoice,
    v2: v2::LiveChatV2,
    v3: v3::LiveChatV3,
}

impl Upstreams {
    pub fn new(settings: &Settings, notices: Arc<Notices>) -> Self {
        let transport = transport::Transport::new(settings.upstream_timeout(), notices);
        Self {
            choice: settings.livechat_api,
            v2: v2::LiveChatV2::new(&settings.livechat_url, transport.clone()),
            v3: v3::LiveChatV3::new(
                &settings.livechat_url,
                &settings.helpdesk_url,
                settings.livechat_client_id.clone(),
                transport,
            ),
        }
    }

    pub fn generation(&self, creds: &Credentials) -> Generation {
        Generation::for_login(self.choice, &creds.login)
    }

    /// The generation that serves this caller.
    pub fn api(&self, creds: &Credentials) -> Result<&dyn LiveChatApi, ApiError> {
        match self.generation(creds) {
            Generation::V2 => Ok(&self.v2),
            Generation::V3 if !generation::is_uuid(&creds.login) => {
                Err(ApiError::Unauthorized(
                    "LiveChat API v3 takes your account ID (a UUID, shown beside your personal access token in the Developer Console) as the username, not your login e-mail.".into(),
                ))
            }
            Generation::V3 => Ok(&self.v3),
        }
    }

    /// The v3 generation for what only it has: chat details for `chat_deactivated`, and the
    /// HelpDesk ticket feed behind `ticket_created`. Errs like `api` for a non-UUID username.
    pub fn v3(&self, creds: &Credentials) -> Result<&v3::LiveChatV3, ApiError> {
        self.api(creds)?;
        match self.generation(creds) {
            Generation::V3 => Ok(&self.v3),
            Generation::V2 => Err(ApiError::internal("a v2 connection has no v3 face")),
        }
    }

    /// Removes a trigger's webhook with the generation that serves `creds`.
    pub async fn remove_webhook(
        &self,
        creds: &Credentials,
        webhook_id: &str,
    ) -> Result<(), ApiError> {
        self.api(creds)?.remove_webhook(creds, webhook_id).await
    }
}
