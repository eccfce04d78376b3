//! The plugin runtime end to end, driving the example plugin (`examples/plugins/hello`)
//! and a "lab" plugin written here: routes with params, query and body, errors, menus,
//! config read/write, live edits, broken edits, deleted files, a runaway loop, a memory
//! hog, concurrent slow requests, and a plugin that never loads.

mod support;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use support::server::{copy_dir, project_root, Api, ConfigDir, TestServer};
use support::wait::eventually;

const LAB: &str = r#"
local slow_started = 0 return {
  id = "lab", name = "Lab", version = "0.1.0",
  setup = function()
    rackscope.route("GET", "/api/lab/fast", function() return { ok = true } end)
    rackscope.route("GET", "/api/lab/slow", function() slow_started = slow_started + 1 rackscope.sleep(1.5) return { ok = "slow" } end)
    rackscope.route("GET", "/api/lab/spin", function() rackscope.publish("/api/lab/spinning", { spinning = true }, 60) while true do end end)
    rackscope.route("GET", "/api/lab/hog", function()
      local t = {}
      for i = 1, 1e9 do t[i] = ("x"):rep(64) .. i end
    end)
    rackscope.route("GET", "/api/lab/boom", function() local x = nil; return x.field end)
    rackscope.route("GET", "/api/lab/where/{name}", function(req)
      local p = rackscope.topology.instance(req.params.name)
      if not p then error(rackscope.http_error(404, "unknown node")) end
      return { placement = p, expanded = rackscope.topology.expand("cn[0001-0003]") }
    end)
    rackscope.route("GET", "/api/lab/topo", function()
      local racks = rackscope.topology.racks()
      local devices = rackscope.topology.devices(racks[1].id)
      local standalone = 0
      for _, r in ipairs(racks) do if r.aisle_id == nil then standalone = standalone + 1 end end
      return { aisles = #rackscope.topology.aisles(), racks = #racks, standalone = standalone,
               sites = #rackscope.topology.sites(), rooms = #rackscope.topology.rooms(),
               first_device_instances = #devices[1].instances, unknown = rackscope.topology.devices("nope") == nil }
    end)
    rackscope.route("GET", "/api/lab/codec", function()
      local j = rackscope.json.encode({ a = 1, b = { 1, 2 } })
      local y = rackscope.yaml.encode({ x = "y" })
      local bad, err = rackscope.json.decode("{")
      local badyaml, yerr = rackscope.yaml.decode("a: [")
      return { json = j, back = rackscope.json.decode(j).b[2], yaml_x = rackscope.yaml.decode(y).x,
               bad = bad == nil and badyaml == nil, err = err .. " / " .. yerr,
               fn_ok = pcall(rackscope.json.encode, { f = print }) }
    end)
    rackscope.route("GET", "/api/lab/prom", function(req)
      local data, err = rackscope.prometheus.query(req.query.q or "vector(1)")
      if not data then return 503, { kind = err.kind, detail = tostring(err) } end
      return data
    end)
    rackscope.route("POST", "/api/lab/note", function(req)
      local ok, err = rackscope.fs.write("notes/today.txt", req.body.text)
      if not ok then return 500, { detail = err } end
      return { saved = true }
    end)
    rackscope.route("GET", "/api/lab/note", function()
      local text, err = rackscope.fs.read("notes/today.txt")
      if not text then error(rackscope.http_error(404, err)) end
      return { text = text }
    end)
    rackscope.route("GET", "/api/lab/forever", function() rackscope.sleep(3600) return {} end)
    rackscope.route("GET", "/api/lab/late", function()
      rackscope.route("GET", "/api/lab/sneaky", function() return {} end)
    end)
    rackscope.route("GET", "/api/lab/escape", function(req)
      local ok, err = pcall(rackscope.fs.read, req.query.path)
      return { ok = ok, err = tostring(err) }
    end)
    rackscope.route("GET", "/api/lab/status/{code}", function(req) return tonumber(req.params.code), { code = req.params.code } end)
    rackscope.menu(function() return { id = "lab", label = "Lab", icon = "FlaskConical", order = 5, items = {} } end)
    -- How many slow calls are waiting; and, while /api/lab/spin runs, the host itself
    -- answers /api/lab/spinning (published before the loop).
    rackscope.route("GET", "/api/lab/slow/started", function() return { started = slow_started } end)
    rackscope.route("GET", "/api/lab/spinning", function() return { spinning = false } end)
  end,
}
"#;

struct Env {
    cd: ConfigDir,
    server: TestServer,
    api: Api,
}

impl Env {
    fn plugin_dir(&self, folder: &str) -> PathBuf {
        self.cd.root().join("plugins").join(folder)
    }
}

fn start() -> Env {
    let cd = ConfigDir::demo();
    let plugins = cd.root().join("plugins");
    copy_dir(
        &project_root().join("examples/plugins/hello"),
        &plugins.join("hello"),
    );
    fs::create_dir_all(plugins.join("lab")).unwrap();
    fs::write(plugins.join("lab/init.lua"), LAB).unwrap();
    fs::create_dir_all(plugins.join("broken")).unwrap();
    fs::write(
        plugins.join("broken/init.lua"),
        "return {\n  id = 'broken',\n  setup = function( end\n}\n",
    )
    .unwrap();
    fs::create_dir_all(cd.root().join("config/plugins/hello")).unwrap();
    fs::write(
        cd.root().join("config/plugins/hello/config.yml"),
        "greeting: hi\n",
    )
    .unwrap();
    cd.edit_app_yaml(|d| {
        d["plugins"] = json!({
            "hello": {"enabled": true},
            "lab": {"enabled": true, "memory_limit_mb": 32, "instruction_limit": 50_000_000u64, "request_timeout_seconds": 3},
            "broken": {"enabled": true},
            "absent": {"enabled": false},
        });
    });
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    Env { cd, server, api }
}

/// A copy of the demo config with exactly these plugins (folder, init.lua source) written
/// under `<tmp>/plugins` and enabled.
fn config_with(plugins: &[(&str, &str)]) -> ConfigDir {
    let cd = ConfigDir::demo();
    let mut enabled = serde_json::Map::new();
    for (folder, source) in plugins {
        let dir = cd.root().join("plugins").join(folder);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("init.lua"), source).unwrap();
        enabled.insert(folder.to_string(), json!({"enabled": true}));
    }
    cd.edit_app_yaml(|d| d["plugins"] = Value::Object(enabled));
    cd
}

