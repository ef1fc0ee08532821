//! LiveChat v3's webhooks are limited to three per action per Developer Console app, so the
//! gateway keeps one per account and trigger, shared by all of that account's subscriptions:
//! registered when the first subscription arrives, removed when the last one leaves. The
//! `upstream_webhooks` row is the lock: whoever claims it registers; a second replica waits for
//! the webhook id instead of registering a fourth.

use std::time::{Duration, Instant};

use super::ids;
use super::trigger::Trigger;
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::routes::webhooks::store_error;
use crate::state::AppState;
use crate::store::UpstreamWebhook;
use crate::upstream::{Upstreams, WebhookRegistration};

/// How often a subscribe waiting for another gateway's registration looks again.
const WAIT_STEP: Duration = Duration::from_millis(100);

/// The intake URL LiveChat is given for one shared webhook.
pub fn intake_url(state: &AppState, hook_id: &str) -> String {
    state.public(&format!("livechat/v3/events/{hook_id}"))
}

/// A registration makes at most three LiveChat calls (list, unregister, register): its claim
/// outlives them, so only a gateway that died mid-way loses it.
fn claim_ms(state: &AppState) -> i64 {
    3 * state.settings.upstream_timeout_ms as i64 + 5_000
}

/// Makes sure the account has its webhook for `trigger` at LiveChat, registering it when no
/// one has; called after the subscription's row is stored, so a concurrent last unsubscribe
/// keeps the webhook.
pub async fn ensure(
    state: &AppState,
    up: &Upstreams,
    creds: &Credentials,
    account_key: &str,
    trigger: Trigger,
) -> Result<(), ApiError> {
    let deadline = Instant::now() + Duration::from_millis(claim_ms(state) as u64);
    loop {
        let now = state.clock.now_ms();
        let secret = ids::token();
        let candidate = UpstreamWebhook {
            id: ids::subscription_id(),
            account_key: account_key.into(),
            event_type: trigger.event_type().into(),
            secret_sha256: ids::sha256_hex(&secret),
            livechat_webhook_id: None,
            claim_until_ms: now + claim_ms(state),
            created_ms: now,
            organization_id: None,
        };
        let row = state
            .store
            .claim_upstream_webhook(&candidate, now)
            .await
            .map_err(store_error)?;
        if let Some(webhook_id) = &row.livechat_webhook_id {
            if still_at_livechat(state, up, creds, &row, webhook_id).await {
                return Ok(());
            }
            // Removed at LiveChat behind the gateway's back (in the Developer Console, say):
            // saving a flow again is what a user tries, so that registers it anew.
            log::warn!("LiveChat no longer has webhook {webhook_id}; registering it again");
            state
                .store
                .forget_upstream_webhook(&row.id, webhook_id)
                .await
                .map_err(store_error)?;
            continue;
        }
        if row.secret_sha256 == candidate.secret_sha256 {
            let taken_over = row.id != candidate.id;
            let made = register(state, up, creds, &row, &secret, trigger, taken_over).await;
            if made.is_err() {
                // Another subscriber waiting for this claim tries at once.
                let _ = state
                    .store
                    .abandon_upstream_claim(&row.id, &row.secret_sha256)
                    .await;
            }
            return made;
        }
        if Instant::now() >= deadline {
            return Err(ApiError::Unavailable(
                "Another gateway is still registering this account's LiveChat webhook; try again."
                    .into(),
            ));
        }
        tokio::time::sleep(WAIT_STEP).await;
    }
}

/// Whether LiveChat still lists the account's webhook; when it cannot say, the webhook is
/// taken to be there (a subscribe does not fail over a check).
async fn still_at_livechat(
    state: &AppState,
    up: &Upstreams,
    creds: &Credentials,
    row: &UpstreamWebhook,
    webhook_id: &str,
) -> bool {
    let listed = match up.v3(creds) {
        Ok(lc) => lc.webhooks_at(creds, &intake_url(state, &row.id)).await,
        Err(e) => Err(e),
    };
    match listed {
        Ok(ids) => ids.iter().any(|id| id == webhook_id),
        Err(e) => {
            log::info!("could not check LiveChat webhook {webhook_id} ({e}); assuming it is there");
            true
        }
    }
}

async fn register(
    state: &AppState,
    up: &Upstreams,
    creds: &Credentials,
    row: &UpstreamWebhook,
    secret: &str,
    trigger: Trigger,
    taken_over: bool,
) -> Result<(), ApiError> {
    let lc = up.v3(creds)?;
    let url = intake_url(state, &row.id);
    if taken_over {
        // Its first claimer may have died after LiveChat registered the webhook: that one
        // counts against the limit of three, so it goes before another is made.
        for stale in lc.webhooks_at(creds, &url).await? {
            log::info!("removing LiveChat webhook {stale} left by an interrupted registration");
            up.remove_webhook(creds, &stale).await?;
        }
    }
    let data_types: Vec<String> = trigger.data_types().iter().map(|d| d.to_string()).collect();
    let hook = WebhookRegistration {
        trigger,
        data_types: &data_types,
        url: &url,
        secret_key: Some(secret),
    };
    let webhook_id = up.api(creds)?.register_webhook(creds, &hook).await?;
    let stored = state
        .store
        .set_upstream_webhook_id(&row.id, &row.secret_sha256, &webhook_id)
        .await;
    if matches!(stored, Ok(true)) {
        log::info!(
            "LiveChat webhook {webhook_id} registered for {} (shared by the account's subscriptions)",
            trigger.event_type()
        );
        return Ok(());
    }
    if let Err(e) = up.remove_webhook(creds, &webhook_id).await {
        log::warn!("LiveChat webhook {webhook_id} stays behind after a failed registration: {e}");
    }
    Err(match stored {
        Err(e) => store_error(e),
        _ => ApiError::Unavailable(
            "The account's LiveChat webhook was taken over while being registered; try again."
                .into(),
        ),
    })
}

/// After a subscription of the account closed (or was never created): removes the account's
/// webhook for `trigger` at LiveChat when no open subscription needs it any more.
pub async fn release(
    state: &AppState,
    up: &Upstreams,
    creds: &Credentials,
    account_key: &str,
    trigger: Trigger,
) {
    let released = state
        .store
        .release_unused_upstream_webhook(account_key, trigger.event_type())
        .await;
    let row = match released {
        Ok(Some(row)) => row,
        Ok(None) => return,
        Err(e) => {
            log::warn!("the account's LiveChat webhook could not be released: {e}");
            return;
        }
    };
    let Some(webhook_id) = row.livechat_webhook_id else {
        return;
    };
    match up.remove_webhook(creds, &webhook_id).await {
        Ok(()) => log::info!(
            "LiveChat webhook {webhook_id} removed: the account's last {} subscription left",
            trigger.event_type()
        ),
        Err(e) => log::warn!(
            "LiveChat webhook {webhook_id} could not be removed ({e}); deliveries to it are refused"
        ),
    }
}
