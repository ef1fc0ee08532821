//! Throw-away PostgreSQL databases for tests: one created per test on the server that
//! `GATEWAY_TEST_POSTGRES_URL` names, dropped after it, so tests never see each other's rows.
//! Public because the integration tests (real gateway processes) use it too.

use sqlx::{Connection, PgConnection};

use super::StoreError;

/// The environment variable naming the test server (any database on it; trust or password).
pub const TEST_POSTGRES_URL: &str = "GATEWAY_TEST_POSTGRES_URL";

/// The test server's URL, or `None` after printing that the calling test is skipped.
pub fn test_server_url() -> Option<String> {
    let url = std::env::var(TEST_POSTGRES_URL)
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("skipped: {TEST_POSTGRES_URL} not set");
    }
    url
}

/// A database created for one test.
#[derive(Debug)]
pub struct ScratchDatabase {
    /// Its URL (the server's, with this database's name).
    pub url: String,
    name: String,
    server_url: String,
}

impl ScratchDatabase {
    /// Creates an empty database with a fresh name on the server at `server_url`.
    pub async fn create(server_url: &str) -> Result<Self, StoreError> {
        let name = format!("lcgw_test_{:016x}", rand::random::<u64>());
        let mut url = url::Url::parse(server_url)
            .map_err(|e| StoreError::Setup(format!("{TEST_POSTGRES_URL}: {e}")))?;
        url.set_path(&format!("/{name}"));
        let mut admin = PgConnection::connect(server_url).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        Ok(Self {
            url: url.into(),
            name,
            server_url: server_url.into(),
        })
    }

    /// Drops the database, closing whatever connections are still open on it.
    pub async fn drop_now(mut self) -> Result<(), StoreError> {
        let dropped = drop_database(&self.server_url, &self.name).await;
        self.name.clear();
        dropped
    }
}

/// A test that failed before `drop_now` (a panic unwinding past it) still leaves no database
/// behind: it is dropped from a thread of its own, since `drop` cannot await.
impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let (server, name) = (self.server_url.clone(), std::mem::take(&mut self.name));
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Setup(e.to_string()))?;
            rt.block_on(drop_database(&server, &name))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("the test database could not be dropped: {dropped:?}");
        }
    }
}

async fn drop_database(server_url: &str, name: &str) -> Result<(), StoreError> {
    let mut admin = PgConnection::connect(server_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}