#[tokio::test]
async fn routes_params_query_body_and_errors() {
    let e = start();
    let api = &e.api;
    assert_eq!(
        api.get("/api/hello/bob?punct=!").await,
        (200, json!({"message": "hi bob!", "greeting": "hi"}))
    );
    assert_eq!(api.get("/api/hello/a%20b").await.1["message"], "hi a b");
    assert_eq!(
        api.get("/api/hello/nobody").await,
        (404, json!({"detail": "no such person"}))
    );
    assert_eq!(
        api.post("/api/hello", &json!({"name": "x"})).await,
        (201, json!({"created": "x"}))
    );
    assert_eq!(api.post("/api/hello", &json!({"nom": "x"})).await.0, 422);
    let (status, body) = api.raw(reqwest::Method::POST, "/api/hello", "{bad").await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    assert_eq!(
        api.get("/api/hello").await,
        (405, json!({"detail": "Method Not Allowed"}))
    );
    // Just over the 2 MiB limit (small enough to be sent whole before the answer).
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat((2 << 20) + (64 << 10)));
    assert_eq!(
        api.raw(reqwest::Method::POST, "/api/hello", &big).await.0,
        413
    );
    assert_eq!(
        api.get("/api/hello/a/b/c").await,
        (404, json!({"detail": "Not Found"}))
    );
    assert_eq!(
        api.get("/api/hello/bob/mood/grumpy").await.1["severity"],
        "WARN"
    );
    assert_eq!(
        api.get("/api/hello/bob/mood/weird").await.1["severity"],
        "UNKNOWN"
    );

    // A handler's status is a final HTTP status (200-599); anything else is its bug.
    assert_eq!(
        api.get("/api/lab/status/299").await,
        (299, json!({"code": "299"}))
    );
    assert_eq!(api.get("/api/lab/status/503").await.0, 503);
    for bad in ["101", "600"] {
        let (status, body) = api.get(&format!("/api/lab/status/{bad}")).await;
        assert_eq!(status, 500, "{bad}: {body}");
    }
    assert!(e
        .server
        .log()
        .contains("handler returned invalid HTTP status 101"));

    assert_eq!(api.get("/api/lab/late").await.0, 500);
    assert!(e
        .server
        .log()
        .contains("rackscope.route can only be called during setup"));
    assert_eq!(api.get("/api/lab/sneaky").await.0, 404);

    let (status, body) = api.get("/api/lab/boom").await;
    assert_eq!(status, 500);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Plugin 'lab' failed"),
        "{body}"
    );
    assert!(
        !body.to_string().contains("init.lua"),
        "no internals in the body"
    );
    let log = e.server.log();
    assert!(
        log.contains("plugins/lab/init.lua:12:"),
        "the log points at the line: {log}"
    );
}

#[tokio::test]
async fn listing_detail_and_menu() {
    let e = start();
    let (status, list) = e.api.get("/api/plugins").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plugin_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["broken", "hello", "lab"]);
    let hello = &list[1];
    assert_eq!(hello["plugin_name"], "Hello");
    assert_eq!(hello["enabled"], true);
    assert_eq!(hello["version"], "1.0.0");
    let broken = &list[0];
    assert_eq!(broken["running"], false);
    assert!(
        broken["error"]
            .as_str()
            .unwrap()
            .contains("plugins/broken/init.lua:3:"),
        "{broken}"
    );

    let (status, d) = e.api.get("/api/plugins/hello").await;
    assert_eq!(status, 200);
    assert_eq!(d["plugin_id"], "hello");
    assert!(d["generation"].as_u64().unwrap() >= 1);
    assert_eq!(
        e.api.get("/api/plugins/nope").await,
        (404, json!({"detail": "Plugin 'nope' not found"}))
    );

    let (status, menu) = e.api.get("/api/plugins/menu").await;
    assert_eq!(status, 200);
    assert_eq!(
        menu,
        json!([
            {"id": "lab", "label": "Lab", "icon": "FlaskConical", "order": 5, "items": []},
            {"id": "hello", "label": "Hello", "icon": "Smile", "order": 10,
             "items": [{"id": "hello-home", "label": "Home", "path": "/hello", "icon": "Home"}]}
        ])
    );
}

#[tokio::test]
async fn plugin_config_read_and_write() {
    let e = start();
    let api = &e.api;
    let (status, c) = api.get("/api/plugins/hello/config").await;
    assert_eq!(status, 200);
    assert_eq!(c["config"], json!({"greeting": "hi"}));
    assert_eq!(c["source"], "file");
    let path = e.cd.root().join("config/plugins/hello/config.yml");
    assert_eq!(PathBuf::from(c["path"].as_str().unwrap()), path);
    assert_eq!(
        api.get("/api/plugins/lab/config").await.1["source"],
        "defaults"
    );

    let (status, r) = api
        .post(
            "/api/plugins/hello/config",
            &json!({"config": {"greeting": "hey", "extra": 1}}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "saved");
    assert_eq!(r["config"], json!({"greeting": "hey", "extra": 1}));
    assert_eq!(
        api.get("/api/hello/bob").await.1["message"],
        "hey bob",
        "applied at once"
    );
    let (_, r) = api
        .post(
            "/api/plugins/hello/config",
            &json!({"config": {"extra": null}}),
        )
        .await;
    assert_eq!(
        r["config"],
        json!({"greeting": "hey"}),
        "null removes a key"
    );

    let before = fs::read(&path).unwrap();
    let (status, r) = api
        .post(
            "/api/plugins/hello/config",
            &json!({"config": {"greeting": 5}}),
        )
        .await;
    assert_eq!(status, 422, "{r}");
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("greeting must be a string"),
        "{r}"
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "a refused config is not written"
    );
    assert_eq!(api.get("/api/hello/bob").await.1["message"], "hey bob");
    assert_eq!(
        api.post("/api/plugins/hello/config", &json!({"config": []}))
            .await
            .0,
        422
    );
    assert_eq!(
        api.post("/api/plugins/hello/config", &json!({})).await.0,
        422
    );
    assert_eq!(
        api.post("/api/plugins/nope/config", &json!({"config": {}}))
            .await
            .0,
        404
    );
    assert_eq!(api.get("/api/plugins/nope/config").await.0, 404);
}

