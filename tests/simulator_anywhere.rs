//! The Simulator on config folders other than the demo's (issue 18): a bare plugin.yaml on a
//! topology whose names are unlike the demo's, each of Rackscope's example folders as it
//! is, a catalog that exists nowhere, and what the simulator answers while it cannot load.
//! The Slurm plugin reads what the simulator emits through a real Prometheus.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::prometheus::RealPrometheus;
use support::server::{copy_dir, fixtures_dir, free_port, project_root, Api, TestServer};
use support::wait::until;

/// The simulator's scrape.
async fn scrape(listen: &str) -> Result<String, String> {
    let text = reqwest::get(format!("http://{listen}/metrics"))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    if text.contains("rackscope_simulator_ticks_total") {
        Ok(text)
    } else {
        Err("no tick yet".into())
    }
}

/// The values of `label` over the samples of `family` (optionally with `filter` in the
/// line, e.g. `partition="all"`).
fn label_values(text: &str, family: &str, label: &str, filter: &str) -> BTreeSet<String> {
    let open = format!("{family}{{");
    let key = format!("{label}=\"");
    text.lines()
        .filter(|l| l.starts_with(&open) && l.contains(filter))
        .filter_map(|l| {
            let rest = &l[l.find(&key)? + key.len()..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .collect()
}

/// Copies the project's two plugins into `<root>/plugins`, the code folder a config at
/// `<root>/...` finds from `<root>` as its working directory.
fn install_plugins(root: &Path) {
    for p in ["simulator", "slurm"] {
        copy_dir(
            &project_root().join("plugins").join(p),
            &root.join("plugins").join(p),
        );
    }
}

fn set_yaml(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut doc: Value = serde_norway::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    f(&mut doc);
    fs::write(path, serde_norway::to_string(&doc).unwrap()).unwrap();
}

/// `total_nodes` of the Slurm summary once it is `want`.
async fn slurm_total_becomes(api: &Api, want: usize) -> Value {
    until(&format!("a Slurm summary of {want} nodes"), 60, || async {
        let (status, body) = api.get("/api/slurm/summary").await;
        if status == 200 && body["total_nodes"] == want {
            Ok(body)
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await
}

#[tokio::test]
async fn a_bare_plugin_yaml_on_a_topology_unlike_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cluster = support::topo::write_cluster(&root.join("site"), 2, 3, 4);
    install_plugins(root);
    let listen = format!("127.0.0.1:{}", free_port());
    let sim_dir = root.join("site/plugins/simulator/config");
    fs::create_dir_all(&sim_dir).unwrap();
    // Nothing but the three settings a new user writes: no catalog anywhere.
    fs::write(
        sim_dir.join("plugin.yaml"),
        format!("listen: {listen}\nupdate_interval_seconds: 1\nincident_mode: full_ok\n"),
    )
    .unwrap();
    let app = root.join("site/app.yaml");
    set_yaml(&app, |d| {
        d["paths"]["plugins"] = json!("../plugins");
        d["plugins"] = json!({"simulator": {"enabled": true}, "slurm": {"enabled": true}});
    });
    let prom = RealPrometheus::start(std::slice::from_ref(&listen));
    let server = TestServer::start_with_env(&app, &[("PROMETHEUS_URL", &prom.url())]);
    let api = Api::new(&server);

    let text = until("the first scrape", 30, || scrape(&listen)).await;
    // Every node is up, whatever it is.
    let up = label_values(&text, "up", "instance", "");
    let all: BTreeSet<String> = cluster.all_nodes().into_iter().collect();
    assert_eq!(up, all, "every node instance has `up`");
    // Every server node but the storage servers is a Slurm node; switches, enclosures
    // and storage servers are not.
    let slurm = label_values(&text, "slurm_node_status", "node", "partition=\"all\"");
    let want: BTreeSet<String> = cluster.slurm_nodes().into_iter().collect();
    assert_eq!(slurm, want, "Slurm nodes");
    // The accelerator servers are GPU nodes by their role.
    let gpu = label_values(&text, "slurm_node_status", "node", "partition=\"gpu\"");
    let want_gpu: BTreeSet<String> = cluster.gpu.iter().chain(&cluster.visu).cloned().collect();
    assert_eq!(gpu, want_gpu);
    // Switch ports on switches only; drives on enclosures only; IPMI on servers.
    assert_eq!(
        label_values(&text, "switch_port_oper_status", "instance", ""),
        cluster.switches.iter().cloned().collect()
    );
    assert_eq!(
        label_values(&text, "eseries_drive_status", "instance", ""),
        cluster.enclosures.iter().cloned().collect()
    );
    assert!(label_values(&text, "ipmi_up", "instance", "").contains("acc001"));
    assert!(
        text.contains("slurm_nodes_total "),
        "the Slurm aggregates are on"
    );

    // Both catalogs came with the plugin.
    let (s, status) = api.get("/api/simulator/status").await;
    assert_eq!(s, 200, "{status}");
    assert_eq!(status["running"], true);
    assert_eq!(
        status["catalogs"],
        json!([
            {"id": "primary", "path": "metrics/metrics_full.yaml", "source": "bundled"},
            {"id": "slurm", "path": "metrics/metrics_slurm.yaml", "source": "bundled"},
        ])
    );
    assert!(server.log().contains("using the bundled"), "logged");

    // Through Prometheus, the Slurm plugin counts every Slurm node.
    prom.wait_for_query(
        "count(slurm_node_status{partition=\"all\"} == 1)",
        |d| {
            d["result"][0]["value"][1]
                .as_str()
                .and_then(|v| v.parse::<usize>().ok())
                == Some(want.len())
        },
        Duration::from_secs(60),
    )
    .await;
    let summary = slurm_total_becomes(&api, want.len()).await;
    assert_eq!(summary["by_severity"]["OK"], want.len(), "{summary}");
    let (_, nodes) = api
        .get(&format!("/api/slurm/rooms/{}/nodes", cluster.room))
        .await;
    // The room view lists every instance of the room; the Slurm nodes have a state.
    let with_state: BTreeSet<String> = nodes["nodes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n["status"] != "unknown")
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(with_state, want, "{nodes}");
}

/// What a fixture folder's topology holds: every instance, the instances a Slurm cluster
/// has (nodes of server devices whose role is not storage), and the instances of storage
/// devices beyond the first (the simulator serves a storage device under its first name).
struct Expected {
    up: BTreeSet<String>,
    slurm: BTreeSet<String>,
}

fn expected(folder: &Path) -> Expected {
    use rackscope::topology::{load_catalog, load_topology, TopologyIndex};
    let topology = load_topology(&folder.join("topology")).unwrap();
    let (catalog, _) = load_catalog(&folder.join("templates"));
    let index = TopologyIndex::build(&topology).unwrap();
    let mut up = BTreeSet::new();
    let mut slurm = BTreeSet::new();
    let mut storage_seen = BTreeSet::new();
    let mut with_instances = BTreeSet::new();
    let mut add = |name: String, device: &rackscope::topology::Device| {
        let template = catalog.device_template(&device.template_id);
        let kind = template.map_or("server".to_string(), |t| t.kind.to_lowercase());
        let role = template
            .and_then(|t| t.role.clone())
            .unwrap_or_default()
            .to_lowercase();
        if kind == "storage" {
            if storage_seen.insert(device.id.clone()) {
                up.insert(name);
            }
            return;
        }
        up.insert(name.clone());
        if kind == "server" && !["storage", "stockage", "io"].contains(&role.as_str()) {
            slurm.insert(name);
        }
    };
    for entry in index.instances() {
        let device = entry.placement().device(&topology).unwrap();
        with_instances.insert(device.id.clone());
        add(entry.name().to_string(), device);
    }
    // A device without instances is one node, named after the device.
    for rack in topology.racks() {
        for device in &rack.devices {
            if !with_instances.contains(&device.id) {
                add(device.id.clone(), device);
            }
        }
    }
    Expected { up, slurm }
}

/// A Rackscope example folder as it is, laid out as Rackscope runs it (the folder is
/// `config/` under the working directory), with both plugins enabled and the test's
/// Prometheus and scrape port put in: the simulator serves every node, and the Slurm
/// plugin sees every Slurm node through Prometheus.
async fn run_fixture(name: &str) {
    let folder = fixtures_dir().join(name);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(&folder, &root.join("config"));
    install_plugins(root);
    let listen = format!("127.0.0.1:{}", free_port());
    let plugin_yaml = root.join("config/plugins/simulator/config/plugin.yaml");
    let text = fs::read_to_string(&plugin_yaml).unwrap();
    fs::write(&plugin_yaml, format!("{text}\nlisten: {listen}\n")).unwrap();
    let prom = RealPrometheus::start(std::slice::from_ref(&listen));
    let app = root.join("config/app.yaml");
    set_yaml(&app, |d| {
        d["telemetry"]["prometheus_url"] = json!(prom.url());
        d["plugins"] = json!({"simulator": {"enabled": true}, "slurm": {"enabled": true}});
    });
    let server = TestServer::start_in(root, &app, &[]);
    let api = Api::new(&server);
    let want = expected(&folder);

    let text = until(&format!("{name}: the first scrape"), 30, || scrape(&listen)).await;
    assert_eq!(
        label_values(&text, "up", "instance", ""),
        want.up,
        "{name}: every node has `up`"
    );
    assert_eq!(
        label_values(&text, "slurm_node_status", "node", "partition=\"all\""),
        want.slurm,
        "{name}: Slurm nodes"
    );
    let (_, plugins) = api.get("/api/plugins").await;
    for p in plugins.as_array().unwrap() {
        assert_eq!(p["running"], true, "{name}: {p}");
        assert_eq!(p["error"], Value::Null, "{name}: {p}");
    }
    assert!(!want.slurm.is_empty(), "{name} has Slurm nodes");
    slurm_total_becomes(&api, want.slurm.len()).await;
}

#[tokio::test]
async fn rackscope_example_simple_room_runs_both_plugins() {
    run_fixture("simple-room").await;
}

#[tokio::test]
async fn rackscope_example_full_datacenter_runs_both_plugins() {
    run_fixture("full-datacenter").await;
}

#[tokio::test]
async fn rackscope_example_hpc_cluster_1912_runs_both_plugins() {
    run_fixture("hpc-cluster-1912").await;
}

/// A copy of the generated cluster with the simulator's config file `settings`.
fn generated(settings: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    support::topo::write_cluster(&root.join("site"), 1, 2, 2);
    install_plugins(&root);
    let listen = format!("127.0.0.1:{}", free_port());
    let sim_dir = root.join("site/plugins/simulator/config");
    fs::create_dir_all(&sim_dir).unwrap();
    fs::write(
        sim_dir.join("plugin.yaml"),
        format!("listen: {listen}\nupdate_interval_seconds: 1\nincident_mode: full_ok\n{settings}"),
    )
    .unwrap();
    let app = root.join("site/app.yaml");
    set_yaml(&app, |d| {
        d["paths"]["plugins"] = json!("../plugins");
        d["plugins"] = json!({"simulator": {"enabled": true}});
    });
    (dir, app, listen)
}

#[tokio::test]
async fn a_catalog_that_exists_nowhere_is_a_load_error_and_the_status_says_so() {
    let (dir, app, listen) =
        generated("changes_per_hour: 3\nmetrics_catalog_path: metrics/site_catalog.yaml\n");
    let server = TestServer::start(&app);
    let api = Api::new(&server);
    let (s, plugin) = api.get("/api/plugins/simulator").await;
    assert_eq!(s, 200);
    assert_eq!(plugin["running"], false, "{plugin}");
    let error = plugin["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("metrics/site_catalog.yaml") && error.contains("not found"),
        "the error names the path: {error}"
    );
    // The fallback says who it is.
    assert_eq!(plugin["plugin_name"], "Metrics Simulator");

    // Status while down: 200, not running, the error, and the settings it can read.
    let (s, status) = api.get("/api/simulator/status").await;
    assert_eq!(s, 200, "{status}");
    assert_eq!(status["running"], false);
    assert!(
        error.contains(status["error"].as_str().unwrap()),
        "{status}"
    );
    assert!(
        !status["error"].as_str().unwrap().contains('\n'),
        "one line: {status}"
    );
    assert_eq!(status["endpoint"], format!("http://{listen}"));
    assert_eq!(status["update_interval"], 1);
    assert_eq!(status["incident_mode"], "full_ok");
    assert_eq!(status["changes_per_hour"], 3);
    assert_eq!(status["overrides_count"], 0);
    // The other routes explain themselves; the metric list needs no simulator.
    let (s, b) = api.get("/api/simulator/overrides").await;
    assert_eq!(s, 503, "{b}");
    assert!(
        b["detail"].as_str().unwrap().contains("site_catalog.yaml"),
        "{b}"
    );
    let (s, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": "node0001", "metric": "up", "value": 0}),
        )
        .await;
    assert_eq!(s, 503, "{b}");
    let (s, b) = api.post("/api/simulator/restart", &json!({})).await;
    assert_eq!(s, 503, "{b}");
    let (s, b) = api.get("/api/simulator/metrics").await;
    assert_eq!(s, 200, "{b}");
    let (_, menu) = api.get("/api/plugins/menu").await;
    assert!(menu.to_string().contains("\"simulator\""), "{menu}");
    assert!(
        scrape(&listen).await.is_err(),
        "no scrape listener while down"
    );

    // The config is fixed through the API: the plugin loads and the status says running.
    let (s, b) = api
        .post(
            "/api/plugins/simulator/config",
            &json!({"config": {"metrics_catalog_path": null}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    until("the simulator running", 30, || async {
        let (_, st) = api.get("/api/simulator/status").await;
        if st["running"] == true {
            Ok(())
        } else {
            Err(st.to_string())
        }
    })
    .await;
    until("its scrape", 30, || scrape(&listen)).await;
    drop(dir);
}

#[tokio::test]
async fn a_config_naming_a_missing_catalog_is_refused_and_nothing_written() {
    let (_dir, app, listen) = generated("");
    let file = app
        .parent()
        .unwrap()
        .join("plugins/simulator/config/plugin.yaml");
    let server = TestServer::start(&app);
    let api = Api::new(&server);
    until("the first scrape", 30, || scrape(&listen)).await;
    let before = fs::read_to_string(&file).unwrap();
    for bad in [
        json!({"metrics_catalog_path": "metrics/none.yaml"}),
        json!({"metrics_catalogs": [{"id": "extra", "path": "metrics/extra.yaml"}]}),
        json!({"metrics_catalogs": ["config/plugins/simulator/metrics/extra.yaml"]}),
    ] {
        let (s, b) = api
            .post("/api/plugins/simulator/config", &json!({"config": bad}))
            .await;
        assert_eq!(s, 422, "{bad}: {b}");
        let detail = b["detail"].as_str().unwrap();
        assert!(detail.contains("not found"), "{detail}");
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            before,
            "nothing written"
        );
    }
    // A catalog the user puts in the config folder wins over the bundled one.
    let own = app.parent().unwrap().join("plugins/simulator/metrics");
    fs::create_dir_all(&own).unwrap();
    fs::write(
        own.join("metrics_full.yaml"),
        "metrics:\n  - {name: up, scope: node}\n",
    )
    .unwrap();
    let (s, b) = api.post("/api/simulator/restart", &json!({})).await;
    assert_eq!(s, 200, "{b}");
    let text = until("the user's catalog in force", 30, || async {
        let t = scrape(&listen).await?;
        if t.contains("# TYPE node_temperature_celsius") {
            Err("still the bundled catalog".into())
        } else {
            Ok(t)
        }
    })
    .await;
    assert!(text.contains("\nup{"), "{text}");
    let (_, status) = api.get("/api/simulator/status").await;
    assert_eq!(status["catalogs"][0]["source"], "config", "{status}");
    assert_eq!(status["catalogs"][1]["source"], "bundled", "{status}");
}

#[tokio::test]
async fn the_slurm_catalog_can_be_turned_off() {
    let (_dir, app, listen) = generated(
        "metrics_catalogs:\n  - {id: slurm, path: metrics/metrics_slurm.yaml, enabled: false}\n",
    );
    let _server = TestServer::start(&app);
    let text = until("the first scrape", 30, || scrape(&listen)).await;
    // Node states stay (the full catalog has them, as Rackscope's does); the Slurm
    // catalog's CPUs, memory and aggregates are gone.
    assert!(text.contains("\nslurm_node_status{"));
    assert!(!text.contains("slurm_node_cpu_total"));
    assert!(!text.contains("slurm_nodes_total"));
}
