//! The upstream as typed capabilities. Handlers call a [`LiveChatApi`] with parsed inputs and
//! get the connector contract's shapes back; each LiveChat API generation is one implementation
//! that owns its paths, envelopes, error shapes and normalisation. [`Upstreams`] picks the one
//! that serves a caller.

pub mod transport;
pub mod types;
pub mod v2;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use crate::credentials::Credentials;
use crate::domain::{Email, TicketId};
use crate::error::ApiError;
pub use types::{NewAgent, NewTicket, TicketPage, TicketQuery, WebhookRegistration};

/// What the connector needs from LiveChat, in the contract's shapes (agents and tickets as the
/// normalised JSON objects of `connector-contract.md`). awc's client is per worker and not
/// `Send`, so neither are these futures.
#[async_trait(?Send)]
pub trait LiveChatApi {
    async fn list_agents(&self, creds: &Credentials) -> Result<Vec<Value>, ApiError>;
    async fn create_agent(&self, creds: &Credentials, agent: &NewAgent) -> Result<Value, ApiError>;
    /// `{"result": "<login> removed successfully"}` or LiveChat's own confirmation.
    async fn delete_agent(&self, creds: &Credentials, login: &Email) -> Result<Value, ApiError>;

    async fn list_tickets(
        &self,
        creds: &Credentials,
        query: &TicketQuery,
    ) -> Result<TicketPage, ApiError>;
    async fn get_ticket(&self, creds: &Credentials, id: &TicketId) -> Result<Value, ApiError>;
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
    v2: v2::LiveChatV2,
}

impl Upstreams {
    pub fn new(livechat_url: &Url, timeout: Duration) -> Self {
        Self {
            v2: v2::LiveChatV2::new(livechat_url, transport::Transport::new(timeout)),
        }
    }

    /// The generation that serves this caller.
    pub fn api(&self, _creds: &Credentials) -> &dyn LiveChatApi {
        &self.v2
    }
}