#[tokio::test]
async fn live_edit_broken_edit_and_deleted_file() {
    let e = start();
    let api = &e.api;
    let init = e.plugin_dir("hello").join("init.lua");
    let util = e.plugin_dir("hello").join("lib/util.lua");
    let gen0 = api.get("/api/plugins/hello").await.1["generation"]
        .as_u64()
        .unwrap();

    // A live edit of a required file.
    let src = fs::read_to_string(&util).unwrap();
    fs::write(&util, src.replace("(punct or \"\")", "(punct or \"?\")")).unwrap();
    eventually("util.lua edit served", 10, || async {
        api.get("/api/hello/bob").await.1["message"] == "hi bob?"
    })
    .await;
    let gen1 = api.get("/api/plugins/hello").await.1["generation"]
        .as_u64()
        .unwrap();
    assert!(gen1 > gen0);

    // A broken edit keeps the old version serving and reports the error with its line.
    let good = fs::read_to_string(&init).unwrap();
    fs::write(
        &init,
        good.replace("setup = function(config)", "setup = function(config"),
    )
    .unwrap();
    eventually("error reported", 10, || async {
        api.get("/api/plugins/hello").await.1["error"].is_string()
    })
    .await;
    let d = api.get("/api/plugins/hello").await.1;
    assert!(
        d["error"]
            .as_str()
            .unwrap()
            .contains("plugins/hello/init.lua:"),
        "{d}"
    );
    assert_eq!(
        d["generation"].as_u64().unwrap(),
        gen1,
        "old instance still live"
    );
    assert_eq!(api.get("/api/hello/bob").await.1["message"], "hi bob?");

    // Fixing it clears the error.
    fs::write(
        &init,
        good.replace(
            "local greeting = config.greeting or \"hello\"",
            "local greeting = config.greeting or \"hello\" -- fixed",
        ),
    )
    .unwrap();
    eventually("fixed", 10, || async {
        api.get("/api/plugins/hello").await.1["error"].is_null()
    })
    .await;

    // Deleting a file the plugin requires is a failed reload, not an outage.
    fs::remove_file(&util).unwrap();
    eventually("missing module reported", 10, || async {
        api.get("/api/plugins/hello").await.1["error"]
            .as_str()
            .is_some_and(|e| e.contains("module 'lib.util' not found"))
    })
    .await;
    assert_eq!(api.get("/api/hello/bob").await.1["message"], "hi bob?");

    // Editing the config file on disk reloads too.
    fs::write(
        e.cd.root().join("config/plugins/hello/config.yml"),
        "greeting: yo\n",
    )
    .unwrap();
    fs::write(&util, src).unwrap();
    eventually("config edit served", 10, || async {
        api.get("/api/hello/bob").await.1["message"] == "yo bob"
    })
    .await;
}

#[tokio::test]
async fn runaway_loop_and_memory_hog_fail_only_their_request() {
    let e = start();
    let api = std::sync::Arc::new(Api::new(&e.server));
    let spin = {
        let api = api.clone();
        tokio::spawn(async move { api.get("/api/lab/spin").await })
    };
    // While the loop burns its budget, core routes and other plugins still answer.
    eventually("the loop running", 10, || async {
        api.get("/api/lab/spinning").await.1["spinning"] == true
    })
    .await;
    assert_eq!(api.get("/api/config").await.0, 200);
    assert_eq!(api.get("/api/hello/bob").await.0, 200);
    let (status, body) = spin.await.unwrap();
    assert_eq!(status, 500);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("instruction budget exceeded"),
        "{body}"
    );

    let (status, body) = api.get("/api/lab/forever").await;
    assert_eq!(
        status, 504,
        "a handler that never answers times out: {body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer within 3 s"),
        "{body}"
    );

    let (status, body) = api.get("/api/lab/hog").await;
    assert_eq!(status, 500);
    assert!(
        body["detail"].as_str().unwrap().contains("memory"),
        "{body}"
    );
    assert_eq!(
        api.get("/api/lab/fast").await,
        (200, json!({"ok": true})),
        "the plugin still serves"
    );
}

#[tokio::test]
async fn slow_requests_do_not_stall_the_plugin() {
    let e = start();
    let api = std::sync::Arc::new(Api::new(&e.server));
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move { api.get("/api/lab/slow").await })
        })
        .collect();
    eventually("the four slow calls waiting in the plugin", 10, || async {
        api.get("/api/lab/slow/started").await.1["started"] == 4
    })
    .await;
    for _ in 0..5 {
        assert_eq!(api.get("/api/lab/fast").await.0, 200);
    }
    assert!(
        slow.iter().all(|h| !h.is_finished()),
        "fast calls answered while the slow ones wait"
    );
    for h in slow {
        assert_eq!(h.await.unwrap(), (200, json!({"ok": "slow"})));
    }
}

