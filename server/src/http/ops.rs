//! Operational endpoints: `/healthz` (the process answers), `/readyz` (the
//! store is reachable and fully migrated) and `/metrics` (Prometheus text).
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.store.backend().as_str();
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: store unreachable");
        return not_ready(
            json!({ "status": "unavailable", "store": store, "reason": "store unreachable" }),
        );
    }
    match state.store.migration_level().await {
        Ok(level) if level.is_current() => Json(json!({
            "status": "ready",
            "store": store,
            "migration": level.applied_version,
            "migrations_applied": level.applied_count,
        }))
        .into_response(),
        Ok(level) => not_ready(json!({
            "status": "unavailable",
            "store": store,
            "reason": format!("{} of {} migrations applied; run `rollout-console migrate`", level.applied_count, level.known_count),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read migration level");
            not_ready(
                json!({ "status": "unavailable", "store": store, "reason": "cannot read migration level" }),
            )
        }
    }
}

fn not_ready(body: serde_json::Value) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
