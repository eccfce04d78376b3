//! The read views Rackscope's frontend draws from: topology (`/api/sites`, `/api/rooms`,
//! room layouts, racks, devices), `/api/catalog`, the checks library (`/api/checks*`) and
//! the metrics library (`/api/metrics/*` except `/data`, which is in `metrics_data`).
//!
//! Every answer is pre-encoded in the snapshot's [`crate::views::Views`]; a handler looks
//! an id up and returns the bytes. `/api/sites` is sent gzipped, precomputed, to clients
//! that accept it. Unlike the reference: an unknown rack and an unknown device in a known
//! rack get different 404s, file listings are what the loaders read (sub-folders of the
//! recursive metrics library included, readable at `files/<sub>/<name>`), and a file name
//! that is a folder, leaves the folder or is not a `.yaml`/`.yml` file is a 4xx, never a 500.

use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Json;

use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::encoded::{accepts_gzip, gzipped_json, json_bytes};
use super::error::{ApiError, ApiResult};
use super::extract::{PathParam, RackDevice};
use super::query::QueryParams;
use super::shapes::views::{
    CatalogAnswer, Categories, CheckFiles, ChecksAnswer, DeviceContext, FileContent, Files,
    MetricsAnswer, RoomSummary, Tags,
};
use super::AppState;
use crate::app::App;
use crate::library::{files, FileError, MetricDefinition, Origin};
use crate::topology::is_safe_id;
use crate::topology::model::{Rack, Room, Site};
use crate::views::DeviceMissing;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(sites))
        .routes(routes!(rooms))
        .routes(routes!(room_layout))
        .routes(routes!(rack))
        .routes(routes!(device))
        .routes(routes!(catalog))
        .routes(routes!(checks))
        .routes(routes!(check_files))
        .routes(routes!(check_file))
        .routes(routes!(metrics_library))
        .routes(routes!(metric_files))
        .routes(routes!(metric_file))
        .routes(routes!(metric))
        .routes(routes!(metrics_catalog_files))
        .routes(routes!(categories))
        .routes(routes!(tags))
}

/// `GET /api/sites`: the whole tree; the gzip body (encoded once per state generation)
/// for clients that accept it. Sets its own `Content-Encoding`, which the compression
/// layer then leaves alone.
#[utoipa::path(get, path = "/api/sites", tag = "topology", summary = "The whole topology",
    description = "Every site with its rooms, aisles, racks and devices, in load order. \
        Sent gzipped to clients that accept it.",
    responses((status = 200, description = "The sites", body = Vec<Site>)))]
async fn sites(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let views = &state.snapshot().views;
    match views.sites_gzip().filter(|_| accepts_gzip(&headers)) {
        Some(gz) => gzipped_json(gz),
        None => {
            let mut answer = json_bytes(views.sites());
            answer
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            answer
        }
    }
}

#[utoipa::path(get, path = "/api/rooms", tag = "topology", summary = "Rooms for the sidebar",
    responses((status = 200, description = "Every room with its site and its aisles' racks", body = Vec<RoomSummary>)))]
async fn rooms(State(state): State<AppState>) -> Response {
    json_bytes(state.snapshot().views.rooms())
}

#[utoipa::path(get, path = "/api/rooms/{room_id}/layout", tag = "topology", summary = "One room",
    params(("room_id" = String, Path, description = "The room's id (the first room of that id)")),
    responses(
        (status = 200, description = "The room with its layout, aisles and racks", body = Room),
        (status = 404, description = "No room with that id"),
    ))]
async fn room_layout(
    State(state): State<AppState>,
    PathParam(room_id): PathParam<String>,
) -> ApiResult<Response> {
    let snap = state.snapshot();
    snap.views
        .room_layout(&snap.index, &room_id)
        .map(json_bytes)
        .ok_or_else(|| ApiError::NotFound(format!("Room {room_id} not found")))
}

#[utoipa::path(get, path = "/api/racks/{rack_id}", tag = "topology", summary = "One rack",
    params(("rack_id" = String, Path, description = "The rack's id")),
    responses(
        (status = 200, description = "The rack with its devices", body = Rack),
        (status = 404, description = "No rack with that id"),
    ))]
async fn rack(
    State(state): State<AppState>,
    PathParam(rack_id): PathParam<String>,
) -> ApiResult<Response> {
    let snap = state.snapshot();
    snap.views
        .rack(&snap.index, &rack_id)
        .map(json_bytes)
        .ok_or_else(|| ApiError::NotFound(format!("Rack {rack_id} not found")))
}