#[tokio::test]
async fn enabling_and_disabling_through_put_config() {
    let e = start();
    let (_, mut cfg) = e.api.get("/api/config").await;
    cfg["plugins"]["lab"] = json!({"enabled": false});
    assert_eq!(e.api.put("/api/config", &cfg).await.0, 200);
    assert_eq!(e.api.get("/api/lab/fast").await.0, 404);
    let ids: Vec<Value> = e
        .api
        .get("/api/plugins")
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plugin_id"].clone())
        .collect();
    assert!(!ids.contains(&json!("lab")));
    cfg["plugins"]["lab"] = json!({"enabled": true});
    assert_eq!(e.api.put("/api/config", &cfg).await.0, 200);
    assert_eq!(e.api.get("/api/lab/fast").await.0, 200);
}

#[tokio::test]
async fn topology_lookups_from_lua() {
    let e = start();
    let (status, body) = e.api.get("/api/lab/where/cn0001").await;
    assert_eq!(status, 200, "{body}");
    let p = &body["placement"];
    for k in ["site_id", "room_id", "rack_id", "device_id"] {
        assert!(p[k].is_string(), "{k}: {body}");
    }
    assert_eq!(body["expanded"], json!(["cn0001", "cn0002", "cn0003"]));
    assert_eq!(e.api.get("/api/lab/where/nope").await.0, 404);
    let (status, c) = e.api.get("/api/lab/codec").await;
    assert_eq!(status, 200, "{c}");
    // Lua tables have no key order: compare the decoded document.
    let encoded: Value = serde_json::from_str(c["json"].as_str().unwrap()).unwrap();
    assert_eq!(encoded, json!({"a": 1, "b": [1, 2]}));
    assert_eq!(
        (
            c["back"].clone(),
            c["yaml_x"].clone(),
            c["bad"].clone(),
            c["fn_ok"].clone()
        ),
        (json!(2), json!("y"), json!(true), json!(false))
    );
    let err = c["err"].as_str().unwrap();
    assert!(
        err.starts_with("invalid JSON: ") && err.contains(" / invalid YAML: "),
        "{err}"
    );
    let (status, t) = e.api.get("/api/lab/topo").await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        (
            t["sites"].as_u64(),
            t["rooms"].as_u64(),
            t["aisles"].as_u64(),
            t["racks"].as_u64()
        ),
        (Some(2), Some(3), Some(6), Some(17)),
        "{t}"
    );
    assert_eq!(t["standalone"], 2);
    assert!(t["first_device_instances"].as_u64().unwrap() >= 1, "{t}");
    assert_eq!(t["unknown"], true);
}

#[tokio::test]
async fn prometheus_from_lua_against_a_real_prometheus() {
    let prom = support::prometheus::RealPrometheus::start(&[]);
    let cd = config_with(&[("lab", LAB)]);
    let server = TestServer::start_with_env(&cd.app_yaml(), &[("PROMETHEUS_URL", &prom.url())]);
    let api = Api::new(&server);
    let (status, body) = api.get("/api/lab/prom").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resultType"], "vector");
    assert_eq!(body["result"][0]["value"][1], "1");
    let (status, body) = api.get("/api/lab/prom?q=sum(").await;
    assert_eq!(status, 503);
    assert_eq!(body["kind"], "query", "{body}");
    drop(prom);
    let (status, body) = api.get("/api/lab/prom?q=vector(2)").await;
    assert_eq!(status, 503);
    assert_eq!(body["kind"], "unreachable", "{body}");
}

#[tokio::test]
async fn check_reports_plugin_load_errors_with_file_and_line() {
    let e = start();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rackscope"))
        .args(["check", "--config"])
        .arg(e.cd.app_yaml())
        .env_remove("RACKSCOPE_APP_CONFIG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        text.contains("plugin 'broken'") && text.contains("plugins/broken/init.lua:3:"),
        "{text}"
    );
    assert!(!text.contains("plugin 'hello'"), "{text}");
}

#[tokio::test]
async fn timers_and_metrics_listener() {
    let port = support::server::free_port();
    let source = format!(
        r#"
return {{
  id = "tick", name = "Tick",
  setup = function()
    rackscope.metrics.serve("127.0.0.1:{port}")
    local g = rackscope.metrics.gauge("tick_count", "Timer ticks so far", {{"plugin"}})
    local bulk = rackscope.metrics.gauge("tick_bulk", "Many series set at once", {{"i"}})
    local handles = {{}}
    for i = 1, 1000 do handles[i] = bulk:series({{i = tostring(i)}}) end
    local n = 0
    rackscope.every(0.05, function()
      n = n + 1
      g:set({{plugin = "tick"}}, n)
      local values = {{}}
      for i = 1, #handles do values[handles[i]] = n * 1000 + i end
      bulk:set_many(values)
    end)
  end,
}}
"#
    );
    let cd = config_with(&[("tick", &source)]);
    let _server = TestServer::start(&cd.app_yaml());
    let url = format!("http://127.0.0.1:{port}/metrics");
    eventually("timer ticks exposed", 10, || async {
        let text = match reqwest::get(&url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => return false,
        };
        text.contains("# HELP tick_count Timer ticks so far\n# TYPE tick_count gauge\n")
            && text
                .lines()
                .find(|l| l.starts_with("tick_count{plugin=\"tick\"} "))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .is_some_and(|v| v >= 3.0)
            && text.lines().filter(|l| l.starts_with("tick_bulk{")).count() == 1000
            && text
                .lines()
                .find(|l| l.starts_with("tick_bulk{i=\"1000\"} "))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .is_some_and(|v| v >= 2000.0 && (v as i64) % 1000 == 0)
    })
    .await;
}

