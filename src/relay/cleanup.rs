//! Ending a subscription: its webhook at LiveChat goes, the row is closed (no new events), and
//! the row itself is purged once no pending or dead delivery is left.

use super::shared_hooks;
use super::trigger::Trigger;
use crate::credentials::{ConnectionId, Credentials, Keys, UnsealError};
use crate::state::AppState;
use crate::store::{Store, StoreError, Subscription};
use crate::upstream::Upstreams;

/// The context the subscription's sealed credentials are bound to.
pub fn seal_context(subscription_id: &str, connection: &ConnectionId) -> String {
    format!("livechat-gateway/subscription/{subscription_id}/connection/{connection}")
}

/// The context the subscription's sealed callback URL is bound to (distinct from the
/// credentials', so neither blob opens as the other).
pub fn callback_context(subscription_id: &str, connection: &ConnectionId) -> String {
    format!("livechat-gateway/callback/{subscription_id}/connection/{connection}")
}

/// The credentials a subscription was made with.
pub fn credentials_of(keys: &Keys, sub: &Subscription) -> Result<Credentials, UnsealError> {
    let connection = ConnectionId::from_stored(sub.connection_id.clone());
    keys.open(&seal_context(&sub.id, &connection), &sub.sealed_credentials)
}

/// After a LiveChat v3 subscription closed (or failed to be made): what it shared with the
/// account's other subscriptions goes once none is left, the account's webhook for its
/// trigger or the connection's HelpDesk cursor.
pub async fn leave_shared(
    state: &AppState,
    up: &Upstreams,
    creds: &Credentials,
    sub: &Subscription,
) {
    let (Some(account), Some(trigger)) = (
        sub.account_key.as_deref(),
        Trigger::from_event_type(&sub.event_type),
    ) else {
        return;
    };
    match trigger {
        Trigger::TicketCreated => {
            if let Err(e) = state
                .store
                .release_unused_ticket_cursor(&sub.connection_id)
                .await
            {
                log::warn!("the connection's HelpDesk cursor could not be released: {e}");
            }
        }
        _ => shared_hooks::release(state, up, creds, account, trigger).await,
    }
}

/// Deletes closed subscriptions with nothing left to deliver; logs how many.
pub async fn purge_closed(store: &Store) {
    match store.purge_closed().await {
        Ok(0) => {}
        Ok(n) => log::info!("{n} closed subscription(s) with nothing left to deliver purged"),
        Err(e) => log::warn!("purging closed subscriptions failed: {e}"),
    }
}

/// The flow's callback answered 404/410: the flow is gone. Closes the subscription (removing
/// its LiveChat webhook with the sealed credentials if it was still open; on v3, the account's
/// shared one when it was the last subscription using it), drops its remaining pending and
/// dead deliveries, and purges the row.
pub async fn flow_gone(
    state: &AppState,
    up: &Upstreams,
    sub: &Subscription,
    now_ms: i64,
) -> Result<(), StoreError> {
    let (store, metrics) = (&state.store, &state.metrics);
    if store.close_subscription(&sub.id, now_ms).await? {
        metrics.subscription_closed();
        log::info!("subscription {}: closed, its flow is gone", sub.id);
        match (&sub.account_key, credentials_of(&state.keys, sub)) {
            (Some(_), Ok(creds)) => leave_shared(state, up, &creds, sub).await,
            (Some(_), Err(e)) => log::warn!("subscription {}: {e}", sub.id),
            (None, _) => remove_webhook_sealed(up, &state.keys, sub).await,
        }
    }
    let dropped = store.drop_deliveries(&sub.id).await?;
    if dropped > 0 {
        metrics.notifications_dropped(dropped);
        log::warn!(
            "subscription {}: {dropped} undelivered notification(s) dropped, the flow is gone",
            sub.id
        );
    }
    purge_closed(store).await;
    Ok(())
}

/// Removes the subscription's LiveChat webhook with its sealed credentials (logged on failure).
async fn remove_webhook_sealed(up: &Upstreams, keys: &Keys, sub: &Subscription) {
    let Some(webhook_id) = sub.livechat_webhook_id.as_deref() else {
        log::warn!(
            "subscription {}: its LiveChat webhook id is not known yet; nothing removed there",
            sub.id
        );
        return;
    };
    match credentials_of(keys, sub) {
        Ok(creds) => {
            if let Err(e) = up.remove_webhook(&creds, webhook_id).await {
                log::warn!(
                    "subscription {}: LiveChat webhook {webhook_id} could not be removed: {e}",
                    sub.id
                );
            }
        }
        Err(e) => log::warn!("subscription {}: {e}; its LiveChat webhook stays", sub.id),
    }
}
