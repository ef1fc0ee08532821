//! Group commit for SQLite. Every write that arrives while a commit is in flight waits for the
//! next one, so N concurrent intakes cost one fsync instead of N. `synchronous=FULL` is kept:
//! each caller gets its answer only after the commit that holds its row, so a 200 to LiveChat
//! still means the event is durable. One writer also means no two write transactions ever wait
//! on SQLite's write lock: claims go through it too, rather than queueing for that lock (whose
//! busy handler sleeps in steps of milliseconds) behind the writer's commits.

use std::sync::Arc;

use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::{Delivery, Lease, NewDelivery, Outcome, StoreError};

/// Most writes folded into one transaction (bounds one commit's latency).
const MAX_BATCH: usize = 256;

/// A write the group commit carries.
#[derive(Debug)]
pub(super) enum Write {
    Insert {
        delivery: NewDelivery,
        now_ms: i64,
    },
    /// An outcome, then, if it was recorded, `then` (its flow's next delivery).
    Record {
        id: i64,
        lease_token: String,
        outcome: Outcome,
        now_ms: i64,
        then: Option<Claim>,
    },
    Claim(Claim),
}

/// A lease on due deliveries (see `Backend::claim_due`), of one flow only when `flow` is set.
#[derive(Debug)]
pub(super) struct Claim {
    pub now_ms: i64,
    pub lease: Lease,
    pub busy: Vec<i64>,
    pub limit: u32,
    pub flow: Option<String>,
}

/// What a write did: whether it changed its row, and what it leased.
#[derive(Debug, Default)]
pub(super) struct Done {
    pub changed: bool,
    pub claimed: Vec<Delivery>,
}

struct Job {
    write: Write,
    done: oneshot::Sender<Result<Done, StoreError>>,
}

/// The handle to the one task that writes deliveries.
#[derive(Clone, Debug)]
pub(super) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Writer {
    /// Starts the writing task on the current runtime; it ends when the last handle goes.
    pub fn start(pool: SqlitePool) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, rx));
        Self { jobs }
    }

    pub async fn write(&self, write: Write) -> Result<Done, StoreError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job { write, done })
            .map_err(|_| StoreError::Setup("the store's writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Setup("the store's writer has stopped".into()))?
    }
}

async fn run(pool: SqlitePool, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit(&pool, std::mem::take(&mut batch)).await;
    }
}

/// One transaction for the whole batch. A statement that fails (a constraint) fails only its
/// own job; a failed commit fails them all, since none of them is durable.
async fn commit(pool: &SqlitePool, jobs: Vec<Job>) {
    let result = async {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut answers = Vec::with_capacity(jobs.len());
        for job in &jobs {
            answers.push(apply(&mut tx, &job.write).await);
        }
        // Claims come after every outcome of the batch, so each flow those free is claimed in
        // this same commit: first by the worker that goes on with it, then by the others.
        for (job, answer) in jobs.iter().zip(answers.iter_mut()) {
            next_in_flow(&mut tx, &job.write, answer).await;
        }
        for (job, answer) in jobs.iter().zip(answers.iter_mut()) {
            if let Write::Claim(claim) = &job.write {
                *answer = super::sqlite::claim(&mut tx, claim)
                    .await
                    .map(|claimed| Done {
                        changed: !claimed.is_empty(),
                        claimed,
                    });
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(answers)
    }
    .await;
    match result {
        Ok(answers) => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                let _ = job.done.send(answer);
            }
        }
        Err(e) => {
            let e = Arc::new(e);
            for job in jobs {
                let _ = job.done.send(Err(StoreError::Commit(e.clone())));
            }
        }
    }
}

async fn apply(tx: &mut Transaction<'_, Sqlite>, write: &Write) -> Result<Done, StoreError> {
    let done = match write {
        Write::Insert { delivery, now_ms } => {
            super::sqlite::insert_delivery_query(delivery, *now_ms)
                .execute(&mut **tx)
                .await?
        }
        Write::Record {
            id,
            lease_token,
            outcome,
            now_ms,
            ..
        } => {
            super::sqlite::record_query(*id, lease_token, outcome, *now_ms)
                .execute(&mut **tx)
                .await?
        }
        Write::Claim(_) => return Ok(Done::default()),
    };
    Ok(Done {
        changed: done.rows_affected() > 0,
        claimed: Vec::new(),
    })
}

/// The flow's next delivery, for an outcome recorded with `then`.
async fn next_in_flow(
    tx: &mut Transaction<'_, Sqlite>,
    write: &Write,
    answer: &mut Result<Done, StoreError>,
) {
    let (
        Write::Record {
            then: Some(claim), ..
        },
        Ok(done),
    ) = (write, answer)
    else {
        return;
    };
    if !done.changed {
        return;
    }
    match super::sqlite::claim(tx, claim).await {
        Ok(next) => done.claimed = next,
        // The outcome stands; the worker's own claim finds the flow's next delivery.
        Err(e) => log::warn!("claiming a flow's next delivery failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::store::suite::{event, lease_of, sub};
    use crate::store::*;

    /// A claim that reaches the writer together with an outcome is answered after it, even
    /// when it came first: the flow that outcome frees goes out with no commit in between.
    #[actix_web::test]
    async fn a_claim_sees_the_outcomes_committed_with_it() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.insert_subscription(&sub("a")).await.unwrap();
        for uid in ["1", "2"] {
            store
                .insert_delivery(&event("a", uid, 10), 10)
                .await
                .unwrap();
        }
        let head = store.claim_due(10, &lease_of(100, "t1"), &[], 16).await;
        let head = head.unwrap().remove(0);
        let delivered = Outcome::Delivered { at_ms: 10 };
        let t2 = lease_of(100, "t2");
        let (claimed, recorded) = futures_util::future::join(
            store.claim_due(10, &t2, &[], 16),
            store.record(head.id, "t1", &delivered, 10),
        )
        .await;
        assert!(recorded.unwrap());
        let claimed: Vec<_> = claimed
            .unwrap()
            .into_iter()
            .map(|d| d.event_unique_id)
            .collect();
        assert_eq!(claimed, ["2"]);
    }
}
