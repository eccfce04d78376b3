//! The shapes in which a config leaves the process: the redacted JSON that the API serves,
//! the YAML written to `app.yaml`, the fixed object served when no config is loaded, and
//! the rule that keeps stored secrets when a client sends a config without them.

use serde_json::{json, Value};

use super::model::{AppConfig, SECRET_FIELDS};

/// First line of every `app.yaml` that rackscope writes.
pub const FILE_HEADER: &str = "# Managed by rackscope: written by the API (PUT /api/config); \
     comments and unknown keys are not kept.\n";

/// The full dump in model field order, defaults and nulls included, with the three
/// secret keys removed (omitted, not nulled): the body of `GET /api/config`.
pub fn redacted_json(cfg: &AppConfig) -> Value {
    let mut doc = full_json(cfg);
    strip_secrets(&mut doc);
    doc
}

/// The full dump in model field order, secrets included. For internal use only.
pub fn full_json(cfg: &AppConfig) -> Value {
    // Cannot fail: every map in the model has string keys, and serde_json turns a
    // non-finite float into null instead of failing.
    serde_json::to_value(cfg).expect("AppConfig always serialises to JSON")
}

/// Removes the secret keys of [`SECRET_FIELDS`] from a config dump, where present.
pub fn strip_secrets(doc: &mut Value) {
    for (section, key) in SECRET_FIELDS {
        if let Some(obj) = doc.get_mut(section).and_then(Value::as_object_mut) {
            obj.shift_remove(key);
        }
    }
}

/// A whole `app.yaml` for `cfg`: [`FILE_HEADER`], then the full dump in field order with
/// the secrets and `plugins` as held; the legacy `simulator` / `slurm` sections only when
/// set (nothing is written as `null` that the admin did not write). Used when the file on
/// disk cannot be edited in place ([`super::edit`] is the normal path).
pub fn file_yaml(cfg: &AppConfig) -> String {
    let mut doc = full_json(cfg);
    if let Some(obj) = doc.as_object_mut() {
        obj.retain(|k, v| !(matches!(k.as_str(), "simulator" | "slurm") && v.is_null()));
    }
    // Cannot fail: the model holds only strings, numbers, booleans, lists and maps with
    // string keys, all of which YAML represents.
    let body = serde_norway::to_string(&doc).expect("AppConfig always serialises to YAML");
    format!("{FILE_HEADER}{body}")
}

/// `GET /api/config` when no config is loaded: the reference's fixed object (docs/architecture.md,
/// compatibility C1), which is not the model defaults, minus its `basic_auth_password` key.
pub fn no_config_json() -> Value {
    json!({
        "paths": {},
        "refresh": {"room_state_seconds": 30, "rack_state_seconds": 30},
        "cache": {"ttl_seconds": 30},
        "telemetry": {
            "prometheus_url": null,
            "identity_label": "instance",
            "rack_label": "rack_id",
            "chassis_label": "chassis_id",
            "job_regex": ".*",
            "prometheus_heartbeat_seconds": 30,
            "prometheus_latency_window": 20,
            "basic_auth_user": null,
            "tls_verify": true,
            "tls_ca_file": null,
            "tls_cert_file": null,
            "tls_key_file": null
        },
        "planner": {"unknown_state": "UNKNOWN", "cache_ttl_seconds": 30, "max_ids_per_query": 50},
        "features": {"notifications": false, "playlist": false, "offline": false},
        "simulator": {
            "update_interval_seconds": 20,
            "seed": null,
            "default_ttl_seconds": 120,
            "overrides_path": "config/plugins/simulator/overrides/overrides.yaml",
            "metrics_catalog_path": "config/plugins/simulator/metrics/metrics_full.yaml",
            "metrics_catalogs": []
        }
    })
}

