//! Group commit for SQLite. Every write that arrives while a commit is in flight waits for the
//! next one, so N concurrent intakes cost one fsync instead of N. `synchronous=FULL` is kept:
//! each caller gets its answer only after the commit that holds its row, so a 200 to LiveChat
//! still means the event is durable. One writer also means no two write transactions ever wait
//! on SQLite's write lock.

use std::sync::Arc;

use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::{NewDelivery, Outcome, StoreError};

/// Most writes folded into one transaction (bounds one commit's latency).
const MAX_BATCH: usize = 256;

/// A write the group commit carries; each answers whether it changed a row.
#[derive(Debug)]
pub(super) enum Write {
    Insert {
        delivery: NewDelivery,
        now_ms: i64,
    },
    Record {
        id: i64,
        lease_token: String,
        outcome: Outcome,
        now_ms: i64,
    },
}

struct Job {
    write: Write,
    done: oneshot::Sender<Result<bool, StoreError>>,
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

    pub async fn write(&self, write: Write) -> Result<bool, StoreError> {
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
        tx.commit().await?;
        Ok::<_, sqlx::Error>(answers)
    }
    .await;
    match result {
        Ok(answers) => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                let _ = job.done.send(answer.map_err(StoreError::from));
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

async fn apply(tx: &mut Transaction<'_, Sqlite>, write: &Write) -> Result<bool, sqlx::Error> {
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
        } => {
            super::sqlite::record_query(*id, lease_token, outcome, *now_ms)
                .execute(&mut **tx)
                .await?
        }
    };
    Ok(done.rows_affected() > 0)
}
