//! The Simulator plugin (plugins/simulator) end to end, on the real server binary with the
//! demo config (423 node instances) or a Rackscope fixture: every /api/simulator endpoint
//! and error, overrides and incidents in the scrape, a real Prometheus seeing an
//! override, reproducible runs with a seed, no series missing across reloads, promtool,
//! the fixture catalogs, hand-broken files, settings and restarts.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::server::{
    copy_dir, fixtures_dir, free_port, project_root, Api, ConfigDir, TestServer,
};
use support::wait::eventually;

/// Settings most tests use: a tick a second, no random incidents, the demo catalogs.
const BASE: &str = "update_interval_seconds: 1\nincident_mode: full_ok\ndefault_ttl_seconds: 120\n\
metrics_catalog_path: metrics/metrics_full.yaml\nmetrics_catalogs: [metrics/metrics_slurm.yaml]\n";

struct Sim {
    cd: ConfigDir,
    server: TestServer,
    api: Api,
    port: u16,
}

impl Sim {
    fn config_dir(&self) -> PathBuf {
        self.cd.root().join("config/plugins/simulator")
    }

    fn overrides_file(&self) -> PathBuf {
        self.config_dir().join("overrides/overrides.yaml")
    }

    async fn scrape(&self) -> String {
        scrape(self.port).await
    }

    async fn generation(&self) -> u64 {
        self.api.get("/api/plugins/simulator").await.1["generation"]
            .as_u64()
            .unwrap()
    }

