//! The delivery queue's queries. Workers on every replica share the pending deliveries. A
//! claim is one statement: the due heads of their flows are locked `FOR UPDATE SKIP LOCKED` (a
//! row another replica is claiming at that moment is skipped, never waited for nor taken twice)
//! and stamped with a lease.
//!
//! Flow order needs no lock beyond that: a delivery is a head only while no earlier delivery
//! of its subscription is pending (leased or not, by any replica), and an earlier one stops
//! being pending only when its outcome is recorded, which is final (only an operator's replay
//! makes a dead one pending again). So whatever snapshot a concurrent claim reads, it either
//! still sees the earlier delivery pending and leaves the later one alone, or sees it finished.
//! Two claims racing for the same head are settled by the row lock: the loser skips it, or,
//! reaching it after the winner committed, re-reads the row, finds the fresh lease, and drops it.
//! (Locking the subscription row or an advisory lock per flow would serialise claims for no
//! gain: the predicate already makes a later delivery unclaimable while an earlier one is out.)

use sqlx::{PgPool, Row};

use super::liveness::live_owners;
use super::CHANNEL;
use crate::store::types::{deliveries, DeliveryRow, DELIVERY_COLUMNS};
use crate::store::{Counts, Delivery, Lease, NewDelivery, Outcome, ReplaySelector, StoreError};

/// An earlier pending delivery of the same subscription as `d` (add the condition on `e`).
const EARLIER: &str = "SELECT 1 FROM deliveries e WHERE e.subscription_id = d.subscription_id \
     AND e.state = 'pending' AND e.id < d.id";

pub(super) async fn insert_delivery(
    pool: &PgPool,
    d: &NewDelivery,
    now_ms: i64,
) -> Result<bool, StoreError> {
    // One statement stores the row and announces it: the NOTIFY is sent on commit, only
    // when a row was inserted (not for a redelivery of a known event).
    let inserted: i64 = sqlx::query_scalar(
        "WITH ins AS (INSERT INTO deliveries (subscription_id, event_type, event_unique_id, \
           payload, next_attempt_ms, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) \
           ON CONFLICT (subscription_id, event_unique_id) DO NOTHING RETURNING id) \
         SELECT COUNT(*) FROM ins, LATERAL pg_notify($7, '')",
    )
    .bind(&d.subscription_id)
    .bind(&d.event_type)
    .bind(&d.event_unique_id)
    .bind(&d.payload)
    .bind(d.next_attempt_ms)
    .bind(now_ms)
    .bind(CHANNEL)
    .fetch_one(pool)
    .await?;
    Ok(inserted > 0)
}

/// Claims up to `limit` due heads, oldest due first; of the one subscription `flow` when
/// given, first in its order.
pub(super) async fn claim_due(
    pool: &PgPool,
    now_ms: i64,
    lease: &Lease,
    busy: &[i64],
    limit: u32,
    owner: Option<i64>,
    flow: Option<&str>,
) -> Result<Vec<Delivery>, StoreError> {
    let (only, order) = match flow {
        Some(_) => ("AND d.subscription_id = $7", "d.id"),
        None => ("", "d.next_attempt_ms, d.id"),
    };
    // See the module's comment for why this one statement keeps each flow in order, and
    // `liveness` for the leases of replicas that are gone.
    let sql = format!(
        "WITH live AS MATERIALIZED ({}), \
         heads AS MATERIALIZED ( \
           SELECT d.id FROM deliveries d WHERE d.state = 'pending' {only} AND d.next_attempt_ms <= $2 \
           AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $2 \
             OR (d.lease_owner IS NOT NULL AND d.lease_owner NOT IN (SELECT owner FROM live))) \
           AND NOT EXISTS ({EARLIER} AND (e.releases_flow_at_ms IS NULL OR e.releases_flow_at_ms > $2)) \
           AND d.id <> ALL($5) \
           ORDER BY {order} LIMIT $3 \
           FOR UPDATE OF d SKIP LOCKED) \
         UPDATE deliveries SET lease_until_ms = $1, lease_token = $4, lease_owner = $6 FROM heads \
         WHERE deliveries.id = heads.id \
         RETURNING {}",
        live_owners(),
        qualified(DELIVERY_COLUMNS, "deliveries")
    );
    let query = sqlx::query_as::<_, DeliveryRow>(&sql)
        .bind(lease.until_ms)
        .bind(now_ms)
        .bind(i64::from(limit))
        .bind(&lease.token)
        .bind(busy)
        .bind(owner);
    let query = match flow {
        Some(flow) => query.bind(flow),
        None => query,
    };
    deliveries(query.fetch_all(pool).await?)
}

