//! Runtime hardening: the failures a real plugin found (issue 8). Reloads are not starved
//! by files that keep changing, a timed-out request stops CPU-bound Lua, a slow menu does
//! not hold the sidebar, `shutdown()` runs on SIGTERM, and bodies must be declared JSON.

mod support;

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::server::{Api, ConfigDir, TestServer};
use support::wait::eventually;

/// A copy of the demo config with these plugins (folder, init.lua, extra app.yaml keys).
fn config_with(plugins: &[(&str, &str, Value)]) -> ConfigDir {
    let cd = ConfigDir::demo();
    let mut enabled = serde_json::Map::new();
    for (folder, source, extra) in plugins {
        let dir = cd.root().join("plugins").join(folder);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("init.lua"), source).unwrap();
        let mut entry = json!({"enabled": true});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                entry[k] = v.clone();
            }
        }
        enabled.insert(folder.to_string(), entry);
    }
    cd.edit_app_yaml(|d| d["plugins"] = Value::Object(enabled));
    cd
}

const NOISY: &str = r#"
local version = "v1"
return {
  id = "noisy",
  setup = function()
    rackscope.route("GET", "/api/noisy/version", function() return { version = version } end)
    -- A plugin that rewrites a data file of its config folder all the time.
    rackscope.every(0.05, function() rackscope.fs.write("state.json", tostring(rackscope.now())) end)
  end,
}
"#;

#[tokio::test]
async fn edits_are_applied_while_other_files_keep_changing() {
    let cd = config_with(&[("noisy", NOISY, json!({}))]);
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    eventually("plugin loaded", 10, || async {
        api.get("/api/noisy/version").await == (200, json!({"version": "v1"}))
    })
    .await;
    // More noise: a file next to app.yaml (like the server's own log) and requests, all
    // the time, as in the report.
    let stop = Arc::new(AtomicBool::new(false));
    let noise = {
        let (stop, log) = (stop.clone(), cd.root().join("config/server.log"));
        let url = server.url("/api/noisy/version");
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                fs::write(&log, format!("line {n}\n")).unwrap();
                let _ = client.get(&url).send().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let init = cd.root().join("plugins/noisy/init.lua");
    for v in ["v2", "v3"] {
        fs::write(&init, NOISY.replace("\"v1\"", &format!("\"{v}\""))).unwrap();
        // Applied while the noise goes on (the old watcher waited for silence).
        eventually("edit applied during noise", 5, || async {
            api.get("/api/noisy/version").await.1["version"] == v
        })
        .await;
    }
    stop.store(true, Ordering::Relaxed);
    noise.await.unwrap();
    // The data file never reloaded the plugin: one load per edit.
    let (_, detail) = api.get("/api/plugins/noisy").await;
    assert_eq!(detail["error"], Value::Null);
    let loads = server.log().matches("plugin loaded").count();
    assert_eq!(loads, 3, "initial load and two edits only");
}

const SPIN: &str = r#"
return {
  id = "spin",
  setup = function()
    rackscope.route("GET", "/api/spin/loop", function() while true do end end)
    rackscope.route("GET", "/api/spin/pcall", function()
      while true do pcall(function() for i = 1, 100 do end end) end
    end)
    rackscope.route("GET", "/api/spin/fast", function() return { ok = true } end)
  end,
}
"#;

#[tokio::test]
async fn a_timed_out_request_stops_cpu_bound_lua() {
    let cd = config_with(&[(
        "spin",
        SPIN,
        json!({"instruction_limit": 4_000_000_000u64, "request_timeout_seconds": 1}),
    )]);
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    for path in ["/api/spin/loop", "/api/spin/pcall"] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 504, "{body}");
        assert_eq!(body["detail"], "Plugin 'spin' did not answer within 1 s");
        // The loop has stopped: the plugin's other routes answer at once, well before the
        // 4e9-instruction budget would have run out (13-20 s).
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(900))
            .build()
            .unwrap();
        let fast = client
            .get(server.url("/api/spin/fast"))
            .send()
            .await
            .expect("the plugin answers right after the timeout");
        assert_eq!(fast.status(), 200);
    }
    eventually("cancellation logged", 5, || async {
        server
            .log()
            .contains("was stopped because its caller gave up")
    })
    .await;
}

const SLOW_MENU: &str = r#"
return {
  id = "slowmenu",
  setup = function()
    rackscope.menu(function()
      rackscope.sleep(20)
      return { id = "late", label = "Late", items = {} }
    end)
  end,
}
"#;

const SPIN_MENU: &str = r#"
return {
  id = "spinmenu",
  setup = function()
    rackscope.menu(function() while true do end end)
    rackscope.route("GET", "/api/spinmenu/ok", function() return { ok = true } end)
  end,
}
"#;

const GOOD_MENU: &str = r#"
return {
  id = "goodmenu",
  setup = function()
    rackscope.menu({ id = "good", label = "Good", order = 7, items = {} })
    rackscope.menu(function() return { id = "dyn", label = "Dynamic", order = 8, items = {} } end)
  end,
}
"#;

