//! Sections: plugins, legacy sections, telemetry pairs, auth, and the reference cases.

use serde_json::{json, Value};

use super::*;

#[test]
fn plugins_must_be_a_map_of_objects() {
    let mut doc = base();
    doc["plugins"] = json!({"x": 1});
    let e = one(&doc);
    assert_err(
        &e,
        "dict_type",
        &["plugins", "x"],
        "Input should be a valid dictionary",
    );
    assert_eq!(e.input, json!(1));
    doc["plugins"] = json!(["simulator"]);
    let e = one(&doc);
    assert_err(
        &e,
        "dict_type",
        &["plugins"],
        "Input should be a valid dictionary",
    );
    doc["plugins"] = json!({"a": null, "b": {"enabled": true}, "c": "on"});
    let e = errs(&doc);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].loc, loc(&["plugins", "a"]));
    assert_eq!(e[1].loc, loc(&["plugins", "c"]));
}

#[test]
fn plugins_are_kept_as_given() {
    let mut doc = base();
    let sim = json!({"enabled": true, "seed": null, "custom": {"a": [1, 2.5]}});
    doc["plugins"] = json!({"simulator": sim, "slurm": {}});
    let cfg = ok(&doc);
    assert_eq!(
        cfg.plugins.keys().collect::<Vec<_>>(),
        ["simulator", "slurm"]
    );
    assert_eq!(Value::Object(cfg.plugins["simulator"].clone()), sim);
}

#[test]
fn legacy_sections() {
    let cfg = ok(&base());
    assert_eq!((cfg.simulator, cfg.slurm), (None, None));
    let mut doc = base();
    doc["simulator"] = Value::Null;
    doc["slurm"] = Value::Null;
    let cfg = ok(&doc);
    assert_eq!((cfg.simulator, cfg.slurm), (None, None));
    doc["simulator"] = json!({});
    doc["slurm"] = json!({});
    let cfg = ok(&doc);
    assert_eq!(cfg.simulator, Some(LegacySimulator::default()));
    assert_eq!(cfg.slurm, Some(LegacySlurm::default()));

    doc["simulator"] = json!({
        "update_interval_seconds": 0,
        "seed": "42",
        "default_ttl_seconds": -1,
        "overrides_path": "",
        "metrics_catalogs": [{"id": "a"}, 1, {"id": "", "path": "p", "enabled": "no"}]
    });
    let e = errs(&doc);
    let got: Vec<(String, Vec<Loc>)> = e.iter().map(|e| (e.kind.clone(), e.loc.clone())).collect();
    assert_eq!(
        got,
        vec![
            (
                "greater_than_equal".into(),
                loc(&["simulator", "update_interval_seconds"])
            ),
            (
                "string_too_short".into(),
                loc(&["simulator", "overrides_path"])
            ),
            (
                "greater_than_equal".into(),
                loc(&["simulator", "default_ttl_seconds"])
            ),
            (
                "missing".into(),
                loc(&["simulator", "metrics_catalogs", "0", "path"])
            ),
            (
                "model_type".into(),
                loc(&["simulator", "metrics_catalogs", "1"])
            ),
            (
                "string_too_short".into(),
                loc(&["simulator", "metrics_catalogs", "2", "id"])
            ),
        ]
    );
    assert_eq!(e[3].input, json!({"id": "a"}));
    assert_eq!(
        e[4].msg,
        "Input should be a valid dictionary or instance of SimulatorMetricsCatalog"
    );

    doc["simulator"] =
        json!({"seed": "42", "metrics_catalogs": [{"id": "s", "path": "p", "enabled": "no"}]});
    doc["slurm"] = json!({"metric": "", "roles": "compute", "mapping_path": "m.yaml", "status_map": {"ok": ["idle"]}});
    let e = errs(&doc);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].loc, loc(&["slurm", "metric"]));
    assert_eq!(e[1].loc, loc(&["slurm", "roles"]));
    doc["slurm"] = json!({"mapping_path": "m.yaml", "status_map": {"ok": ["idle"]}});
    let cfg = ok(&doc);
    let sim = cfg.simulator.unwrap();
    assert_eq!(sim.seed, Some(42));
    assert!(!sim.metrics_catalogs[0].enabled);
    let slurm = cfg.slurm.unwrap();
    assert_eq!(slurm.status_map.ok, vec!["idle"]);
    assert_eq!(slurm.status_map.crit, SlurmStatusMap::default().crit);
    assert_eq!(slurm.mapping_path.as_deref(), Some("m.yaml"));
}

// -- telemetry rules -------------------------------------------------------------------

