//! Maintenances (health.md §4.3): list, create, change, stop, reactivate, delete. Writes
//! pass the admin check like every state-changing route; each one rebuilds the health
//! answers before it returns, so the next state request shows the change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, PathParam};
use super::guard::Admin;
use super::AppState;
use crate::app::App;
use crate::config::{FieldError, Loc};
use crate::health::maintenance::MaintenanceError;

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/maintenances", get(list).post(create))
        .route("/api/maintenances/{id}", put(update).delete(remove))
        .route("/api/maintenances/{id}/stop", post(stop))
        .route("/api/maintenances/{id}/reactivate", post(reactivate))
}

fn api_error(e: MaintenanceError) -> ApiError {
    match e {
        MaintenanceError::NotFound => ApiError::NotFound(e.to_string()),
        MaintenanceError::BadRequest(m) => ApiError::BadRequest(m),
        MaintenanceError::Invalid(f) => ApiError::Validation(vec![FieldError {
            kind: f.kind.into(),
            loc: f.loc.into_iter().map(Loc::Key).collect(),
            msg: f.msg,
            input: f.input,
            ctx: None,
        }]),
        MaintenanceError::Io(m) => ApiError::Internal(format!("maintenances file: {m}")),
    }
}

async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "maintenances": state.health().maintenances().list() }))
}

/// Runs one change of the maintenances, then rebuilds the health answers so the next
/// request shows it.
async fn changed<T>(
    state: &AppState,
    change: impl std::future::Future<Output = Result<T, MaintenanceError>>,
) -> ApiResult<T> {
    let out = change.await.map_err(api_error)?;
    state.health().maintenances_changed().await;
    Ok(out)
}

async fn create(
    State(state): State<AppState>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let entry = changed(&state, state.health().maintenances().create(&body)).await?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

async fn update(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let m = state.health().maintenances();
    changed(&state, m.update(&id, &body)).await.map(Json)
}

async fn stop(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    _admin: Admin,
) -> ApiResult<Json<Value>> {
    changed(&state, state.health().maintenances().stop(&id))
        .await
        .map(Json)
}

async fn reactivate(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    _admin: Admin,
) -> ApiResult<Json<Value>> {
    changed(&state, state.health().maintenances().reactivate(&id))
        .await
        .map(Json)
}

async fn remove(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    _admin: Admin,
) -> ApiResult<Response> {
    changed(&state, state.health().maintenances().delete(&id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