    /// Waits until a scrape satisfies `f` (at most `secs`), and returns it.
    async fn scrape_until(&self, what: &str, secs: u64, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.scrape().await;
            if f(&text) {
                return text;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for: {what}\nlog:\n{}",
                    tail(&self.server.log())
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A copy of the demo config with the simulator plugin (copied from plugins/simulator),
/// its demo catalogs and `settings` (plus a free `listen` port) as its plugin.yaml.
fn sim_config(settings: &str) -> (ConfigDir, u16) {
    let cd = ConfigDir::demo();
    let sim_dir = cd.root().join("config/plugins/simulator");
    let _ = fs::remove_dir_all(sim_dir.join("state"));
    fs::write(sim_dir.join("overrides/overrides.yaml"), "overrides: []\n").unwrap();
    copy_dir(
        &project_root().join("plugins/simulator"),
        &cd.root().join("plugins/simulator"),
    );
    let port = free_port();
    fs::write(
        sim_dir.join("config/plugin.yaml"),
        format!("listen: 127.0.0.1:{port}\n{settings}"),
    )
    .unwrap();
    cd.edit_app_yaml(|d| d["plugins"] = json!({"simulator": {"enabled": true}}));
    (cd, port)
}

async fn start(settings: &str) -> Sim {
    let (cd, port) = sim_config(settings);
    start_in(cd, port).await
}

async fn start_in(cd: ConfigDir, port: u16) -> Sim {
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let sim = Sim {
        cd,
        server,
        api,
        port,
    };
    sim.scrape_until("the first scrape", 30, |t| {
        t.contains("rackscope_simulator_ticks_total")
    })
    .await;
    sim
}

async fn scrape(port: u16) -> String {
    match reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Samples of a scrape: `name{labels}` -> value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// Values of the series of `name` whose labels include every `(label, value)` pair.
fn values(text: &str, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    let prefix = format!("{name}{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
        .collect()
}

/// The one value of `name` for node `instance` (with extra label pairs).
fn node_value(text: &str, name: &str, instance: &str) -> Option<f64> {
    values(text, name, &[("instance", instance)])
        .first()
        .copied()
}

fn ticks(text: &str) -> u64 {
    samples(text)
        .get("rackscope_simulator_ticks_total")
        .copied()
        .unwrap_or(0.0) as u64
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// promtool's findings on `text`, minus the two lints the decisions allow: camelCase
/// node_exporter names and `_total` on gauges.
fn promtool_findings(text: &str) -> Vec<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) is needed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    all.lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !(l.contains("non-counter metrics should not have \"_total\" suffix")
                || l.contains("metric names should be written in 'snake_case' not 'camelCase'"))
        })
        .map(String::from)
        .collect()
}

/// Status, metrics, plugin, menu and config answer with the contract's shapes.
#[tokio::test]
async fn the_read_endpoints_answer_the_contract() {
    let sim = start(BASE).await;
    let api = &sim.api;

    let (s, status) = api.get("/api/simulator/status").await;
    assert_eq!(s, 200);
    // The contract's keys, plus the tick number and duration, the load error and the
    // catalogs (and never the reference's scenario or scale_factor).
    let mut keys: Vec<&str> = status
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "catalogs",
            "changes_per_hour",
            "endpoint",
            "error",
            "incident_mode",
            "last_tick_seconds",
            "overrides_count",
            "running",
            "tick",
            "update_interval"
        ]
    );
    assert_eq!(status["error"], Value::Null);
    assert_eq!(
        status["catalogs"],
        json!([
            {"id": "primary", "path": "metrics/metrics_full.yaml", "source": "config"},
            {"id": "metrics/metrics_slurm.yaml", "path": "metrics/metrics_slurm.yaml", "source": "config"},
        ])
    );
    assert!(status["tick"].as_u64().unwrap() >= 1);
    assert!(status["last_tick_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(status["endpoint"], format!("http://127.0.0.1:{}", sim.port));
    assert_eq!(status["incident_mode"], "full_ok");
    assert_eq!(status["update_interval"], 1);
    assert_eq!(status["changes_per_hour"], 2);
    assert_eq!(status["overrides_count"], 0);
    eventually("status running", 10, || async {
        api.get("/api/simulator/status").await.1["running"] == true
    })
    .await;
    let (s, metrics) = api.get("/api/simulator/metrics").await;
    assert_eq!(s, 200);
    let list = metrics["metrics"].as_array().unwrap();
    assert!(list.len() >= 5);
    for m in list {
        for k in ["id", "name", "unit", "category"] {
            assert!(m[k].is_string(), "{m}");
        }
    }
    assert!(list
        .iter()
        .any(|m| m["id"] == "node_temperature" && m["unit"] == "°C"));
    let (s, plugin) = api.get("/api/plugins/simulator").await;
    assert_eq!(s, 200);
    assert_eq!(plugin["plugin_id"], "simulator");
    assert_eq!(plugin["plugin_name"], "Metrics Simulator");
    assert_eq!(plugin["version"], "1.0.0");
    assert_eq!(plugin["error"], Value::Null);
    assert_eq!(plugin["warnings"], json!({}));
    let (_, menu) = api.get("/api/plugins/menu").await;
    assert_eq!(
        menu,
        json!([{"id": "simulator", "label": "Simulator", "icon": "FlaskConical", "order": 200,
            "items": [{"id": "sim-control", "label": "Control", "path": "/editors/settings#simulator", "icon": "Settings"}]}])
    );
    let (s, cfg) = api.get("/api/plugins/simulator/config").await;
    assert_eq!(s, 200);
    assert_eq!(cfg["source"], "file");
    assert!(cfg["path"]
        .as_str()
        .unwrap()
        .ends_with("plugins/simulator/config/plugin.yaml"));
}

/// Refused overrides and incidents: each a 400 (422 for a non-object body) with the
/// reference's message, and nothing written.
#[tokio::test]
async fn refused_overrides_and_incidents_write_nothing() {
    let sim = start(BASE).await;
    let api = &sim.api;
    let file_before = fs::read_to_string(sim.overrides_file()).unwrap();
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"instance": "cn0001", "value": 1}),
            400,
            "metric is required",
        ),
        (
            json!({"instance": "cn0001", "metric": "", "value": 1}),
            400,
            "metric is required",
        ),
        (
            json!({"instance": "cn0001", "metric": "invalid_metric", "value": 1}),
            400,
            "Unsupported metric. Available: ['node_health', 'node_health_status', ",
        ),
        (
            json!({"rack_id": "h1-a01", "metric": "invalid_metric", "value": 1}),
            400,
            "Unsupported metric",
        ),
        (
            json!({"metric": "up", "value": 0}),
            400,
            "instance or rack_id is required",
        ),
        (
            json!({"instance": "cn0001", "metric": "rack_down", "value": 1}),
            400,
            "rack_down requires rack_id",
        ),
        (
            json!({"instance": "cn0001", "rack_id": "h1-a01", "metric": "rack_down", "value": 1}),
            400,
            "rack_down requires rack_id",
        ),
        (
            json!({"instance": "nope01", "metric": "up", "value": 0}),
            400,
            "instance 'nope01' is not in the topology",
        ),
        (
            json!({"rack_id": "nope-rack", "metric": "rack_down", "value": 1}),
            400,
            "rack 'nope-rack' is not in the topology",
        ),
        (
            json!({"instance": "cn0001", "metric": "up"}),
            400,
            "value is required",
        ),
        (
            json!({"instance": "cn0001", "metric": "up", "value": null}),
            400,
            "value is required",
        ),
        (
            json!({"instance": "cn0001", "metric": "up", "value": "not_a_number"}),
            400,
            "value must be numeric",
        ),
        (
            json!({"instance": "cn0001", "metric": "node_power_watts", "value": "nan"}),
            400,
            "value must be numeric",
        ),
        (
            json!({"instance": "cn0001", "metric": "node_power_watts", "value": "inf"}),
            400,
            "value must be numeric",
        ),
        (
            json!({"instance": "cn0001", "metric": "node_power_watts", "value": "-Infinity"}),
            400,
            "value must be numeric",
        ),
        (
            json!({"instance": "cn0001", "metric": "node_power_watts", "value": [1]}),
            400,
            "value must be numeric",
        ),
        (
            json!({"instance": "cn0001", "metric": "node_power_watts", "value": {"a": 1}}),
            400,
            "value must be numeric",
        ),
        (
            json!({"instance": "cn0001", "metric": "node_health_status", "value": 5}),
            400,
            "node_health_status must be 0, 1, or 2",
        ),
        (
            json!({"instance": "cn0001", "metric": "up", "value": 0.5}),
            400,
            "up must be 0 or 1",
        ),
        (
            json!({"instance": "cn0001", "metric": "up", "value": 0, "ttl_seconds": "not_a_number"}),
            400,
            "ttl_seconds must be int",
        ),
        (
            json!({"instance": "cn0001", "metric": "up", "value": 0, "ttl_seconds": "1.5"}),
            400,
            "ttl_seconds must be int",
        ),
        (
            json!({"instance": "cn0001", "metric": "up", "value": 0, "ttl_seconds": -10}),
            400,
            "ttl_seconds must be >= 0",
        ),
        (json!([1, 2]), 422, ""),
        (json!("text"), 422, ""),
    ];
    for (body, status, detail) in &cases {
        let (s, b) = api.post("/api/simulator/overrides", body).await;
        assert_eq!(s, *status, "{body} -> {b}");
        if *status == 400 {
            assert!(
                b["detail"].as_str().unwrap().contains(detail),
                "{body} -> {b}"
            );
        } else {
            assert!(b["detail"].is_array(), "{body} -> {b}");
        }
    }
    let incident_cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"target_id": "h1-a01"}),
            400,
            "type and target_id are required",
        ),
        (
            json!({"type": "rack_down"}),
            400,
            "type and target_id are required",
        ),
        (
            json!({"type": "invalid_type", "target_id": "h1-a01"}),
            400,
            "type must be 'rack_down' or 'aisle_cooling'",
        ),
        (
            json!({"type": "rack_down", "target_id": "h1-a01", "duration": -100}),
            400,
            "duration must be non-negative",
        ),
        (
            json!({"type": "rack_down", "target_id": "h1-a01", "duration": "not_a_number"}),
            400,
            "duration must be integer",
        ),
        (
            json!({"type": "rack_down", "target_id": "h1-a01", "duration": null}),
            400,
            "duration must be integer",
        ),
        (
            json!({"type": "rack_down", "target_id": "nope"}),
            400,
            "rack 'nope' is not in the topology",
        ),
        (
            json!({"type": "aisle_cooling", "target_id": "nope"}),
            400,
            "aisle 'nope' is not in the topology",
        ),
        (json!([1]), 422, ""),
    ];
    for (body, status, detail) in &incident_cases {
        let (s, b) = api.post("/api/simulator/incidents", body).await;
        assert_eq!(s, *status, "{body} -> {b}");
        if *status == 400 {
            assert!(
                b["detail"].as_str().unwrap().contains(detail),
                "{body} -> {b}"
            );
        }
    }
    assert_eq!(
        fs::read_to_string(sim.overrides_file()).unwrap(),
        file_before,
        "nothing written on refusal"
    );
}

