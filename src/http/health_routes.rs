//! The health endpoints (health.md §3): room and rack states, the active alerts, the
//! global and Prometheus statistics, and a device's metrics.
//!
//! The state answers are the health engine's pre-encoded answers of its latest snapshot
//! (`health::HealthView`): no request waits for a recompute once there is one, and none
//! triggers one. Before the first snapshot a request waits a little for it, then gets the
//! states as `UNKNOWN` with the reason. Unlike the reference, an unknown room or rack id
//! is a 404 (the reference answers an unknown rack with every node of the topology), and
//! `stats/prometheus` says when Prometheus is failing instead of "connected".

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::encoded::json_bytes;
use super::error::{ApiError, ApiResult};
use super::extract::{PathParam, RackDevice};
use super::query::QueryParams;
use super::shapes::health::{
    ActiveAlerts, DeviceMetrics, GlobalStats, PrometheusStats, RackState, RoomState, TelemetryStats,
};
use super::AppState;
use crate::app::App;
use crate::health::HealthView;
use crate::library::checks::Severity;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(rooms_states))
        .routes(routes!(room_state))
        .routes(routes!(rack_state))
        .routes(routes!(alerts))
        .routes(routes!(global))
        .routes(routes!(prometheus))
        .routes(routes!(telemetry))
        .routes(routes!(device_metrics))
}

/// How long a request waits for the first snapshot after the server starts.
const FIRST_WAIT: Duration = Duration::from_secs(5);

/// The answers in force: the engine's, or (before its first snapshot) states `UNKNOWN`
/// for the current topology, saying why.
async fn view(state: &AppState) -> Arc<HealthView> {
    if let Some(v) = state.health().first_view(FIRST_WAIT).await {
        return v;
    }
    state.health().placeholder(state.snapshot().health.clone())
}

#[utoipa::path(get, path = "/api/rooms/states", tag = "health", summary = "Every room's state",
    responses((status = 200, description = "Room id to state", body = std::collections::HashMap<String, Severity>)))]
async fn rooms_states(State(state): State<AppState>) -> Response {
    json_bytes(view(&state).await.rooms_states.clone())
}

#[utoipa::path(get, path = "/api/rooms/{room_id}/state", tag = "health", summary = "A room's state and its racks'",
    params(("room_id" = String, Path, description = "The room's id")),
    responses(
        (status = 200, description = "The room's state", body = RoomState),
        (status = 404, description = "No room with that id"),
    ))]
async fn room_state(
    State(state): State<AppState>,
    PathParam(room_id): PathParam<String>,
) -> ApiResult<Response> {
    let v = view(&state).await;
    if let Some(body) = v.room_answers.get(room_id.as_str()) {
        return Ok(json_bytes(body.clone()));
    }
    // A room the topology has but the snapshot does not yet (the topology just changed).
    let current = state.snapshot();
    if current.health.layout.room(&room_id).is_some() {
        return Ok(json_bytes(
            state
                .health()
                .placeholder(current.health.clone())
                .room_answers
                .get(room_id.as_str())
                .cloned()
                .unwrap_or_default(),
        ));
    }
    Err(ApiError::NotFound(format!("Room {room_id} not found")))
}

#[utoipa::path(get, path = "/api/racks/{rack_id}/state", tag = "health", summary = "A rack's state, checks and nodes",
    params(
        ("rack_id" = String, Path, description = "The rack's id"),
        ("include_metrics" = Option<bool>, Query, description = "Add node temperature and power (default false)"),
    ),
    responses(
        (status = 200, description = "The rack's state", body = RackState),
        (status = 404, description = "No rack with that id"),
        (status = 422, description = "`include_metrics` is not a boolean"),
    ))]
async fn rack_state(
    State(state): State<AppState>,
    PathParam(rack_id): PathParam<String>,
    mut query: QueryParams,
) -> ApiResult<Response> {
    let include_metrics = query.bool("include_metrics").unwrap_or(false);
    query.finish()?;
    let pick = |v: &HealthView| {
        let answers = if include_metrics {
            &v.rack_metric_answers
        } else {
            &v.rack_answers
        };
        answers.get(rack_id.as_str()).cloned()
    };
    if let Some(body) = pick(&*view(&state).await) {
        return Ok(json_bytes(body));
    }
    let current = state.snapshot();
    if current.health.layout.rack(&rack_id).is_some() {
        let placeholder = state.health().placeholder(current.health.clone());
        return Ok(json_bytes(pick(&placeholder).unwrap_or_default()));
    }
    Err(ApiError::NotFound(format!("Rack {rack_id} not found")))
}

#[utoipa::path(get, path = "/api/alerts/active", tag = "health", summary = "Nodes and racks with WARN or CRIT checks",
    description = "Maintenances apply: `hide` drops what they cover, `badge` marks it.",
    responses((status = 200, description = "The alerts", body = ActiveAlerts)))]
async fn alerts(State(state): State<AppState>) -> Response {
    json_bytes(view(&state).await.alerts.clone())
}

#[utoipa::path(get, path = "/api/stats/global", tag = "health", summary = "Racks by state",
    responses((status = 200, description = "Counts and the overall state", body = GlobalStats)))]
