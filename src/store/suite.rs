//! One contract for every store backend: each function takes a fresh, empty store and checks
//! one part of it. `sqlite` runs them on an in-memory SQLite database; `postgres` on a
//! database created for the test (skipped with a message when GATEWAY_TEST_POSTGRES_URL is
//! not set).

use super::*;

mod flow_claims;
mod triggers;
pub use flow_claims::*;
pub use triggers::*;

pub(super) fn lease_of(until_ms: i64, token: &str) -> Lease {
    Lease {
        until_ms,
        token: token.into(),
    }
}

pub(super) fn sub(id: &str) -> Subscription {
    Subscription {
        id: id.into(),
        connection_id: "conn".into(),
        event_type: "chat_started".into(),
        data_types: vec!["chat".into()],
        sealed_callback: "v1.cb".into(),
        token_sha256: "00".into(),
        livechat_webhook_id: Some("lc".into()),
        sealed_credentials: "v1.x".into(),
        created_ms: 1,
        closed_ms: None,
        account_key: None,
    }
}

pub(super) fn event(sub: &str, uid: &str, at: i64) -> NewDelivery {
    NewDelivery {
        subscription_id: sub.into(),
        event_type: "chat_started".into(),
        event_unique_id: uid.into(),
        payload: "{}".into(),
        next_attempt_ms: at,
    }
}

pub async fn claims_heads_in_order_dedupes_and_replays(store: Store) {
    store.insert_subscription(&sub("a")).await.unwrap();
    store.insert_subscription(&sub("b")).await.unwrap();
    assert!(store
        .insert_delivery(&event("a", "1", 10), 10)
        .await
        .unwrap());
    assert!(!store
        .insert_delivery(&event("a", "1", 10), 10)
        .await
        .unwrap());
    assert!(store
        .insert_delivery(&event("a", "2", 10), 10)
        .await
        .unwrap());
    assert!(store
        .insert_delivery(&event("b", "1", 50), 10)
        .await
        .unwrap());

    let lease = |until_ms: i64, token: &str| Lease {
        until_ms,
        token: token.into(),
    };
    let got = store
        .claim_due(20, &lease(100, "t1"), &[], 16)
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "only a's head is due");
    assert_eq!(got[0].event_unique_id, "1");
    assert!(
        store
            .claim_due(20, &lease(100, "t2"), &[], 16)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    assert_eq!(store.next_due_ms().await.unwrap(), Some(50));

    let retry = Outcome::Retry {
        attempts: 1,
        next_attempt_ms: 60,
        status: Some(500),
        error: "HTTP 500".into(),
        releases_flow_at_ms: None,
    };
    assert!(
        !store.record(got[0].id, "t2", &retry, 20).await.unwrap(),
        "not the lease holder"
    );
    assert!(store.record(got[0].id, "t1", &retry, 20).await.unwrap());
    assert!(
        !store.record(got[0].id, "t1", &retry, 20).await.unwrap(),
        "the lease is released"
    );
    let busy = [got[0].id];
    let due = store
        .claim_due(60, &lease(200, "t3"), &busy, 16)
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "a is busy: only b");
    assert_eq!(due[0].subscription_id, "b");
    let a_head = store
        .claim_due(60, &lease(200, "t3"), &[], 16)
        .await
        .unwrap();
    let due: Vec<_> = due.into_iter().chain(a_head).collect();
    assert_eq!(due.len(), 2);
    let head = due.iter().find(|d| d.subscription_id == "a").unwrap();
    assert_eq!((head.attempts, head.last_status), (1, Some(500)));
    let dead = Outcome::Dead {
        attempts: 2,
        status: None,
        error: "refused".into(),
    };
    assert!(store.record(head.id, "t3", &dead, 60).await.unwrap());
    assert_eq!(store.list_deliveries(true).await.unwrap().len(), 1);
    assert_eq!(store.replay(&ReplaySelector::AllDead, 70).await.unwrap(), 1);
    assert!(store.list_deliveries(true).await.unwrap().is_empty());

    let again = store
        .claim_due(80, &lease(300, "t4"), &[], 16)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert!(store
        .record(head.id, "t4", &Outcome::Delivered { at_ms: 80 }, 80)
        .await
        .unwrap());
    assert!(
        !store
            .insert_delivery(&event("a", "1", 90), 90)
            .await
            .unwrap(),
        "still deduped"
    );
    assert_eq!(store.purge_delivered(81).await.unwrap(), 1);
    assert!(store.delete_subscription("a").await.unwrap());
    assert!(!store.delete_subscription("a").await.unwrap());
    let c = store.counts(0).await.unwrap();
    assert_eq!((c.subscriptions, c.pending, c.dead), (1, 1, 0));
}

