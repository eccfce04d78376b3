//! `GET /api/system/status`, `POST /api/system/restart` and `GET /healthz`.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::guard::Admin;
use crate::app::App;
use crate::state::BuildError;

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/system/status", get(status))
        .route("/api/system/restart", post(restart))
        .route("/healthz", get(healthz))
}

async fn status() -> Json<Value> {
    Json(json!({ "status": "running", "pid": std::process::id() }))
}

/// Liveness for supervisors. Never gated, so a health check works with auth on.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Rebuilds the whole running state from disk in-process and swaps it in at once. If the
/// files on disk do not load, the running state is kept and the reason returned (409).
async fn restart(State(app): State<App>, _admin: Admin) -> ApiResult<Json<Value>> {
    match app.reload_from_disk(true).await {
        Ok(generation) => {
            tracing::info!(generation, "restart: state rebuilt from disk");
            Ok(Json(
                json!({ "status": "ok", "message": "Backend restart initiated" }),
            ))
        }
        Err(BuildError::Internal(msg)) => Err(ApiError::Internal(msg)),
        Err(e) => Err(ApiError::Conflict(format!(
            "Restart refused, the running state is kept: {e}"
        ))),
    }
}