/// Overrides (TTLs, ids, metric ids, listing, deletion), then incidents on top of them.
#[tokio::test]
async fn overrides_and_incidents_through_the_api() {
    let sim = start(BASE).await;
    let api = &sim.api;
    let t0 = now();
    let (s, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": "cn0001", "metric": "node_temperature", "value": 90, "ttl_seconds": 300}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let first = &b["overrides"][0];
    assert_eq!(first["instance"], "cn0001");
    assert_eq!(first["rack_id"], Value::Null);
    assert_eq!(
        first["metric"], "node_temperature_celsius",
        "ids map to the metric"
    );
    assert_eq!(first["value"], 90.0);
    let exp = first["expires_at"].as_i64().unwrap();
    assert!((t0 + 299..=now() + 301).contains(&exp), "{exp}");
    let (_, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"rack_id": "h1-a01", "metric": "rack_down", "value": 1.0}),
        )
        .await;
    let rack = &b["overrides"][1];
    assert_eq!(rack["rack_id"], "h1-a01");
    assert_eq!(rack["instance"], Value::Null);
    assert!(
        rack["expires_at"].as_i64().unwrap() >= t0 + 119,
        "default_ttl_seconds applies"
    );
    let (_, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": "cn0002", "metric": "up", "value": 0, "ttl_seconds": 0}),
        )
        .await;
    assert_eq!(
        b["overrides"][2]["expires_at"],
        Value::Null,
        "ttl 0 is permanent"
    );
    // The same target and metric twice in one second: two ids.
    let (_, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": "cn0002", "metric": "up", "value": 0, "ttl_seconds": 0}),
        )
        .await;
    let ids: Vec<&str> = b["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids are unique: {ids:?}");
    let (s, _) = api
        .post(
            "/api/simulator/overrides",
            &json!({"id": "mine", "instance": "cn0003", "metric": "up", "value": 1}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"id": "mine", "instance": "cn0004", "metric": "up", "value": 1}),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("mine"));
    let (s, b) = api.get("/api/simulator/overrides").await;
    assert_eq!(s, 200);
    assert_eq!(b["overrides"].as_array().unwrap().len(), 5);
    assert_eq!(
        api.get("/api/simulator/status").await.1["overrides_count"],
        5
    );
    let (s, b) = api.delete("/api/simulator/overrides/mine").await;
    assert_eq!(s, 200);
    assert_eq!(b["overrides"].as_array().unwrap().len(), 4);
    let (s, b) = api.delete("/api/simulator/overrides/mine").await;
    assert_eq!(s, 404, "unknown id: {b}");
    assert_eq!(b["detail"], "Override 'mine' not found");

    // Incidents.
    let (s, b) = api
        .post(
            "/api/simulator/incidents",
            &json!({"type": "rack_down", "target_id": "h1-a02", "duration": 300}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "triggered");
    assert_eq!(b["incident_type"], "rack_down");
    assert_eq!(b["target_id"], "h1-a02");
    assert_eq!(b["duration"], 300);
    assert!(b["expires_at"].as_i64().unwrap() >= t0 + 299);
    let (_, b) = api
        .post(
            "/api/simulator/incidents",
            &json!({"type": "rack_down", "target_id": "h1-a03", "duration": 0}),
        )
        .await;
    assert_eq!(b["expires_at"], Value::Null);
    let (s, b) = api
        .post(
            "/api/simulator/incidents",
            &json!({"type": "aisle_cooling", "target_id": "h1-b", "duration": 600}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "triggered");
    assert_eq!(b["incident_type"], "aisle_cooling");
    let (_, b) = api.get("/api/simulator/overrides").await;
    let list = b["overrides"].as_array().unwrap();
    assert_eq!(list.len(), 7);
    assert!(list
        .iter()
        .any(|o| o["rack_id"] == "h1-a02" && o["metric"] == "rack_down" && o["value"] == 1));
    assert!(list
        .iter()
        .any(|o| o["aisle_id"] == "h1-b" && o["metric"] == "aisle_cooling"));
}

/// An entry written by hand that has expired is gone from the API; the others are read.
#[tokio::test]
async fn an_expired_hand_written_override_is_gone_from_the_api() {
    let sim = start(BASE).await;
    let api = &sim.api;
    let (s, b) = api.delete("/api/simulator/overrides").await;
    assert_eq!((s, b), (200, json!({"overrides": []})));
    assert_eq!(
        fs::read_to_string(sim.overrides_file()).unwrap().trim(),
        "overrides: []"
    );
    fs::write(
        sim.overrides_file(),
        "overrides:\n- {id: old, instance: cn0001, metric: up, value: 0, expires_at: 1}\n- {id: live, instance: cn0001, metric: up, value: 0}\n",
    )
    .unwrap();
    eventually("the hand-written file is read", 10, || async {
        let b = api.get("/api/simulator/overrides").await.1;
        b["overrides"].as_array().unwrap().len() == 1 && b["overrides"][0]["id"] == "live"
    })
    .await;
    assert_eq!(
        api.get("/api/simulator/status").await.1["overrides_count"],
        1
    );
}

#[tokio::test]
async fn overrides_and_incidents_change_the_scrape() {
    let sim = start(BASE).await;
    let api = &sim.api;
    let before = sim.scrape().await;
    let normal_b: Vec<f64> = values(
        &before,
        "node_temperature_celsius",
        &[("rack_id", "h1-b01")],
    );
    assert!(!normal_b.is_empty());
    assert!(
        values(&before, "up", &[]).iter().all(|v| *v == 1.0),
        "full_ok: every node up"
    );
    assert!(values(&before, "node_health_status", &[])
        .iter()
        .all(|v| *v == 0.0));

    for body in [
        json!({"instance": "cn0001", "metric": "up", "value": 0, "ttl_seconds": 0}),
        json!({"instance": "cn0002", "metric": "node_temperature_celsius", "value": 90}),
        json!({"instance": "cn0003", "metric": "node_health_status", "value": 1}),
        json!({"instance": "cn0004", "metric": "node_power_watts", "value": 999, "ttl_seconds": 2}),
        json!({"rack_id": "h1-a03", "metric": "raritan_pdu_current_ampere", "value": 12.5}),
    ] {
        let (s, b) = api.post("/api/simulator/overrides", &body).await;
        assert_eq!(s, 200, "{body} -> {b}");
    }
    for body in [
        json!({"type": "rack_down", "target_id": "h1-a02"}),
        json!({"type": "aisle_cooling", "target_id": "h1-b", "duration": 600}),
    ] {
        assert_eq!(api.post("/api/simulator/incidents", &body).await.0, 200);
    }
    let text = sim
        .scrape_until("the overrides in the scrape", 10, |t| {
            // A scrape taken while a tick writes its families can show part of it: wait
            // for one that holds the whole tick (the last families written included).
            node_value(t, "up", "cn0001") == Some(0.0)
                && node_value(t, "ipmi_up", "cn0001") == Some(0.0)
                && node_value(t, "ipmi_power_state", "cn0001") == Some(2.0)
                && values(
                    t,
                    "slurm_node_status",
                    &[("node", "cn0001"), ("status", "down")],
                ) == vec![1.0, 1.0]
                && node_value(t, "node_power_watts", "cn0004") == Some(999.0)
                && values(t, "up", &[("rack_id", "h1-a02")])
                    .iter()
                    .all(|v| *v == 0.0)
                && values(t, "raritan_pdu_current_ampere", &[("rack_id", "h1-a03")])
                    == vec![12.5, 12.5]
        })
        .await;
    // A node taken down shows it everywhere, Slurm included.
    assert_eq!(node_value(&text, "node_health_status", "cn0001"), Some(2.0));
    assert_eq!(node_value(&text, "node_power_watts", "cn0001"), Some(0.0));
    assert_eq!(node_value(&text, "node_load_percent", "cn0001"), Some(0.0));
    assert_eq!(node_value(&text, "ipmi_power_state", "cn0001"), Some(2.0));
    assert_eq!(node_value(&text, "ipmi_up", "cn0001"), Some(0.0));
    let down = values(
        &text,
        "slurm_node_status",
        &[("node", "cn0001"), ("status", "down")],
    );
    assert_eq!(down, vec![1.0, 1.0], "down in both partitions");
    // Series that no longer apply disappear: the node's CPU series moved to its new state.
    let cpu: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("slurm_node_cpu_total{node=\"cn0001\","))
        .collect();
    assert_eq!(cpu.len(), 2, "{cpu:?}");
    assert!(cpu.iter().all(|l| l.contains("status=\"down\"")), "{cpu:?}");
    assert!(values(
        &text,
        "slurm_node_status",
        &[("node", "cn0001"), ("status", "idle")]
    )
    .iter()
    .all(|v| *v == 0.0));
    // Temperature set exactly; health follows the reference (not recomputed).
    assert_eq!(
        node_value(&text, "node_temperature_celsius", "cn0002"),
        Some(90.0)
    );
    // Health 1: IPMI warning, Slurm drain.
    assert_eq!(node_value(&text, "node_health_status", "cn0003"), Some(1.0));
    assert_eq!(
        node_value(&text, "ipmi_fan_speed_state", "cn0003"),
        Some(1.0)
    );
    assert_eq!(
        values(
            &text,
            "slurm_node_status",
            &[
                ("node", "cn0003"),
                ("partition", "all"),
                ("status", "drain")
            ]
        ),
        vec![1.0]
    );
    // A rack down: every node down and at 50 W.
    let rack_nodes = values(&text, "node_power_watts", &[("rack_id", "h1-a02")]);
    assert_eq!(rack_nodes.len(), 50);
    assert!(rack_nodes.iter().all(|v| *v == 50.0));
    // PDU current override on both PDUs, power derived from it.
    let current = values(
        &text,
        "raritan_pdu_current_ampere",
        &[("rack_id", "h1-a03")],
    );
    assert_eq!(current, vec![12.5, 12.5]);
    let inlet = values(
        &text,
        "raritan_pdu_activepower_watt",
        &[("rack_id", "h1-a03"), ("inletid", "I1")],
    );
    assert_eq!(inlet, vec![2875.0, 2875.0]);
    // A hot aisle runs more than 10 degrees above its normal temperatures.
    let hot: Vec<f64> = values(&text, "node_temperature_celsius", &[("rack_id", "h1-b01")]);
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        avg(&hot) > avg(&normal_b) + 10.0,
        "{} vs {}",
        avg(&hot),
        avg(&normal_b)
    );
    let cool = values(&text, "node_temperature_celsius", &[("rack_id", "h1-a01")]);
    assert!(avg(&cool) < avg(&normal_b) + 5.0, "other aisles unchanged");

    // A TTL expires: the value goes back to the model, and the entry leaves the API.
    sim.scrape_until("the TTL of the power override expires", 10, |t| {
        node_value(t, "node_power_watts", "cn0004") != Some(999.0)
    })
    .await;
    let (_, b) = api.get("/api/simulator/overrides").await;
    assert!(b["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["instance"] != "cn0004"));
    // Clearing every override brings the node back.
    api.delete("/api/simulator/overrides").await;
    sim.scrape_until("cn0001 back up", 10, |t| {
        node_value(t, "up", "cn0001") == Some(1.0)
    })
    .await;
}

#[tokio::test]
async fn a_real_prometheus_sees_every_node_and_an_override() {
    let sim = start(BASE).await;
    let prom = support::prometheus::RealPrometheus::start(&[format!("127.0.0.1:{}", sim.port)]);
    // The demo comes alive: `up` for every one of the 423 node instances, under its own name.
    prom.wait_for_query(
        "count(up{job=\"node\"})",
        |d| d["result"][0]["value"][1] == "423",
        Duration::from_secs(30),
    )
    .await;
    prom.wait_for_query(
        "up{instance=\"cn0001\"}",
        |d| d["result"][0]["value"][1] == "1",
        Duration::from_secs(10),
    )
    .await;
    let (s, _) = sim
        .api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": "cn0001", "metric": "up", "value": 0}),
        )
        .await;
    assert_eq!(s, 200);
    let data = prom
        .wait_for_query(
            "up{instance=\"cn0001\"}",
            |d| d["result"][0]["value"][1] == "0",
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(data["result"][0]["metric"]["rack_id"], "h1-a01");
    prom.wait_for_query(
        "slurm_node_status{node=\"cn0001\",partition=\"all\",status=\"down\"}",
        |d| d["result"][0]["value"][1] == "1",
        Duration::from_secs(10),
    )
    .await;
}

/// The scrapes of one run at ticks 1..=n, as maps (tick duration left out).
async fn run_ticks(settings: &str, n: u64) -> Vec<BTreeMap<String, f64>> {
    let sim = start(settings).await;
    let mut out = Vec::new();
    let mut want = 1;
    let deadline = Instant::now() + Duration::from_secs(30);
    while want <= n {
        assert!(Instant::now() < deadline, "ticks did not advance");
        let a = sim.scrape().await;
        let b = sim.scrape().await;
        // Two equal scrapes at the wanted tick: not caught in the middle of a tick.
        let (sa, sb) = (samples(&a), samples(&b));
        let strip = |mut m: BTreeMap<String, f64>| {
            m.remove("rackscope_simulator_tick_seconds");
            m
        };
        let (sa, sb) = (strip(sa), strip(sb));
        let t = ticks(&a);
        if t > want {
            panic!("missed tick {want} (at {t}); ticks are too fast for this test");
        }
        if t == want && sa == sb {
            out.push(sa);
            want += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    out
}

#[tokio::test]
async fn the_same_seed_gives_identical_scrapes() {
    let settings =
        "update_interval_seconds: 2\nseed: 42\nincident_mode: heavy\nchanges_per_hour: 1800\n\
slurm_random_statuses: {drain: 3, down: 2, maint: 2}\nslurm_random_match: [\"cn*\"]\n\
metrics_catalog_path: metrics/metrics_full.yaml\nmetrics_catalogs: [metrics/metrics_slurm.yaml]\n";
    let (a, b) = tokio::join!(run_ticks(settings, 3), run_ticks(settings, 3));
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(x.len() > 20_000);
        let diff: Vec<_> = x
            .iter()
            .filter(|(key, v)| y.get(*key) != Some(v))
            .take(5)
            .collect();
        assert!(
            diff.is_empty() && x.len() == y.len(),
            "tick {}: {diff:?}",
            k + 1
        );
    }
    // Heavy incidents did happen, and were re-rolled between ticks (changes_per_hour 1800
    // at 2 s: every tick).
    let down = |m: &BTreeMap<String, f64>| {
        m.iter()
            .filter(|(k, v)| k.starts_with("up{") && **v == 0.0)
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    assert!(!down(&a[0]).is_empty());
    assert_ne!(down(&a[0]), down(&a[1]));
}

#[tokio::test]
async fn no_series_goes_missing_across_reloads() {
    let sim = start(BASE).await;
    let port = sim.port;
    // An override and its effect, to see them carried over.
    sim.api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": "cn0010", "metric": "up", "value": 0}),
        )
        .await;
    sim.scrape_until("the override", 10, |t| {
        node_value(t, "up", "cn0010") == Some(0.0)
    })
    .await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let scrapes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let scrapes2 = scrapes.clone();
    // Scrape continuously while the plugin reloads.
    let scraper = tokio::spawn(async move {
        let mut seen: Vec<(usize, u64, Option<f64>, f64)> = Vec::new();
        while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
            let text = scrape(port).await;
            scrapes2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let m = samples(&text);
            let cpu = m
                .iter()
                .find(|(k, _)| k.starts_with("node_cpu_seconds_total{") && k.contains("\"cn0005\""))
                .map(|(_, v)| *v)
                .unwrap_or(0.0);
            seen.push((
                m.len(),
                ticks(&text),
                node_value(&text, "up", "cn0010"),
                cpu,
            ));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seen
    });
    let g0 = sim.generation().await;
    // A new instance, then a few scrapes of it (taken after it was published).
    let wait_generation = |g: u64| {
        let (sim, scrapes) = (&sim, &scrapes);
        async move {
            eventually("a new instance", 10, || async {
                sim.generation().await > g
            })
            .await;
            let from = scrapes.load(std::sync::atomic::Ordering::SeqCst);
            eventually("three scrapes of the new instance", 10, || async {
                scrapes.load(std::sync::atomic::Ordering::SeqCst) >= from + 3
            })
            .await;
            sim.generation().await
        }
    };
    // 1. An edit of init.lua.
    let init = sim.cd.root().join("plugins/simulator/init.lua");
    let mut src = fs::read_to_string(&init).unwrap();
    src.push_str("\n-- edited by the test\n");
    fs::write(&init, &src).unwrap();
    let g1 = wait_generation(g0).await;
    // 2. An edit of plugin.yaml (a new incident mode: the incidents are re-rolled).
    let yaml = sim.config_dir().join("config/plugin.yaml");
    let text = fs::read_to_string(&yaml)
        .unwrap()
        .replace("incident_mode: full_ok", "incident_mode: light");
    fs::write(&yaml, text).unwrap();
    let g2 = wait_generation(g1).await;
    // 3. POST /api/simulator/restart.
    let (s, b) = sim.api.post("/api/simulator/restart", &json!({})).await;
    assert_eq!((s, b), (200, json!({"status": "restarting"})));
    let g3 = wait_generation(g2).await;
    // 4. POST /api/plugins/simulator/config.
    let (s, _) = sim
        .api
        .post(
            "/api/plugins/simulator/config",
            &json!({"config": {"changes_per_hour": 3}}),
        )
        .await;
    assert_eq!(s, 200);
    wait_generation(g3).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = scraper.await.unwrap();
    assert!(seen.len() >= 10, "{} scrapes", seen.len());
    for w in seen.windows(2) {
        let ((n0, t0, _, c0), (n1, t1, up1, c1)) = (w[0], w[1]);
        assert!(n1 >= n0, "a scrape lost series: {n0} -> {n1}");
        assert!(t1 >= t0, "the tick counter went back: {t0} -> {t1}");
        assert!(c1 >= c0, "a counter went back: {c0} -> {c1}");
        assert_eq!(up1, Some(0.0), "the override holds across reloads");
    }
    let status = sim.api.get("/api/simulator/status").await.1;
    assert_eq!(status["incident_mode"], "light");
    assert_eq!(status["changes_per_hour"], 3);
    assert_eq!(status["overrides_count"], 1);
}

#[tokio::test]
async fn promtool_finds_nothing_beyond_the_two_allowed_lints() {
    let sim = start(BASE).await;
    let text = sim.scrape().await;
    let findings = promtool_findings(&text);
    assert!(findings.is_empty(), "{findings:#?}");
    // Every family has HELP and TYPE.
    let names: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap())
        .collect();
    for n in names {
        assert!(text.contains(&format!("# HELP {n} ")), "{n}");
        assert!(text.contains(&format!("# TYPE {n} ")), "{n}");
    }
}

fn fixture(p: &str) -> PathBuf {
    fixtures_dir().join(p)
}

#[tokio::test]
async fn the_rackscope_fixture_catalogs_load_and_produce_their_metrics() {
    // The fixture hpc-cluster topology with Rackscope's own catalogs and simulator
    // plugin.yaml, copied into a temporary config folder: its paths
    // (config/plugins/simulator/...) load unchanged.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cfg = root.join("config");
    let sim_dir = cfg.join("plugins/simulator");
    fs::create_dir_all(sim_dir.join("config")).unwrap();
    fs::create_dir_all(sim_dir.join("metrics")).unwrap();
    for f in ["metrics_full.yaml", "metrics_slurm.yaml"] {
        fs::copy(fixture("catalogs").join(f), sim_dir.join("metrics").join(f)).unwrap();
    }
    let port = free_port();
    let plugin_yaml = fs::read_to_string(fixture("catalogs/simulator-plugin.yaml"))
        .unwrap()
        .replace("update_interval_seconds: 20", "update_interval_seconds: 1");
    fs::write(
        sim_dir.join("config/plugin.yaml"),
        format!("{plugin_yaml}\nlisten: 127.0.0.1:{port}\n"),
    )
    .unwrap();
    copy_dir(
        &project_root().join("plugins/simulator"),
        &root.join("plugins/simulator"),
    );
    let hpc = fixture("hpc-cluster");
    let app = format!(
        "paths:\n  topology: {}\n  templates: {}\n  checks: {}\n  metrics: {}\n  plugins: ../plugins\nplugins:\n  simulator:\n    enabled: true\n",
        hpc.join("topology").display(),
        hpc.join("templates").display(),
        hpc.join("checks").display(),
        hpc.join("metrics").display(),
    );
    fs::write(cfg.join("app.yaml"), app).unwrap();
    let server = TestServer::start(&cfg.join("app.yaml"));
    let api = Api::new(&server);
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let t = scrape(port).await;
        if t.contains("rackscope_simulator_ticks_total") {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "no scrape:\n{}",
            tail(&server.log())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for name in [
        "up",
        "node_temperature_celsius",
        "node_cpu_seconds_total",
        "node_memory_MemTotal_bytes",
        "node_network_receive_bytes_total",
        "ipmi_fan_speed_state",
        "ipmi_up",
        "switch_port_oper_status",
        "switch_port_in_octets",
        "eseries_storage_system_status",
        "eseries_drive_status",
        "sequana3_hyc_state_info",
        "sequana3_hyc_p_in_kpa",
        "sequana3_pmc_total_watt",
        "raritan_pdu_activepower_watt",
        "raritan_pdu_voltage_volt",
        "slurm_node_status",
        "slurm_node_cpu_alloc",
        "slurm_node_mem_total",
        "slurm_nodes_total",
        "slurm_cpus_idle",
        "slurm_gpus_total",
        "slurm_partition_cpus_total",
        "slurm_partition_jobs_pending",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))),
            "{name} has samples"
        );
    }
    // A catalog name without a generator: HELP and TYPE, no samples.
    assert!(text.contains("# TYPE eseries_battery_status gauge\n"));
    assert!(!text.contains("\neseries_battery_status{"));
    // Storage drives carry the tray of the reference's naming (da02 -> "01").
    assert!(
        values(
            &text,
            "eseries_drive_status",
            &[("instance", "da02-r02-01"), ("tray", "01")]
        )
        .len()
            >= 2
    );
    // labels_only Slurm families carry exactly node, partition, status.
    let line = text
        .lines()
        .find(|l| l.starts_with("slurm_node_status{"))
        .unwrap();
    assert!(line.starts_with("slurm_node_status{node=\""), "{line}");
    assert_eq!(line.matches("=\"").count(), 3, "{line}");
    assert!(promtool_findings(&text).is_empty());
    // The reference's overrides_path (config/plugins/simulator/overrides/...) lands in
    // the plugin's config folder.
    let instance = text
        .lines()
        .find(|l| l.starts_with("up{"))
        .and_then(|l| l.split("instance=\"").nth(1))
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let (s, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": instance, "metric": "up", "value": 0}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(sim_dir.join("overrides/overrides.yaml").is_file());
}