#[tokio::test]
async fn a_slow_menu_function_does_not_hold_the_sidebar() {
    let cd = config_with(&[
        ("slowmenu", SLOW_MENU, json!({})),
        (
            "spinmenu",
            SPIN_MENU,
            json!({"instruction_limit": 4_000_000_000u64}),
        ),
        ("goodmenu", GOOD_MENU, json!({})),
    ]);
    let server = TestServer::start(&cd.app_yaml());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let resp = client
        .get(server.url("/api/plugins/menu"))
        .send()
        .await
        .expect("the menu answers long before the slow plugin's 20 s");
    assert_eq!(resp.status(), 200);
    let menu: Value = resp.json().await.unwrap();
    let ids: Vec<&str> = menu
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["good", "dyn"]);
    let log = server.log();
    assert!(
        log.contains("menu function did not answer in time"),
        "{log}"
    );
    // The spinning menu function was stopped: its plugin serves routes again.
    let api = Api::new(&server);
    eventually("spinmenu serves again", 3, || async {
        api.get("/api/spinmenu/ok").await.0 == 200
    })
    .await;
}

const BYE: &str = r#"
return {
  id = "bye",
  setup = function()
    rackscope.route("GET", "/api/bye/ok", function() return { ok = true } end)
  end,
  shutdown = function()
    rackscope.sleep(0.3)
    assert(rackscope.fs.write("bye.txt", "stopped cleanly"))
  end,
}
"#;

#[tokio::test]
async fn shutdown_hooks_run_on_sigterm() {
    let cd = config_with(&[("bye", BYE, json!({}))]);
    for _ in 0..3 {
        let marker = cd.root().join("config/plugins/bye/bye.txt");
        let _ = fs::remove_file(&marker);
        let server = TestServer::start(&cd.app_yaml());
        let api = Api::new(&server);
        eventually("plugin loaded", 10, || async {
            api.get("/api/bye/ok").await.0 == 200
        })
        .await;
        let status = server.terminate().expect("the server exits on SIGTERM");
        assert!(status.success(), "{status:?}");
        assert_eq!(fs::read_to_string(&marker).unwrap(), "stopped cleanly");
    }
}

const ECHO: &str = r#"
return {
  id = "echo",
  setup = function()
    rackscope.route("POST", "/api/echo", function(req) return { got = req.body } end)
    rackscope.route("POST", "/api/echo/kind", function(req)
      return { array = rackscope.is_array(req.body), empty = next(req.body) == nil,
               made = rackscope.is_array(rackscope.array()), plain = rackscope.is_array({}),
               scalar = rackscope.is_array(1) }
    end)
  end,
}
"#;

#[tokio::test]
async fn bodies_must_be_declared_json() {
    let cd = config_with(&[("echo", ECHO, json!({}))]);
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let (_, config) = api.get("/api/config").await;
    let send = |method: reqwest::Method, path: &str, ctype: Option<&str>, body: String| {
        let mut req = api.client.request(method, server.url(path)).body(body);
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let cfg = config.to_string();
    let plugin_cfg = json!({"config": {"x": 1}}).to_string();
    let echo = json!({"a": 1}).to_string();
    for ctype in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        for (method, path, body) in [
            (reqwest::Method::PUT, "/api/config", &cfg),
            (
                reqwest::Method::POST,
                "/api/plugins/echo/config",
                &plugin_cfg,
            ),
            (reqwest::Method::POST, "/api/echo", &echo),
            (
                reqwest::Method::POST,
                "/api/auth/login",
                &json!({"username": "a", "password": "b"}).to_string(),
            ),
        ] {
            let (status, body) = send(method.clone(), path, ctype, body.clone()).await;
            assert_eq!(status, 415, "{method} {path} {ctype:?}: {body}");
            let detail = body["detail"].as_str().unwrap();
            assert!(detail.contains("application/json"), "{detail}");
        }
    }
    assert!(
        !cd.root().join("config/plugins/echo").exists(),
        "no plugin config was written"
    );
    for ctype in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ] {
        let (status, body) = send(
            reqwest::Method::POST,
            "/api/echo",
            Some(ctype),
            echo.clone(),
        )
        .await;
        assert_eq!((status, body), (200, json!({"got": {"a": 1}})), "{ctype}");
    }
    let (status, _) = send(
        reqwest::Method::PUT,
        "/api/config",
        Some("application/json"),
        cfg,
    )
    .await;
    assert_eq!(status, 200);
    // `[]` and `{}` arrive as empty tables; only the array is marked.
    for (text, array) in [("[]", true), ("{}", false)] {
        let (status, body) = send(
            reqwest::Method::POST,
            "/api/echo/kind",
            Some("application/json"),
            text.into(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"array": array, "empty": true, "made": true, "plain": false, "scalar": false})
        );
    }
    // An empty body needs no type.
    let (status, _) = send(
        reqwest::Method::POST,
        "/api/system/restart",
        None,
        String::new(),
    )
    .await;
    assert_eq!(status, 200);
}
