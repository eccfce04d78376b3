//! The Slurm plugin (plugins/slurm) end to end: the real server binary, a real Prometheus
//! scraping a static exposition this test serves on a loopback port, and the demo
//! topology (config/topology, 423 instances).
//!
//! Data: the simulator's format (12 one-hot series per node and partition, partitions
//! all/cpu/gpu, topology names) built here, and a recording of the real Slurm exporter
//! (tests/data/slurm-exporter.prom: long state names with flag suffixes, one series per
//! node, Slurm names mapped through the mapping file). Every endpoint and error of the
//! contract, the black-box cases of spec/reference/slurm.md §7 as amended by the
//! decisions, Prometheus unreachable or failing (503), the admin check on writes, and the
//! shared cold-cache computation. The run with the simulator plugin itself is at the end,
//! skipped while plugins/simulator does not exist.

mod support;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use support::exposition::Exposition;
use support::prometheus::RealPrometheus;
use support::server::{copy_dir, project_root, Api, ConfigDir, TestServer};

/// The plugin config most tests use: a one-second cache without a stale window, so a
/// changed exposition shows up in the next answers.
const FAST: &str = "cache_ttl_seconds: 1\nstale_seconds: 0\n";

/// The 12 statuses the simulator emits per node and partition (one of them 1).
const SIM_STATUSES: [&str; 12] = [
    "allocated",
    "completing",
    "down",
    "drain",
    "draining",
    "fail",
    "idle",
    "maint",
    "mixed",
    "reserved",
    "planned",
    "unknown",
];

/// Simulator-format exposition: for each (node, partition, active statuses), the 12
/// series with 1 for the active ones.
fn sim_exposition(rows: &[(&str, &str, &[&str])]) -> String {
    let mut out =
        String::from("# HELP slurm_node_status Slurm node state\n# TYPE slurm_node_status gauge\n");
    for (node, part, active) in rows {
        for s in SIM_STATUSES {
            let v = u8::from(active.contains(&s));
            out.push_str(&format!(
                "slurm_node_status{{node=\"{node}\",partition=\"{part}\",status=\"{s}\"}} {v}\n"
            ));
        }
    }
    out.push_str(
        "# HELP slurm_nodes_total Nodes\n# TYPE slurm_nodes_total gauge\nslurm_nodes_total 12\n",
    );
    out
}

struct Env {
    cd: ConfigDir,
    server: TestServer,
    api: Api,
    prom: Option<RealPrometheus>,
    expo: Option<Exposition>,
}

/// A copy of the demo config with the Slurm plugin (its code copied from plugins/slurm)
/// and `extra` plugins enabled; the plugin's config folder holds exactly `files`.
fn config_dir(files: &[(&str, &str)], extra: &[(&str, &str)]) -> ConfigDir {
    let cd = ConfigDir::demo();
    copy_dir(
        &project_root().join("plugins/slurm"),
        &cd.root().join("plugins/slurm"),
    );
    let pc = cd.root().join("config/plugins/slurm");
    let _ = fs::remove_dir_all(&pc);
    fs::create_dir_all(&pc).unwrap();
    for (name, text) in files {
        let path = pc.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let mut plugins = serde_json::Map::new();
    plugins.insert("slurm".into(), json!({"enabled": true}));
    for (folder, source) in extra {
        let dir = cd.root().join("plugins").join(folder);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("init.lua"), source).unwrap();
        plugins.insert(folder.to_string(), json!({"enabled": true}));
    }
    cd.edit_app_yaml(|d| d["plugins"] = Value::Object(plugins));
    cd
}

impl Env {
    /// Starts the exposition (if `body`), a Prometheus scraping it, and the server; waits
    /// until Prometheus has the first scrape.
    async fn start(body: Option<&str>, files: &[(&str, &str)], extra: &[(&str, &str)]) -> Env {
        let cd = config_dir(files, extra);
        let (expo, prom) = match body {
            Some(b) => {
                let e = Exposition::start(b);
                let p = RealPrometheus::start(&[e.address()]);
                (Some(e), Some(p))
            }
            None => (None, None),
        };
        let url = prom
            .as_ref()
            .map(|p| p.url())
            .unwrap_or_else(|| "http://127.0.0.1:9".into());
        let server = TestServer::start_with_env(&cd.app_yaml(), &[("PROMETHEUS_URL", &url)]);
        let api = Api::new(&server);
        let env = Env {
            cd,
            server,
            api,
            prom,
            expo,
        };
        if env.prom.is_some() {
            env.scraped(1).await;
        }
        env
    }

    fn plugin_file(&self, name: &str) -> PathBuf {
        self.cd.root().join("config/plugins/slurm").join(name)
    }

    /// Waits until Prometheus has scraped body `version`.
    async fn scraped(&self, version: u64) {
        let prom = self.prom.as_ref().expect("a Prometheus");
        prom.wait_for_query(
            "test_exposition_version",
            |d| {
                d["result"]
                    .get(0)
                    .and_then(|r| r["value"][1].as_str())
                    .is_some_and(|v| v == version.to_string())
            },
            Duration::from_secs(40),
        )
        .await;
    }

    /// Serves a new body and waits until Prometheus has it.
    async fn serve(&self, body: &str) {
        let v = self.expo.as_ref().expect("an exposition").set(body);
        self.scraped(v).await;
    }

    /// GETs `path` until `ok(status, body)` holds (20 s at most); returns the body.
    async fn until(&self, path: &str, ok: impl Fn(u16, &Value) -> bool) -> Value {
        let mut last = (0, Value::Null);
        for _ in 0..100 {
            let (status, body) = self.api.get(path).await;
            if ok(status, &body) {
                return body;
            }
            last = (status, body);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "GET {path}: condition not met in 20 s; last answer {} {}\nserver log tail:\n{}",
            last.0,
            last.1,
            tail(&self.server.log(), 30)
        );
    }

    async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.api.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The node names of a /nodes answer, in order.
fn node_names(nodes: &Value) -> Vec<&str> {
    nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].as_str().unwrap())
        .collect()
}

/// The entry of `node` in a /nodes answer.
fn entry<'a>(nodes: &'a Value, node: &str) -> &'a Value {
    nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"] == node)
        .unwrap_or_else(|| panic!("{node} not in {nodes}"))
}