#[test]
fn optional_telemetry_strings_turn_empty_into_null() {
    let mut doc = base();
    doc["telemetry"] = json!({
        "basic_auth_user": "", "basic_auth_password": "",
        "tls_ca_file": "", "tls_cert_file": "", "tls_key_file": ""
    });
    let t = ok(&doc).telemetry;
    assert_eq!(t, Telemetry::default());
}

#[test]
fn basic_auth_password_needs_user() {
    let text = "basic_auth_user is required when basic_auth_password is set";
    assert_eq!(
        value_error("telemetry", "basic_auth_password", json!("pw")),
        text
    );
    let mut doc = base();
    doc["telemetry"] = json!({"basic_auth_password": "pw", "basic_auth_user": ""});
    let e = one(&doc);
    assert_eq!(e.loc, loc(&["telemetry", "basic_auth_password"]));
    assert_eq!(e.input, json!("pw"));
    // The user is checked first whatever the key order of the input.
    doc["telemetry"] = json!({"basic_auth_password": "pw", "basic_auth_user": "u"});
    let t = ok(&doc).telemetry;
    assert_eq!(t.basic_auth_user.as_deref(), Some("u"));
    assert_eq!(t.basic_auth_password.as_deref(), Some("pw"));
    // An invalid user counts as absent.
    doc["telemetry"] = json!({"basic_auth_password": "pw", "basic_auth_user": 5});
    let e = errs(&doc);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].loc, loc(&["telemetry", "basic_auth_user"]));
    assert_eq!(e[1].loc, loc(&["telemetry", "basic_auth_password"]));
}

#[test]
fn tls_key_needs_cert() {
    let text = "tls_cert_file is required when tls_key_file is set";
    assert_eq!(
        value_error("telemetry", "tls_key_file", json!("k.pem")),
        text
    );
    let mut doc = base();
    doc["telemetry"] =
        json!({"tls_key_file": "k.pem", "tls_cert_file": "c.pem", "tls_ca_file": "ca.pem"});
    let t = ok(&doc).telemetry;
    assert_eq!(t.tls_key_file.as_deref(), Some("k.pem"));
    assert_eq!(t.tls_ca_file.as_deref(), Some("ca.pem"));
}

#[test]
fn auth_enabled_needs_a_hash() {
    let mut doc = base();
    doc["auth"] = json!({"enabled": true, "password_hash": ""});
    let e = one(&doc);
    assert_err(
        &e,
        "value_error",
        &["auth", "password_hash"],
        &format!("Value error, {AUTH_HASH_REQUIRED}"),
    );
    assert_eq!(e.ctx, Some(json!({ "error": AUTH_HASH_REQUIRED })));
    assert_eq!(e.input, json!(""));

    // Absent counts as empty; "yes" counts as enabled.
    doc["auth"] = json!({"enabled": "yes"});
    let e = one(&doc);
    assert_eq!(e.loc, loc(&["auth", "password_hash"]));

    doc["auth"] = json!({"enabled": true, "password_hash": "$2b$13$abc"});
    assert!(ok(&doc).auth.enabled);
    doc["auth"] = json!({"enabled": false});
    assert!(!ok(&doc).auth.enabled);
}

#[test]
fn auth_hash_rule_can_be_deferred() {
    let mut doc = base();
    doc["auth"] = json!({"enabled": true, "secret_key": "s"});
    let lenient = Options {
        require_hash_when_auth_enabled: false,
    };
    let mut cfg = validate_with(&doc, lenient).expect("lenient accepts");
    let e = auth_hash_error(&cfg).expect("rule applies afterwards");
    assert_eq!(e.loc, loc(&["auth", "password_hash"]));
    assert_eq!(e.kind, "value_error");
    cfg.auth.password_hash = "$2b$13$abc".into();
    assert_eq!(auth_hash_error(&cfg), None);
    assert!(Options::default().require_hash_when_auth_enabled);
}

#[test]
fn auth_fields() {
    let mut doc = base();
    doc["auth"] = json!({
        "enabled": 0, "username": "root", "password_hash": "h", "secret_key": "k",
        "session_duration": "unlimited",
        "policy": {"min_length": "8", "require_digit": "on"}
    });
    let a = ok(&doc).auth;
    assert_eq!(a.username, "root");
    assert_eq!(a.password_hash, "h");
    assert_eq!(a.secret_key, "k");
    assert_eq!(a.policy.min_length, 8);
    assert!(a.policy.require_digit);
    assert_eq!(a.policy.max_length, 128);
}

// -- the spec's black-box cases (the reference's cases 5 and 10) ------------------------------

