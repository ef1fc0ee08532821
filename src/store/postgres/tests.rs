//! What only a shared store must show: replicas (each its own pool, as separate processes
//! have) migrating together, claiming together, and hearing of each other's deliveries.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;

use super::PostgresStore;
use crate::store::scratch::{test_server_url, ScratchDatabase};
use crate::store::suite::sub;
use crate::store::{Backend, Lease, NewDelivery, Outcome, ReplaySelector};

fn event(sub: &str, n: usize) -> NewDelivery {
    NewDelivery {
        subscription_id: sub.into(),
        event_type: "chat_started".into(),
        event_unique_id: n.to_string(),
        payload: format!("{{\"n\":{n}}}"),
        next_attempt_ms: 10,
    }
}

/// Runs `test` on a fresh database, dropped afterwards (skipped without a test server).
async fn with_database<F: std::future::Future<Output = ()>>(test: impl FnOnce(String) -> F) {
    use futures_util::FutureExt;
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await.unwrap();
    let outcome = std::panic::AssertUnwindSafe(test(db.url.clone()))
        .catch_unwind()
        .await;
    db.drop_now().await.unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[actix_web::test]
async fn replicas_starting_together_on_an_empty_database_migrate_once() {
    with_database(|url| async move {
        let stores = join_all((0..4).map(|_| PostgresStore::connect(&url))).await;
        let stores: Vec<PostgresStore> = stores
            .into_iter()
            .map(|s| s.expect("every replica starts"))
            .collect();
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(stores[0].pool())
            .await
            .unwrap();
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .unwrap()
            .count();
        assert_eq!(applied as usize, files);
        for s in stores {
            s.close().await;
        }
    })
    .await;
}

/// What the claimers saw: the flows with a delivery in flight, and each flow's deliveries in
/// the order they were recorded.
#[derive(Default)]
struct Seen {
    in_flight: HashSet<String>,
    delivered: HashMap<String, Vec<String>>,
}

/// One replica's worker, reduced to claim, check, record.
async fn claimer(store: PostgresStore, seen: Arc<Mutex<Seen>>, total: usize) {
    let mut idle = 0;
    while seen
        .lock()
        .unwrap()
        .delivered
        .values()
        .map(Vec::len)
        .sum::<usize>()
        < total
    {
        let lease = Lease {
            until_ms: 1_000_000,
            token: format!("t{:x}", rand::random::<u64>()),
        };
        let got = store.claim_due(100, &lease, &[], 4).await.unwrap();
        for d in &got {
            let fresh = seen
                .lock()
                .unwrap()
                .in_flight
                .insert(d.subscription_id.clone());
            assert!(
                fresh,
                "two deliveries of {} in flight at once",
                d.subscription_id
            );
        }
        // Let the other claimers run while these are "in flight".
        tokio::task::yield_now().await;
        for d in got {
            {
                let mut seen = seen.lock().unwrap();
                seen.in_flight.remove(&d.subscription_id);
                let flow = seen.delivered.entry(d.subscription_id.clone()).or_default();
                flow.push(d.event_unique_id.clone());
            }
            let done = Outcome::Delivered { at_ms: 100 };
            assert!(store.record(d.id, &lease.token, &done, 100).await.unwrap());
        }
        idle += 1;
        assert!(idle < 10_000, "the claimers make no progress");
    }
    store.close().await;
}

#[actix_web::test]
async fn replicas_claiming_together_keep_every_flow_in_order_and_take_each_once() {
    with_database(|url| async move {
        let (flows, per_flow) = (6, 25);
        let setup = PostgresStore::connect(&url).await.unwrap();
        for f in 0..flows {
            let id = format!("f{f}");
            setup.insert_subscription(&sub(&id)).await.unwrap();
            for n in 0..per_flow {
                assert!(setup.insert_delivery(&event(&id, n), 10).await.unwrap());
            }
        }
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut replicas = Vec::new();
        for _ in 0..4 {
            replicas.push(PostgresStore::connect(&url).await.unwrap());
        }
        let runs = replicas
            .into_iter()
            .map(|r| tokio::spawn(claimer(r, seen.clone(), flows * per_flow)));
        for run in join_all(runs).await {
            run.expect("a claimer failed");
        }
        let delivered = std::mem::take(&mut seen.lock().unwrap().delivered);
        let expected: Vec<String> = (0..per_flow).map(|n| n.to_string()).collect();
        for f in 0..flows {
            assert_eq!(delivered[&format!("f{f}")], expected, "flow f{f}");
        }
        assert!(setup.list_deliveries(false).await.unwrap().is_empty());
        setup.close().await;
    })
    .await;
}

#[actix_web::test]
async fn a_delivery_stored_or_replayed_through_one_replica_wakes_the_others() {
    with_database(|url| async move {
        let (a, b) = (
            PostgresStore::connect(&url).await.unwrap(),
            PostgresStore::connect(&url).await.unwrap(),
        );
        let woken = Arc::new(tokio::sync::Notify::new());
        let w = woken.clone();
        b.on_new_delivery(Arc::new(move || w.notify_one()))
            .await
            .unwrap();
        let heard = || tokio::time::timeout(Duration::from_secs(10), woken.notified());

        a.insert_subscription(&sub("s")).await.unwrap();
        assert!(a.insert_delivery(&event("s", 1), 10).await.unwrap());
        heard().await.expect("B hears of the stored delivery");

        let lease = Lease {
            until_ms: 1_000,
            token: "t".into(),
        };
        let d = a.claim_due(10, &lease, &[], 1).await.unwrap().remove(0);
        let dead = Outcome::Dead {
            attempts: 1,
            status: Some(500),
            error: "HTTP 500".into(),
        };
        assert!(a.record(d.id, "t", &dead, 10).await.unwrap());
        assert_eq!(a.replay(&ReplaySelector::One(d.id), 20).await.unwrap(), 1);
        heard().await.expect("B hears of the replayed delivery");
        assert_eq!(a.replay(&ReplaySelector::AllDead, 30).await.unwrap(), 0);
        a.close().await;
        b.close().await;
    })
    .await;
}

#[actix_web::test]
async fn a_dead_replicas_claims_are_taken_over_at_once_and_a_live_ones_never() {
    with_database(|url| async move {
        let a = PostgresStore::serve(&url).await.unwrap();
        let b = PostgresStore::serve(&url).await.unwrap();
        a.insert_subscription(&sub("s")).await.unwrap();
        a.insert_delivery(&event("s", 1), 10).await.unwrap();
        let lease = |token: &str| Lease {
            until_ms: 1_000_000,
            token: token.into(),
        };
        let held = a.claim_due(10, &lease("ta"), &[], 1).await.unwrap();
        assert_eq!(held.len(), 1);
        assert!(
            b.claim_due(20, &lease("tb"), &[], 1)
                .await
                .unwrap()
                .is_empty(),
            "A is alive: its lease holds"
        );
        assert_eq!(a.renew_lease("ta", 2_000_000).await.unwrap(), 1);
        assert!(b
            .claim_due(20, &lease("tb"), &[], 1)
            .await
            .unwrap()
            .is_empty());

        // A goes (its lock with its connection, as when the process is killed): B takes its
        // claim long before the lease would have run out.
        a.close().await;
        let started = std::time::Instant::now();
        let taken = loop {
            let got = b.claim_due(20, &lease("tb"), &[], 1).await.unwrap();
            if !got.is_empty() {
                break got;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "never taken over"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(taken[0].id, held[0].id);
        let done = Outcome::Delivered { at_ms: 30 };
        assert!(b.record(taken[0].id, "tb", &done, 30).await.unwrap());
        b.close().await;
    })
    .await;
}

/// Managed PostgreSQL (Azure Database for PostgreSQL among them) requires TLS.
#[actix_web::test]
async fn the_store_is_reached_over_tls_when_the_url_asks_for_it() {
    with_database(|url| async move {
        let plain = PostgresStore::connect(&url).await.unwrap();
        let ssl: String = sqlx::query_scalar("SHOW ssl")
            .fetch_one(plain.pool())
            .await
            .unwrap();
        plain.close().await;
        if ssl != "on" {
            eprintln!("skipped: the test server does not offer TLS");
            return;
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        let tls = PostgresStore::connect(&format!("{url}{sep}sslmode=require"))
            .await
            .expect("connects over TLS");
        let used: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(tls.pool())
                .await
                .unwrap();
        assert!(used, "the connection is encrypted");
        tls.close().await;
    })
    .await;
}

#[actix_web::test]
async fn a_test_database_is_dropped_even_when_its_test_fails_first() {
    use sqlx::Connection;
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await.unwrap();
    let name = db.url.rsplit('/').next().unwrap().to_string();
    drop(db); // as a panic unwinding past `drop_now` would
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, 0, "{name} is still there");
}
