//! The walk over the model: each section of the document, field by field in model order,
//! with every problem reported at its location.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::coerce::*;
use super::issue::*;
use super::rules::*;
use super::{FieldError, Loc, Options, AUTH_HASH_REQUIRED};
use crate::config::model::*;

/// An object under validation; `None` when absent or of the wrong type, in which case
/// every field takes its default (an invalid section is already reported).
#[derive(Clone, Copy)]
pub(super) struct Obj<'a>(Option<&'a Map<String, Value>>);

impl<'a> Obj<'a> {
    pub(super) fn get(self, key: &str) -> Option<&'a Value> {
        self.0.and_then(|m| m.get(key))
    }
}

pub(super) struct Validator {
    pub(super) errors: Vec<FieldError>,
    /// Location of the object being walked.
    pub(super) path: Vec<Loc>,
    pub(super) options: Options,
}

impl Validator {
    pub(super) fn report(&mut self, suffix: &[Loc], issue: Issue, input: &Value) {
        let mut loc = self.path.clone();
        loc.extend_from_slice(suffix);
        self.errors.push(issue.at(loc, input.clone()));
    }

    /// Runs `f` with `key` appended to the current location.
    pub(super) fn nested<T>(&mut self, key: impl Into<Loc>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(key.into());
        let out = f(self);
        self.path.pop();
        out
    }

    /// Reads `key` with `f`: the default when absent, reported and defaulted when invalid.
    pub(super) fn field<T>(
        &mut self,
        o: Obj<'_>,
        key: &str,
        default: T,
        f: impl FnOnce(&Value) -> Result<T, Issue>,
    ) -> T {
        match o.get(key) {
            None => default,
            Some(v) => f(v).unwrap_or_else(|issue| {
                self.report(&[key.into()], issue, v);
                default
            }),
        }
    }

    /// A required string of at least one character. An absent key is a `missing` error
    /// whose input is the containing object.
    pub(super) fn required_str(&mut self, o: Obj<'_>, key: &str) -> String {
        if let Some(map) = o.0.filter(|m| !m.contains_key(key)) {
            let input = Value::Object(map.clone());
            self.report(
                &[key.into()],
                Issue::new("missing", "Field required"),
                &input,
            );
            return String::new();
        }
        self.field(o, key, String::new(), |v| non_empty(coerce_str(v)?))
    }

    pub(super) fn int(&mut self, o: Obj<'_>, key: &str, default: i64, range: IntRange) -> i64 {
        self.field(o, key, default, |v| range.check(coerce_int(v)?))
    }

    pub(super) fn opt_int(
        &mut self,
        o: Obj<'_>,
        key: &str,
        default: Option<i64>,
        r: IntRange,
    ) -> Option<i64> {
        self.field(o, key, default, |v| {
            nullable(v, |v| r.check(coerce_int(v)?))
        })
    }

    pub(super) fn float(&mut self, o: Obj<'_>, key: &str, default: f64, range: FloatRange) -> f64 {
        self.field(o, key, default, |v| range.check(coerce_float(v)?))
    }

    pub(super) fn boolean(&mut self, o: Obj<'_>, key: &str, default: bool) -> bool {
        self.field(o, key, default, coerce_bool)
    }

    pub(super) fn string(&mut self, o: Obj<'_>, key: &str, default: String) -> String {
        self.field(o, key, default, coerce_str)
    }

    pub(super) fn non_empty_string(&mut self, o: Obj<'_>, key: &str, default: String) -> String {
        self.field(o, key, default, |v| non_empty(coerce_str(v)?))
    }

    pub(super) fn opt_string(
        &mut self,
        o: Obj<'_>,
        key: &str,
        default: Option<String>,
    ) -> Option<String> {
        self.field(o, key, default, |v| nullable(v, coerce_str))
    }

    pub(super) fn literal(
        &mut self,
        o: Obj<'_>,
        key: &str,
        default: String,
        options: &[&str],
    ) -> String {
        self.field(o, key, default, |v| literal(v, options))
    }

