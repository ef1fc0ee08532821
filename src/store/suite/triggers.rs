//! The contract of `TriggerStore` (triggers on LiveChat API v3), run with the rest of the
//! suite on every backend.

use super::{lease_of, sub};
use crate::store::*;

fn v3_sub(id: &str, account: &str, event_type: &str) -> Subscription {
    Subscription {
        event_type: event_type.into(),
        account_key: Some(account.into()),
        connection_id: format!("conn-{account}"),
        ..sub(id)
    }
}

fn hook(id: &str, account: &str, secret: &str, claim_until_ms: i64) -> UpstreamWebhook {
    UpstreamWebhook {
        id: id.into(),
        account_key: account.into(),
        event_type: "chat_started".into(),
        secret_sha256: secret.into(),
        livechat_webhook_id: None,
        claim_until_ms,
        created_ms: 1,
        organization_id: None,
    }
}

pub async fn one_upstream_webhook_per_account_and_trigger(store: Store) {
    store
        .insert_subscription(&v3_sub("s1", "acct", "chat_started"))
        .await
        .unwrap();
    store
        .insert_subscription(&v3_sub("s2", "acct", "chat_started"))
        .await
        .unwrap();
    store
        .insert_subscription(&v3_sub("s3", "acct", "chat_ended"))
        .await
        .unwrap();
    store
        .insert_subscription(&v3_sub("s4", "other", "chat_started"))
        .await
        .unwrap();
    let fan = store
        .open_subscriptions_of_account("acct", "chat_started")
        .await
        .unwrap();
    let ids: Vec<&str> = fan.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s1", "s2"]);
    assert_eq!(fan[0].account_key.as_deref(), Some("acct"));

    let first = store
        .claim_upstream_webhook(&hook("h1", "acct", "sec1", 100), 10)
        .await
        .unwrap();
    assert_eq!(
        first,
        hook("h1", "acct", "sec1", 100),
        "the first claims it"
    );
    let second = store
        .claim_upstream_webhook(&hook("h2", "acct", "sec2", 150), 50)
        .await
        .unwrap();
    assert_eq!(second, first, "a live claim is not taken over");
    let late = store
        .claim_upstream_webhook(&hook("h3", "acct", "sec3", 300), 200)
        .await
        .unwrap();
    assert_eq!(
        (late.id.as_str(), late.secret_sha256.as_str()),
        ("h1", "sec3"),
        "a claim that ran out is taken over under the row's id"
    );
    assert!(!store.abandon_upstream_claim("h1", "sec1").await.unwrap());
    assert!(store.abandon_upstream_claim("h1", "sec3").await.unwrap());
    let next = store
        .claim_upstream_webhook(&hook("h5", "acct", "sec5", 400), 201)
        .await
        .unwrap();
    assert_eq!(
        (next.id.as_str(), next.secret_sha256.as_str()),
        ("h1", "sec5"),
        "an abandoned claim is taken at once"
    );
    assert!(!store
        .set_upstream_webhook_id("h1", "sec3", "lc-old")
        .await
        .unwrap());
    assert!(store
        .set_upstream_webhook_id("h1", "sec5", "lc-1")
        .await
        .unwrap());
    assert!(store
        .set_upstream_organization("h1", "org-a")
        .await
        .unwrap());
    assert!(!store
        .set_upstream_organization("h1", "org-b")
        .await
        .unwrap());
    let registered = store.upstream_webhook("h1").await.unwrap().unwrap();
    assert_eq!(registered.livechat_webhook_id.as_deref(), Some("lc-1"));
    assert_eq!(
        registered.organization_id.as_deref(),
        Some("org-a"),
        "the first proof stays"
    );
    let after = store
        .claim_upstream_webhook(&hook("h4", "acct", "sec4", 9_999), 9_000)
        .await
        .unwrap();
    assert_eq!(
        after, registered,
        "a registered webhook is never claimed again"
    );
    assert!(!store
        .forget_upstream_webhook("h1", "lc-other")
        .await
        .unwrap());
    assert!(store.forget_upstream_webhook("h1", "lc-1").await.unwrap());
    let again = store
        .claim_upstream_webhook(&hook("h6", "acct", "sec6", 9_999), 9_000)
        .await
        .unwrap();
    assert_eq!(
        (again.id.as_str(), again.secret_sha256.as_str()),
        ("h1", "sec6")
    );
    assert_eq!(
        again.livechat_webhook_id, None,
        "one LiveChat lost is registered again"
    );
    assert!(store
        .set_upstream_webhook_id("h1", "sec6", "lc-1")
        .await
        .unwrap());
    let registered = store.upstream_webhook("h1").await.unwrap().unwrap();

    assert!(store
        .release_unused_upstream_webhook("acct", "chat_started")
        .await
        .unwrap()
        .is_none());
    store.close_subscription("s1", 5).await.unwrap();
    assert!(store
        .release_unused_upstream_webhook("acct", "chat_started")
        .await
        .unwrap()
        .is_none());
    store.close_subscription("s2", 5).await.unwrap();
    let gone = store
        .release_unused_upstream_webhook("acct", "chat_started")
        .await
        .unwrap();
    assert_eq!(gone, Some(registered), "the last one leaving releases it");
    assert!(store.upstream_webhook("h1").await.unwrap().is_none());
}

pub async fn ticket_cursors_are_leased_advanced_and_released(store: Store) {
    let cursor = TicketCursor {
        connection_id: "conn-acct".into(),
        created_ms: 1_000,
        ticket_ids: "t0".into(),
        next_poll_ms: 60,
    };
    assert!(store.insert_ticket_cursor(&cursor).await.unwrap());
    let moved = TicketCursor {
        created_ms: 9,
        ..cursor.clone()
    };
    assert!(!store.insert_ticket_cursor(&moved).await.unwrap());
    assert!(store
        .claim_ticket_cursors(59, &lease_of(100, "a"), 8)
        .await
        .unwrap()
        .is_empty());
    let got = store
        .claim_ticket_cursors(60, &lease_of(100, "a"), 8)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0], cursor, "kept, not replaced");
    assert!(store
        .claim_ticket_cursors(61, &lease_of(100, "b"), 8)
        .await
        .unwrap()
        .is_empty());
    let next = TicketCursor {
        created_ms: 2_000,
        ticket_ids: "t1 t2".into(),
        next_poll_ms: 120,
        ..cursor.clone()
    };
    assert!(!store.advance_ticket_cursor(&next, "b").await.unwrap());
    assert!(store.advance_ticket_cursor(&next, "a").await.unwrap());
    let again = store
        .claim_ticket_cursors(120, &lease_of(200, "c"), 8)
        .await
        .unwrap();
    assert_eq!(again, [next]);

    store
        .insert_subscription(&v3_sub("t", "acct", "ticket_created"))
        .await
        .unwrap();
    assert!(!store
        .release_unused_ticket_cursor("conn-acct")
        .await
        .unwrap());
    store.close_subscription("t", 5).await.unwrap();
    assert!(store
        .release_unused_ticket_cursor("conn-acct")
        .await
        .unwrap());
    assert!(store.insert_ticket_cursor(&cursor).await.unwrap());
}