#[tokio::test]
async fn data_files_limits_and_restart() {
    let e = start();
    let api = &e.api;
    let gen = |v: Value| v["generation"].as_u64().unwrap();
    let g0 = gen(api.get("/api/plugins/lab").await.1);

    // Data a plugin writes into its config folder does not reload it.
    assert_eq!(
        api.post("/api/lab/note", &json!({"text": "disk 3 swapped"}))
            .await
            .0,
        200
    );
    assert_eq!(api.get("/api/lab/note").await.1["text"], "disk 3 swapped");
    assert!(e
        .cd
        .root()
        .join("config/plugins/lab/notes/today.txt")
        .is_file());
    // An edit of its code after the data write is then the one reload the plugin sees.
    // (Had the watcher taken both writes as one event, this holds too: the check can miss
    // the fault then, never report a wrong one.)
    let init = e.plugin_dir("lab").join("init.lua");
    let mut code = fs::read_to_string(&init).unwrap();
    code.push_str("\n-- edited after the data write\n");
    fs::write(&init, code).unwrap();
    eventually("the code edit reloaded", 10, || async {
        gen(api.get("/api/plugins/lab").await.1) > g0
    })
    .await;
    let log = e.server.log();
    assert_eq!(
        log.matches("plugin loaded plugin=lab ").count(),
        2,
        "the data write reloaded the plugin:\n{log}"
    );
    let g0 = gen(api.get("/api/plugins/lab").await.1);

    // File access stays inside the plugin's config folder.
    for bad in [
        "../hello/config.yml",
        "/etc/passwd",
        "notes/../../../app.yaml",
    ] {
        let (_, body) = api.get(&format!("/api/lab/escape?path={bad}")).await;
        assert_eq!(body["ok"], false, "{bad}");
        assert!(
            body["err"]
                .as_str()
                .unwrap()
                .contains("bad argument #1 to 'rackscope.fs.read'"),
            "{body}"
        );
    }

    // Changing a plugin's limits in app.yaml reloads it with the new limits.
    let (_, mut cfg) = api.get("/api/config").await;
    cfg["plugins"]["lab"]["instruction_limit"] = json!(300_000_000u64);
    assert_eq!(api.put("/api/config", &cfg).await.0, 200);
    let g1 = gen(api.get("/api/plugins/lab").await.1);
    assert!(g1 > g0);

    // A restart rebuilds every plugin; one that failed is retried.
    fs::write(
        e.plugin_dir("broken").join("init.lua"),
        "return { id = 'broken', name = 'Fixed' }\n",
    )
    .unwrap();
    let (status, _) = api.post("/api/system/restart", &json!({})).await;
    assert_eq!(status, 200);
    assert!(gen(api.get("/api/plugins/lab").await.1) > g1);
    let (_, b) = api.get("/api/plugins/broken").await;
    assert_eq!(b["plugin_name"], "Fixed", "{b}");
    assert!(b["error"].is_null());
}

#[tokio::test]
async fn plugin_settings_sent_with_put_config_go_to_the_plugin_file_first() {
    let e = start();
    let (_, mut cfg) = e.api.get("/api/config").await;
    cfg["plugins"]["hello"] = json!({"enabled": true, "greeting": "via put"});
    let (status, body) = e.api.put("/api/config", &cfg).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["plugins"]["hello"], json!({"enabled": true}));
    assert_eq!(
        e.api.get("/api/hello/bob").await.1["message"],
        "via put bob",
        "reloaded with the new file"
    );
    let file = fs::read_to_string(e.cd.root().join("config/plugins/hello/config.yml")).unwrap();
    assert!(file.contains("greeting: via put"), "{file}");
    assert_eq!(
        e.cd.read_app_yaml()["plugins"]["hello"],
        json!({"enabled": true})
    );
}

#[tokio::test]
async fn plugin_routes_are_behind_the_auth_gate_and_see_the_user() {
    let cd = ConfigDir::demo();
    copy_dir(
        &project_root().join("examples/plugins/hello"),
        &cd.root().join("plugins/hello"),
    );
    let hash = bcrypt::hash("correct horse 1", 4).unwrap();
    cd.edit_app_yaml(|d| {
        d["plugins"] = json!({"hello": {"enabled": true}});
        d["auth"]["enabled"] = json!(true);
        d["auth"]["password_hash"] = json!(hash);
    });
    let server = TestServer::start(&cd.app_yaml());
    let mut api = Api::new(&server);
    assert_eq!(api.get("/api/hello/bob").await.0, 401);
    assert_eq!(api.get("/api/nothing/here").await.0, 401);
    let (status, login) = api
        .post(
            "/api/auth/login",
            &json!({"username": "admin", "password": "correct horse 1"}),
        )
        .await;
    assert_eq!(status, 200, "{login}");
    api.token = Some(login["access_token"].as_str().unwrap().to_string());
    assert_eq!(api.get("/api/hello/bob").await.0, 200);
    assert_eq!(
        api.post("/api/hello", &json!({"name": "x"})).await,
        (201, json!({"created": "x", "by": "admin"}))
    );
}

#[tokio::test]
async fn state_changing_plugin_routes_pass_the_admin_check() {
    let cd = ConfigDir::demo();
    copy_dir(
        &project_root().join("examples/plugins/hello"),
        &cd.root().join("plugins/hello"),
    );
    cd.edit_app_yaml(|d| {
        d["plugins"] = json!({"hello": {"enabled": true}});
        d["auth"]["trusted_networks"] = json!(["10.0.0.0/8"]);
    });
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    assert_eq!(api.get("/api/hello/bob").await.0, 200, "reads are open");
    let (status, body) = api.post("/api/hello", &json!({"name": "x"})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        api.post("/api/plugins/hello/config", &json!({"config": {}}))
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn no_request_fails_while_a_plugin_reloads() {
    let e = start();
    let api = std::sync::Arc::new(Api::new(&e.server));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (api, stop) = (api.clone(), stop.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    statuses.push(api.get("/api/hello/bob").await.0);
                }
                statuses
            })
        })
        .collect();
    let util = e.plugin_dir("hello").join("lib/util.lua");
    let src = fs::read_to_string(&util).unwrap();
    for i in 0..5 {
        fs::write(
            &util,
            src.replace("(punct or \"\")", &format!("(punct or \"{i}\")")),
        )
        .unwrap();
        let want = format!("hi bob{i}");
        let mut last = Value::Null;
        for _ in 0..200 {
            last = api.get("/api/hello/bob").await.1;
            if last["message"] == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            last["message"],
            want,
            "edit {i} not served after 10 s: {last}\nserver log:\n{}",
            e.server.log()
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for w in workers {
        let statuses = w.await.unwrap();
        total += statuses.len();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }
    assert!(total > 20, "the workers ran ({total} requests)");
}

#[tokio::test]
async fn a_route_registered_twice_is_a_load_error_for_the_second_plugin() {
    let shared = |id: &str| {
        format!(
            "return {{ id = '{id}', setup = function()\n  rackscope.route('GET', '/api/shared/{{x}}', function(req) return {{ by = '{id}' }} end)\nend }}\n"
        )
    };
    let cd = config_with(&[
        ("a-first", &shared("first")),
        ("b-second", &shared("second")),
        ("c-bad", "return { id = 'Bad Id' }\n"),
    ]);
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    assert_eq!(api.get("/api/shared/1").await.1, json!({"by": "first"}));
    let (_, list) = api.get("/api/plugins").await;
    let second = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["folder"] == "b-second")
        .unwrap();
    assert_eq!(second["running"], false);
    assert!(
        second["error"]
            .as_str()
            .unwrap()
            .contains("route GET /api/shared/{x} is already registered by plugin 'first'"),
        "{second}"
    );
    let bad = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["folder"] == "c-bad")
        .unwrap();
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("invalid plugin id 'Bad Id'"),
        "{bad}"
    );
}

