//! Several rackscope replicas on one config folder (issue 13): `rackscope.fs.update` loses
//! no update across processes, `--without-plugin` leaves a plugin off on one replica, the
//! login rate limit and the admin check see the client behind a trusted proxy, and the
//! polling watcher applies edits.

mod support;

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::server::{Api, ConfigDir, TestServer};

const COUNTER: &str = r#"
return {
  id = "counter",
  setup = function()
    rackscope.route("POST", "/api/counter/inc", function()
      local text, err = rackscope.fs.update("counter.txt", function(t)
        return tostring((tonumber(t) or 0) + 1)
      end)
      if not text then return 500, { detail = err } end
      return { value = tonumber(text) }
    end)
    rackscope.route("POST", "/api/counter/keep", function()
      -- nil leaves the file as it is; a bad return value is the caller's error.
      local same = rackscope.fs.update("counter.txt", function() return nil end)
      local ok, err = pcall(rackscope.fs.update, "counter.txt", function() return 5 end)
      local raised = pcall(rackscope.fs.update, "counter.txt", function() error("boom") end)
      local after = rackscope.fs.update("counter.txt", function(t) return t end)
      return { same = same, bad = tostring(err), raised = raised, after = after }
    end)
    rackscope.route("GET", "/api/counter/version", function() return { v = "one" } end)
  end,
}
"#;

fn shared_config() -> ConfigDir {
    let cd = ConfigDir::demo();
    let dir = cd.root().join("plugins/counter");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("init.lua"), COUNTER).unwrap();
    cd.edit_app_yaml(|d| d["plugins"] = json!({"counter": {"enabled": true}}));
    cd
}

async fn hammer(api: Arc<Api>, n: usize) -> Vec<u16> {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for _ in 0..n / 8 {
                out.push(api.post("/api/counter/inc", &json!({})).await.0);
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

#[tokio::test]
async fn two_replicas_lose_no_update_and_one_can_leave_a_plugin_off() {
    let cd = shared_config();
    let a = TestServer::start(&cd.app_yaml());
    let b = TestServer::start(&cd.app_yaml());
    let (api_a, api_b) = (Arc::new(Api::new(&a)), Arc::new(Api::new(&b)));
    let (sa, sb) = tokio::join!(hammer(api_a.clone(), 200), hammer(api_b.clone(), 200));
    assert!(sa.iter().chain(&sb).all(|s| *s == 200), "{sa:?} {sb:?}");
    let counter = cd.root().join("config/plugins/counter/counter.txt");
    assert_eq!(fs::read_to_string(&counter).unwrap(), "400");

    let (status, body) = api_a.post("/api/counter/keep", &json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["same"], "400");
    assert_eq!(body["after"], "400");
    assert_eq!(body["raised"], false);
    assert!(body["bad"]
        .as_str()
        .unwrap()
        .contains("must return the new text (a string) or nil, got number"));

    // A third replica leaves the plugin off; the others still serve it.
    let c = TestServer::start_with_env(&cd.app_yaml(), &[("RACKSCOPE_WITHOUT_PLUGINS", "counter")]);
    let api_c = Api::new(&c);
    let (_, listed) = api_c.get("/api/plugins").await;
    assert_eq!(listed, json!([]));
    // An action on the plugin this replica leaves off is unavailable here, not unknown.
    let (status, body) = api_c.post("/api/counter/inc", &json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["detail"],
        "Plugin 'counter' is left off on this server (--without-plugin)"
    );
    assert_eq!(api_c.get("/api/counter/version").await.0, 404);
    assert!(c.log().contains("left off on this replica"));
    assert_eq!(api_b.get("/api/plugins").await.1[0]["plugin_id"], "counter");
}

#[tokio::test]
async fn the_polling_watcher_applies_edits() {
    let cd = shared_config();
    let server = TestServer::start_with_env(&cd.app_yaml(), &[("RACKSCOPE_WATCH", "poll:0.2")]);
    let api = Api::new(&server);
    assert_eq!(
        api.get("/api/counter/version").await,
        (200, json!({"v": "one"}))
    );
    let init = cd.root().join("plugins/counter/init.lua");
    fs::write(&init, COUNTER.replace("\"one\"", "\"two\"")).unwrap();
    let mut last = Value::Null;
    for _ in 0..100 {
        last = api.get("/api/counter/version").await.1;
        if last["v"] == "two" {
            assert!(server.log().contains("Poll("), "the poller was used");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the edit was not applied: {last}");
}

const HASH: &str = "$2b$04$abcdefghijklmnopqrstuuJ1Jg3O0m3ZmRWl1X6JgXk6gE2s7d6pW";

/// A wrong login from `client` (as told by the proxy): its status.
async fn wrong_login(api: &Api, client: &str) -> u16 {
    api.client
        .post(format!("{}/api/auth/login", api.base))
        .header("x-forwarded-for", client)
        .json(&json!({"username": "admin", "password": "wrong-password"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_client_behind_a_trusted_proxy_is_who_counts() {
    for trusted in [true, false] {
        let cd = ConfigDir::demo();
        cd.edit_app_yaml(|d| {
            d["auth"]["enabled"] = json!(true);
            d["auth"]["password_hash"] = json!(HASH);
            if trusted {
                d["auth"]["trusted_proxies"] = json!(["127.0.0.1"]);
            }
        });
        let server = TestServer::start(&cd.app_yaml());
        let api = Api::new(&server);
        for _ in 0..10 {
            assert_eq!(wrong_login(&api, "10.0.0.1").await, 401);
        }
        assert_eq!(wrong_login(&api, "10.0.0.1").await, 429);
        // Another client behind the same proxy has its own count, but only when the
        // proxy is trusted; otherwise every request comes from the proxy.
        let other = wrong_login(&api, "10.0.0.2").await;
        assert_eq!(other, if trusted { 401 } else { 429 }, "trusted: {trusted}");
    }
}

#[tokio::test]
async fn the_admin_check_sees_the_forwarded_client() {
    let cd = ConfigDir::demo();
    cd.edit_app_yaml(|d| {
        d["auth"]["trusted_networks"] = json!(["10.1.0.0/16"]);
        d["auth"]["trusted_proxies"] = json!(["127.0.0.1"]);
    });
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let restart = |client: &'static str| {
        api.client
            .post(format!("{}/api/system/restart", api.base))
            .header("x-forwarded-for", client)
            .send()
    };
    assert_eq!(restart("10.1.2.3").await.unwrap().status(), 200);
    assert_eq!(restart("10.2.2.3").await.unwrap().status(), 403);
    // A client cannot forge its way in: the rightmost untrusted hop is the one counted.
    assert_eq!(restart("10.1.2.3, 10.2.2.3").await.unwrap().status(), 403);
}