pub async fn closed_subscriptions_keep_their_deliveries_until_done(store: Store) {
    let mut pending_id = sub("p");
    pending_id.livechat_webhook_id = None;
    store.insert_subscription(&pending_id).await.unwrap();
    let got = store.subscription("p").await.unwrap().unwrap();
    assert_eq!(got.livechat_webhook_id, None);
    assert!(store.set_webhook_id("p", "w1").await.unwrap());
    assert_eq!(
        store
            .subscription("p")
            .await
            .unwrap()
            .unwrap()
            .livechat_webhook_id
            .as_deref(),
        Some("w1")
    );

    store
        .insert_delivery(&event("p", "1", 10), 10)
        .await
        .unwrap();
    store
        .insert_delivery(&event("p", "2", 10), 10)
        .await
        .unwrap();
    assert!(store.close_subscription("p", 20).await.unwrap());
    assert!(!store.close_subscription("p", 21).await.unwrap());
    assert!(!store.set_webhook_id("p", "w2").await.unwrap());
    assert_eq!(store.counts(0).await.unwrap().subscriptions, 0);
    assert_eq!(store.counts(0).await.unwrap().pending, 2);
    assert_eq!(store.purge_closed().await.unwrap(), 0, "still owes events");
    assert_eq!(
        store.subscription("p").await.unwrap().unwrap().closed_ms,
        Some(20)
    );

    let lease = Lease {
        until_ms: 100,
        token: "t".into(),
    };
    let d = store
        .claim_due(30, &lease, &[], 16)
        .await
        .unwrap()
        .remove(0);
    let dead = Outcome::Dead {
        attempts: 1,
        status: Some(500),
        error: "HTTP 500".into(),
    };
    assert!(store.record(d.id, "t", &dead, 30).await.unwrap());
    let d = store
        .claim_due(30, &lease, &[], 16)
        .await
        .unwrap()
        .remove(0);
    assert!(store
        .record(d.id, "t", &Outcome::Delivered { at_ms: 30 }, 30)
        .await
        .unwrap());
    assert_eq!(store.purge_closed().await.unwrap(), 0, "a dead one is kept");
    assert_eq!(store.purge_dead(30).await.unwrap(), 0, "not old enough");
    assert_eq!(store.purge_dead(31).await.unwrap(), 1);
    assert_eq!(store.purge_closed().await.unwrap(), 1);
    assert!(store.subscription("p").await.unwrap().is_none());

    store.insert_subscription(&sub("g")).await.unwrap();
    store
        .insert_delivery(&event("g", "1", 10), 10)
        .await
        .unwrap();
    assert!(store.close_subscription("g", 20).await.unwrap());
    assert_eq!(store.drop_deliveries("g").await.unwrap(), 1);
    assert_eq!(store.purge_closed().await.unwrap(), 1);
}

