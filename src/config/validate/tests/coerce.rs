//! Lax coercions and bounds: int, bool, float, str, literals, lists.

use serde_json::{json, Value};

use super::*;

fn ttl(v: Value) -> Result<i64, Box<FieldError>> {
    match validate(&with("cache", "ttl_seconds", v)) {
        Ok(cfg) => Ok(cfg.cache.ttl_seconds),
        Err(mut e) => {
            assert_eq!(e.len(), 1);
            let e = e.remove(0);
            assert_eq!(e.loc, loc(&["cache", "ttl_seconds"]));
            Err(Box::new(e))
        }
    }
}

#[test]
fn int_lax_coercion() {
    assert_eq!(ttl(json!(30)).unwrap(), 30);
    assert_eq!(ttl(json!("30")).unwrap(), 30);
    assert_eq!(ttl(json!(" 30 ")).unwrap(), 30);
    assert_eq!(ttl(json!("+30")).unwrap(), 30);
    assert_eq!(ttl(json!(10.0)).unwrap(), 10);
    assert_eq!(ttl(json!("10.0")).unwrap(), 10);
    assert_eq!(ttl(json!("10.")).unwrap(), 10);
    assert_eq!(ttl(json!("1_000")).unwrap(), 1000);
    assert_eq!(ttl(json!(1e2)).unwrap(), 100);
    assert_eq!(ttl(json!(true)).unwrap(), 1);
}

#[test]
fn int_rejections() {
    let e = ttl(json!(10.5)).unwrap_err();
    assert_eq!(e.kind, "int_from_float");
    assert_eq!(
        e.msg,
        "Input should be a valid integer, got a number with a fractional part"
    );
    assert_eq!(e.input, json!(10.5));
    assert_eq!(e.ctx, None);
    for bad in ["abc", "10.5", "", "1__0", "_1", "1e3", "0x10"] {
        let e = ttl(json!(bad)).unwrap_err();
        assert_eq!(e.kind, "int_parsing", "{bad}");
        assert_eq!(
            e.msg,
            "Input should be a valid integer, unable to parse string as an integer"
        );
        assert_eq!(e.input, json!(bad));
    }
    for bad in [Value::Null, json!([1]), json!({"a": 1})] {
        let e = ttl(bad).unwrap_err();
        assert_eq!(e.kind, "int_type");
        assert_eq!(e.msg, "Input should be a valid integer");
    }
    for big in [json!(u64::MAX), json!(1e30), json!("99999999999999999999")] {
        assert_eq!(ttl(big).unwrap_err().kind, "int_parsing_size");
    }
    // false coerces to 0, which then fails the bound.
    assert_eq!(ttl(json!(false)).unwrap_err().kind, "greater_than_equal");
}

fn playlist_flag(v: Value) -> Result<bool, Box<FieldError>> {
    match validate(&with("features", "playlist", v)) {
        Ok(cfg) => Ok(cfg.features.playlist),
        Err(mut e) => {
            assert_eq!(e.len(), 1);
            Err(Box::new(e.remove(0)))
        }
    }
}

#[test]
fn bool_lax_coercion() {
    for t in [
        "yes", "YES", "on", "On", "true", "True", "1", "y", "Y", "t", "T",
    ] {
        assert!(playlist_flag(json!(t)).unwrap(), "{t}");
    }
    for f in ["no", "NO", "off", "false", "FALSE", "0", "n", "f"] {
        assert!(!playlist_flag(json!(f)).unwrap(), "{f}");
    }
    assert!(playlist_flag(json!(true)).unwrap());
    assert!(playlist_flag(json!(1)).unwrap());
    assert!(playlist_flag(json!(1.0)).unwrap());
    assert!(!playlist_flag(json!(0)).unwrap());
    assert!(!playlist_flag(json!(0.0)).unwrap());
}

#[test]
fn bool_rejections() {
    for bad in [
        json!("maybe"),
        json!(2),
        json!(0.5),
        json!(" yes"),
        json!(""),
    ] {
        let e = playlist_flag(bad.clone()).unwrap_err();
        assert_err(
            &e,
            "bool_parsing",
            &["features", "playlist"],
            "Input should be a valid boolean, unable to interpret input",
        );
        assert_eq!(e.input, bad);
    }
    for bad in [Value::Null, json!([]), json!({})] {
        let e = playlist_flag(bad).unwrap_err();
        assert_eq!(e.kind, "bool_type");
        assert_eq!(e.msg, "Input should be a valid boolean");
    }
}

fn timeout(v: Value) -> Result<f64, Box<FieldError>> {
    match validate(&with("telemetry", "prometheus_timeout_seconds", v)) {
        Ok(cfg) => Ok(cfg.telemetry.prometheus_timeout_seconds),
        Err(mut e) => {
            assert_eq!(e.len(), 1);
            Err(Box::new(e.remove(0)))
        }
    }
}