/// Also stamps the lease with this replica's current liveness key (a replica that lost its
/// lock and took a new one keeps its claims).
pub(super) async fn renew_lease(
    pool: &PgPool,
    token: &str,
    until_ms: i64,
    owner: Option<i64>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE deliveries SET lease_until_ms = $1, lease_owner = $3 \
         WHERE lease_token = $2 AND state = 'pending'",
    )
    .bind(until_ms)
    .bind(token)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn next_due_ms(pool: &PgPool) -> Result<Option<i64>, StoreError> {
    // Among deliveries behind no earlier one that holds for good: the latest of their own
    // due time, their lease and the end of the holds before them.
    let sql = format!(
        "SELECT MIN(GREATEST(d.next_attempt_ms, COALESCE(d.lease_until_ms, 0), \
           COALESCE((SELECT MAX(e.releases_flow_at_ms) FROM deliveries e \
             WHERE e.subscription_id = d.subscription_id AND e.state = 'pending' AND e.id < d.id), 0))) \
         FROM deliveries d WHERE d.state = 'pending' \
         AND NOT EXISTS ({EARLIER} AND e.releases_flow_at_ms IS NULL)"
    );
    let row = sqlx::query(&sql).fetch_one(pool).await?;
    Ok(row.try_get::<Option<i64>, _>(0)?)
}

pub(super) async fn record(
    pool: &PgPool,
    id: i64,
    lease_token: &str,
    outcome: &Outcome,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let q = match outcome {
        Outcome::Delivered { at_ms } => sqlx::query(
            "UPDATE deliveries SET state = 'delivered', payload = NULL, attempts = attempts + 1, \
             lease_until_ms = NULL, lease_token = NULL, last_status = NULL, last_error = NULL, \
             updated_ms = $1 WHERE id = $2 AND lease_token = $3",
        )
        .bind(at_ms),
        Outcome::Retry {
            attempts,
            next_attempt_ms,
            status,
            error,
            releases_flow_at_ms,
        } => sqlx::query(
            "UPDATE deliveries SET attempts = $1, next_attempt_ms = $2, last_status = $3, \
             last_error = $4, releases_flow_at_ms = $5, lease_until_ms = NULL, lease_token = NULL, \
             updated_ms = $6 WHERE id = $7 AND lease_token = $8",
        )
        .bind(i64::from(*attempts))
        .bind(next_attempt_ms)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(releases_flow_at_ms)
        .bind(now_ms),
        Outcome::Dead {
            attempts,
            status,
            error,
        } => sqlx::query(
            "UPDATE deliveries SET state = 'dead', attempts = $1, last_status = $2, last_error = $3, \
             lease_until_ms = NULL, lease_token = NULL, updated_ms = $4 \
             WHERE id = $5 AND lease_token = $6",
        )
        .bind(i64::from(*attempts))
        .bind(status.map(i64::from))
        .bind(error)
        .bind(now_ms),
    };
    let q = q.bind(id).bind(lease_token);
    let done = q.execute(pool).await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn list_deliveries(
    pool: &PgPool,
    dead_only: bool,
) -> Result<Vec<Delivery>, StoreError> {
    let filter = if dead_only {
        "state = 'dead'"
    } else {
        "state IN ('pending', 'dead')"
    };
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {filter} ORDER BY id");
    let rows: Vec<DeliveryRow> = sqlx::query_as(&sql).fetch_all(pool).await?;
    deliveries(rows)
}

pub(super) async fn replay(
    pool: &PgPool,
    which: &ReplaySelector,
    now_ms: i64,
) -> Result<u64, StoreError> {
    // Announced like a new delivery, so a running replica sends it at once (the CLI that
    // replays is a process of its own).
    let set = "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_ms = $1, \
               releases_flow_at_ms = NULL, lease_until_ms = NULL, lease_token = NULL, updated_ms = $1";
    let announce = "SELECT COUNT(*) FROM re, LATERAL pg_notify($2, '')";
    let (rows, id) = match which {
        ReplaySelector::One(id) => ("id = $3 AND state IN ('pending', 'dead')", Some(*id)),
        ReplaySelector::AllDead => ("state = 'dead'", None),
    };
    let sql = format!("WITH re AS ({set} WHERE {rows} RETURNING id) {announce}");
    let q = sqlx::query_scalar(&sql).bind(now_ms).bind(CHANNEL);
    let q = match id {
        Some(id) => q.bind(id),
        None => q,
    };
    let replayed: i64 = q.fetch_one(pool).await?;
    Ok(u64::try_from(replayed).unwrap_or(0))
}

pub(super) async fn counts(pool: &PgPool, now_ms: i64) -> Result<Counts, StoreError> {
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM subscriptions WHERE closed_ms IS NULL), \
         (SELECT COUNT(*) FROM deliveries WHERE state = 'pending'), \
         (SELECT COUNT(*) FROM deliveries WHERE state = 'dead'), \
         (SELECT MIN(created_ms) FROM deliveries WHERE state = 'pending'), \
         (SELECT COUNT(*) FROM deliveries d WHERE d.state = 'pending' AND EXISTS ({EARLIER} \
           AND (e.releases_flow_at_ms IS NULL OR e.releases_flow_at_ms > $1))), \
         (SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND releases_flow_at_ms <= $1)"
    );
    let row = sqlx::query(&sql).bind(now_ms).fetch_one(pool).await?;
    Ok(Counts {
        subscriptions: row.try_get(0)?,
        pending: row.try_get(1)?,
        dead: row.try_get(2)?,
        oldest_pending_ms: row.try_get(3)?,
        held: row.try_get(4)?,
        released: row.try_get(5)?,
    })
}

/// `a, b` as `t.a, t.b` (RETURNING after UPDATE ... FROM names columns of both tables).
fn qualified(columns: &str, table: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