#[tokio::test]
async fn hand_broken_files_are_reported_and_the_last_good_ones_kept() {
    let sim = start(BASE).await;
    let api = &sim.api;
    api.post(
        "/api/simulator/overrides",
        &json!({"instance": "cn0001", "metric": "up", "value": 0, "ttl_seconds": 0}),
    )
    .await;
    sim.scrape_until("the override", 10, |t| {
        node_value(t, "up", "cn0001") == Some(0.0)
    })
    .await;

    // A broken overrides file: reported, the last good list stays in force, writes are
    // refused until it is cleared.
    fs::write(sim.overrides_file(), "overrides: [ {id: x, metric: up\n").unwrap();
    eventually("the warning", 10, || async {
        api.get("/api/plugins/simulator").await.1["warnings"]["overrides"]
            .as_str()
            .is_some_and(|w| w.contains("overrides file overrides/overrides.yaml is invalid"))
    })
    .await;
    assert!(sim
        .server
        .log()
        .contains("overrides file overrides/overrides.yaml is invalid"));
    let text = sim.scrape().await;
    assert_eq!(
        node_value(&text, "up", "cn0001"),
        Some(0.0),
        "last good overrides kept"
    );
    assert_eq!(
        api.get("/api/simulator/overrides").await.1["overrides"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (s, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": "cn0002", "metric": "up", "value": 0}),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(api.delete("/api/simulator/overrides").await.0, 200);
    assert_eq!(
        api.get("/api/plugins/simulator").await.1["warnings"],
        json!({})
    );
    sim.scrape_until("cn0001 up again", 10, |t| {
        node_value(t, "up", "cn0001") == Some(1.0)
    })
    .await;

    // A broken catalog: the restart fails, the error shows, the old instance serves on.
    let catalog = sim.config_dir().join("metrics/metrics_full.yaml");
    let good = fs::read_to_string(&catalog).unwrap();
    fs::write(&catalog, "metrics: [ {name: up\n").unwrap();
    let g = sim.generation().await;
    let count = samples(&sim.scrape().await).len();
    assert_eq!(api.post("/api/simulator/restart", &json!({})).await.0, 200);
    eventually("the catalog error", 10, || async {
        api.get("/api/plugins/simulator").await.1["error"]
            .as_str()
            .is_some_and(|e| {
                e.contains("metrics catalog metrics/metrics_full.yaml is not valid YAML")
            })
    })
    .await;
    assert_eq!(sim.generation().await, g, "the old instance still serves");
    assert!(samples(&sim.scrape().await).len() >= count);
    assert_eq!(api.get("/api/simulator/status").await.0, 200);

    // The catalog fixed (without ipmi_up): the restart applies it.
    let without: String = {
        let mut out = Vec::new();
        let mut skip = false;
        for line in good.lines() {
            if line.starts_with("  - name: ") {
                skip = line == "  - name: ipmi_up";
            }
            if !skip {
                out.push(line);
            }
        }
        out.join("\n") + "\n"
    };
    fs::write(&catalog, without).unwrap();
    assert_eq!(api.post("/api/simulator/restart", &json!({})).await.0, 200);
    eventually("the new catalog", 10, || async {
        sim.generation().await > g
    })
    .await;
    assert_eq!(
        api.get("/api/plugins/simulator").await.1["error"],
        Value::Null
    );
    let text = sim.scrape().await;
    assert!(!text.contains("ipmi_up"));
    assert!(text.contains("\nipmi_fan_speed_state{"));
}

#[tokio::test]
async fn settings_are_validated_and_state_survives_a_server_restart() {
    let (cd, port) = sim_config(&format!("{BASE}seed: 7\n"));
    let sim = start_in(cd, port).await;
    let api = &sim.api;
    let yaml = sim.config_dir().join("config/plugin.yaml");
    let before = fs::read_to_string(&yaml).unwrap();
    for bad in [
        json!({"incident_mode": "bogus"}),
        json!({"changes_per_hour": 0}),
        json!({"slurm_alloc_percent": 101}),
        json!({"custom_incidents": {"devices_crit": -1}}),
        json!({"overrides_path": "/etc/passwd"}),
        json!({"metrics_catalog_path": "../../x.yaml"}),
        json!({"update_interval_seconds": "fast"}),
    ] {
        let (s, b) = api
            .post("/api/plugins/simulator/config", &json!({"config": bad}))
            .await;
        assert_eq!(s, 422, "{bad} -> {b}");
        assert!(
            b["detail"].as_str().unwrap().contains("invalid config"),
            "{b}"
        );
    }
    assert_eq!(
        fs::read_to_string(&yaml).unwrap(),
        before,
        "nothing written"
    );

    // Custom incidents: exactly three nodes down.
    let (s, b) = api
        .post(
            "/api/plugins/simulator/config",
            &json!({"config": {"incident_mode": "custom", "custom_incidents": {"devices_crit": 3, "devices_warn": 0, "racks_crit": 0, "aisles_hot": 0}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        api.get("/api/simulator/status").await.1["incident_mode"],
        "custom"
    );
    let text = sim
        .scrape_until("three nodes down", 10, |t| {
            values(t, "up", &[]).iter().filter(|v| **v == 0.0).count() == 3
        })
        .await;
    let down_before: Vec<String> = samples(&text)
        .into_iter()
        .filter(|(k, v)| k.starts_with("up{") && *v == 0.0)
        .map(|(k, _)| k)
        .collect();
    api.post("/api/simulator/overrides", &json!({"instance": "gpu001", "metric": "node_temperature_celsius", "value": 77, "ttl_seconds": 0}))
        .await;
    let text = sim
        .scrape_until("the override", 10, |t| {
            node_value(t, "node_temperature_celsius", "gpu001") == Some(77.0)
        })
        .await;
    let ticks_before = ticks(&text);
    // Let a timer tick save the state, then restart the whole server.
    sim.scrape_until("a saved tick", 10, |t| ticks(t) > ticks_before + 1)
        .await;
    let Sim { cd, server, .. } = sim;
    drop(server);
    let sim = start_in(cd, port).await;
    let text = sim.scrape().await;
    assert!(ticks(&text) > ticks_before, "the tick number carries on");
    let down_after: Vec<String> = samples(&text)
        .into_iter()
        .filter(|(k, v)| k.starts_with("up{") && *v == 0.0)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(down_after, down_before, "the incident state carries on");
    assert_eq!(
        node_value(&text, "node_temperature_celsius", "gpu001"),
        Some(77.0),
        "overrides carry on"
    );
}

/// The demo files exist and parse (the plugin config is the one the demo loads).
#[test]
fn demo_files_are_in_place() {
    let root = project_root().join("config/plugins/simulator");
    for f in [
        "config/plugin.yaml",
        "metrics/metrics_full.yaml",
        "metrics/metrics_slurm.yaml",
        "overrides/overrides.yaml",
    ] {
        let p: &Path = &root.join(f);
        let doc: serde_json::Value =
            serde_norway::from_str(&fs::read_to_string(p).unwrap()).unwrap();
        assert!(doc.is_object(), "{f}");
    }
}

#[tokio::test]
async fn a_simulator_that_cannot_listen_is_not_running() {
    // Its scrape address is taken: the plugin loads, but Prometheus cannot scrape it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (cd, _) = sim_config(BASE);
    let yaml = cd
        .root()
        .join("config/plugins/simulator/config/plugin.yaml");
    let text = fs::read_to_string(&yaml).unwrap();
    let text = text.replacen(
        text.lines().next().unwrap(),
        &format!("listen: 127.0.0.1:{port}"),
        1,
    );
    fs::write(&yaml, text).unwrap();
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    eventually("the plugin loaded", 10, || async {
        api.get("/api/plugins/simulator").await.1["running"] == true
    })
    .await;
    let (s, status) = api.get("/api/simulator/status").await;
    assert_eq!(s, 200);
    assert_eq!(status["running"], false);
    assert_eq!(status["endpoint"], format!("http://127.0.0.1:{port}"));
    let (s, b) = api.post("/api/simulator/restart", &json!({})).await;
    assert_eq!(s, 503, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("is not open"), "{b}");
    drop(taken);
}

#[tokio::test]
async fn a_disabled_simulator_refuses_a_restart_with_503() {
    // Decision D4: restart answers 503 when the simulator is not enabled; reads of a
    // plugin that is not registered are 404, as in the reference.
    let (cd, _) = sim_config(BASE);
    cd.edit_app_yaml(|d| d["plugins"] = json!({"simulator": {"enabled": false}}));
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let (s, b) = api.post("/api/simulator/restart", &json!({})).await;
    assert_eq!(s, 503, "{b}");
    assert_eq!(b, json!({"detail": "Plugin 'simulator' is not enabled"}));
    let (s, b) = api.get("/api/simulator/status").await;
    assert_eq!((s, b), (404, json!({"detail": "Not Found"})));
    // A path under no plugin folder stays a plain 404.
    let (s, _) = api.post("/api/nothing-here/restart", &json!({})).await;
    assert_eq!(s, 404);
    // Enabled again (by a config edit), the restart is taken.
    cd.edit_app_yaml(|d| d["plugins"] = json!({"simulator": {"enabled": true}}));
    assert_eq!(api.post("/api/system/restart", &json!({})).await.0, 200);
    eventually("the simulator ticking", 30, || async {
        api.post("/api/simulator/restart", &json!({})).await.0 == 200
    })
    .await;
}