pub async fn a_refused_delivery_holds_its_flow_until_its_release(store: Store) {
    store.insert_subscription(&sub("a")).await.unwrap();
    for uid in ["1", "2", "3"] {
        store
            .insert_delivery(&event("a", uid, 10), 10)
            .await
            .unwrap();
    }
    let lease = |token: &str| Lease {
        until_ms: 1_000_000,
        token: token.into(),
    };
    let first = store.claim_due(10, &lease("t1"), &[], 16).await.unwrap();
    assert_eq!(first.len(), 1);
    let refused = Outcome::Retry {
        attempts: 1,
        next_attempt_ms: 300,
        status: Some(400),
        error: "HTTP 400".into(),
        releases_flow_at_ms: Some(100),
    };
    assert!(store.record(first[0].id, "t1", &refused, 10).await.unwrap());
    assert!(store
        .claim_due(99, &lease("t2"), &[], 16)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.next_due_ms().await.unwrap(), Some(100));
    let c = store.counts(99).await.unwrap();
    assert_eq!((c.held, c.released), (2, 0));

    let next = store.claim_due(100, &lease("t3"), &[], 16).await.unwrap();
    assert_eq!(next.len(), 1, "only the next one in order: {next:?}");
    assert_eq!(next[0].event_unique_id, "2");
    let c = store.counts(100).await.unwrap();
    assert_eq!((c.held, c.released), (1, 1));
    // The refused one is claimable on its own schedule, beside the flow's next one.
    let own = store.claim_due(300, &lease("t4"), &[], 16).await.unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].event_unique_id, "1");
    assert_eq!(own[0].releases_flow_at_ms, Some(100));
    // A replay starts its schedule and its hold afresh.
    assert!(store
        .record(next[0].id, "t3", &Outcome::Delivered { at_ms: 300 }, 300)
        .await
        .unwrap());
    assert_eq!(
        store
            .replay(&ReplaySelector::One(own[0].id), 400)
            .await
            .unwrap(),
        1
    );
    let c = store.counts(400).await.unwrap();
    assert_eq!((c.held, c.released), (1, 0));
}

pub async fn leases_are_renewed_and_released_only_by_their_holder(store: Store) {
    store.insert_subscription(&sub("r")).await.unwrap();
    store
        .insert_delivery(&event("r", "1", 10), 10)
        .await
        .unwrap();
    let lease = Lease {
        until_ms: 100,
        token: "t1".into(),
    };
    let got = store.claim_due(10, &lease, &[], 16).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(store.renew_lease("t1", 200).await.unwrap(), 1);
    assert_eq!(store.renew_lease("other", 900).await.unwrap(), 0);
    assert!(
        store
            .claim_due(150, &lease_of(300, "t2"), &[], 16)
            .await
            .unwrap()
            .is_empty(),
        "renewed until 200"
    );
    assert_eq!(store.next_due_ms().await.unwrap(), Some(200));
    // A lease that ran out (its holder died) is taken over; the old holder records nothing.
    let again = store
        .claim_due(200, &lease_of(300, "t2"), &[], 16)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    let done = Outcome::Delivered { at_ms: 210 };
    assert!(!store.record(got[0].id, "t1", &done, 210).await.unwrap());
    assert!(store.record(got[0].id, "t2", &done, 210).await.unwrap());
    assert_eq!(store.renew_lease("t2", 900).await.unwrap(), 0, "released");
}