#[tokio::test]
async fn a_real_prometheus_scrapes_a_plugin_metrics_listener() {
    let port = support::server::free_port();
    let source = format!(
        r#"
return {{
  id = "gen", name = "Generator",
  setup = function()
    rackscope.metrics.serve("127.0.0.1:{port}")
    local temp = rackscope.metrics.gauge("node_temperature_celsius", "Node temperature", {{"instance", "rack_id"}})
    local handles = {{}}
    for i, p in ipairs(rackscope.topology.instances()) do
      handles[i] = temp:series({{instance = p.name, rack_id = p.rack_id}})
    end
    local values = {{}}
    for i, h in ipairs(handles) do values[h] = 30 + i % 10 end
    temp:set_many(values)
  end,
}}
"#
    );
    let cd = config_with(&[("gen", &source)]);
    let _server = TestServer::start(&cd.app_yaml());
    let prom = support::prometheus::RealPrometheus::start(&[format!("127.0.0.1:{port}")]);
    let data = prom
        .wait_for_query(
            "count(node_temperature_celsius)",
            |d| d["result"][0]["value"][1] == "423",
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(
        data["result"][0]["value"][1], "423",
        "every demo node is scraped"
    );
    let up = prom
        .wait_for_query(
            &format!("up{{instance=\"127.0.0.1:{port}\"}}"),
            |d| d["result"][0]["value"][1] == "1",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(up["result"][0]["value"][1], "1");
}

#[tokio::test]
async fn core_routes_answer_while_plugins_are_still_loading() {
    let cd = config_with(&[(
        "slowstart",
        "return { id = 'slowstart', setup = function()\n  rackscope.sleep(1.5)\n  rackscope.route('GET', '/api/slowstart', function() return { ok = true } end)\nend }\n",
    )]);
    let server = TestServer::start(&cd.app_yaml());
    let api = std::sync::Arc::new(Api::new(&server));
    let plugin_call = {
        let api = api.clone();
        tokio::spawn(async move { api.get("/api/slowstart").await })
    };
    assert_eq!(api.get("/healthz").await.0, 200);
    assert_eq!(api.get("/api/config").await.0, 200);
    assert!(
        !plugin_call.is_finished(),
        "the plugin route waits for the plugin to load"
    );
    assert_eq!(plugin_call.await.unwrap(), (200, json!({"ok": true})));
}

#[tokio::test]
async fn debug_mode_shows_the_lua_error_in_the_answer() {
    let cd = config_with(&[("lab", LAB)]);
    let server = TestServer::start_with_env(&cd.app_yaml(), &[("RACKSCOPE_DEBUG", "true")]);
    let (status, body) = Api::new(&server).get("/api/lab/boom").await;
    assert_eq!(status, 500);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("plugins/lab/init.lua:12:"),
        "{body}"
    );
}

#[tokio::test]
async fn bulk_series_reload_on_request_and_warnings() {
    // The generic primitives the simulator is built on: label tables and blocks,
    // metrics.listening(), topology.template(), rackscope.plugin.reload() and
    // rackscope.plugin.set_warning().
    let port = support::server::free_port();
    let source = format!(
        r#"
return {{
  id = "bulk", name = "Bulk",
  setup = function()
    rackscope.metrics.serve("127.0.0.1:{port}")
    local names, racks = {{}}, {{}}
    for i, p in ipairs(rackscope.topology.instances()) do names[i], racks[i] = p.name, p.rack_id end
    local t = rackscope.metrics.label_table({{ instance = names, rack_id = racks }})
    local g = rackscope.metrics.gauge("bulk_value", "Bulk values", {{ "instance", "rack_id", "kind" }})
    local a = g:block(t, {{ kind = "a" }})
    local v = {{}}
    for i = 1, #names do v[i] = i end
    a:set_many(v)
    a:set(1, false)
    local dup = pcall(g.block, g, rackscope.metrics.label_table({{ instance = {{ names[2] }}, rack_id = racks[2] }}), {{ kind = "a" }})
    local ok, err = pcall(rackscope.plugin.reload)
    rackscope.route("GET", "/api/bulk/info", function()
      return {{ listening = rackscope.metrics.listening(), size = #t, dup_refused = not dup,
        template = rackscope.topology.template("cpu-2u-quad").type,
        unknown_template = rackscope.topology.template("nope") == nil,
        reload_in_setup = tostring(err), reload_ok = ok }}
    end)
    rackscope.route("POST", "/api/bulk/warn", function(req) rackscope.plugin.set_warning("disk", req.body.text) return {{}} end)
    rackscope.route("POST", "/api/bulk/reload", function() rackscope.plugin.reload() return {{}} end)
  end,
}}
"#
    );
    let cd = config_with(&[("bulk", &source)]);
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut text = String::new();
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(&url).await {
            text = r.text().await.unwrap_or_default();
        }
        if text.contains("bulk_value{") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.starts_with("# HELP bulk_value Bulk values\n# TYPE bulk_value gauge\n"),
        "scrape of {url}: {:?}\nplugin: {}\nserver log:\n{}",
        text.get(..text.len().min(300)),
        api.get("/api/plugins/bulk").await.1,
        server.log()
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("bulk_value{"))
            .count(),
        422
    );
    // Rows in topology order: the first is the first rack's Ethernet switch.
    assert!(text.contains("bulk_value{instance=\"ib-h1-a01\",rack_id=\"h1-a01\",kind=\"a\"} 2\n"));
    assert!(!text.contains("instance=\"eth-h1-a01\""), "row 1 removed");
    let (s, info) = api.get("/api/bulk/info").await;
    assert_eq!(s, 200);
    assert_eq!(info["listening"], format!("127.0.0.1:{port}"));
    assert_eq!(info["size"], 423);
    assert_eq!(
        info["dup_refused"], true,
        "a block repeating a series is refused"
    );
    assert_eq!(info["template"], "server");
    assert_eq!(info["unknown_template"], true);
    assert_eq!(info["reload_ok"], false);
    assert!(info["reload_in_setup"]
        .as_str()
        .unwrap()
        .contains("rackscope.plugin.reload can only be called after setup"));

    assert_eq!(
        api.post("/api/bulk/warn", &json!({"text": "disk full"}))
            .await
            .0,
        200
    );
    let (_, p) = api.get("/api/plugins/bulk").await;
    assert_eq!(p["warnings"], json!({"disk": "disk full"}));
    assert!(server.log().contains("disk full"));
    api.post("/api/bulk/warn", &json!({})).await;
    assert_eq!(api.get("/api/plugins/bulk").await.1["warnings"], json!({}));

    let g = api.get("/api/plugins/bulk").await.1["generation"]
        .as_u64()
        .unwrap();
    assert_eq!(api.post("/api/bulk/reload", &json!({})).await.0, 200);
    eventually("a reload without any file change", 10, || async {
        api.get("/api/plugins/bulk").await.1["generation"]
            .as_u64()
            .unwrap()
            > g
    })
    .await;
    assert_eq!(api.get("/api/plugins/bulk").await.1["error"], Value::Null);
}

