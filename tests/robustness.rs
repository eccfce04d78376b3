//! Nothing lost, nothing leaked, nothing blown up (issue 14): concurrent config writes keep
//! every acknowledged key, auth routes never echo their input, request bodies have a
//! bounded cost, an oversized `Content-Length` is a 413 at once, and temporary files left
//! by an interrupted write are cleared at start-up.

mod support;

use std::fs;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use support::server::{copy_dir, project_root, Api, ConfigDir, TestServer};

fn demo_with_hello() -> ConfigDir {
    let cd = ConfigDir::demo();
    copy_dir(
        &project_root().join("examples/plugins/hello"),
        &cd.root().join("plugins/hello"),
    );
    cd.edit_app_yaml(|d| d["plugins"] = json!({"hello": {"enabled": true}}));
    cd
}

#[tokio::test]
async fn concurrent_config_writes_lose_no_acknowledged_key() {
    let cd = demo_with_hello();
    let server = TestServer::start(&cd.app_yaml());
    let api = Arc::new(Api::new(&server));
    let (status, config) = api.get("/api/config").await;
    assert_eq!(status, 200);
    let mut tasks = Vec::new();
    for n in 0..20 {
        let put_api = api.clone();
        let mut body = config.clone();
        body["plugins"]["hello"][format!("put_{n:02}")] = json!(1);
        tasks.push(tokio::spawn(async move {
            put_api.put("/api/config", &body).await.0
        }));
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"config": {format!("post_{n:02}"): 1}});
            api.post("/api/plugins/hello/config", &body).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (_, stored) = api.get("/api/plugins/hello/config").await;
    let keys = stored["config"].as_object().unwrap();
    for n in 0..20 {
        for k in [format!("put_{n:02}"), format!("post_{n:02}")] {
            assert_eq!(keys.get(&k), Some(&json!(1)), "{k} lost: {stored}");
        }
    }
    // app.yaml keeps only the host keys of the plugin.
    assert_eq!(
        cd.read_app_yaml()["plugins"]["hello"],
        json!({"enabled": true})
    );
}

#[tokio::test]
async fn auth_routes_never_echo_their_input() {
    let cd = ConfigDir::demo();
    cd.edit_app_yaml(|d| {
        d["auth"]["enabled"] = json!(true);
        d["auth"]["password_hash"] =
            json!("$2b$04$abcdefghijklmnopqrstuuJ1Jg3O0m3ZmRWl1X6JgXk6gE2s7d6pW");
    });
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let secret = "MySecretPw1";
    for path in [
        "/api/auth/login",
        "/api/auth/change-password",
        "/api/auth/change-username",
    ] {
        for body in [
            json!(["admin", secret]),
            json!(secret),
            json!({"username": ["admin", secret]}),
            json!({"user": "admin", "pass": secret}),
            json!({"password": [secret], "current_password": {"x": secret}}),
        ] {
            let (status, answer) = api.post(path, &body).await;
            assert!(
                status == 422 || status == 401,
                "{path} {body}: {status} {answer}"
            );
            assert!(
                !answer.to_string().contains(secret),
                "{path} {body} echoed: {answer}"
            );
        }
    }
    assert!(!server.log().contains(secret));
}

/// `{"config": {"x": [0, 0, ... ]}}` with about a million numbers: under 2 MiB of text.
fn million_numbers() -> String {
    let numbers = vec!["0"; 1_000_000].join(",");
    format!("{{\"config\": {{\"x\": [{numbers}]}}}}")
}