pub async fn rows_keep_what_was_stored(store: Store) {
    let mut s = sub("k");
    s.livechat_webhook_id = None;
    s.data_types = vec!["chat".into(), "visitor".into()];
    s.closed_ms = None;
    store.insert_subscription(&s).await.unwrap();
    let got = store.subscription("k").await.unwrap().unwrap();
    assert_eq!(
        got.livechat_webhook_id, None,
        "no placeholder for a missing id"
    );
    assert_eq!(got.data_types, ["chat", "visitor"]);
    assert_eq!(got.sealed_callback, "v1.cb");
    assert_eq!(got.sealed_credentials, "v1.x");
    assert!(store.subscription("nope").await.unwrap().is_none());
    assert!(
        store.insert_subscription(&s).await.is_err(),
        "ids are unique"
    );

    let mut e = event("k", "u1", 10);
    e.payload = r#"{"chat":{"id":"ü"}}"#.into();
    store.insert_delivery(&e, 5).await.unwrap();
    let rows = store.list_deliveries(false).await.unwrap();
    assert_eq!(rows.len(), 1);
    let d = &rows[0];
    assert_eq!((d.created_ms, d.updated_ms, d.next_attempt_ms), (5, 5, 10));
    assert_eq!(d.payload, e.payload);
    assert_eq!(
        (d.attempts, d.last_status, d.releases_flow_at_ms),
        (0, None, None)
    );
    assert_eq!(store.counts(0).await.unwrap().oldest_pending_ms, Some(5));
}

/// Writes that arrive together (LiveChat's concurrent deliveries) each get their own answer:
/// a duplicate is told apart even within one instant, and one write that cannot be stored
/// (its subscription is gone) fails alone.
pub async fn concurrent_writes_each_get_their_own_answer(store: Store) {
    use futures_util::future::join_all;
    store.insert_subscription(&sub("a")).await.unwrap();
    let writes = (0..40).map(|i| {
        let store = store.clone();
        async move {
            let e = event("a", &(i % 20).to_string(), 10);
            store.insert_delivery(&e, 10).await.unwrap()
        }
    });
    let answers = join_all(writes).await;
    assert_eq!(answers.iter().filter(|fresh| **fresh).count(), 20);

    let orphan = event("gone", "x", 10);
    let fine = event("a", "y", 10);
    let (bad, good) = futures_util::future::join(
        store.insert_delivery(&orphan, 10),
        store.insert_delivery(&fine, 10),
    )
    .await;
    assert!(
        bad.is_err(),
        "an event of an unknown subscription was stored"
    );
    assert!(good.unwrap());
    assert_eq!(store.counts(10).await.unwrap().pending, 21);
}

/// One `#[actix_web::test]` per contract function, run by `$run` on the backend it opens.
macro_rules! contract_tests {
    ($backend:ident, $run:path) => {
        mod $backend {
            contract_tests!(@each $run;
                claims_heads_in_order_dedupes_and_replays,
                closed_subscriptions_keep_their_deliveries_until_done,
                a_refused_delivery_holds_its_flow_until_its_release,
                leases_are_renewed_and_released_only_by_their_holder,
                rows_keep_what_was_stored,
                concurrent_writes_each_get_their_own_answer,
                recording_claims_the_flows_next_delivery_in_order,
                a_flow_claim_skips_what_is_busy_or_not_due,
                one_upstream_webhook_per_account_and_trigger,
                ticket_cursors_are_leased_advanced_and_released,
            );
        }
    };
    (@each $run:path; $($name:ident),* $(,)?) => {
        $(
            #[actix_web::test]
            async fn $name() {
                $run(super::$name).await;
            }
        )*
    };
}

async fn on_sqlite<F: std::future::Future<Output = ()>>(test: impl FnOnce(Store) -> F) {
    test(Store::new(
        SqliteStore::connect("sqlite::memory:").await.unwrap(),
    ))
    .await
}

/// On a database of its own, dropped afterwards even when the test fails.
async fn on_postgres<F: std::future::Future<Output = ()>>(test: impl FnOnce(Store) -> F) {
    use futures_util::FutureExt;
    let Some(server) = scratch::test_server_url() else {
        return;
    };
    let db = scratch::ScratchDatabase::create(&server).await.unwrap();
    let store = Store::new(PostgresStore::connect(&db.url).await.unwrap());
    let outcome = std::panic::AssertUnwindSafe(test(store.clone()))
        .catch_unwind()
        .await;
    store.close().await;
    db.drop_now().await.unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

contract_tests!(sqlite, super::on_sqlite);
contract_tests!(postgres, super::on_postgres);