#[test]
fn float_coercion_and_bounds() {
    assert_eq!(timeout(json!(2.5)).unwrap(), 2.5);
    assert_eq!(timeout(json!(3)).unwrap(), 3.0);
    assert_eq!(timeout(json!("2.5")).unwrap(), 2.5);
    assert_eq!(timeout(json!(" 1e1 ")).unwrap(), 10.0);
    assert_eq!(timeout(json!(true)).unwrap(), 1.0);
    assert_eq!(timeout(json!(60)).unwrap(), 60.0);

    let e = timeout(json!(0)).unwrap_err();
    assert_err(
        &e,
        "greater_than",
        &["telemetry", "prometheus_timeout_seconds"],
        "Input should be greater than 0",
    );
    assert_eq!(e.ctx, Some(json!({"gt": 0.0})));
    let e = timeout(json!(60.5)).unwrap_err();
    assert_eq!(e.kind, "less_than_equal");
    assert_eq!(e.msg, "Input should be less than or equal to 60");
    assert_eq!(e.ctx, Some(json!({"le": 60.0})));
    assert_eq!(timeout(json!("inf")).unwrap_err().kind, "less_than_equal");

    let e = timeout(json!("abc")).unwrap_err();
    assert_eq!(e.kind, "float_parsing");
    assert_eq!(
        e.msg,
        "Input should be a valid number, unable to parse string as a number"
    );
    let e = timeout(Value::Null).unwrap_err();
    assert_eq!(e.kind, "float_type");
    assert_eq!(e.msg, "Input should be a valid number");
    let e = timeout(json!("nan")).unwrap_err();
    assert_eq!(e.kind, "finite_number");
    assert_eq!(e.msg, "Input should be a finite number");
}

#[test]
fn map_center_bounds_print_like_pydantic() {
    let mut doc = base();
    doc["map"] = json!({"center": {"lat": -91, "lon": 181.5}});
    let e = errs(&doc);
    assert_eq!(e.len(), 2);
    assert_err(
        &e[0],
        "greater_than_equal",
        &["map", "center", "lat"],
        "Input should be greater than or equal to -90",
    );
    assert_eq!(e[0].ctx, Some(json!({"ge": -90.0})));
    assert_err(
        &e[1],
        "less_than_equal",
        &["map", "center", "lon"],
        "Input should be less than or equal to 180",
    );
    let mut doc = base();
    doc["map"] = json!({"center": {"lat": "45.5", "lon": -180}});
    let c = ok(&doc).map.center;
    assert_eq!((c.lat, c.lon), (45.5, -180.0));
}

#[test]
fn strings_are_not_coerced_from_other_types() {
    for (section, key) in [
        ("app", "name"),
        ("app", "description"),
        ("telemetry", "identity_label"),
        ("telemetry", "prometheus_url"),
        ("auth", "username"),
        ("auth", "password_hash"),
    ] {
        let e = one(&with(section, key, json!(123)));
        assert_err(
            &e,
            "string_type",
            &[section, key],
            "Input should be a valid string",
        );
        assert_eq!(e.input, json!(123));
    }
    assert_eq!(
        ok(&with("app", "description", Value::Null)).app.description,
        None
    );
    let e = one(&with("app", "name", json!("")));
    assert_eq!(e.kind, "string_too_short");
}

// -- constraints -----------------------------------------------------------------------

#[test]
fn refresh_below_minimum() {
    let e = one(&with("refresh", "room_state_seconds", json!(5)));
    assert_err(
        &e,
        "greater_than_equal",
        &["refresh", "room_state_seconds"],
        "Input should be greater than or equal to 10",
    );
    assert_eq!(e.ctx, Some(json!({"ge": 10})));
    assert_eq!(e.input, json!(5));
}

#[test]
fn int_bounds_everywhere() {
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            "refresh",
            "rack_state_seconds",
            json!(9),
            "greater_than_equal",
        ),
        (
            "cache",
            "health_checks_ttl_seconds",
            json!(0),
            "greater_than_equal",
        ),
        (
            "cache",
            "metrics_ttl_seconds",
            json!(0),
            "greater_than_equal",
        ),
        (
            "cache",
            "service_ttl_seconds",
            json!(0),
            "greater_than_equal",
        ),
        (
            "telemetry",
            "prometheus_heartbeat_seconds",
            json!(9),
            "greater_than_equal",
        ),
        (
            "telemetry",
            "prometheus_latency_window",
            json!(0),
            "greater_than_equal",
        ),
        (
            "planner",
            "cache_ttl_seconds",
            json!(0),
            "greater_than_equal",
        ),
        (
            "planner",
            "max_ids_per_query",
            json!(0),
            "greater_than_equal",
        ),
        (
            "features",
            "notifications_max_visible",
            json!(0),
            "greater_than_equal",
        ),
        ("map", "default_zoom", json!(0), "greater_than_equal"),
        ("map", "default_zoom", json!(19), "less_than_equal"),
        ("map", "min_zoom", json!(19), "less_than_equal"),
        ("map", "max_zoom", json!(0), "greater_than_equal"),
        (
            "playlist",
            "interval_seconds",
            json!(4),
            "greater_than_equal",
        ),
    ];
    for (section, key, value, kind) in cases {
        let e = one(&with(section, key, value.clone()));
        assert_eq!(&e.kind, kind, "{section}.{key}");
        assert_eq!(e.loc, loc(&[section, key]));
    }
    let e = one(&with("map", "min_zoom", json!(19)));
    assert_eq!(e.msg, "Input should be less than or equal to 18");
    assert_eq!(e.ctx, Some(json!({"le": 18})));
    assert_eq!(
        ok(&with("map", "default_zoom", Value::Null))
            .map
            .default_zoom,
        None
    );
    assert_eq!(
        ok(&with("map", "default_zoom", json!("4")))
            .map
            .default_zoom,
        Some(4)
    );
}

