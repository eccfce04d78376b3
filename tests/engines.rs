//! The Prometheus client and `rackscope.prometheus` against Prometheus-compatible engines
//! (issue 13): a real Prometheus and, when installed, a real VictoriaMetrics (CI installs
//! both). Fractional steps, ~65 KB queries (sent as a form POST) and partial answers
//! (recorded, served by a tiny fake, since a single node never answers partially).

mod support;

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rackscope::prometheus::{CacheKind, PromClient, PromSettings};
use serde_json::{json, Value};
use support::exposition::Exposition;
use support::prometheus::RealPrometheus;
use support::server::{Api, ConfigDir, TestServer};
use support::victoria::RealVictoria;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A ~65 KB query that is cheap to evaluate (a long `or` chain of `vector(1)` takes
/// Prometheus seconds to evaluate: it is quadratic). One series in the answer.
fn long_query() -> String {
    let alternatives: Vec<String> = (0..11_000).map(|i| format!("a{i}")).collect();
    let q = format!(
        "vector(1) or rackscope_absent_metric{{x=~\"{}\"}}",
        alternatives.join("|")
    );
    assert!(q.len() > 65_000);
    q
}

const PROBE: &str = r#"
return {
  id = "probe",
  setup = function()
    rackscope.route("GET", "/api/probe/range", function(req)
      local t = rackscope.now()
      local data, err = rackscope.prometheus.query_range("vector(1)", t - 60, t, 7.5)
      if not data then return 503, { kind = err.kind, detail = tostring(err) } end
      return { points = #data.result[1].values, partial = data.partial == true }
    end)
    rackscope.route("GET", "/api/probe/long", function(req)
      local alts = {}
      for i = 0, 10999 do alts[#alts + 1] = "a" .. i end
      local q = 'vector(1) or rackscope_absent_metric{x=~"' .. table.concat(alts, "|") .. '"}'
      local data, err = rackscope.prometheus.query(q, { cache = "none" })
      if not data then return 503, { kind = err.kind, detail = tostring(err) } end
      return { series = #data.result, partial = data.partial == true,
               warnings = data.warnings or rackscope.array() }
    end)
  end,
}
"#;

/// The probe plugin, with the server's Prometheus URL set to `url`.
fn probe_server(url: &str) -> (ConfigDir, TestServer) {
    let cd = ConfigDir::demo();
    let dir = cd.root().join("plugins/probe");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("init.lua"), PROBE).unwrap();
    cd.edit_app_yaml(|d| d["plugins"] = json!({"probe": {"enabled": true}}));
    let server = TestServer::start_with_env(&cd.app_yaml(), &[("PROMETHEUS_URL", url)]);
    (cd, server)
}

/// What every engine must do, through the client and through the Lua API.
async fn check_engine(name: &str, url: &str) {
    let client = PromClient::new(PromSettings::new(url)).unwrap();
    let data = client.query("vector(1)", CacheKind::None).await.unwrap();
    assert_eq!(data["result"][0]["value"][1], "1", "{name}: {data}");
    assert!(data.get("partial").is_none(), "{name}: {data}");

    // A fractional step in plain seconds.
    let end = now().floor();
    let data = client
        .query_range("vector(1)", end - 60.0, end, "7.5")
        .await
        .unwrap_or_else(|e| panic!("{name}: step 7.5: {e}"));
    let values = data["result"][0]["values"].as_array().unwrap();
    assert!(values.len() >= 8, "{name}: {data}");
    let t0 = values[0][0].as_f64().unwrap();
    let t1 = values[1][0].as_f64().unwrap();
    assert_eq!(t1 - t0, 7.5, "{name}");

    // A ~65 KB query goes as a form POST and works.
    let data = client
        .query(&long_query(), CacheKind::None)
        .await
        .unwrap_or_else(|e| panic!("{name}: long query: {e} ({})", e.kind()));
    assert_eq!(data["result"].as_array().unwrap().len(), 1, "{name}");

    // The same from Lua.
    let (_cd, server) = probe_server(url);
    let api = Api::new(&server);
    let (status, body) = api.get("/api/probe/range").await;
    assert_eq!(status, 200, "{name}: {body}");
    assert!(body["points"].as_u64().unwrap() >= 8, "{name}: {body}");
    let (status, body) = api.get("/api/probe/long").await;
    assert_eq!(
        (status, body.clone()),
        (200, json!({"series": 1, "partial": false, "warnings": []})),
        "{name}: {body}"
    );
}

#[tokio::test]
async fn prometheus_and_victoria_metrics_answer_alike() {
    let prom = RealPrometheus::start(&[]);
    check_engine("prometheus", &prom.url()).await;

    let Some(vm) = RealVictoria::start() else {
        eprintln!("victoria-metrics is not installed: its half of this test is skipped");
        return;
    };
    check_engine("victoria-metrics", &vm.url()).await;
    // Data pushed to VictoriaMetrics is queried like Prometheus data.
    vm.import("rackscope_engine_probe{node=\"a\"} 42\n").await;
    let client = PromClient::new(PromSettings::new(&vm.url())).unwrap();
    let mut last = Value::Null;
    for _ in 0..100 {
        let data = client
            .query("rackscope_engine_probe", CacheKind::None)
            .await
            .unwrap();
        if data["result"][0]["value"][1] == "42" {
            assert_eq!(data["result"][0]["metric"]["node"], "a");
            return;
        }
        last = (*data).clone();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("imported sample never showed: {last}\n{}", vm.log());
}

/// Serves `body` (JSON) with 200 to every request, forever.
async fn recorded(body: Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let text = body.to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let text = text.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1 << 20];
                let _ = sock.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn partial_answers_are_marked_and_logged() {
    // As a clustered VictoriaMetrics answers with a storage node down.
    let url = recorded(json!({
        "status": "success",
        "isPartial": true,
        "warnings": ["vmstorage-2 is unavailable"],
        "data": {"resultType": "vector", "result": [
            {"metric": {"node": "a"}, "value": [1700000000, "1"]}
        ]}
    }))
    .await;
    let client = PromClient::new(PromSettings::new(&url)).unwrap();
    let data = client.query("up", CacheKind::None).await.unwrap();
    assert_eq!(data["partial"], true);
    assert_eq!(data["warnings"], json!(["vmstorage-2 is unavailable"]));
    assert_eq!(data["result"].as_array().unwrap().len(), 1);

    let (_cd, server) = probe_server(&url);
    let (status, body) = Api::new(&server).get("/api/probe/long").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["partial"], true, "{body}");
    assert_eq!(body["warnings"], json!(["vmstorage-2 is unavailable"]));
    let log = server.log();
    assert!(log.contains("partial result"), "{log}");
}

/// The health engine on one engine: a generated cluster whose node checks go out in
/// batches of 2,000 names (a ~20 KB regex matcher, sent as a POST), every `up` series
/// imported or scraped, three nodes down.
async fn health_on(name: &str, url: &str, load: impl std::future::Future<Output = ()>) {
    let dir = tempfile::tempdir().unwrap();
    let cluster = support::topo::write_cluster(dir.path(), 4, 10, 40);
    fs::write(
        dir.path().join("checks/node.yaml"),
        "checks:\n  - {id: node_up, name: Node up, scope: node, \
         expr: 'up{instance=~\"$instances\"}', rules: [{op: '==', value: 0, severity: CRIT}]}\n",
    )
    .unwrap();
    // The PDUs' metric, summed per rack by the engine (two series per rack here).
    fs::create_dir_all(dir.path().join("metrics")).unwrap();
    fs::write(
        dir.path().join("metrics/pdu.yaml"),
        "metrics:\n  - {id: tls_pdu_power, name: PDU power, \
         metric: 'tls_pdu_watts{rack_id=\"$rack_id\"}', display: {unit: W}}\n",
    )
    .unwrap();
    let mut app: Value =
        serde_norway::from_str(&fs::read_to_string(dir.path().join("app.yaml")).unwrap()).unwrap();
    app["paths"]["metrics"] = json!("metrics");
    app["telemetry"] = json!({"prometheus_url": url});
    app["planner"] = json!({"cache_ttl_seconds": 1, "max_ids_per_query": 2000});
    fs::write(
        dir.path().join("app.yaml"),
        serde_norway::to_string(&app).unwrap(),
    )
    .unwrap();
    load.await;
    let server = TestServer::start(&dir.path().join("app.yaml"));
    let api = Api::new(&server);
    let nodes: Vec<&String> = cluster.compute.iter().chain(&cluster.gpu).collect();
    assert!(nodes.len() > 3000, "{}", nodes.len());
    let down = [nodes[7], nodes[2500], nodes[nodes.len() - 1]];
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let alerts = loop {
        let (s, alerts) = api.get("/api/alerts/active").await;
        assert_eq!(s, 200);
        let list = alerts["alerts"].as_array().unwrap().clone();
        if list.len() == 3 {
            break list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name}: alerts {alerts}; telemetry {}",
            api.get("/api/stats/telemetry").await.1
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut ids: Vec<&str> = alerts
        .iter()
        .map(|a| a["node_id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want: Vec<&str> = down.iter().map(|s| s.as_str()).collect();
    want.sort();
    assert_eq!(ids, want, "{name}");
    let tel = api.get("/api/stats/telemetry").await.1;
    assert_eq!(tel["planner"]["failed_queries"], 0, "{name}: {tel}");
    assert!(
        tel["last_batch"]["query_count"].as_u64().unwrap() >= 2,
        "{name}: {tel}"
    );
    let room = api
        .get(&format!("/api/rooms/{}/state", cluster.room))
        .await
        .1;
    assert_eq!(room["state"], "CRIT", "{name}");
    // Rack component metrics, measured with the states: each rack's two PDU series summed
    // under the component template, only with include_metrics.
    for (k, rack) in cluster.racks.iter().enumerate().step_by(13) {
        let path = format!("/api/racks/{rack}/state?include_metrics=true");
        let state = api.get(&path).await.1;
        assert_eq!(
            state["infra_metrics"],
            json!({"components": {"tls-pdu": {"tls_pdu_power": pdu_watts(k) * 2.0}}}),
            "{name}: {rack}"
        );
        let plain = api.get(&format!("/api/racks/{rack}/state")).await.1;
        assert_eq!(plain["infra_metrics"], json!({"components": {}}));
    }
}

/// What each of rack `k`'s two PDUs reports.
fn pdu_watts(k: usize) -> f64 {
    1000.0 + k as f64
}

/// `up` of every node (0 for `down`), and two PDUs' `tls_pdu_watts` per rack.
fn exposition(cluster_nodes: &[String], down: &[&str], racks: &[String]) -> String {
    let mut text = String::from("# TYPE up gauge\n");
    for n in cluster_nodes {
        let v = if down.contains(&n.as_str()) { 0 } else { 1 };
        text.push_str(&format!("up{{instance=\"{n}\",job=\"node\"}} {v}\n"));
    }
    text.push_str("# TYPE tls_pdu_watts gauge\n");
    for (k, rack) in racks.iter().enumerate() {
        for side in ["left", "right"] {
            text.push_str(&format!(
                "tls_pdu_watts{{rack_id=\"{rack}\",side=\"{side}\"}} {}\n",
                pdu_watts(k)
            ));
        }
    }
    text
}

#[tokio::test]
async fn the_health_engine_on_prometheus_and_victoria_metrics() {
    // The same cluster as health_on writes, to know the names beforehand.
    let probe = tempfile::tempdir().unwrap();
    let c = support::topo::write_cluster(probe.path(), 4, 10, 40);
    let nodes: Vec<String> = c.compute.iter().chain(&c.gpu).cloned().collect();
    let down = [
        nodes[7].as_str(),
        nodes[2500].as_str(),
        nodes[nodes.len() - 1].as_str(),
    ];
    let text = exposition(&nodes, &down, &c.racks);

    let exposition = Exposition::start(&text);
    let prom = RealPrometheus::start(&[exposition.address()]);
    prom.wait_for_query(
        "count(up{job=\"node\"})",
        |d| {
            d["result"][0]["value"][1]
                .as_str()
                .and_then(|v| v.parse::<usize>().ok())
                == Some(nodes.len())
        },
        Duration::from_secs(60),
    )
    .await;
    health_on("prometheus", &prom.url(), async {}).await;

    let Some(vm) = RealVictoria::start() else {
        eprintln!("victoria-metrics is not installed: its half of this test is skipped");
        return;
    };
    let vm_url = vm.url();
    health_on("victoria-metrics", &vm_url, vm.import(&text)).await;
}