#[tokio::test]
async fn a_taken_metrics_address_is_retried_until_it_is_free() {
    // Another process holds the address (an old server still stopping, say): the plugin
    // runs, reports no listener, and gets its address as soon as it is released.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    let source = format!(
        r#"
return {{
  id = "late", name = "Late",
  setup = function()
    rackscope.metrics.serve("{addr}")
    rackscope.metrics.gauge("late_up", "Up", {{}}):set({{}}, 1)
    rackscope.route("GET", "/api/late/listening", function()
      return {{ listening = rackscope.metrics.listening() or false }}
    end)
  end,
}}
"#
    );
    let cd = config_with(&[("late", &source)]);
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    eventually("the plugin answers", 10, || async {
        api.get("/api/late/listening").await.0 == 200
    })
    .await;
    assert_eq!(
        api.get("/api/late/listening").await.1,
        json!({"listening": false}),
        "{}",
        server.log()
    );
    eventually("the bind failure is logged", 10, || async {
        server
            .log()
            .contains("cannot open metrics listener; trying again")
    })
    .await;

    drop(holder);
    eventually(
        "the listener opens once the address is free",
        10,
        || async {
            api.get("/api/late/listening").await.1 == json!({"listening": addr.to_string()})
        },
    )
    .await;
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("late_up 1\n"), "{text}");
}

#[tokio::test]
async fn published_answers_are_served_without_calling_the_plugin() {
    // The handler counts its calls; a published answer must not reach it.
    let source = r#"
local calls = 0
return {
  id = "pub",
  setup = function()
    rackscope.route("GET", "/api/pub/summary", function(req)
      calls = calls + 1
      return { from = "handler", calls = calls, room = req.query.room_id }
    end)
    rackscope.route("POST", "/api/pub/publish", function(req)
      rackscope.publish("/api/pub/summary", rackscope.json.raw({ from = "published" }), req.body.ttl)
      rackscope.publish("/api/pub/summary?room_id=r1", { from = "published", room = "r1" }, req.body.ttl)
      return { ok = true }
    end)
    rackscope.route("POST", "/api/pub/unpublish", function() rackscope.unpublish() return {} end)
    rackscope.route("GET", "/api/pub/calls", function() return { calls = calls } end)
  end,
}
"#;
    let cd = config_with(&[("pub", source)]);
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    assert_eq!(api.get("/api/pub/summary").await.1["from"], "handler");
    assert_eq!(
        api.post("/api/pub/publish", &json!({"ttl": 30})).await.0,
        200
    );
    for _ in 0..5 {
        assert_eq!(
            api.get("/api/pub/summary").await,
            (200, json!({"from": "published"}))
        );
    }
    assert_eq!(
        api.get("/api/pub/summary?room_id=r1").await.1,
        json!({"from": "published", "room": "r1"})
    );
    // Another query string is the handler's.
    assert_eq!(
        api.get("/api/pub/summary?room_id=r2").await.1["from"],
        "handler"
    );
    assert_eq!(api.get("/api/pub/calls").await.1["calls"], 2);
    // Withdrawn: the handler answers again.
    api.post("/api/pub/unpublish", &json!({})).await;
    assert_eq!(api.get("/api/pub/summary").await.1["from"], "handler");
    // Expired: the same.
    api.post("/api/pub/publish", &json!({"ttl": 0.2})).await;
    assert_eq!(api.get("/api/pub/summary").await.1["from"], "published");
    eventually("the published answer expired", 10, || async {
        api.get("/api/pub/summary").await.1["from"] == "handler"
    })
    .await;
    // Published answers pass the auth gate like any request.
    cd.edit_app_yaml(|d| {
        d["auth"]["enabled"] = json!(true);
        d["auth"]["password_hash"] =
            json!("$2b$04$abcdefghijklmnopqrstuuJ1Jg3O0m3ZmRWl1X6JgXk6gE2s7d6pW");
    });
    eventually("auth on", 10, || async {
        api.get("/api/pub/summary").await.0 == 401
    })
    .await;
}

