//! The worker going on with a busy flow: recording an outcome leases the flow's next delivery.

use super::*;

fn next<'a>(flow: &'a str, lease: &'a Lease, busy: &'a [i64]) -> NextInFlow<'a> {
    NextInFlow {
        subscription_id: flow,
        lease,
        busy,
    }
}

/// The id `claim_in_flow` leases on flow `c` at `now_ms`, if any.
async fn leased(store: &Store, now_ms: i64, lease: &Lease, busy: &[i64]) -> Option<i64> {
    let d = store.claim_in_flow(now_ms, &next("c", lease, busy)).await;
    d.unwrap().map(|d| d.id)
}

async fn flow_of(store: &Store, id: &str, events: &[&str]) {
    store.insert_subscription(&sub(id)).await.unwrap();
    for uid in events {
        let e = event(id, uid, 10);
        assert!(store.insert_delivery(&e, 10).await.unwrap());
    }
}

fn retry(next_attempt_ms: i64, releases_flow_at_ms: Option<i64>) -> Outcome {
    Outcome::Retry {
        attempts: 1,
        next_attempt_ms,
        status: Some(400),
        error: "HTTP 400".into(),
        releases_flow_at_ms,
    }
}

pub async fn recording_claims_the_flows_next_delivery_in_order(store: Store) {
    flow_of(&store, "a", &["1", "2", "3"]).await;
    flow_of(&store, "b", &["1"]).await;
    let t1 = lease_of(100, "t1");
    let head = store.claim_in_flow(10, &next("a", &t1, &[])).await.unwrap();
    let head = head.expect("a's head");
    assert_eq!(
        (head.subscription_id.as_str(), head.event_unique_id.as_str()),
        ("a", "1")
    );
    assert!(
        store
            .claim_in_flow(10, &next("a", &t1, &[]))
            .await
            .unwrap()
            .is_none(),
        "a's head is out: the rest of a waits"
    );

    let delivered = Outcome::Delivered { at_ms: 10 };
    let stranger = store
        .record_then_claim(head.id, "t9", &delivered, 10, &next("a", &t1, &[]))
        .await
        .unwrap();
    assert!(
        !stranger.recorded && stranger.next.is_none(),
        "not the lease holder"
    );

    let done = store
        .record_then_claim(head.id, "t1", &delivered, 10, &next("a", &t1, &[]))
        .await
        .unwrap();
    assert!(done.recorded);
    let second = done.next.expect("a's next one");
    assert_eq!(second.event_unique_id, "2");
    assert_eq!(store.renew_lease("t1", 100).await.unwrap(), 1, "under t1");
    let others = store
        .claim_due(10, &lease_of(100, "t2"), &[], 16)
        .await
        .unwrap();
    let others: Vec<_> = others.iter().map(|d| d.subscription_id.as_str()).collect();
    assert_eq!(others, ["b"], "b untouched, a's third behind its second");

    // The flow as a whole waits: nothing of it goes out meanwhile.
    let waits = store
        .record_then_claim(second.id, "t1", &retry(20, None), 10, &next("a", &t1, &[]))
        .await
        .unwrap();
    assert!(waits.recorded && waits.next.is_none());
    let again = store.claim_in_flow(20, &next("a", &t1, &[])).await.unwrap();
    assert_eq!(again.map(|d| d.id), Some(second.id), "due again at 20");
    // Refused, its hold already over: the flow goes on without it.
    let refused = retry(500, Some(20));
    let on = store
        .record_then_claim(second.id, "t1", &refused, 20, &next("a", &t1, &[]))
        .await
        .unwrap();
    assert_eq!(on.next.map(|d| d.event_unique_id), Some("3".to_string()));
}

pub async fn a_flow_claim_skips_what_is_busy_or_not_due(store: Store) {
    store.insert_subscription(&sub("c")).await.unwrap();
    store
        .insert_delivery(&event("c", "1", 50), 10)
        .await
        .unwrap();
    let short = lease_of(60, "t1");
    assert_eq!(leased(&store, 40, &short, &[]).await, None, "due at 50");
    let d = leased(&store, 50, &short, &[]).await.expect("due");
    let later = lease_of(200, "t2");
    assert_eq!(
        leased(&store, 59, &later, &[]).await,
        None,
        "leased until 60"
    );
    assert_eq!(
        leased(&store, 60, &later, &[d]).await,
        None,
        "the caller's own attempt in flight"
    );
    assert_eq!(
        leased(&store, 60, &later, &[]).await,
        Some(d),
        "an expired lease is taken over"
    );
}
