//! `GET /api/metrics/data`: a range query for one library metric and one target, through
//! the server's Prometheus client. The PromQL is built by [`crate::library::query`]
//! (placeholders, `labels`, aggregation; see there). Unlike the reference, an explicit
//! `step` is honoured, and a Prometheus failure is an error (503 when Prometheus cannot
//! be reached or does not answer in time, 502 when it answers with an error), never an
//! empty series.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult};
use super::query::QueryParams;
use super::shapes::health::MetricData;
use super::AppState;
use crate::app::App;
use crate::library::query::{
    auto_step, build_query, parse_range, parse_step, Target, AGGREGATIONS,
};
use crate::prometheus::PromError;

/// Prometheus refuses more points than this per series.
const MAX_POINTS: u64 = 11_000;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(data))
}

#[utoipa::path(get, path = "/api/metrics/data", tag = "metrics", summary = "A library metric's series",
    description = "A range query over the last `time_range` for one library metric and one target, through the server's Prometheus client.",
    params(
        ("metric_id" = String, Query, description = "A metric id of the library"),
        ("target_id" = String, Query, description = "The instance, rack, chassis or PDU the metric is about"),
        ("time_range" = Option<String>, Query, description = "`<n><m|h|d|w>` or plain seconds (default `24h`)"),
        ("step" = Option<String>, Query, description = "Prometheus step (default: from the range, 1m to 6h)"),
        ("aggregation" = Option<String>, Query, description = "How series are combined (default: the metric's own)"),
        ("pduid" = Option<String>, Query, description = "Replaces `{pduid}` in the query"),
        ("inletid" = Option<String>, Query, description = "Replaces `{inletid}` in the query"),
    ),
    responses(
        (status = 200, description = "The series", body = MetricData),
        (status = 400, description = "Bad `time_range`, `step` or `aggregation`"),
        (status = 404, description = "No metric with that id"),
        (status = 422, description = "`metric_id` or `target_id` missing"),
        (status = 502, description = "Prometheus answered with an error"),
        (status = 503, description = "Prometheus cannot be reached or did not answer in time"),
    ))]
async fn data(State(state): State<AppState>, mut q: QueryParams) -> ApiResult<Json<Value>> {
    let metric_id = q.required("metric_id");
    let target_id = q.required("target_id");
    let time_range = q.str("time_range").unwrap_or("24h").to_string();
    let step = q.str("step").map(str::to_string);
    let aggregation = q
        .str("aggregation")
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    let pduid = q.str("pduid").filter(|v| !v.is_empty()).map(str::to_string);
    let inletid = q
        .str("inletid")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    q.finish()?;
    let snap = state.snapshot();
    let def = snap
        .metrics
        .metric(&metric_id)
        .ok_or_else(|| ApiError::NotFound(format!("Metric '{metric_id}' not found")))?;
    let range = parse_range(&time_range)
        .ok_or_else(|| ApiError::BadRequest(format!("Invalid time_range: {time_range}")))?;
    let step = match step {
        None => auto_step(range).to_string(),
        Some(s) => {
            let secs =
                parse_step(&s).ok_or_else(|| ApiError::BadRequest(format!("Invalid step: {s}")))?;
            if range / secs > MAX_POINTS {
                return Err(ApiError::BadRequest(format!(
                    "Invalid step: {s} gives more than {MAX_POINTS} points over {time_range}"
                )));
            }
            s.trim().to_string()
        }
    };
    let aggregation = match aggregation {
        Some(a) if AGGREGATIONS.contains(&a.as_str()) => a,
        Some(a) => {
            return Err(ApiError::BadRequest(format!(
                "Invalid aggregation: {a} (one of {})",
                AGGREGATIONS.join(", ")
            )))
        }
        None => def.display.aggregation.clone(),
    };
    let target = Target {
        id: &target_id,
        pduid: pduid.as_deref(),
        inletid: inletid.as_deref(),
    };
    let query = build_query(def, &target, &aggregation);
    let end = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    let answer = state
        .prometheus()
        .query_range(&query, end - range as f64, end, &step)
        .await
        .map_err(|e| prometheus_error(&e))?;
    let series = answer.get("result").cloned().unwrap_or_else(|| json!([]));
    Ok(Json(json!({
        "metric_id": metric_id,
        "target_id": target_id,
        "time_range": time_range,
        "step": step,
        "unit": def.display.unit,
        "aggregation": aggregation,
        "query": query,
        "series": series,
    })))
}

/// 503 when Prometheus is unreachable, too slow or unusable; 502 when it answered badly.
fn prometheus_error(e: &PromError) -> ApiError {
    tracing::warn!(error = %e, kind = e.kind(), "metrics data: Prometheus query failed");
    match e {
        PromError::Unreachable(_) | PromError::Timeout(_) | PromError::Config(_) => {
            ApiError::Unavailable(e.to_string())
        }
        _ => ApiError::BadGateway(e.to_string()),
    }
}
