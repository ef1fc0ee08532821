//! Liveness, readiness and metrics.

use std::time::Duration;

use actix_web::{web, HttpResponse, ResponseError};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Counts;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// How long readiness waits for the store.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(STORE_PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
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

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let tracked = state.throttle.tracked_connections() as i64;
    // A store that does not answer shows as -1 rather than failing the scrape.
    let counts = match tokio::time::timeout(STORE_PING_TIMEOUT, state.store.counts()).await {
        Ok(Ok(c)) => c,
        _ => Counts {
            subscriptions: -1,
            pending: -1,
            dead: -1,
        },
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&[
            (
                "livechat_gateway_throttle_connections",
                "Connections with throttle state",
                tracked,
            ),
            (
                "livechat_gateway_subscriptions",
                "Trigger subscriptions in the store",
                counts.subscriptions,
            ),
            (
                "livechat_gateway_deliveries_pending",
                "Notifications waiting for delivery",
                counts.pending,
            ),
            (
                "livechat_gateway_deliveries_dead",
                "Notifications that exhausted their retries",
                counts.dead,
            ),
        ]))
}
