//! Liveness, readiness and metrics.

use actix_web::{web, HttpResponse};

use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

pub async fn readyz(_state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let tracked = state.throttle.tracked_connections() as i64;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&[(
            "livechat_gateway_throttle_connections",
            "Connections with throttle state",
            tracked,
        )]))
}
