//! Liveness, readiness and metrics.

use std::time::Duration;

use actix_web::{web, HttpResponse, ResponseError};

use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// How long readiness waits for the store.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(STORE_PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({
            "status": "ready",
            "store": store_backend(&state.settings.store.database_url),
            "throttle": state.throttle.status().await,
        })),
        outcome => {
            let why = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "no answer in time".to_string(),
            };
            log::warn!("not ready: store: {why}");
            ApiError::Unavailable("The gateway's store does not answer.".into()).error_response()
        }
    }
}

/// The store's engine, as the database URL names it.
fn store_backend(database_url: &str) -> &'static str {
    match database_url.split(':').next() {
        Some("postgres" | "postgresql") => "postgres",
        _ => "sqlite",
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let m = &state.metrics;
    m.set_throttle_connections(state.throttle.tracked_connections() as u64);
    let (backend, redis_up) = state.throttle.metrics_backend();
    m.set_throttle_backend(backend);
    m.set_redis_up(redis_up);
    // A store that does not answer shows as store_up 0 (and -1 counts) rather than failing
    // the scrape.
    let now = state.clock.now_ms();
    let counts = match tokio::time::timeout(STORE_PING_TIMEOUT, state.store.counts(now)).await {
        Ok(Ok(c)) => Some(c),
        _ => None,
    };
    m.set_store(counts, now);
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .body(m.render())
}