/// Keeps the stored secrets that a client did not send: an empty `auth.password_hash` or
/// `auth.secret_key`, or an absent/empty `telemetry.basic_auth_password`, in `new` takes
/// the value of `current`. Unlike the reference, the Prometheus password is kept too, so a
/// GET -> PUT round trip does not erase it (a reference bug). It is kept only while
/// `new` still names a basic-auth user, the pairing that validation enforces.
pub fn preserve_secrets(new: &mut AppConfig, current: &AppConfig) {
    if new.auth.password_hash.is_empty() {
        new.auth
            .password_hash
            .clone_from(&current.auth.password_hash);
    }
    if new.auth.secret_key.is_empty() {
        new.auth.secret_key.clone_from(&current.auth.secret_key);
    }
    let sent = new
        .telemetry
        .basic_auth_password
        .as_deref()
        .is_some_and(|p| !p.is_empty());
    if !sent && new.telemetry.basic_auth_user.is_some() {
        new.telemetry
            .basic_auth_password
            .clone_from(&current.telemetry.basic_auth_password);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        auth_hash_error, parse_yaml_str, validate, validate_with, LegacySimulator, Options,
    };
    use serde_json::Map;
    use std::path::Path;

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    fn secret_config() -> AppConfig {
        let mut cfg = AppConfig::with_paths("t", "tp", "c");
        cfg.auth.password_hash = "$2b$13$hash".into();
        cfg.auth.secret_key = "s3cret-key".into();
        cfg.telemetry.basic_auth_user = Some("prom".into());
        cfg.telemetry.basic_auth_password = Some("prom-pass".into());
        cfg
    }

    #[test]
    fn default_dump_key_order() {
        let doc = redacted_json(&AppConfig::with_paths("t", "tp", "c"));
        assert_eq!(
            keys(&doc),
            [
                "app",
                "paths",
                "refresh",
                "cache",
                "telemetry",
                "planner",
                "features",
                "auth",
                "map",
                "playlist",
                "plugins",
                "simulator",
                "slurm"
            ]
        );
        assert_eq!(
            keys(&doc["paths"]),
            ["topology", "templates", "checks", "metrics", "plugins"]
        );
        assert_eq!(
            keys(&doc["telemetry"]),
            [
                "prometheus_url",
                "prometheus_timeout_seconds",
                "identity_label",
                "rack_label",
                "chassis_label",
                "job_regex",
                "prometheus_heartbeat_seconds",
                "prometheus_latency_window",
                "debug_stats",
                "basic_auth_user",
                "tls_verify",
                "tls_ca_file",
                "tls_cert_file",
                "tls_key_file"
            ]
        );
        assert_eq!(
            keys(&doc["auth"]),
            [
                "enabled",
                "username",
                "session_duration",
                "policy",
                "trusted_networks",
                "trusted_proxies"
            ]
        );
        assert_eq!(
            keys(&doc["map"]),
            [
                "default_view",
                "default_zoom",
                "min_zoom",
                "max_zoom",
                "zoom_controls",
                "center"
            ]
        );
        // Nulls are emitted, not skipped.
        assert_eq!(doc["telemetry"]["prometheus_url"], Value::Null);
        assert_eq!(doc["map"]["default_zoom"], Value::Null);
        assert_eq!(doc["simulator"], Value::Null);
        assert_eq!(doc["slurm"], Value::Null);
        assert_eq!(doc["plugins"], json!({}));
        assert_eq!(doc["telemetry"]["prometheus_timeout_seconds"], json!(5.0));
    }

    #[test]
    fn redaction_omits_the_three_secrets() {
        let cfg = secret_config();
        let doc = redacted_json(&cfg);
        let text = doc.to_string();
        for secret in ["$2b$13$hash", "s3cret-key", "prom-pass"] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
        assert!(doc["auth"].get("password_hash").is_none());
        assert!(doc["auth"].get("secret_key").is_none());
        assert!(doc["telemetry"].get("basic_auth_password").is_none());
        // Nothing else is redacted.
        assert_eq!(doc["telemetry"]["basic_auth_user"], "prom");
        assert_eq!(full_json(&cfg)["auth"]["secret_key"], "s3cret-key");
    }

    #[test]
    fn file_yaml_round_trips_with_secrets_and_nulls() {
        let mut cfg = secret_config();
        let mut sim = Map::new();
        sim.insert("enabled".into(), json!(true));
        sim.insert(
            "custom_incidents".into(),
            json!({"devices_crit": 1, "ratio": 0.5}),
        );
        sim.insert("match".into(), json!(["compute*", "visu*"]));
        cfg.plugins.insert("simulator".into(), sim);
        cfg.telemetry.job_regex = "node|rackscope-simulator".into();
        cfg.telemetry.prometheus_url = Some("http://prometheus:9090".into());
        cfg.auth.session_duration = "8h".into();
        cfg.map.default_zoom = Some(4);
        cfg.app.name = "yes".into(); // must stay a string

        let text = file_yaml(&cfg);
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("# ") && first.contains("rackscope"),
            "{first}"
        );
        assert!(!text.contains("simulator: null"), "{text}");
        assert!(!text.contains("slurm: null"), "{text}");
        assert!(text.contains("$2b$13$hash") && text.contains("prom-pass"));

        let doc = parse_yaml_str(&text, Path::new("app.yaml")).unwrap();
        assert_eq!(validate(&doc).unwrap(), cfg);
        // Key order in the file is model order.
        assert_eq!(keys(&doc)[..3], ["app", "paths", "refresh"]);
    }

    #[test]
    fn file_yaml_keeps_legacy_sections_when_set() {
        let mut cfg = AppConfig::with_paths("t", "tp", "c");
        cfg.simulator = Some(LegacySimulator::default());
        let doc = parse_yaml_str(&file_yaml(&cfg), Path::new("app.yaml")).unwrap();
        assert_eq!(doc["simulator"]["update_interval_seconds"], 20);
        assert_eq!(validate(&doc).unwrap(), cfg);
    }

    #[test]
    fn no_config_fallback() {
        let doc = no_config_json();
        assert_eq!(
            keys(&doc),
            [
                "paths",
                "refresh",
                "cache",
                "telemetry",
                "planner",
                "features",
                "simulator"
            ]
        );
        assert!(doc["telemetry"].get("basic_auth_password").is_none());
        assert_eq!(doc["planner"]["max_ids_per_query"], 50);
        assert_eq!(
            doc["features"],
            json!({"notifications": false, "playlist": false, "offline": false})
        );
        assert_eq!(doc["paths"], json!({}));
        assert_eq!(doc["cache"], json!({"ttl_seconds": 30}));
        assert_eq!(doc["simulator"]["metrics_catalogs"], json!([]));
    }

    #[test]
    fn preserve_secrets_fills_what_was_not_sent() {
        let current = secret_config();
        let mut new = AppConfig::with_paths("t", "tp", "c");
        new.telemetry.basic_auth_user = Some("prom".into());
        preserve_secrets(&mut new, &current);
        assert_eq!(new.auth.password_hash, "$2b$13$hash");
        assert_eq!(new.auth.secret_key, "s3cret-key");
        assert_eq!(
            new.telemetry.basic_auth_password.as_deref(),
            Some("prom-pass")
        );

        // Sent values win.
        let mut new = secret_config();
        new.auth.password_hash = "$2b$13$other".into();
        new.auth.secret_key = "k2".into();
        new.telemetry.basic_auth_password = Some("p2".into());
        preserve_secrets(&mut new, &current);
        assert_eq!(new.auth.password_hash, "$2b$13$other");
        assert_eq!(new.auth.secret_key, "k2");
        assert_eq!(new.telemetry.basic_auth_password.as_deref(), Some("p2"));

        // Nothing stored: nothing to keep.
        let mut new = AppConfig::with_paths("t", "tp", "c");
        preserve_secrets(&mut new, &AppConfig::with_paths("t", "tp", "c"));
        assert_eq!(new, AppConfig::with_paths("t", "tp", "c"));
    }

    #[test]
    fn prometheus_password_is_dropped_with_its_user() {
        let current = secret_config();
        let mut new = AppConfig::with_paths("t", "tp", "c");
        preserve_secrets(&mut new, &current);
        assert_eq!(new.telemetry.basic_auth_password, None);
        assert_eq!(new.auth.secret_key, "s3cret-key");
    }

    #[test]
    fn get_then_put_round_trip_keeps_every_secret() {
        let current = secret_config();
        let body = redacted_json(&current);
        let mut new = validate(&body).unwrap();
        preserve_secrets(&mut new, &current);
        assert_eq!(new, current);

        // With auth on, the redacted body lacks the hash: validate leniently, restore the
        // secrets, then apply the hash rule.
        let mut current = current;
        current.auth.enabled = true;
        let body = redacted_json(&current);
        assert!(validate(&body).is_err());
        let lenient = Options {
            require_hash_when_auth_enabled: false,
        };
        let mut new = validate_with(&body, lenient).unwrap();
        preserve_secrets(&mut new, &current);
        assert_eq!(auth_hash_error(&new), None);
        assert_eq!(new, current);
    }
}
