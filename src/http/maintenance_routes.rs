//! Maintenances (health.md §4.3): list, create, change, stop, reactivate, delete. Writes
//! pass the admin check like every state-changing route; each one rebuilds the health
//! answers before it returns, so the next state request shows the change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, PathParam};
use super::guard::Admin;
use super::shapes::health::{Maintenance, MaintenanceChange, Maintenances, NewMaintenance};
use super::shapes::AdminRefused;

/// The path parameter of the routes on one maintenance (read and described).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct MaintenanceId {
    /// The maintenance's id.
    id: String,
}

/// What a change of one maintenance may answer besides its own errors.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only described: the answers come from `api_error`.
enum OneMaintenanceErrors {
    #[response(status = 404, description = "No maintenance with that id")]
    NotFound,
    #[response(
        status = 500,
        description = "The maintenances file could not be written"
    )]
    Unwritten,
}
use super::AppState;
use crate::app::App;
use crate::config::{FieldError, Loc};
use crate::health::maintenance::MaintenanceError;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
        .routes(routes!(stop))
        .routes(routes!(reactivate))
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

#[utoipa::path(get, path = "/api/maintenances", tag = "maintenances", summary = "The maintenances",
    responses((status = 200, description = "Every maintenance, in file order, with its status now", body = Maintenances)))]
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

#[utoipa::path(post, path = "/api/maintenances", tag = "maintenances", summary = "Start or schedule a maintenance",
    request_body(content = NewMaintenance, example = json!({"target_type": "rack", "target_id": "r01-01", "reason": "PDU swap", "effect": "badge"})),
    responses(
        (status = 201, description = "Created", body = Maintenance),
        (status = 400, description = "`target_id` or `reason` blank"),
        AdminRefused,
        (status = 422, description = "A field missing or of the wrong type, an unknown `target_type` or `effect`, a time that does not parse"),
        (status = 500, description = "The maintenances file could not be written"),
    ))]
async fn create(
    State(state): State<AppState>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let entry = changed(&state, state.health().maintenances().create(&body)).await?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

#[utoipa::path(put, path = "/api/maintenances/{id}", tag = "maintenances", summary = "Change a maintenance",
    params(MaintenanceId),
    request_body(content = MaintenanceChange, example = json!({"reason": "PDU swap, part 2"})),
    responses(
        (status = 200, description = "Changed", body = Maintenance),
        (status = 400, description = "`reason` blank"),
        AdminRefused,
        OneMaintenanceErrors,
        (status = 422, description = "A field of the wrong type, an unknown `effect`, a time that does not parse"),
    ))]
async fn update(
    State(state): State<AppState>,
    PathParam(MaintenanceId { id }): PathParam<MaintenanceId>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let m = state.health().maintenances();
    changed(&state, m.update(&id, &body)).await.map(Json)
}

#[utoipa::path(post, path = "/api/maintenances/{id}/stop", tag = "maintenances", summary = "End a maintenance now",
    params(MaintenanceId),
    responses(
        (status = 200, description = "Ended", body = Maintenance),
        (status = 400, description = "Already ended"),
        AdminRefused,
        OneMaintenanceErrors,
    ))]
async fn stop(
    State(state): State<AppState>,
    PathParam(MaintenanceId { id }): PathParam<MaintenanceId>,
    _admin: Admin,
) -> ApiResult<Json<Value>> {
    changed(&state, state.health().maintenances().stop(&id))
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/maintenances/{id}/reactivate", tag = "maintenances", summary = "Undo the end of a maintenance",
    params(MaintenanceId),
    responses(
        (status = 200, description = "Reactivated (still EXPIRED if its expiry is past)", body = Maintenance),
        (status = 400, description = "Not ended"),
        AdminRefused,
        OneMaintenanceErrors,
    ))]
async fn reactivate(
    State(state): State<AppState>,
    PathParam(MaintenanceId { id }): PathParam<MaintenanceId>,
    _admin: Admin,
) -> ApiResult<Json<Value>> {
    changed(&state, state.health().maintenances().reactivate(&id))
        .await
        .map(Json)
}

#[utoipa::path(delete, path = "/api/maintenances/{id}", tag = "maintenances", summary = "Delete a maintenance",
    params(MaintenanceId),
    responses(
        (status = 204, description = "Deleted"),
        AdminRefused,
        OneMaintenanceErrors,
    ))]
async fn remove(
    State(state): State<AppState>,
    PathParam(MaintenanceId { id }): PathParam<MaintenanceId>,
    _admin: Admin,
) -> ApiResult<Response> {
    changed(&state, state.health().maintenances().delete(&id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