/// A plugin that grades states with the Slurm plugin's status map.
const GRADER: &str = r#"
return {
  id = "grader",
  setup = function()
    rackscope.route("GET", "/api/grader/{state}", function(req)
      return { severity = rackscope.status.severity("slurm", req.params.state) }
    end)
  end,
}
"#;

/// The simulator-format data set of most cases below (demo topology names).
fn sim_rows() -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    vec![
        ("cn0001", "all", &["allocated"]),
        ("cn0001", "cpu", &["allocated"]),
        ("cn0002", "all", &["idle"]),
        ("cn0002", "cpu", &["idle"]),
        ("cn0003", "all", &["down"]),
        ("cn0003", "cpu", &["down"]),
        ("cn0004", "all", &["drain"]),
        ("cn0004", "cpu", &["drain"]),
        ("cn0005", "all", &["maint"]),
        ("cn0005", "cpu", &["maint"]),
        // The "all" row decides the primary status (summary, /nodes); the room view shows
        // the worst row (spec §1.7 A and B, case 14).
        ("cn0006", "all", &["idle"]),
        ("cn0006", "cpu", &["down"]),
        // Two states in one partition and no "all" row: the worst wins.
        ("cn0007", "cpu", &["idle", "mixed"]),
        // Only zeros: absent everywhere.
        ("cn0008", "all", &[]),
        ("gpu001", "all", &["allocated"]),
        ("gpu001", "cpu", &["allocated"]),
        ("gpu001", "gpu", &["allocated"]),
        ("visu01", "all", &["mixed"]),
        ("visu01", "cpu", &["mixed"]),
        ("visu01", "gpu", &["mixed"]),
        ("drc001", "all", &["completing"]),
        ("drc001", "cpu", &["completing"]),
        // Not a topology instance and not mapped: listed without placement.
        ("ghost01", "all", &["idle"]),
    ]
}