#[utoipa::path(get, path = "/api/racks/{rack_id}/devices/{device_id}", tag = "topology",
    summary = "One device with its context",
    params(RackDevice),
    responses(
        (status = 200, description = "The device, its template, its rack, room, site and aisle", body = DeviceContext),
        (status = 400, description = "The rack id has characters an id may not have (lowercase letters, digits, `.`, `-`, `_`, at most 128)"),
        (status = 404, description = "No such rack, or no such device in it"),
    ))]
async fn device(
    State(state): State<AppState>,
    PathParam(RackDevice { rack_id, device_id }): PathParam<RackDevice>,
) -> ApiResult<Response> {
    if !is_safe_id(&rack_id) {
        return Err(ApiError::BadRequest(format!(
            "Invalid rack_id: '{rack_id}'. IDs must contain only lowercase letters, digits, dots, hyphens and underscores (max 128 characters)."
        )));
    }
    let snap = state.snapshot();
    match snap
        .views
        .device(&snap.index, &snap.topology, &rack_id, &device_id)
    {
        Ok(body) => Ok(json_bytes(body)),
        Err(DeviceMissing::Rack) => Err(ApiError::NotFound(format!("Rack {rack_id} not found"))),
        Err(DeviceMissing::Device) => Err(ApiError::NotFound(format!(
            "Device {device_id} not found in rack {rack_id}"
        ))),
    }
}

#[utoipa::path(get, path = "/api/catalog", tag = "catalog", summary = "The templates",
    responses((status = 200, description = "Device, rack and rack component templates", body = CatalogAnswer)))]
async fn catalog(State(state): State<AppState>) -> Response {
    json_bytes(state.snapshot().views.catalog())
}

#[utoipa::path(get, path = "/api/checks", tag = "checks", summary = "The checks library",
    responses((status = 200, description = "Every check, in load order", body = ChecksAnswer)))]
async fn checks(State(state): State<AppState>) -> Response {
    json_bytes(state.snapshot().views.checks())
}

#[utoipa::path(get, path = "/api/checks/files", tag = "checks", summary = "The checks library's files",
    responses((status = 200, description = "The files the loader read, in its order", body = CheckFiles)))]
async fn check_files(State(state): State<AppState>) -> Response {
    json_bytes(state.snapshot().views.check_files())
}

/// Reads one library file off the runtime; maps refusals to 400, 403 and 404.
async fn read_library_file(
    origin: Origin,
    name: String,
    nested: bool,
    not_found: String,
) -> ApiResult<Json<Value>> {
    let file = name.clone();
    let read = tokio::task::spawn_blocking(move || files::read(&origin, &file, nested))
        .await
        .map_err(|e| ApiError::Internal(format!("reading a library file: {e}")))?;
    match read {
        Ok(content) => Ok(Json(json!({ "name": name, "content": content }))),
        Err(FileError::Invalid) => Err(ApiError::BadRequest("Invalid filename".into())),
        Err(FileError::Denied) => Err(ApiError::Forbidden("Access denied".into())),
        Err(FileError::NotFound) => Err(ApiError::NotFound(not_found)),
    }
}

#[utoipa::path(get, path = "/api/checks/files/{name}", tag = "checks", summary = "One checks file",
    params(("name" = String, Path, description = "A file name of `GET /api/checks/files`")),
    responses(
        (status = 200, description = "The file's text", body = FileContent),
        (status = 400, description = "An empty name, or one with `..` or starting with a slash"),
        (status = 403, description = "The name leads outside the library's folder"),
        (status = 404, description = "No such file"),
    ))]
async fn check_file(
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> ApiResult<Json<Value>> {
    let origin = state.snapshot().checks.origin.clone();
    read_library_file(origin, name, false, "Checks file not found".into()).await
}

#[utoipa::path(get, path = "/api/metrics/library", tag = "metrics", summary = "The metrics library",
    params(
        ("category" = Option<String>, Query, description = "Only this category (exact match; empty: all)"),
        ("tag" = Option<String>, Query, description = "Only metrics with this tag (empty: all)"),
    ),
    responses((status = 200, description = "The matching definitions, in load order", body = MetricsAnswer)))]
async fn metrics_library(State(state): State<AppState>, q: QueryParams) -> Response {
    json_bytes(
        state
            .snapshot()
            .views
            .metrics_library(q.str("category"), q.str("tag")),
    )
}

