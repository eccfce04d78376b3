//! The read views end to end against the real binary: every endpoint's shape (every
//! field, `null` never omitted, floats with a fraction) on the demo config and on each of
//! Rackscope's example folders, errors and file names that try to leave their folder,
//! topology edits seen through the API (all or nothing), the logs (filters, redaction,
//! the live stream, its limit), and `/api/metrics/data` against a real Prometheus.

mod support;

use std::fs;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::exposition::Exposition;
use support::prometheus::RealPrometheus;
use support::server::{fixtures_dir, Api, ConfigDir, TestServer};

// ---------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn float(v: &Value, what: &str) {
    assert!(v.is_f64(), "{what} must be a float with a fraction: {v}");
}

fn opt_str(v: &Value, what: &str) {
    assert!(v.is_null() || v.is_string(), "{what}: {v}");
}

fn assert_device(d: &Value) {
    assert_eq!(
        keys(d),
        [
            "id",
            "name",
            "template_id",
            "u_position",
            "instance",
            "nodes",
            "labels"
        ]
    );
    assert!(d["u_position"].is_i64(), "{d}");
    assert!(
        d["instance"].is_string() || d["instance"].is_array() || d["instance"].is_object(),
        "{d}"
    );
    assert!(d["labels"].is_null() || d["labels"].is_object());
}