#[tokio::test]
async fn simulator_format_summary_partitions_nodes_and_room_views() {
    let body = sim_exposition(&sim_rows());
    // A 5 s TTL: the concurrent requests below all land within one cache period, even on
    // a slow machine.
    let config = "cache_ttl_seconds: 5\nstale_seconds: 0\n";
    let env = Env::start(
        Some(&body),
        &[("config.yml", config)],
        &[("grader", GRADER)],
    )
    .await;

    // Concurrent requests on a cold cache share one query and one computation.
    let mut calls = Vec::new();
    for i in 0..12 {
        let path = [
            "/api/slurm/summary",
            "/api/slurm/nodes",
            "/api/slurm/partitions",
        ][i % 3];
        calls.push(env.api.get(path));
    }
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
    }
    let refreshes = env.server.log().matches("node state refreshed").count();
    assert_eq!(
        refreshes, 1,
        "one computation for 12 concurrent cold requests"
    );

    let summary = env.get_ok("/api/slurm/summary").await;
    assert_eq!(
        summary,
        json!({
            "room_id": null, "total_nodes": 11,
            "by_status": {"allocated": 2, "idle": 3, "down": 1, "drain": 1, "maint": 1, "mixed": 2, "completing": 1},
            "by_severity": {"OK": 6, "WARN": 3, "CRIT": 2, "UNKNOWN": 0},
        })
    );
    let hall1 = env.get_ok("/api/slurm/summary?room_id=hall-1").await;
    assert_eq!(hall1["room_id"], "hall-1");
    assert_eq!(hall1["total_nodes"], 7);
    assert_eq!(
        hall1["by_severity"],
        json!({"OK": 3, "WARN": 2, "CRIT": 2, "UNKNOWN": 0})
    );
    // An empty room_id is no filter, echoed as "".
    let empty = env.get_ok("/api/slurm/summary?room_id=").await;
    assert_eq!(empty["room_id"], "");
    assert_eq!(empty["total_nodes"], 11);

    let parts = env.get_ok("/api/slurm/partitions").await;
    assert_eq!(
        parts,
        json!({"room_id": null, "partitions": {
            "all": {"allocated": 2, "idle": 3, "down": 1, "drain": 1, "maint": 1, "mixed": 1, "completing": 1},
            "cpu": {"allocated": 2, "idle": 2, "down": 2, "drain": 1, "maint": 1, "mixed": 2, "completing": 1},
            "gpu": {"allocated": 1, "mixed": 1},
        }})
    );
    let parts2 = env.get_ok("/api/slurm/partitions?room_id=hall-2").await;
    assert_eq!(
        parts2,
        json!({"room_id": "hall-2", "partitions": {
            "all": {"allocated": 1, "mixed": 1}, "cpu": {"allocated": 1, "mixed": 1}, "gpu": {"allocated": 1, "mixed": 1},
        }})
    );

    // /nodes: sorted by name, primary status, placement (ids and names), null placement
    // for a node outside the topology.
    let nodes = env.get_ok("/api/slurm/nodes").await;
    assert_eq!(nodes["room_id"], Value::Null);
    assert_eq!(
        node_names(&nodes),
        [
            "cn0001", "cn0002", "cn0003", "cn0004", "cn0005", "cn0006", "cn0007", "drc001",
            "ghost01", "gpu001", "visu01"
        ]
    );
    assert_eq!(
        *entry(&nodes, "cn0001"),
        json!({
            "node": "cn0001", "status": "allocated", "severity": "OK",
            "statuses": ["allocated"], "partitions": ["all", "cpu"],
            "site_id": "kb-main", "site_name": "Kestrel Bay main campus",
            "room_id": "hall-1", "room_name": "Hall 1 (compute)", "aisle_id": "h1-a",
            "rack_id": "h1-a01", "rack_name": "Rack A01",
            "device_id": "h1-a01-c01", "device_name": "Chassis 01 (cn0001-cn0004)",
        })
    );
    let c6 = entry(&nodes, "cn0006");
    assert_eq!(
        (c6["status"].as_str(), c6["severity"].as_str()),
        (Some("idle"), Some("OK"))
    );
    assert_eq!(c6["statuses"], json!(["down", "idle"]));
    let c7 = entry(&nodes, "cn0007");
    assert_eq!(
        (c7["status"].as_str(), c7["severity"].as_str()),
        (Some("mixed"), Some("WARN"))
    );
    assert_eq!(
        (c7["statuses"].clone(), c7["partitions"].clone()),
        (json!(["idle", "mixed"]), json!(["cpu"]))
    );
    let ghost = entry(&nodes, "ghost01");
    for k in [
        "site_id",
        "site_name",
        "room_id",
        "room_name",
        "aisle_id",
        "rack_id",
        "rack_name",
        "device_id",
        "device_name",
    ] {
        assert_eq!(ghost[k], Value::Null, "{k} of a node outside the topology");
    }
    // A standalone rack has no aisle.
    assert_eq!(entry(&nodes, "visu01")["aisle_id"], Value::Null);
    assert_eq!(entry(&nodes, "visu01")["room_id"], "hall-2");
    let annex = env.get_ok("/api/slurm/nodes?room_id=annex").await;
    assert_eq!(annex["room_id"], "annex");
    assert_eq!(annex["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(annex["nodes"][0]["node"], "drc001");

    // Room view: every instance of the room, keyed by name; worst status; no data ->
    // unknown/UNKNOWN with empty lists; nodes of other rooms absent.
    let room = env.get_ok("/api/slurm/rooms/hall-1/nodes").await;
    assert_eq!(room["room_id"], "hall-1");
    let r = room["nodes"].as_object().unwrap();
    assert_eq!(
        r["cn0006"],
        json!({"status": "down", "severity": "CRIT", "statuses": ["down", "idle"], "partitions": ["all", "cpu"]})
    );
    assert_eq!(
        r["cn0002"],
        json!({"status": "idle", "severity": "OK", "statuses": ["idle"], "partitions": ["all", "cpu"]})
    );
    assert_eq!(
        r["cn0008"],
        json!({"status": "unknown", "severity": "UNKNOWN", "statuses": [], "partitions": []})
    );
    assert_eq!(r["cn0320"]["status"], "unknown");
    assert!(r.contains_key("login01") && !r.contains_key("gpu001") && !r.contains_key("ghost01"));
    assert_eq!(r.len(), 353, "hall-1 holds 353 instances");

    // Unknown rooms: 404 everywhere, before any data is needed.
    for path in [
        "/api/slurm/rooms/nope/nodes",
        "/api/slurm/summary?room_id=nope",
        "/api/slurm/partitions?room_id=nope",
        "/api/slurm/nodes?room_id=nope",
    ] {
        let (status, body) = env.api.get(path).await;
        assert_eq!(
            (status, body),
            (404, json!({"detail": "Room not found"})),
            "{path}"
        );
    }

    // Menu and plugin metadata.
    let (_, menu) = env.api.get("/api/plugins/menu").await;
    let section = menu
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "workload")
        .expect("workload section");
    assert_eq!(
        (
            section["label"].as_str(),
            section["icon"].as_str(),
            section["order"].as_i64()
        ),
        (Some("Workload"), Some("Zap"), Some(50))
    );
    let items = section["items"].as_array().unwrap();
    assert_eq!(
        items[..4],
        [
            json!({"id": "slurm-overview", "label": "Overview", "path": "/slurm/overview", "icon": "BarChart2"}),
            json!({"id": "slurm-nodes", "label": "Nodes", "path": "/slurm/nodes", "icon": "Server"}),
            json!({"id": "slurm-partitions", "label": "Partitions", "path": "/slurm/partitions", "icon": "Layers"}),
            json!({"id": "slurm-alerts", "label": "Alerts", "path": "/slurm/alerts", "icon": "AlertTriangle"}),
        ]
    );
    assert_eq!(items[4]["id"], "slurm-wallboard");
    let (_, meta) = env.api.get("/api/plugins/workload-slurm").await;
    assert_eq!(
        (
            meta["plugin_name"].as_str(),
            meta["version"].as_str(),
            meta["enabled"].as_bool()
        ),
        (Some("Slurm Workload Manager"), Some("1.0.0"), Some(true))
    );
    assert_eq!(meta["warnings"], json!({}));

    // Other plugins grade Slurm states through the registered status map.
    for (state, sev) in [
        ("drained*", "CRIT"),
        ("IDLE~", "OK"),
        ("mix", "WARN"),
        ("down", "CRIT"),
        ("future", "UNKNOWN"),
        ("reboot_requested", "WARN"),
    ] {
        let (_, b) = env
            .api
            .get(&format!(
                "/api/grader/{}",
                state.replace('*', "%2A").replace('~', "%7E")
            ))
            .await;
        assert_eq!(b["severity"], sev, "{state}");
    }

    // New data: cn0002 goes down; after the TTL the answers follow.
    let mut rows = sim_rows();
    rows[2] = ("cn0002", "all", &["down"]);
    rows[3] = ("cn0002", "cpu", &["down"]);
    env.serve(&sim_exposition(&rows)).await;
    let s = env
        .until("/api/slurm/summary", |st, b| {
            st == 200 && b["by_status"]["down"] == 2
        })
        .await;
    assert_eq!(s["by_severity"]["CRIT"], 3);
    let n = env.get_ok("/api/slurm/nodes").await;
    assert_eq!(entry(&n, "cn0002")["severity"], "CRIT");
    let p = env.get_ok("/api/slurm/partitions").await;
    assert_eq!(
        (
            p["partitions"]["all"]["down"].as_i64(),
            p["partitions"]["cpu"]["down"].as_i64()
        ),
        (Some(2), Some(3))
    );

    // Only zeros: no nodes at all (not an error).
    env.serve(&sim_exposition(&[("cn0001", "all", &[])])).await;
    let s = env
        .until("/api/slurm/summary", |st, b| {
            st == 200 && b["total_nodes"] == 0
        })
        .await;
    assert_eq!(
        s,
        json!({"room_id": null, "total_nodes": 0, "by_status": {}, "by_severity": {"OK": 0, "WARN": 0, "CRIT": 0, "UNKNOWN": 0}})
    );
    assert_eq!(
        env.get_ok("/api/slurm/nodes").await,
        json!({"room_id": null, "nodes": []})
    );
    assert_eq!(
        env.get_ok("/api/slurm/partitions").await,
        json!({"room_id": null, "partitions": {}})
    );
    let room = env.get_ok("/api/slurm/rooms/annex/nodes").await;
    let r = room["nodes"].as_object().unwrap();
    assert_eq!(r.len(), 46, "annex holds 46 instances");
    assert!(r.values().all(|v| *v
        == json!({"status": "unknown", "severity": "UNKNOWN", "statuses": [], "partitions": []})));
}

