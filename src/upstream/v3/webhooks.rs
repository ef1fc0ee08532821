//! v3.6 webhooks (livechat-v3-helpdesk.md §3): registered per Developer Console app
//! (`owner_client_id`, GATEWAY_LIVECHAT_CLIENT_ID), three per action, `type: "license"`; and
//! Agent Chat `get_chat`, which `chat_deactivated` (ids only) needs for the chat's details.

use serde_json::{json, Value};

use super::calls::Api;
use super::LiveChatV3;
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::relay::trigger::Trigger;
use crate::upstream::WebhookRegistration;

/// The v3.6 webhook action behind a chat trigger (§3.3); tickets have none (HelpDesk polls).
pub fn action(trigger: Trigger) -> Option<&'static str> {
    match trigger {
        Trigger::ChatStarted => Some("incoming_chat"),
        Trigger::ChatEnded => Some("chat_deactivated"),
        Trigger::TicketCreated => None,
    }
}

impl LiveChatV3 {
    fn client_id(&self) -> Result<&str, ApiError> {
        self.client_id.as_deref().ok_or_else(|| {
            ApiError::Unavailable(
                "Chat triggers on LiveChat API v3 need the gateway's Developer Console app: its operator must set GATEWAY_LIVECHAT_CLIENT_ID.".into(),
            )
        })
    }

    pub(super) async fn register(
        &self,
        creds: &Credentials,
        hook: &WebhookRegistration<'_>,
    ) -> Result<String, ApiError> {
        let action = action(hook.trigger).ok_or_else(|| {
            ApiError::internal("ticket_created has no LiveChat v3 webhook; HelpDesk is polled")
        })?;
        let secret_key = hook
            .secret_key
            .ok_or_else(|| ApiError::internal("a v3 webhook needs a secret_key"))?;
        let body = json!({
            "url": hook.url, "action": action, "secret_key": secret_key, "type": "license",
            "owner_client_id": self.client_id()?,
            "description": format!("livechat-gateway: {}", hook.trigger.event_type()),
        });
        let answer = self
            .calls
            .action(creds, Api::Configuration, "register_webhook", &body)
            .await?;
        answer
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(String::from)
            .ok_or_else(|| {
                ApiError::BadGateway(
                    "LiveChat registered the webhook but did not say its id.".into(),
                )
            })
    }

    pub(super) async fn unregister(
        &self,
        creds: &Credentials,
        webhook_id: &str,
    ) -> Result<(), ApiError> {
        let body = json!({"id": webhook_id, "owner_client_id": self.client_id()?});
        match self
            .calls
            .action(creds, Api::Configuration, "unregister_webhook", &body)
            .await
        {
            Ok(_) | Err(ApiError::Upstream { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The ids of this app's webhooks that point at `url`: what a registration cut short by a
    /// crash may have left at LiveChat.
    pub async fn webhooks_at(
        &self,
        creds: &Credentials,
        url: &str,
    ) -> Result<Vec<String>, ApiError> {
        let body = json!({"owner_client_id": self.client_id()?});
        let listed = self
            .calls
            .action(creds, Api::Configuration, "list_webhooks", &body)
            .await?;
        Ok(listed
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|w| w.get("url").and_then(Value::as_str) == Some(url))
            .filter_map(|w| w.get("id").and_then(Value::as_str).map(String::from))
            .collect())
    }

    /// Agent Chat `get_chat`: the chat with its users and the one thread asked for.
    pub async fn chat(
        &self,
        creds: &Credentials,
        chat_id: &str,
        thread_id: &str,
    ) -> Result<Value, ApiError> {
        let body = json!({"chat_id": chat_id, "thread_id": thread_id});
        let chat = self
            .calls
            .action(creds, Api::AgentChat, "get_chat", &body)
            .await?;
        match chat.is_object() {
            true => Ok(chat),
            false => Err(ApiError::BadGateway(
                "LiveChat answered get_chat with something that is not a chat.".into(),
            )),
        }
    }
}
