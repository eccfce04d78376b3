//! The health engine end to end (issue 20): the demo with the simulator and a real
//! Prometheus, where a simulator incident shows in the states and alerts and a maintenance
//! changes what it covers; Prometheus stopped, restarted, slow, failing or answering
//! garbage (through a fault-injecting proxy), where nothing says OK that was not measured;
//! the shapes and errors of every endpoint; and Rackscope's example folders as they are.

mod support;

use std::fs;
use std::time::Duration;

use serde_json::{json, Value};
use support::faults::{Fault, FaultProxy};
use support::prometheus::RealPrometheus;
use support::server::{copy_dir, free_port, project_root, Api, ConfigDir, TestServer};
use support::wait::until;

/// The demo with the simulator (a tick a second, no random incident), a real Prometheus
/// scraping it, and a planner recomputing every second with the demo's `for:` delays cut
/// to 1 s. `prometheus_url` is where the server queries (the real one, or a proxy).
struct Demo {
    cd: ConfigDir,
    listen: String,
}

impl Demo {
    fn new() -> Demo {
        let cd = ConfigDir::demo();
        let sim_dir = cd.root().join("config/plugins/simulator");
        let _ = fs::remove_dir_all(sim_dir.join("state"));
        fs::write(sim_dir.join("overrides/overrides.yaml"), "overrides: []\n").unwrap();
        copy_dir(
            &project_root().join("plugins/simulator"),
            &cd.root().join("plugins/simulator"),
        );
        let listen = format!("127.0.0.1:{}", free_port());
        fs::write(
            sim_dir.join("config/plugin.yaml"),
            format!(
                "listen: {listen}\nupdate_interval_seconds: 1\nincident_mode: full_ok\n\
                 slurm_random_statuses: {{}}\nmetrics_catalog_path: metrics/metrics_full.yaml\n\
                 metrics_catalogs: [metrics/metrics_slurm.yaml]\n"
            ),
        )
        .unwrap();
        for f in ["node.yaml", "rack.yaml"] {
            let p = cd.root().join("config/checks/library").join(f);
            let text = fs::read_to_string(&p).unwrap();
            fs::write(
                &p,
                text.replace("for: 30s", "for: 1s")
                    .replace("for: 5m", "for: 1s"),
            )
            .unwrap();
        }
        // A plugin reading the states (rackscope.health).
        let probe = cd.root().join("plugins/probe");
        fs::create_dir_all(&probe).unwrap();
        fs::write(probe.join("init.lua"), PROBE).unwrap();
        Demo { cd, listen }
    }

    fn start(&self, prometheus_url: &str, timeout_seconds: f64) -> (TestServer, Api) {
        self.cd.edit_app_yaml(|d| {
            d["plugins"] = json!({"simulator": {"enabled": true}, "probe": {"enabled": true}});
            d["planner"]["cache_ttl_seconds"] = json!(1);
            d["telemetry"]["prometheus_url"] = json!(prometheus_url);
            d["telemetry"]["prometheus_timeout_seconds"] = json!(timeout_seconds);
        });
        let server = TestServer::start(&self.cd.app_yaml());
        let api = Api::new(&server);
        (server, api)
    }
}

const PROBE: &str = r#"
return {
  id = "probe",
  setup = function()
    rackscope.route("GET", "/api/probe/node/{name}", function(req)
      local n = rackscope.health.node(req.params.name)
      if not n then return 404, { detail = "no such node" } end
      local alerts = 0
      for _, a in ipairs(rackscope.health.alerts()) do
        if a.node_id == req.params.name then alerts = alerts + 1 end
      end
      return { state = n.state, rack = n.rack_id, alerts = alerts,
               room = rackscope.health.rooms()[n.room_id],
               summary = rackscope.health.summary().status }
    end)
  end,
}
"#;

async fn get_ok(api: &Api, path: &str) -> Value {
    let (status, body) = api.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The rack state of `rack` once `f` accepts it.
async fn rack_until(api: &Api, rack: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    until(what, 60, || async {
        let path = match rack.split_once('?') {
            Some((id, query)) => format!("/api/racks/{id}/state?{query}"),
            None => format!("/api/racks/{rack}/state"),
        };
        let body = get_ok(api, &path).await;
        if f(&body) {
            Ok(body)
        } else {
            Err(body.to_string())
        }
    })
    .await
}

fn alert_for<'a>(alerts: &'a Value, node: &str) -> Option<&'a Value> {
    alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["node_id"] == node)
}

