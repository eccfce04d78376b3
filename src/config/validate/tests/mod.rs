//! Tests of the validator: shared helpers, whole-document rules and the error shapes
//! clients read here; coercions, value rules and sections in the sibling files.

use serde_json::{json, Value};

use super::coerce::*;
use super::rules::*;
use super::*;

mod coerce;
mod rules;
mod sections;

pub(super) fn base() -> Value {
    json!({"paths": {"topology": "t", "templates": "tp", "checks": "c"}})
}

/// `base()` with `value` at `section.key` (a missing section is created).
pub(super) fn with(section: &str, key: &str, value: Value) -> Value {
    let mut doc = base();
    let obj = doc.as_object_mut().unwrap();
    let sec = obj.entry(section).or_insert_with(|| json!({}));
    sec.as_object_mut().unwrap().insert(key.into(), value);
    doc
}

pub(super) fn ok(doc: &Value) -> AppConfig {
    match validate(doc) {
        Ok(cfg) => cfg,
        Err(e) => panic!("expected valid, got {e:#?}"),
    }
}

pub(super) fn errs(doc: &Value) -> Vec<FieldError> {
    validate(doc).expect_err("expected validation errors")
}

pub(super) fn one(doc: &Value) -> FieldError {
    let e = errs(doc);
    assert_eq!(e.len(), 1, "expected one error: {e:#?}");
    e.into_iter().next().unwrap()
}

pub(super) fn loc(parts: &[&str]) -> Vec<Loc> {
    parts
        .iter()
        .map(|p| match p.parse::<usize>() {
            Ok(i) => Loc::Index(i),
            Err(_) => Loc::Key((*p).into()),
        })
        .collect()
}

pub(super) fn assert_err(e: &FieldError, kind: &str, at: &[&str], msg: &str) {
    assert_eq!(e.kind, kind, "{e:#?}");
    assert_eq!(e.loc, loc(at), "{e:#?}");
    assert_eq!(e.msg, msg, "{e:#?}");
}

pub(super) fn value_error(section: &str, key: &str, value: Value) -> String {
    let e = one(&with(section, key, value.clone()));
    assert_eq!(e.kind, "value_error");
    assert_eq!(e.loc, loc(&[section, key]));
    assert_eq!(e.input, value);
    let text = e
        .msg
        .strip_prefix("Value error, ")
        .expect("value error prefix");
    assert_eq!(e.ctx, Some(json!({ "error": text })));
    text.to_string()
}

// -- structure -------------------------------------------------------------------------

#[test]
fn minimal_doc_gives_all_defaults() {
    assert_eq!(ok(&base()), AppConfig::with_paths("t", "tp", "c"));
}

#[test]
fn empty_body_is_missing_paths_with_the_object_as_input() {
    let e = one(&json!({}));
    assert_err(&e, "missing", &["paths"], "Field required");
    assert_eq!(e.input, json!({}));
    assert_eq!(e.ctx, None);
}

#[test]
fn non_object_document_is_model_type() {
    let e = one(&json!([1]));
    assert_err(
        &e,
        "model_type",
        &[],
        "Input should be a valid dictionary or instance of AppConfig",
    );
    assert_eq!(e.ctx, Some(json!({"class_name": "AppConfig"})));
}

#[test]
fn required_paths_are_each_reported() {
    let e = errs(&json!({"paths": {"metrics": "m"}}));
    assert_eq!(e.len(), 3);
    for (err, key) in e.iter().zip(["topology", "templates", "checks"]) {
        assert_err(err, "missing", &["paths", key], "Field required");
        assert_eq!(err.input, json!({"metrics": "m"}));
    }
}

#[test]
fn paths_strings_must_be_non_empty() {
    let mut doc = base();
    doc["paths"]["topology"] = json!("");
    let e = one(&doc);
    assert_err(
        &e,
        "string_too_short",
        &["paths", "topology"],
        "String should have at least 1 character",
    );
    assert_eq!(e.ctx, Some(json!({"min_length": 1})));
    assert_eq!(e.input, json!(""));
    let e = one(&with("paths", "plugins", json!("")));
    assert_eq!(e.loc, loc(&["paths", "plugins"]));
    let e = one(&with("paths", "metrics", json!("")));
    assert_eq!(e.loc, loc(&["paths", "metrics"]));
}

#[test]
fn paths_plugins_defaults_and_reads() {
    assert_eq!(ok(&base()).paths.plugins, "plugins");
    assert_eq!(ok(&base()).paths.metrics, "config/metrics/library");
    assert_eq!(ok(&with("paths", "plugins", json!("p"))).paths.plugins, "p");
}

