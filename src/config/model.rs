//! Typed `app.yaml` model. Field order is the dump order of the file and of `GET /api/config`.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The whole application config. Only `paths.topology`, `.templates` and `.checks` are
/// required; every other section has a full default (see [`AppConfig::with_paths`]).
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
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
    #[schema(value_type = HashMap<String, Object>)]
    pub plugins: IndexMap<String, Map<String, Value>>,
    /// Deprecated legacy section, read only by plugins as a fallback. Dumped as `null` when absent.
    pub simulator: Option<LegacySimulator>,
    /// Deprecated legacy section, read only by plugins as a fallback. Dumped as `null` when absent.
    pub slurm: Option<LegacySlurm>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct AppSection {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct Paths {
    pub topology: String,
    pub templates: String,
    pub checks: String,
    pub metrics: String,
    /// Our addition: the folder that holds the Lua plugins (default `plugins`).
    pub plugins: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct Refresh {
    pub room_state_seconds: i64,
    pub rack_state_seconds: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct Cache {
    pub ttl_seconds: i64,
    pub health_checks_ttl_seconds: i64,
    pub metrics_ttl_seconds: i64,
    pub service_ttl_seconds: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
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

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct Planner {
    pub unknown_state: String,
    pub cache_ttl_seconds: i64,
    pub max_ids_per_query: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
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

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
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
    /// Our addition: reverse proxies (CIDRs or addresses) whose `X-Forwarded-For` is
    /// believed for the client address. Empty (the default): the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct PasswordPolicy {
    pub min_length: i64,
    pub max_length: i64,
    pub require_digit: bool,
    pub require_symbol: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct MapConfig {
    pub default_view: Option<String>,
    pub default_zoom: Option<i64>,
    pub min_zoom: i64,
    pub max_zoom: i64,
    pub zoom_controls: bool,
    pub center: MapCenter,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct MapCenter {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct Playlist {
    pub interval_seconds: i64,
    pub views: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct LegacySimulator {
    pub update_interval_seconds: i64,
    pub seed: Option<i64>,
    pub overrides_path: String,
    pub default_ttl_seconds: i64,
    pub metrics_catalog_path: String,
    pub metrics_catalogs: Vec<CatalogRef>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct CatalogRef {
    pub id: String,
    pub path: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
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

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
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

// ---------------------------------------------------------------------------------------
// Defaults. These are the single source of the schema defaults (docs/architecture.md, compatibility C1): the
// validator fills every absent key from them, so a value written here is what an omitted
// key means.
// ---------------------------------------------------------------------------------------

impl AppConfig {
    /// A config with the given required paths and every other value at its default.
    pub fn with_paths(
        topology: impl Into<String>,
        templates: impl Into<String>,
        checks: impl Into<String>,
    ) -> AppConfig {
        AppConfig {
            app: AppSection::default(),
            paths: Paths::new(topology, templates, checks),
            refresh: Refresh::default(),
            cache: Cache::default(),
            telemetry: Telemetry::default(),
            planner: Planner::default(),
            features: Features::default(),
            auth: Auth::default(),
            map: MapConfig::default(),
            playlist: Playlist::default(),
            plugins: IndexMap::new(),
            simulator: None,
            slurm: None,
        }
    }

    /// Whether `plugins.<id>.enabled` is set and truthy in the Python sense: `true`, a
    /// non-zero number, a non-empty string, list or map. A plugin absent from the map, or
    /// without `enabled`, is disabled.
    pub fn plugin_enabled(&self, id: &str) -> bool {
        self.plugins
            .get(id)
            .and_then(|p| p.get("enabled"))
            .is_some_and(truthy)
    }
}

/// Python truthiness of a JSON value (`bool(x)` after `json.loads`).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

impl Default for AppSection {
    fn default() -> Self {
        AppSection {
            name: "Rackscope".into(),
            description: Some("Datacenter Overview".into()),
        }
    }
}

impl Paths {
    /// The three required paths; `metrics` and `plugins` take their defaults.
    pub fn new(
        topology: impl Into<String>,
        templates: impl Into<String>,
        checks: impl Into<String>,
    ) -> Paths {
        Paths {
            topology: topology.into(),
            templates: templates.into(),
            checks: checks.into(),
            metrics: Paths::DEFAULT_METRICS.into(),
            plugins: Paths::DEFAULT_PLUGINS.into(),
        }
    }

    pub const DEFAULT_METRICS: &'static str = "config/metrics/library";
    pub const DEFAULT_PLUGINS: &'static str = "plugins";
}

impl Default for Refresh {
    fn default() -> Self {
        Refresh {
            room_state_seconds: 30,
            rack_state_seconds: 30,
        }
    }
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            ttl_seconds: 30,
            health_checks_ttl_seconds: 30,
            metrics_ttl_seconds: 120,
            service_ttl_seconds: 5,
        }
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            prometheus_url: None,
            prometheus_timeout_seconds: 5.0,
            identity_label: "instance".into(),
            rack_label: "rack_id".into(),
            chassis_label: "chassis_id".into(),
            job_regex: ".*".into(),
            prometheus_heartbeat_seconds: 30,
            prometheus_latency_window: 20,
            debug_stats: false,
            basic_auth_user: None,
            basic_auth_password: None,
            tls_verify: true,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

impl Default for Planner {
    fn default() -> Self {
        Planner {
            unknown_state: "UNKNOWN".into(),
            cache_ttl_seconds: 30,
            max_ids_per_query: 200,
        }
    }
}

impl Default for Features {
    fn default() -> Self {
        Features {
            notifications: true,
            notifications_max_visible: 10,
            playlist: false,
            offline: false,
            wizard: true,
            worldmap: true,
            show_logs: true,
            dev_tools: false,
            maintenances: true,
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            enabled: false,
            username: "admin".into(),
            password_hash: String::new(),
            secret_key: String::new(),
            session_duration: "24h".into(),
            policy: PasswordPolicy::default(),
            trusted_networks: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 6,
            max_length: 128,
            require_digit: false,
            require_symbol: false,
        }
    }
}

impl Default for MapConfig {
    fn default() -> Self {
        MapConfig {
            default_view: Some("world".into()),
            default_zoom: None,
            min_zoom: 2,
            max_zoom: 7,
            zoom_controls: true,
            center: MapCenter::default(),
        }
    }
}

impl Default for MapCenter {
    fn default() -> Self {
        MapCenter {
            lat: 20.0,
            lon: 0.0,
        }
    }
}

impl Default for Playlist {
    fn default() -> Self {
        Playlist {
            interval_seconds: 30,
            views: vec!["/views/worldmap".into(), "/slurm/overview".into()],
        }
    }
}

impl Default for LegacySimulator {
    fn default() -> Self {
        LegacySimulator {
            update_interval_seconds: 20,
            seed: None,
            overrides_path: "config/plugins/simulator/overrides/overrides.yaml".into(),
            default_ttl_seconds: 120,
            metrics_catalog_path: "config/plugins/simulator/metrics/metrics_full.yaml".into(),
            metrics_catalogs: Vec::new(),
        }
    }
}

impl Default for LegacySlurm {
    fn default() -> Self {
        LegacySlurm {
            metric: "slurm_node_status".into(),
            label_node: "node".into(),
            label_status: "status".into(),
            label_partition: "partition".into(),
            status_map: SlurmStatusMap::default(),
            roles: vec!["compute".into(), "visu".into()],
            include_unlabeled: false,
            mapping_path: None,
        }
    }
}

impl Default for SlurmStatusMap {
    fn default() -> Self {
        fn strings(items: &[&str]) -> Vec<String> {
            items.iter().map(|s| (*s).to_string()).collect()
        }
        SlurmStatusMap {
            ok: strings(&["idle", "allocated", "alloc", "completing", "comp"]),
            warn: strings(&[
                "mixed",
                "mix",
                "maint",
                "planned",
                "plnd",
                "reserved",
                "resv",
                "blocked",
                "block",
                "power_down",
                "pow_dn",
                "power_up",
                "pow_up",
                "powering_up",
                "powered_down",
                "reboot_issued",
                "reboot_req",
            ]),
            crit: strings(&[
                "down", "drain", "drained", "draining", "drng", "fail", "failing", "failg",
                "error", "unknown", "unk", "noresp", "inval",
            ]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn with_paths_fills_every_default() {
        let cfg = AppConfig::with_paths("topo", "tpl", "chk");
        assert_eq!(cfg.paths.topology, "topo");
        assert_eq!(cfg.paths.templates, "tpl");
        assert_eq!(cfg.paths.checks, "chk");
        assert_eq!(cfg.paths.metrics, "config/metrics/library");
        assert_eq!(cfg.paths.plugins, "plugins");
        assert_eq!(cfg.app.name, "Rackscope");
        assert_eq!(cfg.app.description.as_deref(), Some("Datacenter Overview"));
        assert_eq!(cfg.cache.metrics_ttl_seconds, 120);
        assert_eq!(cfg.cache.service_ttl_seconds, 5);
        assert_eq!(cfg.telemetry.prometheus_timeout_seconds, 5.0);
        assert!(cfg.telemetry.tls_verify);
        assert_eq!(cfg.planner.max_ids_per_query, 200);
        assert!(cfg.features.notifications && cfg.features.wizard && cfg.features.maintenances);
        assert!(!cfg.features.playlist && !cfg.features.dev_tools);
        assert_eq!(cfg.auth.session_duration, "24h");
        assert_eq!(cfg.auth.policy.max_length, 128);
        assert_eq!(cfg.map.default_view.as_deref(), Some("world"));
        assert_eq!(cfg.map.default_zoom, None);
        assert_eq!((cfg.map.min_zoom, cfg.map.max_zoom), (2, 7));
        assert_eq!(
            cfg.playlist.views,
            vec!["/views/worldmap", "/slurm/overview"]
        );
        assert!(cfg.plugins.is_empty());
        assert_eq!((cfg.simulator, cfg.slurm), (None, None));
    }

    #[test]
    fn legacy_defaults() {
        let sim = LegacySimulator::default();
        assert_eq!(sim.update_interval_seconds, 20);
        assert_eq!(sim.default_ttl_seconds, 120);
        assert_eq!(
            sim.overrides_path,
            "config/plugins/simulator/overrides/overrides.yaml"
        );
        let slurm = LegacySlurm::default();
        assert_eq!(slurm.roles, vec!["compute", "visu"]);
        assert_eq!(slurm.status_map.ok.len(), 5);
        assert_eq!(slurm.status_map.warn.len(), 17);
        assert_eq!(slurm.status_map.crit.len(), 13);
    }

    #[test]
    fn plugin_enabled_uses_python_truthiness() {
        let mut cfg = AppConfig::with_paths("t", "t", "t");
        let cases = [
            (json!(true), true),
            (json!(false), false),
            (json!(null), false),
            (json!(1), true),
            (json!(0), false),
            (json!(0.0), false),
            (json!(-2.5), true),
            (json!("no"), true),
            (json!(""), false),
            (json!([0]), true),
            (json!([]), false),
            (json!({"a": 1}), true),
            (json!({}), false),
        ];
        for (i, (value, expected)) in cases.iter().enumerate() {
            let mut entry = Map::new();
            entry.insert("enabled".into(), value.clone());
            cfg.plugins.insert(format!("p{i}"), entry);
            assert_eq!(cfg.plugin_enabled(&format!("p{i}")), *expected, "{value}");
        }
        cfg.plugins.insert("bare".into(), Map::new());
        assert!(!cfg.plugin_enabled("bare"));
        assert!(!cfg.plugin_enabled("absent"));
    }
}
