//! Shapes of the health answers (`health::answers` encodes them), the maintenances, the
//! logs and a metric's data, for the API document.

use std::collections::HashMap;

use serde_json::Value;
use utoipa::ToSchema;

use crate::library::checks::Severity;

/// What every state answer adds about its computation: when it was computed, and whether
/// it is stale (Prometheus failing: the last measurements, or `UNKNOWN`) and why.
#[derive(ToSchema)]
pub struct Freshness {
    /// Unix seconds of the computation the answer comes from.
    pub generated_at: f64,
    pub stale: bool,
    /// Why the answer is stale; null when it is not.
    pub error: Option<String>,
}

/// The maintenance that covers a rack or node.
#[derive(ToSchema)]
pub struct MaintenanceCover {
    pub id: String,
    pub reason: String,
    /// `hide` or `badge`.
    pub effect: String,
}

/// `GET /api/rooms/{room_id}/state`.
#[derive(ToSchema)]
pub struct RoomState {
    pub room_id: String,
    /// The worst state of the room's racks (those in maintenance count as OK).
    pub state: Severity,
    /// Every rack of the room, by id.
    pub racks: HashMap<String, RackInRoom>,
    pub generated_at: f64,
    pub stale: bool,
    pub error: Option<String>,
}

/// A rack in a room's state.
#[derive(ToSchema)]
pub struct RackInRoom {
    pub state: Severity,
    /// Node instances of the rack's devices.
    pub node_total: u64,
    pub node_crit: u64,
    pub node_warn: u64,
    pub maintenance: Option<MaintenanceCover>,
}

/// One check's result.
#[derive(ToSchema)]
pub struct CheckResult {
    pub id: String,
    /// The check's name (its id when it has none).
    pub name: String,
    pub severity: Severity,
}

/// `GET /api/racks/{rack_id}/state`.
#[derive(ToSchema)]
pub struct RackState {
    pub rack_id: String,
    pub state: Severity,
    /// The rack's own checks.
    pub checks: Vec<CheckResult>,
    /// The WARN and CRIT ones among them.
    pub alerts: Vec<CheckResult>,
    /// Average node temperature (of those above 0) and total power; 0 without
    /// `include_metrics`.
    pub metrics: RackMetrics,
    pub infra_metrics: InfraMetrics,
    /// Every node of the rack (and virtual node, `<instance>:<label>`), by name.
    pub nodes: HashMap<String, NodeState>,
    pub maintenance: Option<MaintenanceCover>,
    pub generated_at: f64,
    pub stale: bool,
    pub error: Option<String>,
}

/// A rack's measured temperature and power.
#[derive(ToSchema)]
pub struct RackMetrics {
    pub temperature: f64,
    pub power: f64,
}

/// Rack component metrics, with `include_metrics` (else empty): per component template
/// the rack mounts that lists metrics, each metric measured for the rack (its series
/// summed); a metric without a value is left out.
#[derive(ToSchema)]
pub struct InfraMetrics {
    pub components: HashMap<String, HashMap<String, f64>>,
}

/// A node in a rack's state.
#[derive(ToSchema)]
pub struct NodeState {
    pub state: Severity,
    /// 0 when not measured (or without `include_metrics`).
    pub temperature: f64,
    pub power: f64,
    pub checks: Vec<CheckResult>,
    pub alerts: Vec<CheckResult>,
    #[schema(required = false)]
    pub maintenance: Option<MaintenanceCover>,
}

/// `GET /api/alerts/active`.
#[derive(ToSchema)]
pub struct ActiveAlerts {
    /// Nodes first (topology order), then racks.
    pub alerts: Vec<Alert>,
    pub generated_at: f64,
    pub stale: bool,
    pub error: Option<String>,
}

/// A node or rack with WARN or CRIT checks. Rack entries have no `node_id`, `device_id`
/// or `device_name`.
#[derive(ToSchema)]
pub struct Alert {
    /// `node` or `rack`.
    #[schema(rename = "type")]
    pub kind: String,
    #[schema(required = false)]
    pub node_id: String,
    pub state: Severity,
    /// The failing checks (no names).
    pub checks: Vec<AlertCheck>,
    pub site_id: String,
    pub site_name: String,
    pub room_id: String,
    pub room_name: String,
    pub rack_id: String,
    pub rack_name: String,
    #[schema(required = false)]
    pub device_id: String,
    #[schema(required = false)]
    pub device_name: String,
    /// Present when a `badge` maintenance covers it.
    #[schema(required = false)]
    pub maintenance: AlertMaintenance,
}

/// A failing check of an alert.
#[derive(ToSchema)]
pub struct AlertCheck {
    pub id: String,
    pub severity: Severity,
}

/// The maintenance of an alert.
#[derive(ToSchema)]
pub struct AlertMaintenance {
    pub id: String,
    pub reason: String,
}

/// `GET /api/stats/global`: racks by state (those in maintenance count as OK).
#[derive(ToSchema)]
pub struct GlobalStats {
    pub total_rooms: u64,
    pub total_racks: u64,
    /// `crit_count + warn_count`.
    pub active_alerts: u64,
    pub crit_count: u64,
    pub warn_count: u64,
    pub unknown_count: u64,
    pub status: Severity,
    pub generated_at: f64,
    pub stale: bool,
    pub error: Option<String>,
}