async fn global(State(state): State<AppState>) -> Response {
    json_bytes(view(&state).await.global.clone())
}

/// Latency of the last answers, the heartbeat period and when the next one is due; while
/// Prometheus fails (its latest request failed), `status: "down"` with the error, and no
/// `last_ts` (the reference kept the time of failed queries, so it looked connected).
#[utoipa::path(get, path = "/api/stats/prometheus", tag = "health", summary = "Prometheus latency and heartbeat",
    responses((status = 200, description = "Latency, heartbeat, and whether Prometheus is failing", body = PrometheusStats)))]
async fn prometheus(State(state): State<AppState>) -> Json<Value> {
    let stats = state.prometheus().stats();
    let heartbeat = state
        .snapshot()
        .config
        .telemetry
        .prometheus_heartbeat_seconds
        .max(10);
    let failing = state.prometheus().failing();
    let (last_ms, avg_ms, last_ts) = if failing.is_some() {
        (Value::Null, Value::Null, Value::Null)
    } else {
        (
            stats["last_ms"].clone(),
            stats["avg_ms"].clone(),
            stats["last_ts"].clone(),
        )
    };
    let next_ts = last_ts
        .as_f64()
        .map(|t| json!(t + heartbeat as f64 * 1000.0))
        .unwrap_or(Value::Null);
    Json(json!({
        "last_ms": last_ms,
        "avg_ms": avg_ms,
        "last_ts": last_ts,
        "heartbeat_seconds": heartbeat,
        "next_ts": next_ts,
        "status": if failing.is_some() { "down" } else if stats["last_ts"].is_null() { "unknown" } else { "up" },
        "error": failing.as_ref().map(|(e, _)| e.clone()),
        "error_ts": failing.map(|(_, at)| at),
    }))
}

/// The client's counters and latency, the planner's last batch, and how the last
/// recompute went.
#[utoipa::path(get, path = "/api/stats/telemetry", tag = "health", summary = "Prometheus client and planner counters",
    responses((status = 200, description = "The counters", body = TelemetryStats)))]
async fn telemetry(State(state): State<AppState>) -> Json<Value> {
    let mut out: Map<String, Value> = match state.prometheus().stats() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Value::Object(extra) = state.health().telemetry() {
        out.extend(extra);
    }
    Json(Value::Object(out))
}

/// `{device_id, rack_id, metrics: {instance: {metric_id: value}}}`: each metric its
/// template lists, from the metrics library, for each instance of the device. Unlike the
/// reference (raw metric names, an empty answer for an unknown id), library definitions
/// are queried and an unknown rack or device is a 404.
#[utoipa::path(get, path = "/api/devices/{rack_id}/{device_id}/metrics", tag = "health", summary = "A device's metrics now",
    description = "Each metric of the device's template (from the metrics library), for each of its instances.",
    params(RackDevice),
    responses(
        (status = 200, description = "Instance to metric id to value", body = DeviceMetrics),
        (status = 404, description = "No such rack, or no such device in it"),
        (status = 503, description = "Prometheus could not be queried"),
    ))]
async fn device_metrics(
    State(state): State<AppState>,
    PathParam(RackDevice { rack_id, device_id }): PathParam<RackDevice>,
) -> ApiResult<Json<Value>> {
    let snap = state.snapshot();
    let layout = &snap.health.layout;
    let rack = layout
        .rack(&rack_id)
        .ok_or_else(|| ApiError::NotFound(format!("Rack {rack_id} not found")))?;
    let device = layout.device_in_rack(rack, &device_id).ok_or_else(|| {
        ApiError::NotFound(format!("Device {device_id} not found in rack {rack_id}"))
    })?;
    let device = &layout.devices[device as usize];
    let ids: Vec<String> = snap
        .catalog
        .device_template(&device.template_id)
        .map(|t| t.metrics.clone())
        .unwrap_or_default();
    let mut metrics = Map::new();
    for &n in &device.nodes {
        let instance = layout.nodes[n as usize].name.to_string();
        let mut values = Map::new();
        for id in &ids {
            let Some(def) = snap.metrics.metric(id) else {
                continue;
            };
            let q = crate::library::query::build_query(
                def,
                &crate::library::query::Target {
                    id: &instance,
                    pduid: None,
                    inletid: None,
                },
                "none",
            );
            let value = match state
                .prometheus()
                .query(&q, crate::prometheus::CacheKind::Metrics)
                .await
            {
                Ok(data) => data["result"]
                    .get(0)
                    .and_then(|r| r["value"].get(1))
                    .and_then(Value::as_str)
                    .and_then(crate::health::check::parse_sample)
                    .filter(|v| v.is_finite())
                    .map_or(Value::Null, |v| json!(v)),
                Err(e) => {
                    return Err(ApiError::Unavailable(format!(
                        "Prometheus could not be queried: {e}"
                    )))
                }
            };
            values.insert(id.clone(), value);
        }
        metrics.insert(instance, Value::Object(values));
    }
    Ok(Json(json!({
        "device_id": device.id,
        "rack_id": snap.health.layout.racks[rack as usize].id,
        "metrics": metrics,
    })))
}