#[tokio::test]
async fn status_rules_info_rank_partial_maps_and_missing_labels() {
    // idle is INFO (ranks above UNKNOWN, below OK); warn and crit keep their defaults,
    // and `mixed`, listed in ok here, leaves the default warn list.
    let config = format!("{FAST}status_map:\n  ok: [allocated, mixed]\n  info: [idle]\n");
    let body = "# TYPE slurm_node_status gauge\n\
        slurm_node_status{node=\"cn0001\",partition=\"all\",status=\"idle\"} 1\n\
        slurm_node_status{node=\"cn0002\",partition=\"all\",status=\"mixed\"} 1\n\
        slurm_node_status{node=\"cn0003\",partition=\"all\",status=\"IDLE*\"} 1\n\
        slurm_node_status{node=\"cn0004\",partition=\"all\",status=\"  Alloc  \"} 1\n\
        slurm_node_status{node=\"cn0005\",partition=\"all\",status=\"drng\"} 1\n\
        slurm_node_status{node=\"cn0006\",partition=\"all\",status=\"custom_state\"} 1\n\
        slurm_node_status{node=\"cn0007\",partition=\"all\"} 1\n\
        slurm_node_status{node=\"cn0008\",status=\"idle\"} 1\n\
        slurm_node_status{node=\"cn0009\",partition=\"all\",status=\"unknown\"} 1\n\
        slurm_node_status{node=\"cn0010\",partition=\"all\",status=\"powering_down\"} 1\n\
        slurm_node_status{partition=\"all\",status=\"down\"} 1\n\
        slurm_node_status{node=\"cn0011\",partition=\"all\",status=\"comp\"} 1\n\
        slurm_node_status{node=\"cn0012\",partition=\"all\",status=\"failg\"} 1\n\
        slurm_node_status{node=\"cn0013\",partition=\"all\",status=\"futr\"} 1\n\
        slurm_node_status{node=\"cn0014\",partition=\"all\",status=\"plnd\"} 1\n\
        slurm_node_status{node=\"cn0015\",partition=\"all\",status=\"pow_dn\"} 1\n\
        slurm_node_status{node=\"cn0016\",partition=\"all\",status=\"pow_up\"} 1\n\
        slurm_node_status{node=\"cn0017\",partition=\"all\",status=\"resv\"} 1\n\
        slurm_node_status{node=\"cn0018\",partition=\"all\",status=\"unk\"} 1\n\
        slurm_node_status{node=\"cn0019\",partition=\"all\",status=\"block\"} 1\n\
        slurm_node_status{node=\"cn0020\",partition=\"all\",status=\"maint\"} 1\n\
        slurm_node_status{node=\"cn0021\",partition=\"all\",status=\"mix\"} 1\n";
    let env = Env::start(Some(body), &[("config.yml", &config)], &[]).await;

    let nodes = env.get_ok("/api/slurm/nodes").await;
    let sev = |n: &str| {
        let e = entry(&nodes, n);
        (
            e["status"].as_str().unwrap().to_string(),
            e["severity"].as_str().unwrap().to_string(),
        )
    };
    let expect = [
        ("cn0001", "idle", "INFO"),
        ("cn0002", "mixed", "OK"),
        ("cn0003", "idle", "CRIT"),
        ("cn0004", "allocated", "OK"),
        ("cn0005", "draining", "CRIT"),
        ("cn0006", "custom_state", "UNKNOWN"),
        ("cn0007", "unknown", "CRIT"),
        ("cn0008", "idle", "INFO"),
        ("cn0009", "unknown", "CRIT"),
        ("cn0010", "powering_down", "WARN"),
        // Short forms (spec §1.4).
        ("cn0011", "completing", "UNKNOWN"),
        ("cn0012", "failing", "CRIT"),
        ("cn0013", "future", "UNKNOWN"),
        ("cn0014", "planned", "WARN"),
        ("cn0015", "power_down", "WARN"),
        ("cn0016", "power_up", "WARN"),
        ("cn0017", "reserved", "WARN"),
        ("cn0018", "unknown", "CRIT"),
        ("cn0019", "blocked", "WARN"),
        ("cn0020", "maint", "WARN"),
        ("cn0021", "mixed", "OK"),
    ];
    for (n, st, sv) in expect {
        assert_eq!(sev(n), (st.to_string(), sv.to_string()), "{n}");
    }
    assert_eq!(entry(&nodes, "cn0003")["statuses"], json!(["IDLE*"]));
    assert_eq!(entry(&nodes, "cn0007")["statuses"], json!(["unknown"]));
    assert_eq!(entry(&nodes, "cn0008")["partitions"], json!([]));
    assert_eq!(
        nodes["nodes"].as_array().unwrap().len(),
        21,
        "a row without a node label is skipped"
    );

    let summary = env.get_ok("/api/slurm/summary").await;
    assert_eq!(
        summary["by_severity"],
        json!({"OK": 3, "WARN": 7, "CRIT": 6, "UNKNOWN": 3, "INFO": 2})
    );
    // The room view: an INFO node is shown as such, never as the "unknown" seed.
    let room = env.get_ok("/api/slurm/rooms/hall-1/nodes").await;
    assert_eq!(
        room["nodes"]["cn0001"],
        json!({"status": "idle", "severity": "INFO", "statuses": ["idle"], "partitions": ["all"]})
    );
    assert_eq!(room["nodes"]["cn0006"]["status"], "custom_state");
    // Partitions: normalised statuses, "unknown" for a row without partition.
    let parts = env.get_ok("/api/slurm/partitions").await;
    assert_eq!(parts["partitions"]["unknown"], json!({"idle": 1}));
    assert_eq!(parts["partitions"]["all"]["idle"], 2);
}