#[tokio::test]
async fn request_bodies_have_a_bounded_cost() {
    let cd = demo_with_hello();
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let body = million_numbers();
    assert!(body.len() < 2 << 20);
    for path in ["/api/plugins/hello/config", "/api/hello"] {
        let (status, answer) = api.raw(reqwest::Method::POST, path, &body).await;
        assert_eq!(status, 413, "{path}: {answer}");
        assert!(
            answer["detail"].as_str().unwrap().contains("JSON values"),
            "{answer}"
        );
    }
    let (status, answer) = api.raw(reqwest::Method::PUT, "/api/config", &body).await;
    assert_eq!(status, 413, "{answer}");
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let (status, answer) = api
        .raw(reqwest::Method::POST, "/api/plugins/hello/config", &deep)
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["detail"].as_str().unwrap().contains("nested"));
    // A legal body, but a plugin config that big is refused (trial loads, YAML).
    let numbers = vec!["0"; 10_000].join(",");
    let (status, answer) = api
        .raw(
            reqwest::Method::POST,
            "/api/plugins/hello/config",
            &format!("{{\"config\": {{\"x\": [{numbers}]}}}}"),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["detail"]
        .as_str()
        .unwrap()
        .contains("Plugin config too large"));
    // Nothing was stored, and normal writes still work.
    let (_, stored) = api.get("/api/plugins/hello/config").await;
    assert!(stored["config"].get("x").is_none());
    let (status, _) = api
        .post(
            "/api/plugins/hello/config",
            &json!({"config": {"small": 1}}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_oversized_content_length_is_refused_without_waiting_for_the_body() {
    let cd = ConfigDir::demo();
    let server = TestServer::start(&cd.app_yaml());
    for (method, path) in [
        ("PUT", "/api/config"),
        ("POST", "/api/plugins/x/config"),
        ("POST", "/api/anything"),
    ] {
        // Announce 5 MB and send two bytes: the answer comes after a short grace period
        // (the server drains what a client still sends), never a hang.
        let mut s = std::net::TcpStream::connect(&server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{{}}"
        )
        .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).expect("an answer before the body is sent");
        let head = String::from_utf8_lossy(&buf[..n]);
        assert!(head.starts_with("HTTP/1.1 413"), "{method} {path}: {head}");
        assert!(head.contains("Request body too large"), "{head}");
    }
}

#[tokio::test]
async fn temporary_files_of_interrupted_writes_are_removed_at_start() {
    let cd = demo_with_hello();
    let plugin_cfg = cd.root().join("config/plugins/hello");
    fs::create_dir_all(&plugin_cfg).unwrap();
    let stale = [
        cd.root().join("config/.app.yaml.tmp-4242-0"),
        plugin_cfg.join(".config.yml.tmp-4242-1"),
    ];
    let old = SystemTime::now() - Duration::from_secs(3600);
    for p in &stale {
        fs::write(p, "half a file").unwrap();
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let keep = plugin_cfg.join("notes.txt");
    fs::write(&keep, "data").unwrap();
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    for _ in 0..100 {
        if stale.iter().all(|p| !p.exists()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        stale.iter().all(|p| !p.exists()),
        "stale temporaries removed"
    );
    assert!(keep.exists());
    assert_eq!(api.get("/healthz").await.0, 200);
    let log = server.log();
    assert!(log.contains("removed a temporary file"), "{log}");
    let _: Value = api.get("/api/config").await.1;
}

#[tokio::test]
async fn plugin_settings_in_put_config_are_validated_before_anything_is_written() {
    let cd = demo_with_hello();
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    assert_eq!(api.get("/api/hello/bob").await.0, 200);
    let app_before = fs::read(cd.app_yaml()).unwrap();
    let plugin_file = cd.root().join("config/plugins/hello/config.yml");
    let plugin_before = fs::read(&plugin_file).ok();
    let (status, body) = api
        .put(
            "/api/config",
            &json!({"plugins": {"hello": {"greeting": 42}}, "features": {"playlist": true}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("greeting must be a string"),
        "{body}"
    );
    assert_eq!(fs::read(cd.app_yaml()).unwrap(), app_before);
    assert_eq!(fs::read(&plugin_file).ok(), plugin_before);
    let (status, _) = api
        .put(
            "/api/config",
            &json!({"plugins": {"hello": {"greeting": "hey"}}}),
        )
        .await;
    assert_eq!(status, 200);
    let mut greeting = Value::Null;
    for _ in 0..100 {
        greeting = api.get("/api/hello/bob").await.1["greeting"].clone();
        if greeting == "hey" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(greeting, "hey");
}
