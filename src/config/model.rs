//! Typed `app.yaml` model. Field order is the dump order of the file and of `GET /api/config`.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

/// The whole application config. Only `paths` is required in the file; every other section
/// has a full default (see [`AppConfig::with_paths`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppConfig {
    pub app: AppSection,
    pub paths: Paths,
    pub refresh: Refresh,
    pub cache: Cache,
    pub telemetry: Telemetry,
    pub planner: Planner,
    pub features: Features,
    pub auth: Auth,
    pub map: MapConfig,
    pub playlist: Playlist,
    /// Plugin id -> free-form object. The host reads only `enabled` (truthiness).
    pub plugins: IndexMap<String, Map<String, Value>>,
    /// Deprecated legacy section, read only by plugins as a fallback. Dumped as `null` when absent.
    pub simulator: Option<LegacySimulator>,
    /// Deprecated legacy section, read only by plugins as a fallback. Dumped as `null` when absent.
    pub slurm: Option<LegacySlurm>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppSection {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Paths {
    pub topology: String,
    pub templates: String,
    pub checks: String,
    pub metrics: String,
    /// Our addition: the folder that holds the Lua plugins (default `plugins`).
    pub plugins: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Refresh {
    pub room_state_seconds: i64,
    pub rack_state_seconds: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cache {
    pub ttl_seconds: i64,
    pub health_checks_ttl_seconds: i64,
    pub metrics_ttl_seconds: i64,
    pub service_ttl_seconds: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Telemetry {
    pub prometheus_url: Option<String>,
    pub prometheus_timeout_seconds: f64,
    pub identity_label: String,
    pub rack_label: String,
    pub chassis_label: String,
    pub job_regex: String,
    pub prometheus_heartbeat_seconds: i64,
    pub prometheus_latency_window: i64,
    pub debug_stats: bool,
    pub basic_auth_user: Option<String>,
    /// Sensitive: never returned by the API.
    pub basic_auth_password: Option<String>,
    pub tls_verify: bool,
    pub tls_ca_file: Option<String>,
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Planner {
    pub unknown_state: String,
    pub cache_ttl_seconds: i64,
    pub max_ids_per_query: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Features {
    pub notifications: bool,
    pub notifications_max_visible: i64,
    pub playlist: bool,
    pub offline: bool,
    pub wizard: bool,
    pub worldmap: bool,
    pub show_logs: bool,
    pub dev_tools: bool,
    pub maintenances: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Auth {
    pub enabled: bool,
    pub username: String,
    /// Sensitive: a bcrypt hash, "" when not configured. Never returned by the API.
    pub password_hash: String,
    /// Sensitive: the HS256 key, "" for a per-process random key. Never returned by the API.
    pub secret_key: String,
    /// "8h", "24h" or "unlimited".
    pub session_duration: String,
    pub policy: PasswordPolicy,
    pub trusted_networks: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PasswordPolicy {
    pub min_length: i64,
    pub max_length: i64,
    pub require_digit: bool,
    pub require_symbol: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MapConfig {
    pub default_view: Option<String>,
    pub default_zoom: Option<i64>,
    pub min_zoom: i64,
    pub max_zoom: i64,
    pub zoom_controls: bool,
    pub center: MapCenter,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MapCenter {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Playlist {
    pub interval_seconds: i64,
    pub views: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LegacySimulator {
    pub update_interval_seconds: i64,
    pub seed: Option<i64>,
    pub overrides_path: String,
    pub default_ttl_seconds: i64,
    pub metrics_catalog_path: String,
    pub metrics_catalogs: Vec<CatalogRef>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CatalogRef {
    pub id: String,
    pub path: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LegacySlurm {
    pub metric: String,
    pub label_node: String,
    pub label_status: String,
    pub label_partition: String,
    pub status_map: SlurmStatusMap,
    pub roles: Vec<String>,
    pub include_unlabeled: bool,
    pub mapping_path: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlurmStatusMap {
    pub ok: Vec<String>,
    pub warn: Vec<String>,
    pub crit: Vec<String>,
}

/// The three secret fields, as a unit: what `PUT /api/config` preserves and what no
/// response ever carries.
pub const SECRET_FIELDS: [(&str, &str); 3] = [
    ("telemetry", "basic_auth_password"),
    ("auth", "password_hash"),
    ("auth", "secret_key"),
];