#[tokio::test]
async fn large_published_answers_are_served_gzipped() {
    // A 5,000-row answer (~200 KB) published twice with different rows: a client that
    // accepts gzip gets the gzip of the answer in force, with one Content-Encoding, once
    // it is made; one that does not gets the plain bytes; a small answer is left to the
    // compression layer.
    let source = r#"
return {
  id = "big",
  setup = function()
    -- Served from the published answers; the handlers answer only before a publish.
    rackscope.route("GET", "/api/big/nodes", function() return { nodes = {} } end)
    rackscope.route("GET", "/api/big/small", function() return {} end)
    rackscope.route("POST", "/api/big/publish", function(req)
      local rows = {}
      for i = 1, 5000 do rows[i] = { node = "n" .. i, state = req.body.state } end
      rackscope.publish("/api/big/nodes", { nodes = rows }, 60)
      rackscope.publish("/api/big/small", { state = req.body.state }, 60)
      return { ok = true }
    end)
  end,
}
"#;
    let cd = config_with(&[("big", source)]);
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let fetch = |path: &'static str, gzip: bool| {
        let mut req = raw.get(server.url(path));
        if gzip {
            req = req.header("accept-encoding", "gzip");
        }
        async move {
            let resp = req.send().await.unwrap();
            let encodings: Vec<String> = resp
                .headers()
                .get_all("content-encoding")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect();
            let body = resp.bytes().await.unwrap();
            let json: Value = if encodings.is_empty() {
                serde_json::from_slice(&body).unwrap()
            } else {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut out)
                    .unwrap();
                serde_json::from_slice(&out).unwrap()
            };
            (encodings, body.len(), json)
        }
    };
    for state in ["OK", "CRIT"] {
        let (s, b) = api.post("/api/big/publish", &json!({"state": state})).await;
        assert_eq!(s, 200, "{b}");
        let (enc, plain_len, plain) = fetch("/api/big/nodes", false).await;
        assert!(enc.is_empty());
        assert_eq!(
            plain["nodes"][4999],
            json!({"node": "n5000", "state": state})
        );
        // The first clients may get the plain answer, as it is, while its gzip is made
        // in the background; then every one gets that gzip.
        let (enc, len, body) = fetch("/api/big/nodes", true).await;
        assert!(
            (enc.is_empty() && len == plain_len) || enc == ["gzip"],
            "{enc:?}"
        );
        assert_eq!(body, plain);
        eventually("the gzip is made", 10, || async {
            fetch("/api/big/nodes", true).await.0 == ["gzip"]
        })
        .await;
        for _ in 0..3 {
            let (enc, len, body) = fetch("/api/big/nodes", true).await;
            assert_eq!(enc, ["gzip"]);
            assert!(len * 10 < plain_len, "{len} vs {plain_len}");
            assert_eq!(body, plain, "the gzip of the answer in force");
        }
        let (enc, _, small) = fetch("/api/big/small", true).await;
        assert!(enc.len() <= 1, "{enc:?}");
        assert_eq!(small, json!({"state": state}));
    }
}

#[tokio::test]
async fn a_plugin_that_cannot_load_serves_its_fallback_until_it_does() {
    // `setup` fails while the config lacks `ready`; `on_load_error` registers a status
    // route that says why, with a setting read from the raw config.
    const SRC: &str = r#"
return {
  id = "probe",
  name = "Probe",
  setup = function(cfg)
    if not cfg.ready then error("not ready yet", 0) end
    rackscope.route("GET", "/api/probe/status", function() return { running = true } end)
  end,
  on_load_error = function(err, cfg)
    rackscope.route("GET", "/api/probe/status", function()
      return { running = false, error = err, colour = cfg and cfg.colour or rackscope.null }
    end)
  end,
}"#;
    let cd = config_with(&[
        ("probe", SRC),
        (
            "plain",
            "return { id = 'plain', setup = function() error('no', 0) end }",
        ),
    ]);
    let file = cd.root().join("config/plugins/probe/config.yml");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, "colour: blue\n").unwrap();
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let (s, b) = api.get("/api/probe/status").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b,
        json!({"running": false, "error": "not ready yet", "colour": "blue"})
    );
    let (_, p) = api.get("/api/plugins/probe").await;
    assert_eq!(
        (p["running"].clone(), p["plugin_name"].clone()),
        (json!(false), json!("Probe"))
    );
    assert!(
        p["error"].as_str().unwrap().contains("not ready yet"),
        "{p}"
    );
    // Without on_load_error there is nothing to serve: a plain 404.
    assert_eq!(api.get("/api/plain/status").await.0, 404);
    // Fixed through the API: the config is tried first, then the plugin replaces its fallback.
    let (s, b) = api
        .post(
            "/api/plugins/probe/config",
            &json!({"config": {"ready": true}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        api.get("/api/probe/status").await.1,
        json!({"running": true})
    );
    assert_eq!(api.get("/api/plugins/probe").await.1["running"], true);
    // Broken again on disk: the running instance keeps serving (no fallback beside it).
    fs::write(&file, "colour: red\n").unwrap();
    eventually("the failed reload reported", 10, || async {
        api.get("/api/plugins/probe").await.1["error"]
            .as_str()
            .is_some_and(|e| e.contains("not ready yet"))
    })
    .await;
    assert_eq!(
        api.get("/api/probe/status").await.1,
        json!({"running": true})
    );
}
