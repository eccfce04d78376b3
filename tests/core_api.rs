//! Core endpoints end to end against the real binary: config read/write with every error
//! path, env, system status and restart, health, unknown routes, startup and shutdown.

mod support;

use std::fs;

use serde_json::{json, Value};
use support::server::{Api, ConfigDir, TestServer};

fn server(cd: &ConfigDir) -> (TestServer, Api) {
    let s = TestServer::start(&cd.app_yaml());
    let api = Api::new(&s);
    (s, api)
}

#[tokio::test]
async fn get_config_returns_the_whole_model_without_secrets() {
    let cd = ConfigDir::demo();
    cd.edit_app_yaml(|d| {
        d["auth"]["password_hash"] =
            json!("$2b$12$abcdefghijklmnopqrstuuJ1Jg3O0m3ZmRWl1X6JgXk6gE2s7d6pW");
        d["auth"]["secret_key"] = json!("super-secret-signing-key");
        d["telemetry"]["basic_auth_user"] = json!("prom");
        d["telemetry"]["basic_auth_password"] = json!("prom-password");
    });
    let (s, api) = server(&cd);
    let (status, body) = api.get("/api/config").await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
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
    assert!(body["auth"].get("password_hash").is_none());
    assert!(body["auth"].get("secret_key").is_none());
    assert!(body["telemetry"].get("basic_auth_password").is_none());
    assert_eq!(body["telemetry"]["basic_auth_user"], "prom");
    assert_eq!(body["app"]["name"], "Kestrel Bay HPC");
    assert_eq!(body["paths"]["plugins"], "../plugins");
    let text = body.to_string();
    for secret in ["super-secret-signing-key", "prom-password", "$2b$12$"] {
        assert!(!text.contains(secret), "{secret} leaked");
        assert!(!s.log().contains(secret), "{secret} logged");
    }
}

#[tokio::test]
async fn put_config_round_trip_keeps_secrets_and_applies_at_once() {
    let cd = ConfigDir::demo();
    cd.edit_app_yaml(|d| {
        d["auth"]["password_hash"] =
            json!("$2b$12$abcdefghijklmnopqrstuuJ1Jg3O0m3ZmRWl1X6JgXk6gE2s7d6pW");
        d["auth"]["secret_key"] = json!("keep-me");
        d["telemetry"]["basic_auth_user"] = json!("prom");
        d["telemetry"]["basic_auth_password"] = json!("prom-password");
    });
    let (_s, api) = server(&cd);
    let (_, mut cfg) = api.get("/api/config").await;
    cfg["app"]["name"] = json!("Renamed");
    cfg["features"]["playlist"] = json!("yes");
    cfg["unknown_key"] = json!(1);
    let (status, body) = api.put("/api/config", &cfg).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["app"]["name"], "Renamed");
    assert_eq!(body["features"]["playlist"], true);
    assert!(body.get("unknown_key").is_none());
    assert!(body["auth"].get("secret_key").is_none());
    assert!(!body.to_string().contains("keep-me"));
    let (_, now) = api.get("/api/config").await;
    assert_eq!(now["app"]["name"], "Renamed");
    let file = cd.read_app_yaml();
    assert_eq!(file["app"]["name"], "Renamed");
    assert_eq!(file["auth"]["secret_key"], "keep-me");
    assert_eq!(file["telemetry"]["basic_auth_password"], "prom-password");
    assert!(file["auth"]["password_hash"]
        .as_str()
        .unwrap()
        .starts_with("$2b$12$"));
}

