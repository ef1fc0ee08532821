//! Removing a subscription: its row and pending deliveries, and its webhook at LiveChat.

use actix_web::http::Method;

use crate::credentials::{ConnectionId, Credentials, Keys};
use crate::error::ApiError;
use crate::store::{Store, StoreError, Subscription};
use crate::upstream::LiveChat;

/// The context the subscription's sealed credentials are bound to.
pub fn seal_context(subscription_id: &str, connection: &ConnectionId) -> String {
    format!("livechat-gateway/subscription/{subscription_id}/connection/{connection}")
}

/// `DELETE /webhooks/{id}` at LiveChat; a 404 there means it is already gone.
pub async fn delete_livechat_webhook(
    lc: &LiveChat,
    creds: &Credentials,
    webhook_id: &str,
) -> Result<(), ApiError> {
    match lc
        .call(creds, Method::DELETE, &["webhooks", webhook_id], &[], None)
        .await
    {
        Ok(_) | Err(ApiError::Upstream { status: 404, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The gateway's own clean-up (the flow's callback answered 404/410): drops the subscription
/// and its deliveries, then removes the LiveChat webhook with the sealed credentials.
pub async fn drop_subscription(
    store: &Store,
    lc: &LiveChat,
    keys: &Keys,
    sub: &Subscription,
) -> Result<(), StoreError> {
    store.delete_subscription(&sub.id).await?;
    let connection = ConnectionId::from_stored(sub.connection_id.clone());
    match keys.open(&seal_context(&sub.id, &connection), &sub.sealed_credentials) {
        Ok(creds) => {
            if let Err(e) = delete_livechat_webhook(lc, &creds, &sub.livechat_webhook_id).await {
                log::warn!(
                    "subscription {}: LiveChat webhook {} could not be removed: {e}",
                    sub.id,
                    sub.livechat_webhook_id
                );
            }
        }
        Err(e) => log::warn!("subscription {}: {e}; its LiveChat webhook stays", sub.id),
    }
    Ok(())
}
