//! LISTEN for the deliveries any replica stores, so this replica's worker starts at once
//! instead of on its next poll (which stays as the backstop for what a lost connection missed).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::store::{StoreError, Wake};

/// Pause before asking again when the LISTEN connection cannot be re-established.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// The listening task, stopped when the store closes.
#[derive(Clone, Debug, Default)]
pub(super) struct Task(Arc<Mutex<Option<JoinHandle<()>>>>);

impl Task {
    /// LISTENs on `channel` (on a connection of `pool` kept for it) and calls `wake` for each
    /// notification; replaces an earlier listener.
    pub async fn start(
        &self,
        pool: &PgPool,
        channel: &'static str,
        wake: Wake,
    ) -> Result<(), StoreError> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        let task = tokio::spawn(listen(listener, wake));
        if let Some(old) = self.slot().replace(task) {
            old.abort();
        }
        Ok(())
    }

    pub fn stop(&self) {
        if let Some(task) = self.slot().take() {
            task.abort();
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn listen(mut listener: PgListener, wake: Wake) {
    let mut failing = false;
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => wake(),
            Ok(None) => {
                // Reconnected: what was announced meanwhile is lost, so look now.
                log::warn!("store: the LISTEN connection to PostgreSQL was lost and re-opened");
                wake();
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                if !failing {
                    log::warn!(
                        "store: cannot LISTEN for new deliveries ({e}); the worker polls meanwhile"
                    );
                }
                failing = true;
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            }
        }
        if failing {
            log::info!("store: listening for new deliveries again");
            failing = false;
        }
    }
}