#[tokio::test]
async fn put_config_field_errors_are_422_and_change_nothing() {
    let cd = ConfigDir::demo();
    let (_s, api) = server(&cd);
    let before = fs::read(cd.app_yaml()).unwrap();
    let (_, good) = api.get("/api/config").await;

    // An empty body changes nothing (every key keeps its stored value): not even a write.
    let (status, body) = api.put("/api/config", &json!({})).await;
    assert_eq!((status, &body), (200, &good));
    assert_eq!(fs::read(cd.app_yaml()).unwrap(), before);

    let (status, body) = api.put("/api/config", &json!({"paths": null})).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "paths"]));

    let cases: Vec<(Value, Vec<&str>, &str)> = vec![
        (
            json!({"refresh": {"room_state_seconds": 5}}),
            vec!["refresh", "room_state_seconds"],
            "greater than or equal to 10",
        ),
        (
            json!({"telemetry": {"prometheus_url": "file:///etc/passwd"}}),
            vec!["telemetry", "prometheus_url"],
            "must use http or https scheme, got: 'file'",
        ),
        (
            json!({"telemetry": {"prometheus_url": "http://user:pw@h:9090"}}),
            vec!["telemetry", "prometheus_url"],
            "must not embed credentials",
        ),
        (
            json!({"telemetry": {"prometheus_url": "http://169.254.169.254/"}}),
            vec!["telemetry", "prometheus_url"],
            "link-local",
        ),
        (
            json!({"telemetry": {"prometheus_url": "http://[::]:9090"}}),
            vec!["telemetry", "prometheus_url"],
            "unspecified",
        ),
        (
            json!({"telemetry": {"prometheus_url": "http://metadata.google.internal"}}),
            vec!["telemetry", "prometheus_url"],
            "cloud metadata",
        ),
        (
            json!({"telemetry": {"basic_auth_password": "x"}}),
            vec!["telemetry"],
            "basic_auth_user is required",
        ),
        (
            json!({"telemetry": {"tls_key_file": "/k.pem"}}),
            vec!["telemetry"],
            "tls_cert_file is required",
        ),
        (
            json!({"telemetry": {"job_regex": "(("}}),
            vec!["telemetry", "job_regex"],
            "Value error, Invalid job_regex:",
        ),
        (
            json!({"auth": {"session_duration": "1h"}}),
            vec!["auth", "session_duration"],
            "'8h', '24h' or 'unlimited'",
        ),
        (
            json!({"auth": {"policy": {"max_length": 5}}}),
            vec!["auth", "policy", "max_length"],
            "greater than or equal to 6",
        ),
        (
            json!({"planner": {"unknown_state": "ok"}}),
            vec!["planner", "unknown_state"],
            "Input should be",
        ),
        (
            json!({"plugins": {"x": 1}}),
            vec!["plugins", "x"],
            "valid dictionary",
        ),
        (
            json!({"features": {"playlist": "maybe"}}),
            vec!["features", "playlist"],
            "valid boolean",
        ),
    ];
    for (patch, loc_prefix, msg) in cases {
        let mut cfg = good.clone();
        merge(&mut cfg, &patch);
        let (status, body) = api.put("/api/config", &cfg).await;
        assert_eq!(status, 422, "{patch}: {body}");
        let item = &body["detail"][0];
        let loc: Vec<String> = item["loc"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(loc[0], "body", "{patch}");
        assert!(
            loc[1..].starts_with(&loc_prefix.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            "{patch}: {loc:?}"
        );
        assert!(
            item["msg"].as_str().unwrap().contains(msg),
            "{patch}: {}",
            item["msg"]
        );
        assert!(item["type"].is_string());
    }
    assert_eq!(
        fs::read(cd.app_yaml()).unwrap(),
        before,
        "a refused PUT must not touch app.yaml"
    );
    let (_, after) = api.get("/api/config").await;
    assert_eq!(after, good);
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[tokio::test]
async fn put_config_with_missing_topology_is_refused_without_touching_anything() {
    let cd = ConfigDir::demo();
    let (_s, api) = server(&cd);
    let before = fs::read(cd.app_yaml()).unwrap();
    let (_, mut cfg) = api.get("/api/config").await;
    cfg["paths"]["topology"] = json!("/does/not/exist");
    let (status, body) = api.put("/api/config", &cfg).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["body", "paths", "topology"])
    );
    assert!(body["detail"][0]["msg"]
        .as_str()
        .unwrap()
        .contains("Topology path not found"));
    assert_eq!(fs::read(cd.app_yaml()).unwrap(), before);
    let (_, now) = api.get("/api/config").await;
    assert_eq!(now["paths"]["topology"], "topology");
}

#[tokio::test]
async fn enabling_auth_without_a_password_hash_is_refused() {
    let cd = ConfigDir::demo();
    let (_s, api) = server(&cd);
    let before = fs::read(cd.app_yaml()).unwrap();
    let (_, mut cfg) = api.get("/api/config").await;
    cfg["auth"]["enabled"] = json!(true);
    let (status, body) = api.put("/api/config", &cfg).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"][0]["msg"]
        .as_str()
        .unwrap()
        .contains("password hash"));
    assert_eq!(fs::read(cd.app_yaml()).unwrap(), before);
}