#[utoipa::path(get, path = "/api/metrics/library/{metric_id}", tag = "metrics", summary = "One library metric",
    params(("metric_id" = String, Path, description = "The metric's id")),
    responses(
        (status = 200, description = "Its definition", body = MetricDefinition),
        (status = 404, description = "No metric with that id"),
    ))]
async fn metric(
    State(state): State<AppState>,
    PathParam(metric_id): PathParam<String>,
) -> ApiResult<Response> {
    state
        .snapshot()
        .views
        .metric(&metric_id)
        .map(json_bytes)
        .ok_or_else(|| ApiError::NotFound(format!("Metric '{metric_id}' not found")))
}

#[utoipa::path(get, path = "/api/metrics/library/files", tag = "metrics", summary = "The metrics library's files",
    responses((status = 200, description = "The files the loader read", body = Files)))]
async fn metric_files(State(state): State<AppState>) -> Response {
    json_bytes(state.snapshot().views.metric_files())
}

#[utoipa::path(get, path = "/api/metrics/library/files/{*name}", tag = "metrics", summary = "One metrics library file",
    params(("name" = String, Path, description = "A file name of `GET /api/metrics/library/files` (`<sub>/<name>` for a sub-folder)")),
    responses(
        (status = 200, description = "The file's text", body = FileContent),
        (status = 400, description = "An empty name, or one with `..` or starting with a slash"),
        (status = 403, description = "The name leads outside the library's folder"),
        (status = 404, description = "No such file"),
    ))]
async fn metric_file(
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> ApiResult<Json<Value>> {
    let origin = state.snapshot().metrics.origin.clone();
    let not_found = format!("Metric file '{name}' not found");
    read_library_file(origin, name, true, not_found).await
}

#[utoipa::path(get, path = "/api/metrics/categories", tag = "metrics", summary = "The library's categories",
    responses((status = 200, description = "Sorted, distinct", body = Categories)))]
async fn categories(State(state): State<AppState>) -> Response {
    json_bytes(state.snapshot().views.metric_categories())
}

#[utoipa::path(get, path = "/api/metrics/tags", tag = "metrics", summary = "The library's tags",
    responses((status = 200, description = "Sorted, distinct", body = Tags)))]
async fn tags(State(state): State<AppState>) -> Response {
    json_bytes(state.snapshot().views.metric_tags())
}

/// `GET /api/metrics/files`: the simulator's metric catalogs a settings page can pick
/// (`metrics_*.yaml` / `.yml`) from `paths.metrics`, its parent folder and the
/// simulator's catalog folder (`<dir of app.yaml>/plugins/simulator/metrics`, else
/// `config/plugins/simulator/metrics` from the working directory); the first file of a
/// name wins. Read at request time: the simulator's folder is not part of the state.
#[utoipa::path(get, path = "/api/metrics/files", tag = "metrics", summary = "The simulator's metric catalogs",
    description = "`metrics_*.yaml` files of `paths.metrics`, its parent and the simulator's catalog folder; the first of a name wins.",
    responses(
        (status = 200, description = "The catalog files", body = Files),
        (status = 500, description = "The folders could not be listed"),
    ))]
async fn metrics_catalog_files(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let snap = state.snapshot();
    let metrics = PathBuf::from(&snap.paths.metrics);
    let app_dir = state
        .config_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let found = tokio::task::spawn_blocking(move || {
        let sim = app_dir.join("plugins/simulator/metrics");
        let sim = if sim.is_dir() {
            sim
        } else {
            PathBuf::from("config/plugins/simulator/metrics")
        };
        let mut dirs = vec![metrics.clone()];
        dirs.extend(metrics.parent().map(Path::to_path_buf));
        dirs.push(sim);
        catalog_files(&dirs)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("listing metric catalogs: {e}")))?;
    Ok(Json(json!({ "files": found })))
}

/// `metrics_*.yaml` then `metrics_*.yml` of each folder, sorted; first name wins.
fn catalog_files(dirs: &[PathBuf]) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with("metrics_"))
            .collect();
        names.sort();
        for ext in [".yaml", ".yml"] {
            for name in names.iter().filter(|n| n.ends_with(ext)) {
                if seen.insert(name.clone()) {
                    out.push(json!({"name": name, "path": dir.join(name)}));
                }
            }
        }
    }
    out
}