#[tokio::test]
async fn a_simulator_incident_shows_in_states_alerts_and_maintenances() {
    let demo = Demo::new();
    let prom = RealPrometheus::start(std::slice::from_ref(&demo.listen));
    let (_server, api) = demo.start(&prom.url(), 5.0);

    // Measured: cn0001 is up and OK in its rack, nothing UNKNOWN in hall 1.
    let rack = rack_until(&api, "h1-a01", "cn0001 measured OK", |r| {
        r["nodes"]["cn0001"]["state"] == "OK"
    })
    .await;
    assert!(rack["nodes"]["cn0001"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == "node_up" && c["name"] == "Node up" && c["severity"] == "OK"));
    // With include_metrics: the node's temperature and power from the metrics library,
    // measured with the states; without: zeros.
    let rack = rack_until(
        &api,
        "h1-a01?include_metrics=true",
        "metrics measured",
        |r| r["nodes"]["cn0001"]["temperature"].as_f64().unwrap_or(0.0) > 0.0,
    )
    .await;
    assert!(
        rack["nodes"]["cn0001"]["power"].as_f64().unwrap() > 0.0,
        "{rack}"
    );
    assert!(
        rack["metrics"]["temperature"].as_f64().unwrap() > 15.0,
        "{}",
        rack["metrics"]
    );
    assert!(
        rack["metrics"]["power"].as_f64().unwrap() > 100.0,
        "{}",
        rack["metrics"]
    );
    // The rack's PDUs list rack_power and pdu_current: their sums over the rack's
    // inlets, measured with the states, keyed by the component template.
    let rack = rack_until(
        &api,
        "h1-a01?include_metrics=true",
        "rack component metrics measured",
        |r| {
            r["infra_metrics"]["components"]["pdu-metered-40u"]["rack_power"]
                .as_f64()
                .unwrap_or(0.0)
                > 0.0
        },
    )
    .await;
    let pdu = &rack["infra_metrics"]["components"]["pdu-metered-40u"];
    assert!(pdu["pdu_current"].as_f64().unwrap() > 0.0, "{pdu}");
    assert_eq!(
        rack["infra_metrics"]["components"]
            .as_object()
            .unwrap()
            .len(),
        1,
        "two mounts of one template are one key: {}",
        rack["infra_metrics"]
    );
    let plain = get_ok(&api, "/api/racks/h1-a01/state").await;
    assert_eq!(plain["infra_metrics"], json!({"components": {}}));
    assert_eq!(plain["nodes"]["cn0001"]["temperature"], 0);
    assert_eq!(plain["metrics"], json!({"temperature": 0, "power": 0.0}));
    let room_before = get_ok(&api, "/api/rooms/hall-1/state").await;
    assert_ne!(room_before["state"], "UNKNOWN", "{room_before}");

    // The override takes cn0001 down: node, rack and room CRIT, and an alert.
    let (s, b) = api
        .post(
            "/api/simulator/overrides",
            &json!({"instance": "cn0001", "metric": "up", "value": 0, "ttl_seconds": 0}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let rack = rack_until(&api, "h1-a01", "cn0001 CRIT", |r| {
        r["nodes"]["cn0001"]["state"] == "CRIT"
    })
    .await;
    assert_eq!(rack["state"], "CRIT");
    assert!(rack["nodes"]["cn0001"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == "node_up" && a["severity"] == "CRIT"));
    let room = get_ok(&api, "/api/rooms/hall-1/state").await;
    assert_eq!(room["state"], "CRIT");
    assert_eq!(room["racks"]["h1-a01"]["state"], "CRIT");
    assert!(room["racks"]["h1-a01"]["node_crit"].as_u64().unwrap() >= 1);
    assert_eq!(get_ok(&api, "/api/rooms/states").await["hall-1"], "CRIT");
    let alerts = get_ok(&api, "/api/alerts/active").await;
    let a = alert_for(&alerts, "cn0001").expect("an alert for cn0001");
    assert_eq!(a["type"], "node");
    assert_eq!(a["state"], "CRIT");
    assert_eq!(a["rack_id"], "h1-a01");
    assert_eq!(a["room_id"], "hall-1");
    assert_eq!(a["site_id"], "kb-main");
    assert!(
        a["device_id"].is_string() && a["device_name"].is_string() && a["rack_name"].is_string()
    );
    assert!(a["checks"]
        .as_array()
        .unwrap()
        .contains(&json!({"id": "node_up", "severity": "CRIT"})));
    let global = get_ok(&api, "/api/stats/global").await;
    assert_eq!(global["status"], "CRIT", "{global}");
    // A plugin reads the same states.
    assert_eq!(
        get_ok(&api, "/api/probe/node/cn0001").await,
        json!({"state": "CRIT", "rack": "h1-a01", "alerts": 1, "room": "CRIT", "summary": "CRIT"})
    );
    assert!(global["crit_count"].as_u64().unwrap() >= 1);

    // A maintenance (badge) on the rack: the alert is marked, the rack no longer turns the
    // room red, its own state is still what was measured.
    let (s, m) = api
        .post(
            "/api/maintenances",
            &json!({"target_type": "rack", "target_id": "h1-a01", "reason": "PSU swap"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["status"], "ACTIVE");
    assert_eq!(m["effect"], "badge");
    let id = m["id"].as_str().unwrap().to_string();
    let alerts = get_ok(&api, "/api/alerts/active").await;
    assert_eq!(
        alert_for(&alerts, "cn0001").unwrap()["maintenance"],
        json!({"id": id, "reason": "PSU swap"})
    );
    let room = get_ok(&api, "/api/rooms/hall-1/state").await;
    assert_eq!(room["racks"]["h1-a01"]["maintenance"]["id"], id.as_str());
    assert_eq!(room["racks"]["h1-a01"]["state"], "CRIT");
    assert_eq!(
        room["state"], room_before["state"],
        "the rack in maintenance does not count"
    );
    // hide: the alert is gone.
    let (s, b) = api
        .put(
            &format!("/api/maintenances/{id}"),
            &json!({"effect": "hide"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(alert_for(&get_ok(&api, "/api/alerts/active").await, "cn0001").is_none());
    // Stopped: everything back.
    let (s, b) = api
        .post(&format!("/api/maintenances/{id}/stop"), &json!({}))
        .await;
    assert_eq!((s, b["status"].clone()), (200, json!("EXPIRED")), "{b}");
    assert!(alert_for(&get_ok(&api, "/api/alerts/active").await, "cn0001").is_some());
    let room = get_ok(&api, "/api/rooms/hall-1/state").await;
    assert_eq!(room["state"], "CRIT", "{room}");
    // A device maintenance matches the node by its device id as well as by its name.
    let device = a["device_id"].as_str().unwrap();
    let (s, _) = api
        .post(
            "/api/maintenances",
            &json!({"target_type": "device", "target_id": device, "reason": "x", "effect": "hide"}),
        )
        .await;
    assert_eq!(s, 201);
    assert!(alert_for(&get_ok(&api, "/api/alerts/active").await, "cn0001").is_none());

    // An aisle runs hot: its racks turn WARN or CRIT from the node temperatures.
    let (s, b) = api
        .post(
            "/api/simulator/incidents",
            &json!({"type": "aisle_cooling", "target_id": "h1-b", "duration": 600}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let rack = rack_until(&api, "h1-b01", "aisle h1-b hot", |r| {
        r["nodes"]
            .as_object()
            .unwrap()
            .values()
            .any(|n| n["alerts"].to_string().contains("node_temperature"))
    })
    .await;
    assert!(
        rack["state"] == "WARN" || rack["state"] == "CRIT",
        "{}",
        rack["state"]
    );
    let alerts = get_ok(&api, "/api/alerts/active").await;
    assert!(alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["rack_id"] == "h1-b01" && a["checks"].to_string().contains("node_temperature")));
}

#[tokio::test]
async fn prometheus_stopped_or_failing_is_never_shown_as_ok() {
    let demo = Demo::new();
    let mut prom = RealPrometheus::start(std::slice::from_ref(&demo.listen));
    let proxy = FaultProxy::start(&prom.url()).await;
    let (_server, api) = demo.start(&proxy.url, 1.0);
    rack_until(&api, "h1-a01", "measured", |r| {
        r["nodes"]["cn0001"]["state"] == "OK" && r["stale"] == false
    })
    .await;
    let prom_stats = get_ok(&api, "/api/stats/prometheus").await;
    assert_eq!(prom_stats["status"], "up", "{prom_stats}");

    // Each fault: the last measured states keep serving, marked stale with the reason;
    // stats/prometheus says Prometheus is down; nothing piles up.
    for (fault, words) in [
        (Fault::Status(503), "HTTP 503"),
        (Fault::Garbage, "invalid answer"),
        (Fault::Hang, "did not answer"),
        (Fault::Slow(Duration::from_secs(3)), "did not answer"),
        (Fault::Close, "Prometheus"),
    ] {
        proxy.set(fault.clone());
        proxy.reset_counts();
        let rack = rack_until(&api, "h1-a01", &format!("{fault:?} seen"), |r| {
            r["stale"] == true
        })
        .await;
        assert!(
            rack["error"].as_str().unwrap().contains(words),
            "{fault:?}: {}",
            rack["error"]
        );
        assert_eq!(
            rack["nodes"]["cn0001"]["state"], "OK",
            "the last measurement, marked stale"
        );
        let alerts = get_ok(&api, "/api/alerts/active").await;
        assert_eq!(alerts["stale"], true);
        let stats = get_ok(&api, "/api/stats/prometheus").await;
        assert_eq!(stats["status"], "down", "{fault:?}: {stats}");
        assert!(
            stats["last_ts"].is_null() && stats["error"].is_string(),
            "{stats}"
        );
        let telemetry = get_ok(&api, "/api/stats/telemetry").await;
        assert!(telemetry["planner"]["failed_queries"].as_u64().unwrap() > 0);
        // Requests answer at once from the last snapshot, however slow Prometheus is.
        let started = std::time::Instant::now();
        get_ok(&api, "/api/rooms/hall-1/state").await;
        assert!(started.elapsed() < Duration::from_secs(1), "{fault:?}");
        assert!(
            proxy.max_in_flight() <= 10,
            "{fault:?}: {} requests at once",
            proxy.max_in_flight()
        );
        // Back: fresh states at the next recompute.
        proxy.set(Fault::Pass);
        rack_until(&api, "h1-a01", &format!("recovered from {fault:?}"), |r| {
            r["stale"] == false && r["nodes"]["cn0001"]["state"] == "OK"
        })
        .await;
    }

    // The real Prometheus stopped, then restarted.
    prom.stop();
    let rack = rack_until(&api, "h1-a01", "Prometheus stopped", |r| r["stale"] == true).await;
    assert!(
        rack["error"].as_str().unwrap().contains("502"),
        "{}",
        rack["error"]
    );
    prom.restart();
    rack_until(&api, "h1-a01", "Prometheus back", |r| {
        r["stale"] == false && r["nodes"]["cn0001"]["state"] == "OK"
    })
    .await;
}

#[tokio::test]
async fn with_no_measurement_everything_is_unknown_with_the_reason() {
    // Prometheus hangs from the start: no snapshot was ever measured.
    let demo = Demo::new();
    let prom = RealPrometheus::start(&[]);
    let proxy = FaultProxy::start(&prom.url()).await;
    proxy.set(Fault::Status(500));
    let (_server, api) = demo.start(&proxy.url, 1.0);
    let rack = rack_until(&api, "h1-a01", "the failed first recompute", |r| {
        r["error"].as_str().is_some_and(|e| e.contains("500"))
    })
    .await;
    assert_eq!(rack["state"], "UNKNOWN");
    assert_eq!(rack["stale"], true);
    for node in rack["nodes"].as_object().unwrap().values() {
        assert_eq!(node["state"], "UNKNOWN", "{node}");
    }
    let states = get_ok(&api, "/api/rooms/states").await;
    for (room, state) in states.as_object().unwrap() {
        assert_eq!(state, "UNKNOWN", "{room}");
    }
    let global = get_ok(&api, "/api/stats/global").await;
    assert_eq!(global["status"], "UNKNOWN", "{global}");
    assert_eq!(global["unknown_count"], global["total_racks"]);
    assert_eq!(
        get_ok(&api, "/api/alerts/active").await["alerts"],
        json!([])
    );
}

#[tokio::test]
async fn shapes_and_errors_of_every_endpoint() {
    let cd = ConfigDir::demo();
    cd.edit_app_yaml(|d| d["telemetry"]["prometheus_url"] = json!("http://127.0.0.1:9"));
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);

    let states = get_ok(&api, "/api/rooms/states").await;
    assert_eq!(
        states.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["hall-1", "hall-2", "annex"]
    );
    let room = get_ok(&api, "/api/rooms/hall-1/state").await;
    for k in [
        "room_id",
        "state",
        "racks",
        "generated_at",
        "stale",
        "error",
    ] {
        assert!(room.get(k).is_some(), "room state has {k}: {room}");
    }
    let r = &room["racks"]["h1-a01"];
    for k in [
        "state",
        "node_total",
        "node_crit",
        "node_warn",
        "maintenance",
    ] {
        assert!(r.get(k).is_some(), "{k}: {r}");
    }
    assert_eq!(
        r["node_total"], 50,
        "instances and instance-less devices, duplicates counted"
    );
    let rack = get_ok(&api, "/api/racks/h1-a01/state?include_metrics=true").await;
    for k in [
        "rack_id",
        "state",
        "checks",
        "alerts",
        "metrics",
        "infra_metrics",
        "nodes",
    ] {
        assert!(rack.get(k).is_some(), "rack state has {k}: {rack}");
    }
    assert_eq!(rack["metrics"], json!({"temperature": 0, "power": 0.0}));
    let node = &rack["nodes"]["cn0001"];
    for k in ["state", "temperature", "power", "checks", "alerts"] {
        assert!(node.get(k).is_some(), "node has {k}: {node}");
    }
    let alerts = get_ok(&api, "/api/alerts/active").await;
    assert!(alerts["alerts"].is_array());
    let global = get_ok(&api, "/api/stats/global").await;
    for k in [
        "total_rooms",
        "total_racks",
        "active_alerts",
        "crit_count",
        "warn_count",
        "status",
    ] {
        assert!(global.get(k).is_some(), "{k}: {global}");
    }
    assert_eq!(
        (global["total_rooms"].clone(), global["total_racks"].clone()),
        (json!(3), json!(17))
    );
    let prom = get_ok(&api, "/api/stats/prometheus").await;
    for k in [
        "last_ms",
        "avg_ms",
        "last_ts",
        "heartbeat_seconds",
        "next_ts",
    ] {
        assert!(prom.get(k).is_some(), "{k}: {prom}");
    }
    let tel = get_ok(&api, "/api/stats/telemetry").await;
    for k in [
        "query_count",
        "cache_hits",
        "cache_misses",
        "in_flight",
        "last_batch",
        "last_ms",
        "avg_ms",
        "last_ts",
    ] {
        assert!(tel.get(k).is_some(), "{k}: {tel}");
    }
    for k in ["total_ids", "query_count", "max_ids_per_query", "ts"] {
        assert!(tel["last_batch"].get(k).is_some(), "{k}: {tel}");
    }

    // Errors: unknown ids are 404s (not every node of the topology), bad flags 422.
    assert_eq!(
        api.get("/api/rooms/nope/state").await,
        (404, json!({"detail": "Room nope not found"}))
    );
    assert_eq!(
        api.get("/api/racks/nope/state").await,
        (404, json!({"detail": "Rack nope not found"}))
    );
    let (s, b) = api
        .get("/api/racks/h1-a01/state?include_metrics=maybe")
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["detail"][0]["loc"], json!(["query", "include_metrics"]));
    assert_eq!(
        api.get("/api/devices/nope/x/metrics").await,
        (404, json!({"detail": "Rack nope not found"}))
    );
    assert_eq!(
        api.get("/api/devices/h1-a01/nope/metrics").await,
        (
            404,
            json!({"detail": "Device nope not found in rack h1-a01"})
        )
    );

    // Maintenances: CRUD, times without a timezone are UTC, errors.
    assert_eq!(
        get_ok(&api, "/api/maintenances").await,
        json!({"maintenances": []})
    );
    let (s, m) = api
        .post(
            "/api/maintenances",
            &json!({"target_type": "room", "target_id": " hall-2 ", "reason": " cabling ",
                    "starts_at": "2099-01-06T18:00", "expires_at": "2099-01-07T09:30:00+02:00"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["target_id"], "hall-2");
    assert_eq!(m["reason"], "cabling");
    assert_eq!(m["starts_at"], "2099-01-06T18:00:00Z");
    assert_eq!(m["expires_at"], "2099-01-07T09:30:00+02:00");
    assert_eq!(m["status"], "SCHEDULED");
    assert_eq!(m["ended_at"], Value::Null);
    assert_eq!(m["id"].as_str().unwrap().len(), 12);
    let id = m["id"].as_str().unwrap().to_string();
    let file = cd.root().join("config/maintenances.yaml");
    assert!(fs::read_to_string(&file).unwrap().contains(&id));
    for (body, status, detail) in [
        (
            json!({"target_type": "rack", "target_id": " ", "reason": "x"}),
            400,
            json!("target_id is required"),
        ),
        (
            json!({"target_type": "rack", "target_id": "r", "reason": ""}),
            400,
            json!("reason is required"),
        ),
    ] {
        assert_eq!(
            api.post("/api/maintenances", &body).await,
            (status, json!({"detail": detail}))
        );
    }
    for body in [
        json!({"target_type": "aisle", "target_id": "r", "reason": "x"}),
        json!({"target_id": "r", "reason": "x"}),
        json!({"target_type": "rack", "target_id": "r", "reason": "x", "effect": "mute"}),
        json!({"target_type": "rack", "target_id": "r", "reason": "x", "expires_at": "soon"}),
        json!([1, 2]),
    ] {
        let (s, b) = api.post("/api/maintenances", &body).await;
        assert_eq!(s, 422, "{body}: {b}");
        assert!(b["detail"].is_array(), "{b}");
    }
    let (s, b) = api
        .put(
            &format!("/api/maintenances/{id}"),
            &json!({"reason": "  ", "target_id": "x"}),
        )
        .await;
    assert_eq!((s, b), (400, json!({"detail": "reason cannot be empty"})));
    let (s, b) = api
        .put(
            &format!("/api/maintenances/{id}"),
            &json!({"starts_at": null, "effect": null, "target_id": "x"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            b["status"].clone(),
            b["target_id"].clone(),
            b["effect"].clone()
        ),
        (json!("ACTIVE"), json!("hall-2"), json!("badge"))
    );
    assert_eq!(
        api.post(&format!("/api/maintenances/{id}/reactivate"), &json!({}))
            .await,
        (400, json!({"detail": "Maintenance is not ended"}))
    );
    assert_eq!(
        api.post(&format!("/api/maintenances/{id}/stop"), &json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        api.post(&format!("/api/maintenances/{id}/stop"), &json!({}))
            .await,
        (400, json!({"detail": "Maintenance already ended"}))
    );
    assert_eq!(
        api.post(&format!("/api/maintenances/{id}/reactivate"), &json!({}))
            .await
            .0,
        200
    );
    for (method, path) in [
        (reqwest::Method::PUT, "/api/maintenances/nope"),
        (reqwest::Method::POST, "/api/maintenances/nope/stop"),
        (reqwest::Method::DELETE, "/api/maintenances/nope"),
    ] {
        assert_eq!(
            api.request(method, path, Some(&json!({}))).await,
            (404, json!({"detail": "Maintenance not found"}))
        );
    }
    // An entry of the file that cannot be read is kept as written by the next write.
    let text = fs::read_to_string(&file).unwrap();
    fs::write(
        &file,
        text.replace(
            "maintenances:\n",
            "maintenances:\n- {id: odd, target_type: planet}\n",
        ),
    )
    .unwrap();
    assert_eq!(
        get_ok(&api, "/api/maintenances").await["maintenances"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (s, b) = api.delete(&format!("/api/maintenances/{id}")).await;
    assert_eq!(s, 204, "{b}");
    assert!(fs::read_to_string(&file).unwrap().contains("planet"));
    assert_eq!(
        get_ok(&api, "/api/maintenances").await,
        json!({"maintenances": []})
    );
}

/// The app.yaml of a Rackscope example folder read in place, querying `prometheus` with a
/// planner recomputing every second.
fn fixture_app(dir: &std::path::Path, name: &str, prometheus: &str) -> std::path::PathBuf {
    let fx = support::server::fixtures_dir().join(name);
    let app = dir.join("app.yaml");
    fs::write(
        &app,
        format!(
            "paths:\n  topology: {}\n  templates: {}\n  checks: {}\n  metrics: {}\n\
             telemetry:\n  prometheus_url: {prometheus}\n\
             planner:\n  cache_ttl_seconds: 1\n",
            fx.join("topology").display(),
            fx.join("templates").display(),
            fx.join("checks/library").display(),
            fx.join("metrics/library").display(),
        ),
    )
    .unwrap();
    app
}

#[tokio::test]
async fn rackscope_example_folders_serve_every_state_and_their_rack_metrics() {
    // A real Prometheus with nothing of the fixtures' metrics yet: every room and rack of
    // every example folder answers, nothing measured is OK, and each rack lists the
    // component templates its frame mounts that have metrics.
    let expo = support::exposition::Exposition::start("");
    let prom = RealPrometheus::start(&[expo.address()]);
    for name in [
        "simple-room",
        "hpc-cluster",
        "full-datacenter",
        "hpc-cluster-1912",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(&fixture_app(dir.path(), name, &prom.url()));
        let api = Api::new(&server);
        until(&format!("{name}: a recompute"), 30, || async {
            let t = api.get("/api/stats/telemetry").await.1;
            if t["planner"]["recomputes"].as_u64() >= Some(1) {
                Ok(())
            } else {
                Err(t.to_string())
            }
        })
        .await;
        let rooms = get_ok(&api, "/api/rooms/states").await;
        assert!(!rooms.as_object().unwrap().is_empty(), "{name}");
        let mut with_pdu = Vec::new();
        for room in rooms.as_object().unwrap().keys() {
            let state = get_ok(&api, &format!("/api/rooms/{room}/state")).await;
            for rack in state["racks"].as_object().unwrap().keys() {
                let r = get_ok(
                    &api,
                    &format!("/api/racks/{rack}/state?include_metrics=true"),
                )
                .await;
                assert_ne!(r["state"], "OK", "{name}: {rack} was never measured");
                let components = r["infra_metrics"]["components"].as_object().unwrap();
                for (component, values) in components {
                    assert_eq!(
                        values,
                        &json!({}),
                        "{name}: {rack} {component}: nothing measured"
                    );
                }
                if components.contains_key("pdu-1phase") {
                    with_pdu.push(rack.clone());
                }
            }
        }
        if name != "hpc-cluster-1912" {
            continue;
        }
        // Its PDUs list `pdu_active_power` (`pdu_total_load_watts{rack_id="$rack_id"}`):
        // once Prometheus has the series, each rack shows its own sum.
        assert!(with_pdu.len() >= 2, "{with_pdu:?}");
        let (a, b) = (&with_pdu[0], &with_pdu[with_pdu.len() - 1]);
        expo.set(&format!(
            "pdu_total_load_watts{{rack_id=\"{a}\",pdu=\"left\"}} 400\n\
             pdu_total_load_watts{{rack_id=\"{a}\",pdu=\"right\"}} 240\n\
             pdu_total_load_watts{{rack_id=\"{b}\",pdu=\"left\"}} 100\n"
        ));
        for (rack, want) in [(a, 640.0), (b, 100.0)] {
            rack_until(
                &api,
                &format!("{rack}?include_metrics=true"),
                "the PDU power measured",
                |r| r["infra_metrics"]["components"]["pdu-1phase"]["pdu_active_power"] == want,
            )
            .await;
        }
    }
}