    pub(super) fn str_list(&mut self, o: Obj<'_>, key: &str, default: Vec<String>) -> Vec<String> {
        match o.get(key) {
            None => default,
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match coerce_str(item) {
                        Ok(s) => out.push(s),
                        Err(issue) => self.report(&[key.into(), i.into()], issue, item),
                    }
                }
                out
            }
            Some(v) => {
                self.report(&[key.into()], list_type(), v);
                default
            }
        }
    }

    /// The object at `key`, for a nested model named `class_name` in the reference.
    pub(super) fn object<'a>(&mut self, o: Obj<'a>, key: &str, class_name: &str) -> Obj<'a> {
        match o.get(key) {
            None => Obj(None),
            Some(Value::Object(m)) => Obj(Some(m)),
            Some(v) => {
                self.report(&[key.into()], model_type(class_name), v);
                Obj(None)
            }
        }
    }

    // -- sections, in model field order ---------------------------------------------------

    pub(super) fn app_config(&mut self, doc: &Value) -> AppConfig {
        let root = match doc {
            Value::Object(m) => Obj(Some(m)),
            other => {
                self.report(&[], model_type("AppConfig"), other);
                Obj(None)
            }
        };
        let app = self.section(root, "app", "AppInfoConfig", Self::app);
        let paths = match (root.0, root.get("paths")) {
            (Some(m), None) => {
                let input = Value::Object(m.clone());
                self.report(
                    &["paths".into()],
                    Issue::new("missing", "Field required"),
                    &input,
                );
                Paths::new("", "", "")
            }
            _ => self.section(root, "paths", "PathsConfig", Self::paths),
        };
        AppConfig {
            app,
            paths,
            refresh: self.section(root, "refresh", "RefreshConfig", Self::refresh),
            cache: self.section(root, "cache", "CacheConfig", Self::cache),
            telemetry: self.section(root, "telemetry", "TelemetryConfig", Self::telemetry),
            planner: self.section(root, "planner", "PlannerConfig", Self::planner),
            features: self.section(root, "features", "FeatureConfig", Self::features),
            auth: self.section(root, "auth", "AuthConfig", Self::auth),
            map: self.section(root, "map", "MapConfig", Self::map),
            playlist: self.section(root, "playlist", "PlaylistConfig", Self::playlist),
            plugins: self.plugins(root),
            simulator: self.legacy(root, "simulator", "SimulatorConfig", Self::simulator),
            slurm: self.legacy(root, "slurm", "SlurmConfig", Self::slurm),
        }
    }

    /// A defaulted nested model: absent means all defaults.
    pub(super) fn section<T>(
        &mut self,
        o: Obj<'_>,
        key: &str,
        class_name: &str,
        f: impl FnOnce(&mut Self, Obj<'_>) -> T,
    ) -> T {
        let inner = self.object(o, key, class_name);
        self.nested(key, |v| f(v, inner))
    }

    /// A nullable legacy section: absent or null means `None`.
    pub(super) fn legacy<T>(
        &mut self,
        o: Obj<'_>,
        key: &str,
        class_name: &str,
        f: impl FnOnce(&mut Self, Obj<'_>) -> T,
    ) -> Option<T> {
        match o.get(key) {
            None | Some(Value::Null) => None,
            Some(_) => Some(self.section(o, key, class_name, f)),
        }
    }

    pub(super) fn app(&mut self, o: Obj<'_>) -> AppSection {
        let d = AppSection::default();
        AppSection {
            name: self.non_empty_string(o, "name", d.name),
            description: self.opt_string(o, "description", d.description),
        }
    }

    pub(super) fn paths(&mut self, o: Obj<'_>) -> Paths {
        Paths {
            topology: self.required_str(o, "topology"),
            templates: self.required_str(o, "templates"),
            checks: self.required_str(o, "checks"),
            metrics: self.non_empty_string(o, "metrics", Paths::DEFAULT_METRICS.into()),
            plugins: self.non_empty_string(o, "plugins", Paths::DEFAULT_PLUGINS.into()),
        }
    }

    pub(super) fn refresh(&mut self, o: Obj<'_>) -> Refresh {
        let d = Refresh::default();
        Refresh {
            room_state_seconds: self.int(
                o,
                "room_state_seconds",
                d.room_state_seconds,
                at_least(10),
            ),
            rack_state_seconds: self.int(
                o,
                "rack_state_seconds",
                d.rack_state_seconds,
                at_least(10),
            ),
        }
    }

    pub(super) fn cache(&mut self, o: Obj<'_>) -> Cache {
        let d = Cache::default();
        Cache {
            ttl_seconds: self.int(o, "ttl_seconds", d.ttl_seconds, at_least(1)),
            health_checks_ttl_seconds: self.int(
                o,
                "health_checks_ttl_seconds",
                d.health_checks_ttl_seconds,
                at_least(1),
            ),
            metrics_ttl_seconds: self.int(
                o,
                "metrics_ttl_seconds",
                d.metrics_ttl_seconds,
                at_least(1),
            ),
            service_ttl_seconds: self.int(
                o,
                "service_ttl_seconds",
                d.service_ttl_seconds,
                at_least(1),
            ),
        }
    }

    pub(super) fn telemetry(&mut self, o: Obj<'_>) -> Telemetry {
        let d = Telemetry::default();
        let prometheus_url = self.field(o, "prometheus_url", d.prometheus_url, |v| {
            let url = nullable(v, coerce_str)?;
            if let Some(u) = url.as_deref().filter(|u| !u.is_empty()) {
                check_prometheus_url(u).map_err(|e| Issue::value_error(&e))?;
            }
            Ok(empty_to_none(url))
        });
        let timeout = FloatRange {
            gt: Some(0.0),
            ge: None,
            le: Some(60.0),
        };
        let prometheus_timeout_seconds = self.float(
            o,
            "prometheus_timeout_seconds",
            d.prometheus_timeout_seconds,
            timeout,
        );
        let identity_label = self.string(o, "identity_label", d.identity_label);
        let rack_label = self.string(o, "rack_label", d.rack_label);
        let chassis_label = self.string(o, "chassis_label", d.chassis_label);
        let job_regex = self.field(o, "job_regex", d.job_regex, |v| {
            let pattern = coerce_str(v)?;
            check_job_regex(&pattern).map_err(|e| Issue::value_error(&e))?;
            Ok(pattern)
        });
        let prometheus_heartbeat_seconds = self.int(
            o,
            "prometheus_heartbeat_seconds",
            d.prometheus_heartbeat_seconds,
            at_least(10),
        );
        let prometheus_latency_window = self.int(
            o,
            "prometheus_latency_window",
            d.prometheus_latency_window,
            at_least(1),
        );
        let debug_stats = self.boolean(o, "debug_stats", d.debug_stats);
        // Cross-field rules see the earlier field's validated value: None when it was
        // absent, empty or invalid.
        let basic_auth_user = self.field(o, "basic_auth_user", d.basic_auth_user, |v| {
            nullable(v, coerce_str).map(empty_to_none)
        });
        let has_user = basic_auth_user.is_some();
        let basic_auth_password = self.field(o, "basic_auth_password", None, |v| {
            let password = empty_to_none(nullable(v, coerce_str)?);
            if password.is_some() && !has_user {
                return Err(Issue::value_error(
                    "basic_auth_user is required when basic_auth_password is set",
                ));
            }
            Ok(password)
        });
        let tls_verify = self.boolean(o, "tls_verify", d.tls_verify);
        let tls_ca_file = self.field(o, "tls_ca_file", None, |v| {
            nullable(v, coerce_str).map(empty_to_none)
        });
        let tls_cert_file = self.field(o, "tls_cert_file", None, |v| {
            nullable(v, coerce_str).map(empty_to_none)
        });
        let has_cert = tls_cert_file.is_some();
        let tls_key_file = self.field(o, "tls_key_file", None, |v| {
            let key = empty_to_none(nullable(v, coerce_str)?);
            if key.is_some() && !has_cert {
                return Err(Issue::value_error(
                    "tls_cert_file is required when tls_key_file is set",
                ));
            }
            Ok(key)
        });
        Telemetry {
            prometheus_url,
            prometheus_timeout_seconds,
            identity_label,
            rack_label,
            chassis_label,
            job_regex,
            prometheus_heartbeat_seconds,
            prometheus_latency_window,
            debug_stats,
            basic_auth_user,
            basic_auth_password,
            tls_verify,
            tls_ca_file,
            tls_cert_file,
            tls_key_file,
        }
    }

    pub(super) fn planner(&mut self, o: Obj<'_>) -> Planner {
        let d = Planner::default();
        Planner {
            unknown_state: self.literal(
                o,
                "unknown_state",
                d.unknown_state,
                &["OK", "WARN", "CRIT", "UNKNOWN"],
            ),
            cache_ttl_seconds: self.int(o, "cache_ttl_seconds", d.cache_ttl_seconds, at_least(1)),
            max_ids_per_query: self.int(o, "max_ids_per_query", d.max_ids_per_query, at_least(1)),
        }
    }

    pub(super) fn features(&mut self, o: Obj<'_>) -> Features {
        let d = Features::default();
        Features {
            notifications: self.boolean(o, "notifications", d.notifications),
            notifications_max_visible: self.int(
                o,
                "notifications_max_visible",
                d.notifications_max_visible,
                at_least(1),
            ),
            playlist: self.boolean(o, "playlist", d.playlist),
            offline: self.boolean(o, "offline", d.offline),
            wizard: self.boolean(o, "wizard", d.wizard),
            worldmap: self.boolean(o, "worldmap", d.worldmap),
            show_logs: self.boolean(o, "show_logs", d.show_logs),
            dev_tools: self.boolean(o, "dev_tools", d.dev_tools),
            maintenances: self.boolean(o, "maintenances", d.maintenances),
        }
    }

    pub(super) fn auth(&mut self, o: Obj<'_>) -> Auth {
        let d = Auth::default();
        let enabled = self.boolean(o, "enabled", d.enabled);
        let username = self.string(o, "username", d.username);
        let raw_hash = o.get("password_hash");
        let password_hash = self.string(o, "password_hash", d.password_hash);
        // Our rule (never a lock-out). An absent hash counts as "" and stands as the input;
        // a hash of the wrong type is already reported.
        if self.options.require_hash_when_auth_enabled
            && enabled
            && password_hash.is_empty()
            && raw_hash.is_none_or(Value::is_string)
        {
            let input = raw_hash
                .cloned()
                .unwrap_or_else(|| Value::String(String::new()));
            self.report(
                &["password_hash".into()],
                Issue::value_error(AUTH_HASH_REQUIRED),
                &input,
            );
        }
        Auth {
            enabled,
            username,
            password_hash,
            secret_key: self.string(o, "secret_key", d.secret_key),
            session_duration: self.literal(
                o,
                "session_duration",
                d.session_duration,
                &["8h", "24h", "unlimited"],
            ),
            policy: self.section(o, "policy", "PasswordPolicyConfig", Self::policy),
            trusted_networks: self.str_list(o, "trusted_networks", d.trusted_networks),
            trusted_proxies: self.str_list(o, "trusted_proxies", d.trusted_proxies),
        }
    }

    pub(super) fn policy(&mut self, o: Obj<'_>) -> PasswordPolicy {
        let d = PasswordPolicy::default();
        PasswordPolicy {
            min_length: self.int(o, "min_length", d.min_length, between(1, 128)),
            max_length: self.int(o, "max_length", d.max_length, between(6, 512)),
            require_digit: self.boolean(o, "require_digit", d.require_digit),
            require_symbol: self.boolean(o, "require_symbol", d.require_symbol),
        }
    }

    pub(super) fn map(&mut self, o: Obj<'_>) -> MapConfig {
        let d = MapConfig::default();
        MapConfig {
            default_view: self.field(o, "default_view", d.default_view, |v| {
                nullable(v, |v| {
                    literal(v, &["world", "continent", "country", "city"])
                })
            }),
            default_zoom: self.opt_int(o, "default_zoom", d.default_zoom, between(1, 18)),
            min_zoom: self.int(o, "min_zoom", d.min_zoom, between(1, 18)),
            max_zoom: self.int(o, "max_zoom", d.max_zoom, between(1, 18)),
            zoom_controls: self.boolean(o, "zoom_controls", d.zoom_controls),
            center: self.section(o, "center", "MapCenterConfig", Self::center),
        }
    }

    pub(super) fn center(&mut self, o: Obj<'_>) -> MapCenter {
        let d = MapCenter::default();
        let range = |limit: f64| FloatRange {
            gt: None,
            ge: Some(-limit),
            le: Some(limit),
        };
        MapCenter {
            lat: self.float(o, "lat", d.lat, range(90.0)),
            lon: self.float(o, "lon", d.lon, range(180.0)),
        }
    }

    pub(super) fn playlist(&mut self, o: Obj<'_>) -> Playlist {
        let d = Playlist::default();
        Playlist {
            interval_seconds: self.int(o, "interval_seconds", d.interval_seconds, at_least(5)),
            views: self.str_list(o, "views", d.views),
        }
    }

    /// `Dict[str, Dict[str, Any]]`: each value must be an object, kept as it is.
    pub(super) fn plugins(&mut self, o: Obj<'_>) -> IndexMap<String, Map<String, Value>> {
        let mut out = IndexMap::new();
        match o.get("plugins") {
            None => {}
            Some(Value::Object(m)) => {
                for (id, value) in m {
                    match value {
                        Value::Object(pm) => {
                            out.insert(id.clone(), pm.clone());
                        }
                        other => {
                            self.report(&["plugins".into(), id.as_str().into()], dict_type(), other)
                        }
                    }
                }
            }
            Some(other) => self.report(&["plugins".into()], dict_type(), other),
        }
        out
    }

    pub(super) fn simulator(&mut self, o: Obj<'_>) -> LegacySimulator {
        let d = LegacySimulator::default();
        LegacySimulator {
            update_interval_seconds: self.int(
                o,
                "update_interval_seconds",
                d.update_interval_seconds,
                at_least(1),
            ),
            seed: self.opt_int(o, "seed", d.seed, ANY),
            overrides_path: self.non_empty_string(o, "overrides_path", d.overrides_path),
            default_ttl_seconds: self.int(
                o,
                "default_ttl_seconds",
                d.default_ttl_seconds,
                at_least(0),
            ),
            metrics_catalog_path: self.non_empty_string(
                o,
                "metrics_catalog_path",
                d.metrics_catalog_path,
            ),
            metrics_catalogs: self.catalogs(o),
        }
    }

    pub(super) fn catalogs(&mut self, o: Obj<'_>) -> Vec<CatalogRef> {
        let key = "metrics_catalogs";
        match o.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => self.nested(key, |v| {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let entry = match item {
                        Value::Object(m) => Obj(Some(m)),
                        other => {
                            v.report(&[i.into()], model_type("SimulatorMetricsCatalog"), other);
                            continue;
                        }
                    };
                    out.push(v.nested(i, |v| CatalogRef {
                        id: v.required_str(entry, "id"),
                        path: v.required_str(entry, "path"),
                        enabled: v.boolean(entry, "enabled", true),
                    }));
                }
                out
            }),
            Some(other) => {
                self.report(&[key.into()], list_type(), other);
                Vec::new()
            }
        }
    }

    pub(super) fn slurm(&mut self, o: Obj<'_>) -> LegacySlurm {
        let d = LegacySlurm::default();
        LegacySlurm {
            metric: self.non_empty_string(o, "metric", d.metric),
            label_node: self.non_empty_string(o, "label_node", d.label_node),
            label_status: self.non_empty_string(o, "label_status", d.label_status),
            label_partition: self.non_empty_string(o, "label_partition", d.label_partition),
            status_map: self.section(o, "status_map", "SlurmStatusMap", Self::status_map),
            roles: self.str_list(o, "roles", d.roles),
            include_unlabeled: self.boolean(o, "include_unlabeled", d.include_unlabeled),
            mapping_path: self.opt_string(o, "mapping_path", d.mapping_path),
        }
    }

    pub(super) fn status_map(&mut self, o: Obj<'_>) -> SlurmStatusMap {
        let d = SlurmStatusMap::default();
        SlurmStatusMap {
            ok: self.str_list(o, "ok", d.ok),
            warn: self.str_list(o, "warn", d.warn),
            crit: self.str_list(o, "crit", d.crit),
        }
    }
}