#[test]
fn password_policy_bounds() {
    let mut doc = base();
    doc["auth"] = json!({"policy": {"max_length": 5}});
    let e = one(&doc);
    assert_err(
        &e,
        "greater_than_equal",
        &["auth", "policy", "max_length"],
        "Input should be greater than or equal to 6",
    );
    doc["auth"] = json!({"policy": {"min_length": 129, "max_length": 513}});
    let e = errs(&doc);
    assert_eq!(e[0].msg, "Input should be less than or equal to 128");
    assert_eq!(e[1].msg, "Input should be less than or equal to 512");
    // No cross-check of min against max.
    doc["auth"] = json!({"policy": {"min_length": 100, "max_length": 6}});
    assert_eq!(ok(&doc).auth.policy.min_length, 100);
}

#[test]
fn literals() {
    let e = one(&with("auth", "session_duration", json!("1h")));
    assert_err(
        &e,
        "literal_error",
        &["auth", "session_duration"],
        "Input should be '8h', '24h' or 'unlimited'",
    );
    assert_eq!(
        e.ctx,
        Some(json!({"expected": "'8h', '24h' or 'unlimited'"}))
    );
    assert_eq!(e.input, json!("1h"));
    for d in ["8h", "24h", "unlimited"] {
        assert_eq!(
            ok(&with("auth", "session_duration", json!(d)))
                .auth
                .session_duration,
            d
        );
    }

    let e = one(&with("planner", "unknown_state", json!("ok")));
    assert_eq!(e.msg, "Input should be 'OK', 'WARN', 'CRIT' or 'UNKNOWN'");
    assert_eq!(e.kind, "literal_error");
    let e = one(&with("planner", "unknown_state", Value::Null));
    assert_eq!(e.kind, "literal_error");
    assert_eq!(
        ok(&with("planner", "unknown_state", json!("CRIT")))
            .planner
            .unknown_state,
        "CRIT"
    );

    let e = one(&with("map", "default_view", json!("galaxy")));
    assert_eq!(
        e.msg,
        "Input should be 'world', 'continent', 'country' or 'city'"
    );
    assert_eq!(
        ok(&with("map", "default_view", Value::Null))
            .map
            .default_view,
        None
    );
    assert_eq!(
        ok(&with("map", "default_view", json!("city")))
            .map
            .default_view
            .as_deref(),
        Some("city")
    );
}

#[test]
fn literal_expected_text_for_short_lists() {
    assert_eq!(
        literal(&json!(1), &["a"]).unwrap_err().msg,
        "Input should be 'a'"
    );
    assert_eq!(
        literal(&json!(1), &["a", "b"]).unwrap_err().msg,
        "Input should be 'a' or 'b'"
    );
}

#[test]
fn lists() {
    let e = one(&with("playlist", "views", json!("x")));
    assert_err(
        &e,
        "list_type",
        &["playlist", "views"],
        "Input should be a valid list",
    );
    let e = errs(&with("playlist", "views", json!(["/a", 1, "/b", null])));
    assert_eq!(e.len(), 2);
    assert_err(
        &e[0],
        "string_type",
        &["playlist", "views", "1"],
        "Input should be a valid string",
    );
    assert_eq!(e[0].input, json!(1));
    assert_eq!(e[1].loc, loc(&["playlist", "views", "3"]));
    let cfg = ok(&with(
        "auth",
        "trusted_networks",
        json!(["not-valid-cidr", "10.0.0.0/8"]),
    ));
    assert_eq!(
        cfg.auth.trusted_networks,
        vec!["not-valid-cidr", "10.0.0.0/8"]
    );
    let e = one(&with("auth", "trusted_networks", json!({"a": 1})));
    assert_eq!(e.kind, "list_type");
}

// -- plugins and legacy sections -------------------------------------------------------
