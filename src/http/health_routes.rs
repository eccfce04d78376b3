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
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::error::{ApiError, ApiResult};
use super::extract::PathParam;
use super::query::QueryParams;
use super::views_routes::json_bytes;
use super::AppState;
use crate::app::App;
use crate::health::HealthView;

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/rooms/states", get(rooms_states))
        .route("/api/rooms/{room_id}/state", get(room_state))
        .route("/api/racks/{rack_id}/state", get(rack_state))
        .route("/api/alerts/active", get(alerts))
        .route("/api/stats/global", get(global))
        .route("/api/stats/prometheus", get(prometheus))
        .route("/api/stats/telemetry", get(telemetry))
        .route(
            "/api/devices/{rack_id}/{device_id}/metrics",
            get(device_metrics),
        )
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

async fn rooms_states(State(state): State<AppState>) -> Response {
    json_bytes(view(&state).await.rooms_states.clone())
}

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

async fn alerts(State(state): State<AppState>) -> Response {
    json_bytes(view(&state).await.alerts.clone())
}

async fn global(State(state): State<AppState>) -> Response {
    json_bytes(view(&state).await.global.clone())
}

/// Latency of the last answers, the heartbeat period and when the next one is due; while
/// Prometheus fails (its latest request failed), `status: "down"` with the error, and no
/// `last_ts` (the reference kept the time of failed queries, so it looked connected).
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
async fn device_metrics(
    State(state): State<AppState>,
    PathParam((rack_id, device_id)): PathParam<(String, String)>,
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