fn assert_rack(r: &Value, aisle: Option<&str>) {
    assert_eq!(
        keys(r),
        [
            "id",
            "name",
            "template_id",
            "u_height",
            "aisle_id",
            "devices"
        ]
    );
    opt_str(&r["template_id"], "rack template_id");
    assert!(r["u_height"].is_u64());
    assert_eq!(r["aisle_id"].as_str(), aisle, "aisle_id of {}", r["id"]);
    r["devices"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(assert_device);
}

fn assert_room(room: &Value) {
    assert_eq!(
        keys(room),
        [
            "id",
            "name",
            "description",
            "layout",
            "aisles",
            "standalone_racks"
        ]
    );
    opt_str(&room["description"], "room description");
    let layout = &room["layout"];
    if !layout.is_null() {
        assert_eq!(
            keys(layout),
            ["shape", "size", "orientation", "grid", "door"]
        );
        float(&layout["size"]["width"], "size.width");
        float(&layout["size"]["height"], "size.height");
        float(&layout["grid"]["cell"], "grid.cell");
        assert!(layout["grid"]["enabled"].is_boolean());
        let door = &layout["door"];
        if !door.is_null() {
            assert_eq!(keys(door), ["side", "label", "position"]);
            float(&door["position"], "door.position");
        }
    }
    for aisle in room["aisles"].as_array().unwrap() {
        assert_eq!(keys(aisle), ["id", "name", "racks"]);
        for rack in aisle["racks"].as_array().unwrap() {
            assert_rack(rack, aisle["id"].as_str());
        }
    }
    for rack in room["standalone_racks"].as_array().unwrap() {
        assert_rack(rack, None);
    }
}

fn assert_site(site: &Value) {
    assert_eq!(
        keys(site),
        ["id", "name", "description", "location", "rooms"]
    );
    opt_str(&site["description"], "site description");
    let loc = &site["location"];
    if !loc.is_null() {
        assert_eq!(keys(loc), ["lat", "lon", "address"]);
        assert!(loc["lat"].is_f64() && loc["lon"].is_f64(), "{loc}");
    }
    site["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(assert_room);
}

fn assert_layout(l: &Value) {
    if l.is_null() {
        return;
    }
    assert_eq!(keys(l), ["type", "rows", "cols", "matrix"]);
    assert!(l["rows"].is_u64() && l["cols"].is_u64() && l["matrix"].is_array());
}

fn assert_device_template(t: &Value) {
    assert_eq!(
        keys(t),
        [
            "id",
            "name",
            "type",
            "storage_type",
            "role",
            "u_height",
            "layout",
            "disk_layout",
            "rear_layout",
            "rear_components",
            "checks",
            "metrics",
            "display_thresholds"
        ]
    );
    assert!(t["u_height"].is_u64());
    for l in ["layout", "disk_layout", "rear_layout"] {
        assert_layout(&t[l]);
    }
    for c in t["rear_components"].as_array().unwrap() {
        assert_eq!(keys(c), ["id", "name", "type", "role", "checks"]);
    }
    if let Some(th) = t["display_thresholds"].as_object() {
        for v in th.values() {
            for x in v.as_object().unwrap().values() {
                float(x, "display_thresholds");
            }
        }
    }
}

fn assert_catalog(c: &Value) {
    assert_eq!(
        keys(c),
        [
            "device_templates",
            "rack_templates",
            "rack_component_templates"
        ]
    );
    c["device_templates"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(assert_device_template);
    for t in c["rack_templates"].as_array().unwrap() {
        assert_eq!(
            keys(t),
            ["id", "name", "u_height", "infrastructure", "checks"]
        );
        let infra = &t["infrastructure"];
        assert_eq!(
            keys(infra),
            [
                "components",
                "front_components",
                "rear_components",
                "side_components",
                "rack_components"
            ]
        );
        for r in infra["rack_components"].as_array().unwrap() {
            assert_eq!(keys(r), ["template_id", "u_position", "u_height", "side"]);
        }
        for list in [
            "components",
            "front_components",
            "rear_components",
            "side_components",
        ] {
            for c in infra[list].as_array().unwrap() {
                assert_eq!(
                    keys(c),
                    [
                        "id",
                        "name",
                        "type",
                        "model",
                        "role",
                        "location",
                        "u_position",
                        "u_height"
                    ]
                );
            }
        }
    }
    for t in c["rack_component_templates"].as_array().unwrap() {
        assert_eq!(
            keys(t),
            [
                "id",
                "name",
                "type",
                "model",
                "role",
                "location",
                "side",
                "u_height",
                "u_position",
                "checks",
                "metrics"
            ]
        );
    }
}

fn assert_check(c: &Value) {
    assert_eq!(
        keys(c),
        [
            "id",
            "name",
            "scope",
            "expr",
            "output",
            "selectors",
            "rules",
            "kind",
            "expand_by_label",
            "expand_discovery_expr",
            "expand_absent_state",
            "expand_crit_threshold",
            "for"
        ]
    );
    assert!(["node", "chassis", "rack"].contains(&c["scope"].as_str().unwrap()));
    assert!(["bool", "numeric"].contains(&c["output"].as_str().unwrap()));
    for r in c["rules"].as_array().unwrap() {
        assert_eq!(keys(r), ["op", "value", "severity"]);
        assert!(r["value"].is_number() || r["value"].is_string());
    }
    for k in [
        "kind",
        "expand_by_label",
        "expand_discovery_expr",
        "expand_absent_state",
        "for",
    ] {
        opt_str(&c[k], k);
    }
    assert!(c["expand_crit_threshold"].is_null() || c["expand_crit_threshold"].is_i64());
}

fn assert_metric(m: &Value) {
    assert_eq!(
        keys(m),
        [
            "id",
            "name",
            "description",
            "metric",
            "labels",
            "display",
            "category",
            "tags"
        ]
    );
    let d = &m["display"];
    assert_eq!(
        keys(d),
        [
            "unit",
            "chart_type",
            "color",
            "time_ranges",
            "default_range",
            "aggregation",
            "thresholds",
            "format"
        ]
    );
    if let Some(th) = d["thresholds"].as_object() {
        for v in th.values().filter(|v| !v.is_null()) {
            float(v, "display.thresholds");
        }
    }
    assert!(d["format"].is_null() || d["format"].is_object());
    assert!(m["labels"].is_object() && m["tags"].is_array());
}

async fn ok(api: &Api, path: &str) -> Value {
    let (status, body) = api.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Every view of the running server, checked against the spec's shapes and against each
/// other (a rack by id is the first rack with that id in `/api/sites`, ...).
async fn check_every_view(api: &Api) -> Value {
    let sites = ok(api, "/api/sites").await;
    sites.as_array().unwrap().iter().for_each(assert_site);
    let rooms = ok(api, "/api/rooms").await;
    let catalog = ok(api, "/api/catalog").await;
    assert_catalog(&catalog);
    let mut seen_rooms = std::collections::HashSet::new();
    let mut seen_racks = std::collections::HashSet::new();
    for site in sites.as_array().unwrap() {
        for room in site["rooms"].as_array().unwrap() {
            let id = room["id"].as_str().unwrap();
            if seen_rooms.insert(id.to_string()) {
                assert_eq!(&ok(api, &format!("/api/rooms/{id}/layout")).await, room);
            }
            let summary = rooms
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == id && r["site_id"] == site["id"])
                .unwrap();
            assert_eq!(keys(summary), ["id", "name", "site_id", "aisles"]);
            let mut racks: Vec<(&Value, Option<&Value>)> = Vec::new();
            for aisle in room["aisles"].as_array().unwrap() {
                racks.extend(
                    aisle["racks"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| (r, Some(aisle))),
                );
            }
            racks.extend(
                room["standalone_racks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| (r, None)),
            );
            let listed: usize = summary["aisles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["racks"].as_array().unwrap().len())
                .sum();
            assert_eq!(listed, racks.len());
            for (rack, aisle) in racks {
                let rid = rack["id"].as_str().unwrap();
                if !seen_racks.insert(rid.to_string()) {
                    continue;
                }
                assert_eq!(&ok(api, &format!("/api/racks/{rid}")).await, rack);
                let Some(device) = rack["devices"].as_array().unwrap().first() else {
                    continue;
                };
                let did = device["id"].as_str().unwrap();
                let ctx = ok(api, &format!("/api/racks/{rid}/devices/{did}")).await;
                assert_eq!(
                    keys(&ctx),
                    ["device", "template", "rack", "room", "site", "aisle"]
                );
                assert_eq!(&ctx["device"], device);
                assert_eq!(&ctx["rack"], rack);
                let template = catalog["device_templates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["id"] == device["template_id"]);
                assert_eq!(Some(&ctx["template"]), template.or(Some(&Value::Null)));
                assert_eq!(ctx["room"], json!({"id": room["id"], "name": room["name"]}));
                assert_eq!(keys(&ctx["site"]), ["id", "name", "description"]);
                assert!(ctx["site"]["description"].is_string());
                match aisle {
                    Some(a) => assert_eq!(ctx["aisle"], json!({"id": a["id"], "name": a["name"]})),
                    None => assert_eq!(ctx["aisle"], Value::Null),
                }
            }
        }
    }
    let checks = ok(api, "/api/checks").await;
    assert_eq!(keys(&checks), ["checks"]);
    checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(assert_check);
    let files = ok(api, "/api/checks/files").await;
    for f in files["files"].as_array().unwrap() {
        assert_eq!(keys(f), ["name", "path", "relative"]);
        let name = f["name"].as_str().unwrap();
        let file = ok(api, &format!("/api/checks/files/{name}")).await;
        assert_eq!(keys(&file), ["name", "content"]);
        assert_eq!(
            file["content"],
            fs::read_to_string(f["path"].as_str().unwrap()).unwrap()
        );
    }
    let library = ok(api, "/api/metrics/library").await;
    assert_eq!(keys(&library), ["count", "metrics"]);
    let metrics = library["metrics"].as_array().unwrap();
    assert_eq!(library["count"], metrics.len());
    metrics.iter().for_each(assert_metric);
    for m in metrics {
        let id = m["id"].as_str().unwrap();
        let first = metrics.iter().find(|x| x["id"] == id).unwrap();
        assert_eq!(&ok(api, &format!("/api/metrics/library/{id}")).await, first);
    }
    for f in ok(api, "/api/metrics/library/files").await["files"]
        .as_array()
        .unwrap()
    {
        assert_eq!(keys(f), ["name", "path"]);
        let file = ok(
            api,
            &format!("/api/metrics/library/files/{}", f["name"].as_str().unwrap()),
        )
        .await;
        assert_eq!(
            file["content"],
            fs::read_to_string(f["path"].as_str().unwrap()).unwrap()
        );
    }
    let categories = ok(api, "/api/metrics/categories").await;
    let mut want: Vec<&str> = metrics
        .iter()
        .filter_map(|m| m["category"].as_str())
        .collect();
    want.sort();
    want.dedup();
    assert_eq!(categories, json!({ "categories": want }));
    let tags = ok(api, "/api/metrics/tags").await;
    let mut want: Vec<&str> = metrics
        .iter()
        .flat_map(|m| m["tags"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    want.sort();
    want.dedup();
    assert_eq!(tags, json!({ "tags": want }));
    for f in ok(api, "/api/metrics/files").await["files"]
        .as_array()
        .unwrap()
    {
        assert_eq!(keys(f), ["name", "path"]);
    }
    sites
}

#[tokio::test]
async fn demo_views_have_the_spec_shapes() {
    let cd = ConfigDir::demo();
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let sites = check_every_view(&api).await;
    assert_eq!(sites.as_array().unwrap().len(), 2);
    // Racks carry the aisle they stand in (null for standalone racks).
    assert_eq!(ok(&api, "/api/racks/h1-a01").await["aisle_id"], "h1-a");
    assert_eq!(ok(&api, "/api/racks/h2-s01").await["aisle_id"], Value::Null);
    let rooms = ok(&api, "/api/rooms").await;
    let hall2 = rooms
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "hall-2")
        .unwrap();
    assert_eq!(
        hall2["aisles"].as_array().unwrap().last().unwrap()["id"],
        "hall-2-standalone"
    );
    // The demo libraries: checks with `for`, metrics from a sub-folder.
    let checks = ok(&api, "/api/checks").await;
    let temp = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "node_temperature")
        .unwrap();
    assert_eq!(temp["for"], "30s");
    assert_eq!(
        temp["rules"][0],
        json!({"op": ">", "value": 32, "severity": "WARN"})
    );
    let files = ok(&api, "/api/metrics/library/files").await;
    let names: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["node.yaml", "pdu/pdu_current.yaml", "pdu/rack_power.yaml"]
    );
    let t = ok(&api, "/api/metrics/library/node_temperature").await;
    assert_eq!(
        t["display"]["thresholds"],
        json!({"warn": 75.0, "crit": 90.0})
    );
    let power = ok(&api, "/api/metrics/library?category=power").await;
    assert_eq!(power["count"], 3);
    let pdu = ok(&api, "/api/metrics/library?tag=pdu&category=").await;
    let ids: Vec<&str> = pdu["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["pdu_current", "rack_power"], "in load order");
    let catalogs = ok(&api, "/api/metrics/files").await;
    assert!(catalogs["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "metrics_full.yaml"));
}

#[tokio::test]
async fn rackscope_example_folders_have_the_spec_shapes() {
    for name in [
        "simple-room",
        "hpc-cluster",
        "full-datacenter",
        "hpc-cluster-1912",
    ] {
        let fx = fixtures_dir().join(name);
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("app.yaml");
        fs::write(
            &app,
            format!(
                "paths:\n  topology: {}\n  templates: {}\n  checks: {}\n  metrics: {}\n",
                fx.join("topology").display(),
                fx.join("templates").display(),
                fx.join("checks/library").display(),
                fx.join("metrics/library").display(),
            ),
        )
        .unwrap();
        let server = TestServer::start(&app);
        let api = Api::new(&server);
        check_every_view(&api).await;
        let checks = ok(&api, "/api/checks").await;
        let metrics = ok(&api, "/api/metrics/library").await;
        match name {
            "hpc-cluster" => {
                let drive = checks["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["id"] == "eseries_drive_status")
                    .unwrap();
                assert_eq!(drive["expand_by_label"], "slot");
                assert_eq!(drive["expand_absent_state"], "OK");
                assert_eq!(drive["for"], "5m");
                let seq = checks["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["selectors"] != json!([]))
                    .unwrap();
                assert_eq!(seq["selectors"], json!(["sequana_rack_id"]));
                assert!(metrics["count"].as_u64().unwrap() >= 7);
            }
            "simple-room" => {
                assert_eq!(checks["checks"].as_array().unwrap().len(), 2);
                assert_eq!(metrics, json!({"count": 0, "metrics": []}));
            }
            _ => assert!(!checks["checks"].as_array().unwrap().is_empty(), "{name}"),
        }
        // No problem reported for Rackscope's own files.
        assert!(
            !server.log().contains("library:"),
            "{name}: {}",
            server.log()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Errors and files
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn errors_and_file_names_that_leave_the_folder() {
    let cd = ConfigDir::demo();
    let checks_dir = cd.root().join("config/checks/library");
    fs::create_dir_all(checks_dir.join("folder.yaml")).unwrap();
    fs::write(cd.root().join("outside.yaml"), "secret: 1\n").unwrap();
    std::os::unix::fs::symlink(
        cd.root().join("outside.yaml"),
        checks_dir.join("escape.yaml"),
    )
    .unwrap();
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let cases: &[(&str, u16, Value)] = &[
        ("/api/rooms/nope/layout", 404, json!("Room nope not found")),
        ("/api/racks/nope", 404, json!("Rack nope not found")),
        ("/api/racks/NOPE", 404, json!("Rack NOPE not found")),
        ("/api/racks/nope/devices/d", 404, json!("Rack nope not found")),
        ("/api/racks/h1-a01/devices/nope", 404, json!("Device nope not found in rack h1-a01")),
        (
            "/api/racks/Bad%20Id/devices/x",
            400,
            json!("Invalid rack_id: 'Bad Id'. IDs must contain only lowercase letters, digits, dots, hyphens and underscores (max 128 characters)."),
        ),
        ("/api/checks/files/..%2fapp.yaml", 400, json!("Invalid filename")),
        ("/api/checks/files/%2fetc%2fpasswd", 400, json!("Invalid filename")),
        ("/api/checks/files/a%5cb.yaml", 400, json!("Invalid filename")),
        ("/api/checks/files/escape.yaml", 403, json!("Access denied")),
        ("/api/checks/files/folder.yaml", 404, json!("Checks file not found")),
        ("/api/checks/files/README.md", 404, json!("Checks file not found")),
        ("/api/checks/files/missing.yaml", 404, json!("Checks file not found")),
        ("/api/checks/files/a/b.yaml", 404, json!("Not Found")),
        ("/api/metrics/library/files/pdu/..%2f..%2fapp.yaml", 400, json!("Invalid filename")),
        ("/api/metrics/library/files/pdu", 404, json!("Metric file 'pdu' not found")),
        ("/api/metrics/library/files/nope.yaml", 404, json!("Metric file 'nope.yaml' not found")),
        ("/api/metrics/library/nope", 404, json!("Metric 'nope' not found")),
        ("/api/metrics/data?metric_id=nope&target_id=x", 404, json!("Metric 'nope' not found")),
        ("/api/metrics/data?metric_id=node_power&target_id=x&time_range=1s", 400, json!("Invalid time_range: 1s")),
        ("/api/metrics/data?metric_id=node_power&target_id=x&time_range=h", 400, json!("Invalid time_range: h")),
        ("/api/metrics/data?metric_id=node_power&target_id=x&step=fast", 400, json!("Invalid step: fast")),
        (
            "/api/metrics/data?metric_id=node_power&target_id=x&aggregation=median",
            400,
            json!("Invalid aggregation: median (one of avg, sum, min, max, count, none)"),
        ),
    ];
    for (path, status, detail) in cases {
        let (s, body) = api.get(path).await;
        assert_eq!((s, &body["detail"]), (*status, detail), "{path}: {body}");
    }
    // `..` as the name itself (a client that does not normalise the path, as curl).
    assert_eq!(
        raw_get(&server.addr, "/api/checks/files/%2e%2e"),
        (400, json!({"detail": "Invalid filename"}))
    );
    assert_eq!(
        raw_get(&server.addr, "/api/metrics/library/files/%2e%2e"),
        (400, json!({"detail": "Invalid filename"}))
    );
    // The metrics library's sub-folders are served, as the loader reads them.
    let file = ok(&api, "/api/metrics/library/files/pdu/rack_power.yaml").await;
    assert_eq!(file["name"], "pdu/rack_power.yaml");
    // The checks listing is what the loader read: no folder, no README, no symlink
    // leaving the folder is served even though it is listed.
    let files = ok(&api, "/api/checks/files").await;
    let names: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"node.yaml")
            && !names.contains(&"folder.yaml")
            && !names.contains(&"README.md"),
        "{names:?}"
    );
    // 422s list every missing or malformed parameter.
    let (s, body) = api.get("/api/metrics/data?time_range=1h").await;
    assert_eq!(s, 422);
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(
        locs,
        [
            &json!(["query", "metric_id"]),
            &json!(["query", "target_id"])
        ]
    );
    let (s, body) = api.get("/api/logs?n=ten&since_seq=1.5").await;
    assert_eq!(s, 422);
    assert_eq!(body["detail"][0]["type"], "int_parsing");
    assert_eq!(body["detail"][1]["loc"], json!(["query", "since_seq"]));
}

/// A GET sent as written (no URL normalisation): status and JSON body.
fn raw_get(addr: &str, path: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(conn, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn answers_compress_and_sites_is_served_pregzipped() {
    let cd = ConfigDir::demo();
    let server = TestServer::start(&cd.app_yaml());
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let plain = raw.get(server.url("/api/sites")).send().await.unwrap();
    assert_eq!(plain.headers()["vary"], "accept-encoding");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    let gz = raw
        .get(server.url("/api/sites"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers().get_all("content-encoding").iter().count(), 1);
    let body = gz.bytes().await.unwrap();
    assert!(
        body.len() * 4 < plain.len(),
        "{} vs {}",
        body.len(),
        plain.len()
    );
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);
    // Other answers go through the compression layer.
    let catalog = raw
        .get(server.url("/api/catalog"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(catalog.headers()["content-encoding"], "gzip");
}

// ---------------------------------------------------------------------------------------
// Edits on disk
// ---------------------------------------------------------------------------------------

async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn topology_and_library_edits_are_applied_whole_or_not_at_all() {
    let cd = ConfigDir::demo();
    let rack_file = cd
        .root()
        .join("config/topology/datacenters/kb-main/rooms/hall-1/aisles/h1-a/racks/h1-a01.yaml");
    let checks_file = cd.root().join("config/checks/library/rack.yaml");
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    assert_eq!(ok(&api, "/api/racks/h1-a01").await["name"], "Rack A01");

    // A valid edit of a rack file is served after the reload.
    let text = fs::read_to_string(&rack_file).unwrap();
    fs::write(
        &rack_file,
        text.replace("name: Rack A01", "name: Rack A01 (edited)"),
    )
    .unwrap();
    wait_for("the edited rack", async || {
        api.get("/api/racks/h1-a01").await.1["name"] == "Rack A01 (edited)"
    })
    .await;
    assert_eq!(
        ok(&api, "/api/rooms").await[0]["aisles"][0]["racks"][0]["name"],
        "Rack A01 (edited)"
    );

    // A broken rack file and a valid checks edit in the same burst: refused as a whole.
    let refusals = |log: &str| {
        log.matches("edit refused; the running state is kept")
            .count()
    };
    let before = refusals(&server.log());
    fs::write(
        &checks_file,
        fs::read_to_string(&checks_file)
            .unwrap()
            .replace("Rack power draw", "Rack power (new)"),
    )
    .unwrap();
    fs::write(&rack_file, "id: h1-a01\nname: [broken\n").unwrap();
    wait_for("the refusal in the log", async || {
        refusals(&server.log()) > before
    })
    .await;
    assert_eq!(
        ok(&api, "/api/racks/h1-a01").await["name"],
        "Rack A01 (edited)"
    );
    let checks = ok(&api, "/api/checks").await;
    assert!(checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "Rack power draw"));

    // Repairing the rack file applies both.
    fs::write(
        &rack_file,
        text.replace("name: Rack A01", "name: Rack A01 (fixed)"),
    )
    .unwrap();
    wait_for("both edits", async || {
        api.get("/api/racks/h1-a01").await.1["name"] == "Rack A01 (fixed)"
    })
    .await;
    let checks = ok(&api, "/api/checks").await;
    assert!(checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "Rack power (new)"));
    // A new metrics file in a new sub-folder is seen too.
    let sub = cd.root().join("config/metrics/library/extra");
    fs::create_dir_all(&sub).unwrap();
    fs::write(
        sub.join("m.yaml"),
        "id: extra_metric\nname: Extra\nmetric: up\ndisplay: {unit: x}\n",
    )
    .unwrap();
    wait_for("the new metric", async || {
        api.get("/api/metrics/library/extra_metric").await.0 == 200
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------

const NOISY: &str = r#"
return {
  id = "noisy", name = "Noisy", version = "1.0.0",
  setup = function(config)
    rackscope.route("GET", "/api/noisy/burst", function(req)
      local n = tonumber(req.query.n) or 250
      for i = 1, n do rackscope.log.info("burst-" .. i .. "-end") end
      return { sent = n }
    end)
    rackscope.route("GET", "/api/noisy/secrets", function(req)
      rackscope.log.warn("calling with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.cGF5bG9hZA.c2ln and password=hunter2, secret=s3cr3tvalue via http://bob:pa55w0rd@prom.example:9090 token: tok123")
      return { ok = true }
    end)
  end,
}
"#;

fn noisy_config() -> ConfigDir {
    let cd = ConfigDir::demo();
    let dir = cd.root().join("plugins/noisy");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("init.lua"), NOISY).unwrap();
    cd.edit_app_yaml(|d| d["plugins"] = json!({"noisy": {"enabled": true}}));
    cd
}

#[tokio::test]
async fn logs_filter_redact_and_clear() {
    let cd = noisy_config();
    let server = TestServer::start_with_env(&cd.app_yaml(), &[("RACKSCOPE_LOG_LEVEL", "info")]);
    let api = Api::new(&server);
    wait_for("the plugin", async || {
        api.get("/api/noisy/secrets").await.0 == 200
    })
    .await;
    let logs = ok(&api, "/api/logs?n=1000").await;
    assert_eq!(keys(&logs), ["records", "total", "last_seq"]);
    let records = logs["records"].as_array().unwrap();
    assert_eq!(logs["total"], records.len());
    let secret = records
        .iter()
        .find(|r| r["message"].as_str().unwrap().contains("calling with"))
        .unwrap();
    assert_eq!(
        keys(secret),
        ["_seq", "timestamp", "level", "logger", "message"]
    );
    assert_eq!(secret["level"], "WARNING");
    let text = secret["message"].as_str().unwrap();
    for hidden in [
        "eyJhbGciOiJIUzI1NiJ9",
        "hunter2",
        "s3cr3tvalue",
        "pa55w0rd",
        "tok123",
    ] {
        assert!(!text.contains(hidden), "{hidden} leaked: {text}");
    }
    assert!(
        text.contains("password=***") && text.contains("secret=***") && text.contains("bob:***@"),
        "{text}"
    );
    // Request records carry the request's fields.
    let req = records
        .iter()
        .find(|r| r["message"] == "GET /api/noisy/secrets - 200")
        .unwrap();
    assert_eq!(
        keys(req),
        [
            "_seq",
            "timestamp",
            "level",
            "logger",
            "message",
            "request_id",
            "duration_ms",
            "method",
            "path",
            "status_code"
        ]
    );
    assert!(
        req["duration_ms"].is_f64()
            && req["status_code"] == 200
            && req["path"] == "/api/noisy/secrets"
    );
    let ts = req["timestamp"].as_str().unwrap();
    assert!(ts.ends_with("+00:00") && ts.len() == 32, "{ts}");
    // A secret in a request path is redacted too.
    api.get("/api/racks/password=hunter2").await;
    let found = ok(&api, "/api/logs?search=api/racks/password").await;
    let r = &found["records"][0];
    assert_eq!(r["message"], "GET /api/racks/password=*** - 404");
    assert!(!found.to_string().contains("hunter2"));

    // Filters: level (exact, any case), search (message or logger), since_seq, then the last n.
    let warn = ok(&api, "/api/logs?level=warning").await;
    assert!(warn["records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["level"] == "WARNING"));
    assert_eq!(ok(&api, "/api/logs?level=WARN").await["total"], 0);
    let by_logger = ok(&api, "/api/logs?search=RACKSCOPE.HTTP&n=2").await;
    assert_eq!(by_logger["total"], 2);
    let last = by_logger["records"][1]["_seq"].as_u64().unwrap();
    assert!(by_logger["records"][0]["_seq"].as_u64().unwrap() < last);
    let after = ok(&api, &format!("/api/logs?since_seq={last}")).await;
    assert!(after["records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["_seq"].as_u64().unwrap() > last));
    assert!(after["last_seq"].as_u64().unwrap() > last);
    assert_eq!(ok(&api, "/api/logs?n=0").await["total"], 1);

    // DELETE empties the buffer; `_seq` goes on, the DELETE's own record comes first.
    let before = ok(&api, "/api/logs?n=1").await["last_seq"]
        .as_u64()
        .unwrap();
    let (s, body) = api.delete("/api/logs").await;
    assert_eq!(
        (s, body),
        (200, json!({"ok": true, "message": "Log buffer cleared"}))
    );
    let fresh = ok(&api, "/api/logs").await;
    assert_eq!(fresh["records"][0]["message"], "DELETE /api/logs - 200");
    assert!(fresh["records"][0]["_seq"].as_u64().unwrap() > before);
}

#[tokio::test]
async fn logs_are_admin_only() {
    let cd = ConfigDir::demo();
    cd.edit_app_yaml(|d| d["auth"]["trusted_networks"] = json!(["10.0.0.0/8"]));
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    assert_eq!(api.get("/api/sites").await.0, 200);
    for (method, path) in [
        (reqwest::Method::GET, "/api/logs"),
        (reqwest::Method::GET, "/api/logs/stream"),
        (reqwest::Method::DELETE, "/api/logs"),
    ] {
        let (s, body) = api.request(method, path, None).await;
        assert_eq!(s, 403, "{path}: {body}");
    }
}

/// Reads SSE `data:` lines until `done` says so (at most 30 s).
async fn read_events(
    resp: &mut reqwest::Response,
    mut done: impl FnMut(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = String::new();
    let mut events = Vec::new();
    while !done(&events) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, resp.chunk())
            .await
            .expect("events in time")
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            for line in block.lines() {
                if let Some(data) = line
                    .strip_prefix("data: ")
                    .or_else(|| line.strip_prefix("data:"))
                {
                    events.push(serde_json::from_str(data).unwrap());
                }
            }
        }
    }
    events
}

#[tokio::test]
async fn log_stream_delivers_a_whole_burst_and_is_limited() {
    let cd = noisy_config();
    let server = TestServer::start_with_env(&cd.app_yaml(), &[("RACKSCOPE_LOG_LEVEL", "info")]);
    let api = Api::new(&server);
    wait_for("the plugin", async || {
        api.get("/api/noisy/burst?n=1").await.0 == 200
    })
    .await;
    let client = reqwest::Client::new();
    let mut stream = client
        .get(server.url("/api/logs/stream?search=burst-"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    assert_eq!(stream.headers()["cache-control"], "no-cache");
    assert_eq!(stream.headers()["x-accel-buffering"], "no");
    // One call logs 300 records at once: every one arrives, in order, nothing before.
    assert_eq!(api.get("/api/noisy/burst?n=300").await.0, 200);
    let events = read_events(&mut stream, |e| e.len() >= 300).await;
    let numbers: Vec<usize> = events
        .iter()
        .map(|e| {
            let m = e["message"].as_str().unwrap();
            m.trim_start_matches("burst-")
                .split('-')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(numbers, (1..=300).collect::<Vec<_>>());
    assert!(events
        .windows(2)
        .all(|w| w[0]["_seq"].as_u64() < w[1]["_seq"].as_u64()));

    // Five streams at most: the sixth is an HTTP error with a detail.
    let mut open = vec![stream];
    for _ in 0..4 {
        let s = client
            .get(server.url("/api/logs/stream"))
            .send()
            .await
            .unwrap();
        assert_eq!(s.status(), 200);
        open.push(s);
    }
    let (status, body) = api.get("/api/logs/stream").await;
    assert_eq!(status, 429, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("Too many concurrent log streams"));
    drop(open);
}

// ---------------------------------------------------------------------------------------
// /api/metrics/data against a real Prometheus
// ---------------------------------------------------------------------------------------

const EXPOSITION: &str = "# HELP node_temperature_celsius Temperature.\n# TYPE node_temperature_celsius gauge\nnode_temperature_celsius{instance=\"cn0001\",sensor=\"a\"} 40\nnode_temperature_celsius{instance=\"cn0001\",sensor=\"b\"} 44\nnode_temperature_celsius{instance=\"cn0002\",sensor=\"a\"} 50\n";

#[tokio::test]
async fn metrics_data_queries_a_real_prometheus() {
    let expo = Exposition::start(EXPOSITION);
    let prom = RealPrometheus::start(&[expo.address()]);
    let cd = ConfigDir::demo();
    fs::write(
        cd.root().join("config/metrics/library/broken.yaml"),
        "id: broken_query\nname: Broken\nmetric: 'rate(node_temperature_celsius{instance=\"{instance}\"}'\ndisplay: {unit: x}\n",
    )
    .unwrap();
    let url = prom.url();
    cd.edit_app_yaml(|d| d["telemetry"]["prometheus_url"] = json!(url));
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    prom.wait_for_query(
        "count(node_temperature_celsius)",
        |d| d["result"][0]["value"][1] == "3",
        Duration::from_secs(30),
    )
    .await;
    let body = ok(
        &api,
        "/api/metrics/data?metric_id=node_temperature&target_id=cn0001&time_range=1h",
    )
    .await;
    assert_eq!(
        keys(&body),
        [
            "metric_id",
            "target_id",
            "time_range",
            "step",
            "unit",
            "aggregation",
            "query",
            "series"
        ]
    );
    assert_eq!(
        body["query"],
        r#"avg by (instance) (node_temperature_celsius{instance="cn0001"})"#
    );
    assert_eq!(
        (&body["step"], &body["unit"], &body["aggregation"]),
        (&json!("1m"), &json!("°C"), &json!("avg"))
    );
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{body}");
    assert_eq!(series[0]["metric"], json!({"instance": "cn0001"}));
    assert_eq!(
        series[0]["values"].as_array().unwrap().last().unwrap()[1],
        "42"
    );
    // An explicit step is honoured, and aggregation=none gives the raw series.
    let raw = ok(&api, "/api/metrics/data?metric_id=node_temperature&target_id=cn0001&time_range=1h&step=30s&aggregation=none").await;
    assert_eq!(raw["step"], "30s");
    assert_eq!(raw["series"].as_array().unwrap().len(), 2);
    // A query Prometheus refuses is an error, not an empty series.
    let (s, body) = api
        .get("/api/metrics/data?metric_id=broken_query&target_id=cn0001")
        .await;
    assert_eq!(s, 502, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Prometheus rejected the query"),
        "{body}"
    );
    drop(server);

    // Prometheus unreachable: 503.
    let cd = ConfigDir::demo();
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let (s, body) = api
        .get("/api/metrics/data?metric_id=node_temperature&target_id=cn0001")
        .await;
    assert_eq!(s, 503, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Prometheus is unreachable"),
        "{body}"
    );
}