/// `GET /api/stats/prometheus`: the latency of the last answers and the heartbeat; while
/// Prometheus fails, `status` is `down` with the error.
#[derive(ToSchema)]
pub struct PrometheusStats {
    pub last_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    /// Unix milliseconds of the last answer.
    pub last_ts: Option<f64>,
    pub heartbeat_seconds: i64,
    pub next_ts: Option<f64>,
    /// `up`, `down` or `unknown` (nothing asked yet).
    pub status: String,
    pub error: Option<String>,
    pub error_ts: Option<f64>,
}

/// `GET /api/stats/telemetry`: the Prometheus client's counters and the planner's last
/// batch and recompute.
#[derive(ToSchema)]
pub struct TelemetryStats {
    pub query_count: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub in_flight: u64,
    pub last_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub last_ts: Option<f64>,
    pub last_batch: LastBatch,
    pub planner: PlannerReport,
}

/// The planner's last batch of queries.
#[derive(ToSchema)]
pub struct LastBatch {
    pub total_ids: u64,
    pub query_count: u64,
    pub max_ids_per_query: u64,
    pub ts: Option<f64>,
}

/// How the last recomputes went.
#[derive(ToSchema)]
pub struct PlannerReport {
    pub recomputes: u64,
    pub last_took_ms: Option<f64>,
    pub last_queries_ms: Option<f64>,
    pub last_assemble_ms: Option<f64>,
    pub last_answers_ms: Option<f64>,
    pub discovery_queries: u64,
    /// Queries for `include_metrics` (node temperature and power, rack components).
    pub metric_queries: u64,
    pub failed_queries: u64,
    pub errors: Vec<String>,
    pub stale: bool,
}

/// `GET /api/devices/{rack_id}/{device_id}/metrics`: each metric the device's template
/// lists, for each of its instances (null when Prometheus has no value).
#[derive(ToSchema)]
pub struct DeviceMetrics {
    pub device_id: String,
    pub rack_id: String,
    pub metrics: HashMap<String, HashMap<String, Option<f64>>>,
}

// ---------------------------------------------------------------------------------------
// Maintenances
// ---------------------------------------------------------------------------------------

/// A maintenance: what it covers, why, how, and when.
#[derive(ToSchema)]
pub struct Maintenance {
    /// 12 hex characters.
    pub id: String,
    /// `site`, `room`, `rack` or `device`.
    pub target_type: String,
    /// The site, room, rack or device id (a device also by one of its instances).
    pub target_id: String,
    pub reason: String,
    /// `hide` drops the alerts it covers, `badge` marks them.
    pub effect: String,
    /// ISO 8601.
    pub created_at: String,
    pub starts_at: Option<String>,
    pub expires_at: Option<String>,
    pub ended_at: Option<String>,
    /// `ACTIVE`, `SCHEDULED` or `EXPIRED`, at the time of the answer.
    pub status: String,
}

/// `GET /api/maintenances`.
#[derive(ToSchema)]
pub struct Maintenances {
    pub maintenances: Vec<Maintenance>,
}

/// `POST /api/maintenances`. Times are ISO 8601; without a timezone they are UTC.
#[derive(ToSchema)]
pub struct NewMaintenance {
    /// `site`, `room`, `rack` or `device`.
    pub target_type: String,
    pub target_id: String,
    pub reason: String,
    /// `badge` (default) or `hide`.
    #[schema(required = false)]
    pub effect: String,
    #[schema(required = false)]
    pub starts_at: Option<String>,
    #[schema(required = false)]
    pub expires_at: Option<String>,
}

/// `PUT /api/maintenances/{id}`: only the keys sent change (`null` clears a time; the
/// target cannot change).
#[derive(ToSchema)]
pub struct MaintenanceChange {
    #[schema(required = false)]
    pub reason: String,
    #[schema(required = false)]
    pub effect: Option<String>,
    #[schema(required = false)]
    pub starts_at: Option<String>,
    #[schema(required = false)]
    pub expires_at: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Logs and metric data
// ---------------------------------------------------------------------------------------

/// One log record. Request records also carry `request_id`, `method`, `path`,
/// `status_code` and `duration_ms`.
#[derive(ToSchema)]
pub struct LogRecord {
    /// Sequence number, from 1, never reset.
    pub _seq: u64,
    /// ISO 8601 UTC with microseconds.
    pub timestamp: String,
    /// `DEBUG`, `INFO`, `WARNING`, `ERROR`.
    pub level: String,
    pub logger: String,
    /// Secrets redacted.
    pub message: String,
    #[schema(required = false)]
    pub request_id: String,
    #[schema(required = false)]
    pub method: String,
    #[schema(required = false)]
    pub path: String,
    #[schema(required = false)]
    pub status_code: u16,
    #[schema(required = false)]
    pub duration_ms: f64,
}

/// `GET /api/logs`.
#[derive(ToSchema)]
pub struct Logs {
    /// Oldest first.
    pub records: Vec<LogRecord>,
    /// How many records are returned.
    pub total: u64,
    /// The newest record's `_seq` in the buffer, filters aside (0 when empty).
    pub last_seq: u64,
}

/// `GET /api/metrics/data`: the series of one library metric for one target.
#[derive(ToSchema)]
pub struct MetricData {
    pub metric_id: String,
    pub target_id: String,
    pub time_range: String,
    pub step: String,
    pub unit: String,
    pub aggregation: String,
    /// The PromQL sent to Prometheus.
    pub query: String,
    /// Prometheus's matrix: `[{metric: {...}, values: [[ts, "v"], ...]}]`.
    pub series: Vec<Value>,
}
