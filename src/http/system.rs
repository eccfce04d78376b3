//! `GET /api/system/status`, `POST /api/system/restart` and `GET /healthz`.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult};
use super::guard::Admin;
use super::shapes::{AdminRefused, Healthz, Restarted, SystemStatus};
use crate::app::App;
use crate::state::BuildError;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(restart))
        .routes(routes!(healthz))
}

#[utoipa::path(get, path = "/api/system/status", tag = "system", summary = "The server process",
    responses((status = 200, description = "Running, with its process id", body = SystemStatus)))]
async fn status() -> Json<Value> {
    Json(json!({ "status": "running", "pid": std::process::id() }))
}

/// Liveness for supervisors. Never gated, so a health check works with auth on.
#[utoipa::path(get, path = "/healthz", tag = "system", summary = "Liveness",
    description = "Served without a token, for supervisors and container runtimes.",
    responses((status = 200, description = "The server answers", body = Healthz)))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Rebuilds the whole running state from disk in-process and swaps it in at once. If the
/// files on disk do not load, the running state is kept and the reason returned (409).
#[utoipa::path(post, path = "/api/system/restart", tag = "system", summary = "Reload everything from disk",
    description = "Rebuilds the config, topology, libraries and every plugin from disk in the running process \
        and swaps them in at once. If the files do not load, the running state is kept.",
    responses(
        (status = 200, description = "Rebuilt", body = Restarted),
        AdminRefused,
        (status = 409, description = "The files on disk do not load; the running state is kept"),
        (status = 500, description = "The rebuild failed unexpectedly"),
    ))]
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