#[test]
fn paths_of_wrong_type() {
    let e = one(&json!({"paths": "x"}));
    assert_err(
        &e,
        "model_type",
        &["paths"],
        "Input should be a valid dictionary or instance of PathsConfig",
    );
    let e = one(&json!({"paths": null}));
    assert_eq!(e.kind, "model_type");
    assert_eq!(e.input, Value::Null);
}

#[test]
fn section_of_wrong_type_is_model_type_with_class_name() {
    for (section, class) in [
        ("app", "AppInfoConfig"),
        ("refresh", "RefreshConfig"),
        ("cache", "CacheConfig"),
        ("telemetry", "TelemetryConfig"),
        ("planner", "PlannerConfig"),
        ("features", "FeatureConfig"),
        ("auth", "AuthConfig"),
        ("map", "MapConfig"),
        ("playlist", "PlaylistConfig"),
        ("simulator", "SimulatorConfig"),
        ("slurm", "SlurmConfig"),
    ] {
        let mut doc = base();
        doc[section] = json!("x");
        let e = one(&doc);
        assert_err(
            &e,
            "model_type",
            &[section],
            &format!("Input should be a valid dictionary or instance of {class}"),
        );
        assert_eq!(e.ctx, Some(json!({ "class_name": class })));
        assert_eq!(e.input, json!("x"));
    }
    let e = one(&with("auth", "policy", json!(3)));
    assert_eq!(e.loc, loc(&["auth", "policy"]));
    assert_eq!(e.ctx, Some(json!({"class_name": "PasswordPolicyConfig"})));
    let e = one(&with("map", "center", json!([])));
    assert_eq!(e.ctx, Some(json!({"class_name": "MapCenterConfig"})));
    let e = one(&with("slurm", "status_map", json!("x")));
    assert_eq!(e.loc, loc(&["slurm", "status_map"]));
    assert_eq!(e.ctx, Some(json!({"class_name": "SlurmStatusMap"})));
}

#[test]
fn unknown_keys_are_ignored_at_every_level() {
    let doc = json!({
        "bogus": 1,
        "paths": {"topology": "t", "templates": "tp", "checks": "c", "extra": [1]},
        "telemetry": {"zzz": {"a": 1}},
        "auth": {"policy": {"nope": true}},
        "map": {"center": {"alt": 3}},
        "slurm": {"status_map": {"info": []}, "severity_colors": {}},
        "simulator": {"incident_mode": "custom", "metrics_catalogs": [
            {"id": "a", "path": "p", "x": 1}
        ]}
    });
    let cfg = ok(&doc);
    assert_eq!(cfg.slurm, Some(LegacySlurm::default()));
    assert_eq!(cfg.simulator.unwrap().metrics_catalogs.len(), 1);
}

#[test]
fn every_error_is_reported_in_field_order() {
    // Keys deliberately out of model order in the input.
    let doc = json!({
        "plugins": {"x": 1},
        "telemetry": {"prometheus_url": "file:///etc/passwd", "job_regex": "(("},
        "refresh": {"rack_state_seconds": 1, "room_state_seconds": 5},
    });
    let e = errs(&doc);
    let locs: Vec<Vec<Loc>> = e.iter().map(|e| e.loc.clone()).collect();
    assert_eq!(
        locs,
        vec![
            loc(&["paths"]),
            loc(&["refresh", "room_state_seconds"]),
            loc(&["refresh", "rack_state_seconds"]),
            loc(&["telemetry", "prometheus_url"]),
            loc(&["telemetry", "job_regex"]),
            loc(&["plugins", "x"]),
        ]
    );
}

// -- coercions -------------------------------------------------------------------------

#[test]
fn field_error_serialises_as_a_422_item() {
    let e = one(&with("refresh", "room_state_seconds", json!(5))).with_loc_prefix("body");
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"type":"greater_than_equal","loc":["body","refresh","room_state_seconds"],"msg":"Input should be greater than or equal to 10","input":5,"ctx":{"ge":10}}"#
    );
    let e = one(&json!({}));
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"type": "missing", "loc": ["paths"], "msg": "Field required", "input": {}})
    );
    let e = one(&with("playlist", "views", json!([1])));
    assert_eq!(
        serde_json::to_value(&e).unwrap()["loc"],
        json!(["playlist", "views", 0])
    );
    assert_eq!(
        e.to_string(),
        "playlist.views.0: Input should be a valid string"
    );
}