#[test]
fn spec_case_5_each_bad_field_is_rejected() {
    let cases: Vec<(Value, &str, &[&str], &str)> = vec![
        (
            with("refresh", "room_state_seconds", json!(5)),
            "greater_than_equal",
            &["refresh", "room_state_seconds"],
            "greater than or equal to 10",
        ),
        (
            with("telemetry", "prometheus_url", json!("file:///etc/passwd")),
            "value_error",
            &["telemetry", "prometheus_url"],
            "must use http or https scheme, got: 'file'",
        ),
        (
            with(
                "telemetry",
                "prometheus_url",
                json!("http://user:pw@h:9090"),
            ),
            "value_error",
            &["telemetry", "prometheus_url"],
            "must not embed credentials",
        ),
        (
            with(
                "telemetry",
                "prometheus_url",
                json!("http://169.254.169.254/"),
            ),
            "value_error",
            &["telemetry", "prometheus_url"],
            "link-local",
        ),
        (
            with(
                "telemetry",
                "prometheus_url",
                json!("http://[fe80::1]:9090"),
            ),
            "value_error",
            &["telemetry", "prometheus_url"],
            "link-local",
        ),
        (
            with("telemetry", "prometheus_url", json!("http://0.0.0.0:9090")),
            "value_error",
            &["telemetry", "prometheus_url"],
            "unspecified",
        ),
        (
            with("telemetry", "prometheus_url", json!("http://[::]:9090")),
            "value_error",
            &["telemetry", "prometheus_url"],
            "unspecified",
        ),
        (
            with(
                "telemetry",
                "prometheus_url",
                json!("http://metadata.google.internal"),
            ),
            "value_error",
            &["telemetry", "prometheus_url"],
            "cloud metadata",
        ),
        (
            with(
                "telemetry",
                "prometheus_url",
                json!("http://100.100.100.200"),
            ),
            "value_error",
            &["telemetry", "prometheus_url"],
            "cloud metadata",
        ),
        (
            with("telemetry", "basic_auth_password", json!("pw")),
            "value_error",
            &["telemetry", "basic_auth_password"],
            "basic_auth_user is required",
        ),
        (
            with("telemetry", "tls_key_file", json!("k")),
            "value_error",
            &["telemetry", "tls_key_file"],
            "tls_cert_file is required",
        ),
        (
            with("telemetry", "job_regex", json!("((")),
            "value_error",
            &["telemetry", "job_regex"],
            "Value error, Invalid job_regex:",
        ),
        (
            with("auth", "session_duration", json!("1h")),
            "literal_error",
            &["auth", "session_duration"],
            "'8h', '24h' or 'unlimited'",
        ),
        (
            with("planner", "unknown_state", json!("ok")),
            "literal_error",
            &["planner", "unknown_state"],
            "'OK', 'WARN', 'CRIT' or 'UNKNOWN'",
        ),
        (
            json!({"paths": {"topology": "t", "templates": "tp", "checks": "c"}, "plugins": {"x": 1}}),
            "dict_type",
            &["plugins", "x"],
            "valid dictionary",
        ),
    ];
    let mut policy = base();
    policy["auth"] = json!({"policy": {"max_length": 5}});
    let mut cases = cases;
    cases.push((
        policy,
        "greater_than_equal",
        &["auth", "policy", "max_length"],
        "greater than or equal to 6",
    ));
    for (doc, kind, at, fragment) in cases {
        let e = one(&doc);
        assert_eq!(e.kind, kind, "{doc}");
        assert_eq!(e.loc, loc(at), "{doc}");
        assert!(e.msg.contains(fragment), "{} lacks {fragment}", e.msg);
        let body = serde_json::to_value(e.with_loc_prefix("body")).unwrap();
        assert_eq!(body["loc"][0], "body");
    }
    let url = |u: &str| {
        ok(&with("telemetry", "prometheus_url", json!(u)))
            .telemetry
            .prometheus_url
    };
    assert_eq!(
        url("http://127.0.0.1:9090").as_deref(),
        Some("http://127.0.0.1:9090")
    );
    assert_eq!(url(""), None);
}

#[test]
fn spec_case_10_bool_coercion_and_unknown_keys() {
    let mut doc = with("features", "playlist", json!("yes"));
    doc["features"]["not_a_feature"] = json!(1);
    doc["whatever"] = json!({"a": 1});
    assert!(ok(&doc).features.playlist);
    let e = one(&with("features", "playlist", json!("maybe")));
    assert_eq!(e.kind, "bool_parsing");
    assert_eq!(e.loc, loc(&["features", "playlist"]));
}

// -- error item shape ------------------------------------------------------------------
