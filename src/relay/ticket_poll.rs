//! `ticket_created` on LiveChat API v3: HelpDesk has no ticket webhook (livechat-v3-helpdesk.md
//! §4.4), so each connection with open subscriptions is polled every GATEWAY_HELPDESK_POLL_SECS.
//! Its high-water mark lives in the store and moves only after the tickets before it are
//! stored as deliveries, so a ticket fires once across restarts and replicas (a lease keeps two
//! replicas off one connection; `event_unique_id` absorbs a poll repeated after a crash). The
//! injected clock decides when a connection is due.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::cleanup::credentials_of;
use super::ids;
use super::retry;
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::routes::webhooks::store_error;
use crate::state::AppState;
use crate::store::{Lease, NewDelivery, Subscription, TicketCursor};
use crate::upstream::v3::ticket_feed::{Mark, Place};
use crate::upstream::Upstreams;

/// Longest real-time sleep between two looks at the store (a test's clock is noticed soon).
const LOOK_EVERY: Duration = Duration::from_millis(500);
const BATCH: u32 = 8;
const EVENT_TYPE: &str = "ticket_created";

/// Starts the poller on the current (actix) runtime; it stops with the delivery worker.
pub fn spawn(state: Arc<AppState>) {
    actix_web::rt::spawn(async move {
        let up = Upstreams::new(&state.settings, state.upstream_notices.clone());
        while !state.relay.is_stopping() {
            if let Err(e) = poll_due(&state, &up).await {
                log::warn!("HelpDesk ticket poll: {e}");
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    });
}

fn interval_ms(state: &AppState) -> i64 {
    state.settings.helpdesk_poll_secs as i64 * 1000
}

/// A poll makes up to a dozen HelpDesk calls; its lease outlives them.
fn lease_ms(state: &AppState) -> i64 {
    12 * state.settings.upstream_timeout_ms as i64 + 5_000
}

/// Starts a connection's cursor at HelpDesk's newest ticket (unless it has one), so tickets
/// from before its first subscription do not fire. Called after the subscription is stored.
pub async fn start(state: &AppState, up: &Upstreams, creds: &Credentials) -> Result<(), ApiError> {
    let connection = state.keys.connection_id(creds);
    let mark = up.v3(creds)?.newest_mark(creds).await?;
    let cursor = TicketCursor {
        connection_id: connection.to_string(),
        created_ms: mark.created_ms,
        ticket_ids: mark.ids_text(),
        next_poll_ms: state.clock.now_ms() + interval_ms(state),
    };
    state
        .store
        .insert_ticket_cursor(&cursor)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Polls every connection that is due.
async fn poll_due(state: &AppState, up: &Upstreams) -> Result<(), crate::store::StoreError> {
    let now = state.clock.now_ms();
    let lease = Lease {
        until_ms: now + lease_ms(state),
        token: ids::lease_token(),
    };
    for cursor in state.store.claim_ticket_cursors(now, &lease, BATCH).await? {
        let next = poll_one(state, up, &cursor).await;
        if !state
            .store
            .advance_ticket_cursor(&next, &lease.token)
            .await?
        {
            log::warn!("HelpDesk ticket poll: a cursor's lease ran out during its poll");
        }
    }
    Ok(())
}

/// One connection: fetch what is new, store one delivery per ticket and subscription, and
/// answer the cursor to store (moved to the last ticket stored; due again one interval on).
async fn poll_one(state: &AppState, up: &Upstreams, cursor: &TicketCursor) -> TicketCursor {
    let mut next = TicketCursor {
        next_poll_ms: state.clock.now_ms() + interval_ms(state),
        ..cursor.clone()
    };
    let subs = match state
        .store
        .open_subscriptions_of_connection(&cursor.connection_id, EVENT_TYPE)
        .await
    {
        // A v2 subscription of the connection (GATEWAY_LIVECHAT_API changed since) has its
        // own LiveChat webhook.
        Ok(s) => s
            .into_iter()
            .filter(|s| s.account_key.is_some())
            .collect::<Vec<_>>(),
        Err(e) => {
            log::warn!("HelpDesk ticket poll: {e}");
            return next;
        }
    };
    let Some(creds) = subs
        .iter()
        .find_map(|s| credentials_of(&state.keys, s).ok())
    else {
        match state
            .store
            .release_unused_ticket_cursor(&cursor.connection_id)
            .await
        {
            Ok(true) => log::info!("HelpDesk ticket poll: a connection's last subscription left"),
            Ok(false) => log::warn!("HelpDesk ticket poll: no usable credentials for a connection"),
            Err(e) => log::warn!("HelpDesk ticket poll: {e}"),
        }
        return next;
    };
    let mut mark = Mark::from_store(cursor.created_ms, &cursor.ticket_ids);
    let fresh = match up.v3(&creds) {
        Ok(lc) => lc.tickets_after(&creds, &mark).await,
        Err(e) => Err(e),
    };
    state.metrics.helpdesk_poll(fresh.is_ok());
    let tickets = match fresh {
        Ok(t) => t,
        Err(e) => {
            log::warn!("HelpDesk ticket poll failed, next try in one interval: {e}");
            return next;
        }
    };
    let mut stored_any = false;
    for (place, ticket) in tickets {
        match store_ticket(state, &subs, &place, ticket).await {
            Ok(fresh) => stored_any |= fresh,
            Err(e) => {
                // The mark stays before this ticket: the next poll reads it again.
                log::warn!("HelpDesk ticket poll: storing a ticket failed: {e}");
                break;
            }
        }
        mark = mark.passing(&place);
    }
    next.created_ms = mark.created_ms;
    next.ticket_ids = mark.ids_text();
    if stored_any {
        state.relay.wake();
    }
    next
}

/// The `ticket_created` notification of one HelpDesk ticket (already in the contract's shape).
pub fn notification(place: &Place, ticket: Value) -> (String, Value) {
    let id = ids::sha256_hex(&format!("{EVENT_TYPE}\nticket\n{}", place.id))[..32].to_string();
    (id.clone(), json!({"ticket": ticket, "event_unique_id": id}))
}

async fn store_ticket(
    state: &AppState,
    subs: &[Subscription],
    place: &Place,
    ticket: Value,
) -> Result<bool, crate::store::StoreError> {
    let (event_unique_id, body) = notification(place, ticket);
    let now = state.clock.now_ms();
    let mut fresh = false;
    for sub in subs {
        let delivery = NewDelivery {
            subscription_id: sub.id.clone(),
            event_type: EVENT_TYPE.into(),
            event_unique_id: event_unique_id.clone(),
            payload: body.to_string(),
            next_attempt_ms: retry::next_attempt_ms(&state.settings.retry_schedule, 0, now, None)
                .unwrap_or(now),
        };
        fresh |= state.store.insert_delivery(&delivery, now).await?;
    }
    Ok(fresh)
}