#[tokio::test]
async fn bad_json_and_wrong_shapes_are_422() {
    let cd = ConfigDir::demo();
    let (_s, api) = server(&cd);
    let (status, body) = api
        .raw(reqwest::Method::PUT, "/api/config", "notjson")
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    let (status, body) = api.put("/api/config", &json!([1, 2])).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = api.put("/api/config", &json!({"paths": "x"})).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn concurrent_puts_never_leave_a_half_written_file() {
    let cd = ConfigDir::demo();
    let (_s, api) = server(&cd);
    let (_, base) = api.get("/api/config").await;
    let api = std::sync::Arc::new(api);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let api = api.clone();
        let mut cfg = base.clone();
        cfg["app"]["name"] = json!(format!("writer-{i}"));
        // Long values make a torn write visible.
        cfg["app"]["description"] = json!(format!("{i}-").repeat(2000));
        tasks.push(tokio::spawn(
            async move { api.put("/api/config", &cfg).await.0 },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let file = cd.read_app_yaml();
    let name = file["app"]["name"].as_str().unwrap().to_string();
    let i: usize = name.strip_prefix("writer-").unwrap().parse().unwrap();
    assert_eq!(
        file["app"]["description"],
        json!(format!("{i}-").repeat(2000))
    );
    let (_, live) = api.get("/api/config").await;
    assert_eq!(
        live["app"]["name"],
        json!(name),
        "memory and disk agree on the last writer"
    );
    let leftovers: Vec<_> = fs::read_dir(cd.root().join("config"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn trusted_networks_guard_writes() {
    let cd = ConfigDir::demo();
    cd.edit_app_yaml(|d| d["auth"]["trusted_networks"] = json!(["192.168.0.0/16"]));
    let (_s, api) = server(&cd);
    let (status, body) = api.put("/api/config", &json!({})).await;
    assert_eq!(status, 403, "guard runs before validation");
    assert!(body["detail"].as_str().unwrap().contains("trusted"));
    let (status, _) = api.post("/api/system/restart", &json!({})).await;
    assert_eq!(status, 403);
    let (status, _) = api.get("/api/config").await;
    assert_eq!(status, 200, "reads are not guarded");

    for (nets, allowed) in [
        (json!(["127.0.0.1"]), true),
        (json!(["127.0.0.0/8"]), true),
        (json!(["not-valid-cidr", "127.0.0.0/8"]), true),
        (json!(["not-valid-cidr"]), false),
        (json!(["10.0.0.0/24"]), false),
    ] {
        cd.edit_app_yaml(|d| d["auth"]["trusted_networks"] = nets.clone());
        let (s2, api2) = server(&cd);
        let (status, _) = api2.post("/api/system/restart", &json!({})).await;
        assert_eq!(status == 200, allowed, "{nets}");
        drop(s2);
    }
}

#[tokio::test]
async fn env_reports_effective_paths_and_no_credentials() {
    let cd = ConfigDir::demo();
    let s = TestServer::start_with_env(
        &cd.app_yaml(),
        &[
            ("PROMETHEUS_URL", "http://user:secretpw@127.0.0.1:9"),
            ("RACKSCOPE_CONFIG_DIR", "/etc/rs"),
        ],
    );
    let api = Api::new(&s);
    let (status, body) = api.get("/api/env").await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    for k in [
        "RACKSCOPE_APP_CONFIG",
        "PROMETHEUS_URL",
        "RACKSCOPE_CONFIG_DIR",
        "RACKSCOPE_CONFIG",
        "RACKSCOPE_TEMPLATES",
        "RACKSCOPE_CHECKS",
        "PROMETHEUS_CACHE_TTL",
    ] {
        assert!(keys.contains(&k), "{k}");
    }
    assert_eq!(
        body["RACKSCOPE_APP_CONFIG"],
        json!(cd.app_yaml().display().to_string())
    );
    assert_eq!(body["RACKSCOPE_CONFIG_DIR"], "/etc/rs");
    assert_eq!(body["RACKSCOPE_CONFIG"], Value::Null);
    assert!(!body.to_string().contains("secretpw"));
    assert!(body["PROMETHEUS_URL"]
        .as_str()
        .unwrap()
        .contains("127.0.0.1:9"));
}

#[tokio::test]
async fn system_status_health_and_generic_errors() {
    let cd = ConfigDir::demo();
    let (s, api) = server(&cd);
    let (status, body) = api.get("/api/system/status").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "running");
    assert_eq!(body["pid"], json!(s.pid()));
    assert_eq!(api.get("/healthz").await, (200, json!({"status": "ok"})));
    assert_eq!(
        api.get("/api/nonexistent").await,
        (404, json!({"detail": "Not Found"}))
    );
    let (status, body) = api.delete("/api/system/status").await;
    assert_eq!(status, 405);
    assert_eq!(body, json!({"detail": "Method Not Allowed"}));
    let resp = reqwest::get(s.url("/api/system/status")).await.unwrap();
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(uuid::Uuid::parse_str(&rid).unwrap().get_version_num(), 4);
}

#[tokio::test]
async fn restart_rebuilds_from_disk_and_keeps_the_old_state_on_a_broken_file() {
    let cd = ConfigDir::demo();
    let (_s, api) = server(&cd);
    cd.edit_app_yaml(|d| d["app"]["name"] = json!("Edited on disk"));
    let (status, body) = api.post("/api/system/restart", &json!({})).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"status": "ok", "message": "Backend restart initiated"})
        )
    );
    let (_, cfg) = api.get("/api/config").await;
    assert_eq!(cfg["app"]["name"], "Edited on disk");

    fs::write(cd.app_yaml(), "paths: [unclosed\n").unwrap();
    let (status, body) = api.post("/api/system/restart", &json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("app.yaml"),
        "{body}"
    );
    let (_, cfg) = api.get("/api/config").await;
    assert_eq!(
        cfg["app"]["name"], "Edited on disk",
        "old state keeps serving"
    );
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let cd = ConfigDir::demo();
    let s = TestServer::start(&cd.app_yaml());
    let status = s.terminate().expect("server exits on SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_refuses_to_start_on_a_broken_or_missing_config() {
    let cd = ConfigDir::demo();
    fs::write(cd.app_yaml(), "app:\n  name: x\npaths:\n  topology: [\n").unwrap();
    let log = TestServer::try_start(&cd.app_yaml(), &[])
        .err()
        .expect("must not start");
    assert!(log.contains("app.yaml"), "{log}");
    assert!(log.contains("line"), "{log}");

    let log = TestServer::try_start(&cd.root().join("nope.yaml"), &[])
        .err()
        .expect("must not start");
    assert!(log.contains("Config file not found"), "{log}");
}

fn check(app_yaml: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rackscope"))
        .args(["check", "--config"])
        .arg(app_yaml)
        .env_remove("RACKSCOPE_APP_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn check_command_reports_problems_with_file_and_line() {
    let cd = ConfigDir::demo();
    let (ok, out) = check(&cd.app_yaml());
    assert!(ok, "{out}");
    assert!(out.contains("423 node instances"), "{out}");

    let rack = cd.root().join("config/topology/datacenters");
    let rack_file = walk_first_rack(&rack);
    fs::write(&rack_file, "id: r1\nname: [broken\n").unwrap();
    let (ok, out) = check(&cd.app_yaml());
    assert!(!ok);
    assert!(
        out.contains(&format!("{}:2", rack_file.display())),
        "file and line: {out}"
    );

    fs::write(cd.app_yaml(), "paths:\n  topology: 12\n  templates: t\n").unwrap();
    let (ok, out) = check(&cd.app_yaml());
    assert!(!ok);
    assert!(out.contains("checks"), "{out}");
}

fn walk_first_rack(dir: &std::path::Path) -> std::path::PathBuf {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if let Some(f) = walk_first_rack_opt(&p) {
                return f;
            }
        }
    }
    panic!("no rack file under {}", dir.display());
}

fn walk_first_rack_opt(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut entries: Vec<_> = fs::read_dir(dir).ok()?.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if let Some(f) = walk_first_rack_opt(&p) {
                return Some(f);
            }
        } else if p
            .parent()
            .and_then(|d| d.file_name())
            .is_some_and(|n| n == "racks")
        {
            return Some(p);
        }
    }
    None
}

#[tokio::test]
async fn malformed_urls_and_oversized_bodies_get_json_4xx() {
    let cd = ConfigDir::demo();
    let (_s, api) = server(&cd);
    for path in ["/api/plugins/%FF", "/api/plugins/%FF/config"] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 400, "{path}");
        assert!(body["detail"].is_string(), "{path}: {body}");
    }
    // Just over the 2 MiB limit: small enough for the client to finish sending before the
    // server answers and closes, so the test never races a connection reset.
    let big = "a".repeat((2 << 20) + (64 << 10));
    let (status, body) = api.raw(reqwest::Method::PUT, "/api/config", &big).await;
    assert_eq!(status, 413);
    assert!(
        body["detail"].as_str().unwrap().contains("too large"),
        "{body}"
    );
}