#[tokio::test]
async fn exporter_recording_through_the_node_mapping_file() {
    let recording =
        fs::read_to_string(project_root().join("tests/data/slurm-exporter.prom")).unwrap();
    let mapping = "mappings:\n\
        \x20 - {node: \"kb-c*\", instance: \"cn0*\"}\n\
        \x20 - {node: old-c001, instance: cn0001}\n\
        \x20 - {node: kb-login1, instance: login01}\n\
        mapping:\n\
        \x20 \"kb-g[01-08]\": \"gpu[001-008]\"\n";
    let config = format!("{FAST}mapping_path: config/plugins/slurm/node_mapping.yaml\n");
    let env = Env::start(
        Some(&recording),
        &[("config.yml", &config), ("node_mapping.yaml", mapping)],
        &[],
    )
    .await;

    let nodes = env.get_ok("/api/slurm/nodes").await;
    let got: Vec<(String, String, String)> = nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"].as_str().unwrap().into(),
                e["status"].as_str().unwrap().into(),
                e["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("cn0001", "allocated", "OK"),
        ("cn0002", "drained", "CRIT"),
        ("cn0003", "idle", "OK"),
        ("cn0004", "mixed", "WARN"),
        ("cn0005", "down", "CRIT"),
        ("cn0006", "reboot_requested", "WARN"),
        ("cn0007", "allocated", "OK"),
        ("gpu001", "completing", "OK"),
        ("gpu002", "future", "UNKNOWN"),
        ("login01", "idle", "OK"),
        ("stranger01", "draining", "CRIT"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    let c1 = entry(&nodes, "cn0001");
    assert_eq!(c1["partitions"], json!(["batch", "debug"]));
    assert_eq!(c1["rack_id"], "h1-a01");
    assert_eq!(entry(&nodes, "cn0002")["statuses"], json!(["drained*"]));
    assert_eq!(entry(&nodes, "cn0003")["statuses"], json!(["idle~"]));
    assert_eq!(entry(&nodes, "gpu001")["room_id"], "hall-2");
    assert_eq!(entry(&nodes, "login01")["aisle_id"], "h1-c");
    assert_eq!(entry(&nodes, "stranger01")["room_id"], Value::Null);

    let summary = env.get_ok("/api/slurm/summary").await;
    assert_eq!(
        summary["total_nodes"], 11,
        "kb-c001 and old-c001 are one node"
    );
    assert_eq!(
        summary["by_severity"],
        json!({"OK": 5, "WARN": 2, "CRIT": 3, "UNKNOWN": 1})
    );
    let parts = env.get_ok("/api/slurm/partitions").await;
    assert_eq!(
        parts["partitions"],
        json!({
            "batch": {"allocated": 2, "drained": 1, "idle": 1, "mixed": 1, "down": 1, "reboot_requested": 1, "draining": 1},
            "debug": {"allocated": 1, "mixed": 1},
            "gpu": {"completing": 1, "future": 1},
            "interactive": {"idle": 1},
        })
    );
    let hall1 = env.get_ok("/api/slurm/summary?room_id=hall-1").await;
    assert_eq!(hall1["total_nodes"], 8);
    let room = env.get_ok("/api/slurm/rooms/hall-2/nodes").await;
    assert_eq!(room["nodes"]["gpu002"]["status"], "future");
    assert_eq!(room["nodes"]["gpu003"]["status"], "unknown");

    let (_, m) = env.api.get("/api/slurm/mapping").await;
    assert_eq!(m["mapping_path"], "config/plugins/slurm/node_mapping.yaml");
    assert_eq!(m["entries"].as_array().unwrap().len(), 4);
    assert_eq!(
        m["entries"][3],
        json!({"node": "kb-g[01-08]", "instance": "gpu[001-008]"})
    );
}

#[tokio::test]
async fn node_mapping_crud_broken_file_and_reload() {
    let body = "# TYPE slurm_node_status gauge\n\
        slurm_node_status{node=\"n001\",partition=\"all\",status=\"idle\"} 1\n\
        slurm_node_status{node=\"n002\",partition=\"all\",status=\"down\"} 1\n";
    let env = Env::start(
        Some(body),
        &[
            ("config.yml", FAST),
            (
                "node_mapping.yaml",
                "mappings:\n  - {node: n001, instance: cn0001, note: kept}\n",
            ),
        ],
        &[],
    )
    .await;

    // GET: the file's entries as written (extra keys kept).
    let m = env.get_ok("/api/slurm/mapping").await;
    assert_eq!(
        m,
        json!({"mapping_path": "node_mapping.yaml", "entries": [{"node": "n001", "instance": "cn0001", "note": "kept"}]})
    );
    let nodes = env.get_ok("/api/slurm/nodes").await;
    assert_eq!(entry(&nodes, "cn0001")["room_id"], "hall-1");
    assert_eq!(entry(&nodes, "n002")["room_id"], Value::Null);

    // POST: validated, written atomically, in use at once (no new Prometheus query needed).
    let file = env.plugin_file("node_mapping.yaml");
    let before = fs::read_to_string(&file).unwrap();
    for (bad, loc) in [
        (
            json!({"entries": [{"node": "x"}]}),
            json!(["body", "entries", 0]),
        ),
        (
            json!({"entries": [{"node": "n1", "instance": "c1"}, {"node": 5, "instance": "c2"}]}),
            json!(["body", "entries", 1]),
        ),
        (
            json!({"entries": [{"node": "n[1-3]", "instance": "c[1-2]"}]}),
            json!(["body", "entries", 0]),
        ),
        (json!({"entries": "n*"}), json!(["body", "entries"])),
        (json!({}), json!(["body", "entries"])),
    ] {
        let (status, b) = env.api.post("/api/slurm/mapping", &bad).await;
        assert_eq!(status, 422, "{bad}: {b}");
        assert_eq!(b["detail"][0]["loc"], loc, "{b}");
        assert!(b["detail"][0]["msg"].is_string());
    }
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        before,
        "nothing written on refusal"
    );

    let new = json!({"entries": [
        {"node": "n*", "instance": "cn0*"},
        {"node": "n002", "instance": "never-used"},
        {"node": "x[01-02]", "instance": "gpu[001-002]", "extra": "dropped"},
    ]});
    let (status, b) = env.api.post("/api/slurm/mapping", &new).await;
    assert_eq!((status, b), (200, json!({"ok": true, "saved": 3})));
    let written: Value = serde_norway::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        written["mappings"],
        json!([{"node": "n*", "instance": "cn0*"}, {"node": "n002", "instance": "never-used"}, {"node": "x[01-02]", "instance": "gpu[001-002]"}])
    );
    let nodes = env.get_ok("/api/slurm/nodes").await;
    assert_eq!(
        node_names(&nodes),
        ["cn0001", "cn0002"],
        "first match wins: n002 -> cn0002 by the wildcard"
    );

    // A hand-broken file: reported, and the last good mapping stays in use.
    fs::write(&file, "mappings: [ {node: n001, instance: \n").unwrap();
    let meta = env
        .until("/api/plugins/workload-slurm", |_, b| {
            b["warnings"]["mapping"].is_string()
        })
        .await;
    let warning = meta["warnings"]["mapping"]
        .as_str()
        .expect("warnings.mapping");
    assert!(
        warning.contains("node_mapping.yaml") && warning.contains("last good mapping"),
        "{warning}"
    );
    assert!(
        env.server.log().contains("last good mapping"),
        "the problem is logged"
    );
    let m = env.get_ok("/api/slurm/mapping").await;
    assert_eq!(m["entries"].as_array().unwrap().len(), 3);
    assert!(m["error"].is_string());
    let nodes = env.get_ok("/api/slurm/nodes").await;
    assert_eq!(nodes["nodes"][0]["node"], "cn0001");
    // Entries that do not make sense are refused the same way.
    fs::write(&file, "mappings:\n  - {node: n001}\n").unwrap();
    let m = env
        .until("/api/slurm/mapping", |_, b| {
            b["error"]
                .as_str()
                .is_some_and(|e| e.contains("mappings[0]"))
        })
        .await;
    assert_eq!(m["entries"].as_array().unwrap().len(), 3);

    // Fixed on disk: picked up, the warning goes.
    fs::write(&file, "mapping:\n  \"n[001-002]\": \"drc[001-002]\"\n").unwrap();
    env.until("/api/slurm/nodes", |_, b| b["nodes"][0]["node"] == "drc001")
        .await;
    let (_, meta) = env.api.get("/api/plugins/workload-slurm").await;
    assert_eq!(meta["warnings"], json!({}));

    // A reload of the plugin reads the saved mapping.
    let (status, _) = env
        .api
        .post(
            "/api/slurm/mapping",
            &json!({"entries": [{"node": "n001", "instance": "visu01"}]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = env.api.post("/api/system/restart", &json!({})).await;
    assert_eq!(status, 200);
    env.until("/api/slurm/nodes", |st, b| {
        st == 200
            && b["nodes"]
                .as_array()
                .is_some_and(|a| a.iter().any(|e| e["node"] == "visu01"))
    })
    .await;

    // No mapping file configured: POST is a 400, GET shows null and no entries.
    let (status, b) = env
        .api
        .post(
            "/api/plugins/workload-slurm/config",
            &json!({"config": {"mapping_path": ""}}),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    let m = env
        .until("/api/slurm/mapping", |_, b| b["mapping_path"].is_null())
        .await;
    assert_eq!(m["entries"], json!([]));
    let (status, b) = env
        .api
        .post("/api/slurm/mapping", &json!({"entries": []}))
        .await;
    assert_eq!(
        (status, b),
        (400, json!({"detail": "mapping_path is not configured"}))
    );
}

#[tokio::test]
async fn metrics_catalog_and_metric_data() {
    let catalog =
        fs::read_to_string(project_root().join("config/plugins/slurm/metrics/metrics.yaml"))
            .unwrap();
    let extra = "metrics:\n  - {id: extra_one, name: Extra, metric: slurm_nodes_total * 2}\n  - {id: bad_promql, metric: \"slurm_nodes_total{\"}\n";
    let config = format!(
        "{FAST}metrics_catalog_dir: config/plugins/slurm/metrics\nmetrics_catalogs: [metrics.yaml, missing.yaml]\n"
    );
    let body = sim_exposition(&[("cn0001", "all", &["idle"])]);
    let env = Env::start(
        Some(&body),
        &[
            ("config.yml", &config),
            ("metrics/metrics.yaml", &catalog),
            ("metrics/extra.yml", extra),
        ],
        &[],
    )
    .await;

    let cat = env.get_ok("/api/slurm/metrics/catalog").await;
    let ids: Vec<&str> = cat["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"slurm_nodes_total") && !ids.contains(&"extra_one"),
        "{ids:?}"
    );
    assert_eq!(
        cat["loaded_files"],
        json!([
            {"id": "metrics", "path": "config/plugins/slurm/metrics/metrics.yaml", "enabled": true},
            {"id": "missing", "path": "config/plugins/slurm/metrics/missing.yaml", "enabled": true},
        ])
    );
    assert_eq!(
        cat["available_files"],
        json!([
            {"name": "extra.yml", "path": "config/plugins/slurm/metrics/extra.yml"},
            {"name": "metrics.yaml", "path": "config/plugins/slurm/metrics/metrics.yaml"},
        ])
    );
    let (_, meta) = env.api.get("/api/plugins/workload-slurm").await;
    assert!(
        meta["warnings"]["catalog"]
            .as_str()
            .is_some_and(|w| w.contains("missing.yaml")),
        "{meta}"
    );

    // Metric data: the entry's PromQL, passed through.
    let d = env
        .get_ok("/api/slurm/metrics/data?metric_id=slurm_nodes_total&scope=node")
        .await;
    assert_eq!(
        (
            d["metric_id"].as_str(),
            d["name"].as_str(),
            d["unit"].as_str(),
            d["scope"].as_str()
        ),
        (
            Some("slurm_nodes_total"),
            Some("Slurm nodes"),
            Some("nodes"),
            Some("global")
        )
    );
    assert_eq!(d["data"][0]["value"][1], "12");
    let (status, b) = env.api.get("/api/slurm/metrics/data?metric_id=nope").await;
    assert_eq!(
        (status, b),
        (404, json!({"detail": "Metric 'nope' not found in catalog"}))
    );
    let (status, b) = env.api.get("/api/slurm/metrics/data").await;
    assert_eq!(status, 422);
    assert_eq!(b["detail"][0]["loc"], json!(["query", "metric_id"]));

    // Choosing catalog files: refused entries change nothing; accepted ones are written
    // to the plugin's config file (which reloads the plugin).
    let config_file = env.plugin_file("config.yml");
    let before = fs::read_to_string(&config_file).unwrap();
    for bad in [
        json!({"metrics_catalogs": [5]}),
        json!({"metrics_catalogs": ["ok.yaml", {"id": "x"}]}),
        json!({"metrics_catalogs": [{"path": "../../app.yaml"}]}),
        json!({"metrics_catalogs": "extra.yml"}),
        json!([1, 2]),
    ] {
        let (status, b) = env
            .api
            .post("/api/slurm/metrics/catalog/config", &bad)
            .await;
        assert_eq!(status, 422, "{bad}: {b}");
        assert!(b["detail"][0]["msg"].is_string(), "{b}");
    }
    assert_eq!(fs::read_to_string(&config_file).unwrap(), before);
    let files =
        json!(["metrics.yaml", {"id": "more", "path": "metrics/extra.yml", "enabled": true}]);
    let (status, b) = env
        .api
        .post(
            "/api/slurm/metrics/catalog/config",
            &json!({"metrics_catalogs": files}),
        )
        .await;
    assert_eq!(
        (status, b),
        (200, json!({"ok": true, "metrics_catalogs": files}))
    );
    let saved: Value = serde_norway::from_str(&fs::read_to_string(&config_file).unwrap()).unwrap();
    assert_eq!(saved["metrics_catalogs"], files);
    assert_eq!(saved["cache_ttl_seconds"], 1, "other settings kept");
    let cat = env
        .until("/api/slurm/metrics/catalog", |_, b| {
            b["loaded_files"]
                .as_array()
                .is_some_and(|l| l.len() == 2 && l[1]["id"] == "more")
        })
        .await;
    assert!(cat["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "extra_one"));
    let d = env
        .until("/api/slurm/metrics/data?metric_id=extra_one", |st, _| {
            st == 200
        })
        .await;
    assert_eq!(d["data"][0]["value"][1], "24");
    // Prometheus refusing the query: 503 with its reason.
    let (status, b) = env
        .api
        .get("/api/slurm/metrics/data?metric_id=bad_promql")
        .await;
    assert_eq!(status, 503, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("bad_promql"), "{b}");
}

#[tokio::test]
async fn prometheus_unreachable_or_failing_is_a_503() {
    // No Prometheus at all (the server points at 127.0.0.1:9).
    let env = Env::start(None, &[("config.yml", FAST)], &[]).await;
    for path in [
        "/api/slurm/summary",
        "/api/slurm/partitions",
        "/api/slurm/nodes",
        "/api/slurm/nodes?room_id=hall-1",
        "/api/slurm/rooms/hall-1/nodes",
    ] {
        let (status, b) = env.api.get(path).await;
        assert_eq!(status, 503, "{path}: {b}");
        let detail = b["detail"].as_str().unwrap();
        assert!(
            detail.contains("Prometheus") && detail.contains("unreachable"),
            "{path}: {detail}"
        );
    }
    // The room check comes first; mapping and catalog need no Prometheus.
    let (status, _) = env.api.get("/api/slurm/rooms/nope/nodes").await;
    assert_eq!(status, 404);
    let (status, _) = env.api.get("/api/slurm/mapping").await;
    assert_eq!(status, 200);
    let (status, _) = env.api.get("/api/slurm/metrics/catalog").await;
    assert_eq!(status, 200);
    drop(env);

    // A real Prometheus that refuses the query (a bad metric selector in the config).
    let config = format!("{FAST}metric: 'slurm_node_status{{'\n");
    let env = Env::start(
        Some(&sim_exposition(&[("cn0001", "all", &["idle"])])),
        &[("config.yml", &config)],
        &[],
    )
    .await;
    let (status, b) = env.api.get("/api/slurm/summary").await;
    assert_eq!(status, 503, "{b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("Prometheus query failed"),
        "{b}"
    );
}

#[tokio::test]
async fn config_is_validated_and_writes_need_the_admin_check() {
    let env = Env::start(None, &[("config.yml", FAST)], &[]).await;
    for (bad, why) in [
        (json!({"metric": ""}), "metric"),
        (json!({"label_node": 5}), "label_node"),
        (json!({"status_map": {"ok": "idle"}}), "status_map.ok"),
        (
            json!({"status_map": {"severe": ["down"]}}),
            "status_map.severe",
        ),
        (
            json!({"metrics_catalogs": [{"id": "x"}]}),
            "metrics_catalogs[0].path",
        ),
        (json!({"cache_ttl_seconds": 0}), "cache_ttl_seconds"),
    ] {
        let (status, b) = env
            .api
            .post(
                "/api/plugins/workload-slurm/config",
                &json!({"config": bad}),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {b}");
        assert!(b["detail"].as_str().unwrap().contains(why), "{b}");
    }
    // No catalog folder: the catalog the plugin ships (plugins/slurm/catalogs/metrics.yaml),
    // with nothing to report.
    let cat = env.get_ok("/api/slurm/metrics/catalog").await;
    assert_eq!(cat["available_files"], json!([]));
    assert_eq!(
        cat["loaded_files"],
        json!([{"id": "metrics", "path": "metrics/metrics.yaml", "enabled": true}])
    );
    assert!(
        cat["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "slurm_nodes_total"),
        "{cat}"
    );
    let (_, meta) = env.api.get("/api/plugins/workload-slurm").await;
    assert_eq!(meta["warnings"], json!({}));
    drop(env);

    let cd = config_dir(&[("config.yml", FAST)], &[]);
    cd.edit_app_yaml(|d| d["auth"]["trusted_networks"] = json!(["10.0.0.0/8"]));
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let (status, _) = api.get("/api/slurm/mapping").await;
    assert_eq!(status, 200);
    let (status, _) = api
        .post(
            "/api/slurm/mapping",
            &json!({"entries": [{"node": "a", "instance": "b"}]}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = api
        .post(
            "/api/slurm/metrics/catalog/config",
            &json!({"metrics_catalogs": []}),
        )
        .await;
    assert_eq!(status, 403);
    assert!(!cd
        .root()
        .join("config/plugins/slurm/node_mapping.yaml")
        .exists());

    // Disabled in app.yaml: the routes are gone.
    cd.edit_app_yaml(|d| d["plugins"]["slurm"]["enabled"] = json!(false));
    let mut gone = false;
    for _ in 0..100 {
        if api.get("/api/slurm/mapping").await.0 == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "/api/slurm/* answers 404 once the plugin is disabled");
}

#[tokio::test]
async fn expired_answers_are_served_while_one_background_refresh_runs() {
    let rows: Vec<(&str, &str, &[&str])> = vec![("cn0001", "all", &["idle"])];
    let config = "cache_ttl_seconds: 1\nstale_seconds: 600\n";
    let env = Env::start(Some(&sim_exposition(&rows)), &[("config.yml", config)], &[]).await;
    let s = env.get_ok("/api/slurm/summary").await;
    assert_eq!(s["by_status"], json!({"idle": 1}));
    let refreshes = || env.server.log().matches("node state refreshed").count();
    assert_eq!(refreshes(), 1);

    // New data in Prometheus, and the cached answer past its TTL (within the stale window).
    env.serve(&sim_exposition(&[("cn0001", "all", &["down"])]))
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Ten requests at once: answered without waiting for Prometheus, with the previous
    // answer (those that come after the refresh finished get the new one); one refresh.
    let calls = (0..10).map(|_| env.api.get("/api/slurm/summary"));
    let mut previous = 0;
    for (status, b) in futures::future::join_all(calls).await {
        assert_eq!(status, 200);
        if b["by_status"] == json!({"idle": 1}) {
            previous += 1;
        } else {
            assert_eq!(b["by_status"], json!({"down": 1}));
        }
    }
    assert!(
        previous >= 1,
        "the first request after the TTL gets the previous answer"
    );
    let s = env
        .until("/api/slurm/summary", |_, b| {
            b["by_status"] == json!({"down": 1})
        })
        .await;
    assert_eq!(s["by_severity"]["CRIT"], 1);
    assert_eq!(
        refreshes(),
        2,
        "one background refresh for the ten requests"
    );
}

#[tokio::test]
async fn an_answer_without_nodes_is_not_kept_for_the_whole_ttl() {
    // A fresh start: Prometheus has not scraped any Slurm series yet. The empty answer
    // must not stand for the 10 minutes of the TTL once the data is there.
    let config = "cache_ttl_seconds: 600\nstale_seconds: 600\n";
    let env = Env::start(Some(&sim_exposition(&[])), &[("config.yml", config)], &[]).await;
    let s = env.get_ok("/api/slurm/summary").await;
    assert_eq!(s["total_nodes"], 0, "{s}");
    env.serve(&sim_exposition(&[("cn0001", "all", &["idle"])]))
        .await;
    let s = env
        .until("/api/slurm/summary", |_, b| b["total_nodes"] == 1)
        .await;
    assert_eq!(s["by_status"], json!({"idle": 1}));
    // That an answer with data keeps the whole TTL (only an empty one gets the short TTL)
    // is the Slurm plugin's own Lua test, on a clock it sets (plugins/slurm/tests/
    // cache_test.lua): checked here, it took a fixed wait past the short TTL.
}

/// The whole chain with the simulator plugin: a node forced down through a simulator
/// override shows as down/CRIT in /nodes, the summary and the partition counts.
#[tokio::test]
async fn end_to_end_with_the_simulator() {
    // Simulator, real Prometheus and the Slurm plugin together: a node forced down with a
    // simulator override shows as down/CRIT in /nodes, the summary and the partitions.
    let sim = project_root().join("plugins/simulator");
    let cd = config_dir(&[("config.yml", FAST)], &[]);
    copy_dir(&sim, &cd.root().join("plugins/simulator"));
    let sim_config = cd.root().join("config/plugins/simulator");
    copy_dir(
        &project_root().join("config/plugins/simulator"),
        &sim_config,
    );
    // No random incident and no forced Slurm state: only the override takes a node down.
    let listen = format!("127.0.0.1:{}", support::server::free_port());
    fs::write(
        sim_config.join("config/plugin.yaml"),
        format!(
            "listen: {listen}\nupdate_interval_seconds: 1\nincident_mode: full_ok\n\
             slurm_random_statuses: {{}}\noverrides_path: overrides/overrides.yaml\n\
             metrics_catalog_path: metrics/metrics_full.yaml\nmetrics_catalogs:\n\
             \x20 - {{id: slurm, path: metrics/metrics_slurm.yaml, enabled: true}}\n"
        ),
    )
    .unwrap();
    fs::write(
        sim_config.join("overrides/overrides.yaml"),
        "overrides: []\n",
    )
    .unwrap();
    cd.edit_app_yaml(|d| d["plugins"]["simulator"] = json!({"enabled": true}));
    let prom = RealPrometheus::start(&[listen]);
    let server = TestServer::start_with_env(&cd.app_yaml(), &[("PROMETHEUS_URL", &prom.url())]);
    let api = Api::new(&server);
    prom.wait_for_query(
        "count(slurm_node_status > 0)",
        |d| d["result"].get(0).is_some(),
        Duration::from_secs(60),
    )
    .await;
    let node = |nodes: &Value, name: &str| {
        nodes["nodes"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["node"] == name).cloned())
    };
    // Before: every node is up, so nothing is down.
    let mut before = Value::Null;
    for _ in 0..150 {
        let (status, s) = api.get("/api/slurm/summary").await;
        if status == 200 && s["total_nodes"].as_i64().unwrap_or(0) > 0 {
            before = s;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(before["by_status"].get("down"), None, "{before}");
    assert_eq!(before["by_severity"]["CRIT"], 0, "{before}");
    let (_, nodes) = api.get("/api/slurm/nodes").await;
    let cn5 = node(&nodes, "cn0005").expect("cn0005 is a Slurm node");
    assert_ne!(cn5["status"], "down");
    assert_eq!(cn5["rack_id"], "h1-a01", "placed in the topology: {cn5}");

    let (status, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": "cn0005", "metric": "up", "value": 0, "ttl_seconds": 0}),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    let mut seen = Value::Null;
    for _ in 0..150 {
        let (_, nodes) = api.get("/api/slurm/nodes").await;
        if let Some(e) = node(&nodes, "cn0005").filter(|e| e["status"] == "down") {
            seen = e;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        seen["severity"], "CRIT",
        "cn0005 down/CRIT in /api/slurm/nodes: {seen}"
    );
    assert_eq!(seen["statuses"], json!(["down"]));
    let (_, s) = api.get("/api/slurm/summary").await;
    assert_eq!(s["by_status"]["down"], 1, "{s}");
    assert_eq!(s["by_severity"]["CRIT"], 1, "{s}");
    assert_eq!(s["total_nodes"], before["total_nodes"]);
    let (_, p) = api.get("/api/slurm/partitions").await;
    for part in seen["partitions"].as_array().unwrap() {
        let part = part.as_str().unwrap();
        assert_eq!(p["partitions"][part]["down"], 1, "{part}: {p}");
    }
    assert!(seen["partitions"].as_array().unwrap().len() >= 2, "{seen}");
}
