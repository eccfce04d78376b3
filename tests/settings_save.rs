//! Saving Settings from Rackscope's own web frontend (issue 9): its `PUT /api/config` body
//! holds every section the frontend knows and none of ours, so a key it leaves out must
//! keep its stored value, and a save that changes nothing must change nothing on disk.

mod support;

use std::fs;

use serde_json::{json, Value};
use support::server::{copy_dir, project_root, Api, ConfigDir, TestServer};

/// The demo config (paths.plugins: ../plugins, features.wizard: false) with the example
/// plugin enabled, comments kept: only the `plugins:` block of the demo file is replaced.
fn demo_with_hello() -> ConfigDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&project_root().join("config"), &dir.path().join("config"));
    copy_dir(
        &project_root().join("examples/plugins/hello"),
        &dir.path().join("plugins/hello"),
    );
    let cd = ConfigDir { dir };
    let text = fs::read_to_string(cd.app_yaml()).unwrap();
    let at = text
        .find("\nplugins:\n")
        .expect("the demo app.yaml has a plugins block");
    let text = format!(
        "{}\nplugins:\n  # The example plugin.\n  hello:\n    enabled: true\n",
        &text[..at]
    );
    fs::write(cd.app_yaml(), text).unwrap();
    cd
}

/// What Rackscope's frontend sends from Settings: the config as it knows it. It has no
/// `paths.plugins` (ours), no `features.wizard`, never the secrets, and it sends the
/// legacy sections as null.
fn frontend_body(config: &Value) -> Value {
    let mut body = config.clone();
    body["paths"].as_object_mut().unwrap().remove("plugins");
    body["features"].as_object_mut().unwrap().remove("wizard");
    body["simulator"] = Value::Null;
    body["slurm"] = Value::Null;
    body["auth"]
        .as_object_mut()
        .unwrap()
        .remove("password_hash");
    body
}

fn comment_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains('#')).collect()
}

#[tokio::test]
async fn a_frontend_save_keeps_every_key_it_did_not_show() {
    let cd = demo_with_hello();
    let before_text = fs::read_to_string(cd.app_yaml()).unwrap();
    let before = cd.read_app_yaml();
    assert_eq!(before["paths"]["plugins"], "../plugins");
    assert_eq!(before["features"]["wizard"], false);

    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    assert_eq!(api.get("/api/hello/bob").await.0, 200);
    let (_, config) = api.get("/api/config").await;

    // Settings -> General: change nothing, press Save (PUT, then restart).
    let (status, answer) = api.put("/api/config", &frontend_body(&config)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["paths"]["plugins"], "../plugins");
    assert_eq!(answer["features"]["wizard"], false);
    assert_eq!(answer, config, "the merged result is what was stored");
    let (status, _) = api.post("/api/system/restart", &json!({})).await;
    assert_eq!(status, 200);

    let after_text = fs::read_to_string(cd.app_yaml()).unwrap();
    assert_eq!(after_text, before_text, "nothing changed, nothing written");
    assert_eq!(api.get("/api/config").await.1, config);
    assert_eq!(api.get("/api/hello/bob").await.0, 200, "plugins still load");
    let (_, plugins) = api.get("/api/plugins").await;
    assert_eq!(plugins[0]["plugin_id"], "hello");
    assert_eq!(plugins[0]["running"], true);

    // A real change edits only that value: comments, layout and absent keys stay.
    let mut body = frontend_body(&config);
    body["features"]["playlist"] = json!(true);
    body["refresh"]["room_state_seconds"] = json!(60);
    let (status, answer) = api.put("/api/config", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["features"]["playlist"], true);
    assert_eq!(answer["features"]["wizard"], false);
    assert_eq!(answer["paths"]["plugins"], "../plugins");
    let (status, _) = api.post("/api/system/restart", &json!({})).await;
    assert_eq!(status, 200);
    let edited = fs::read_to_string(cd.app_yaml()).unwrap();
    assert_eq!(comment_lines(&edited), comment_lines(&before_text));
    assert_eq!(edited.lines().count(), before_text.lines().count());
    let mut want = before.clone();
    want["features"]["playlist"] = json!(true);
    want["refresh"]["room_state_seconds"] = json!(60);
    assert_eq!(cd.read_app_yaml(), want);
    assert!(!edited.contains("simulator: null") && !edited.contains("slurm: null"));
    assert_eq!(api.get("/api/hello/bob").await.0, 200);
}

#[tokio::test]
async fn get_put_restart_round_trip_keeps_app_yaml() {
    // A file written by tools (no comments, every key spelled out) and a sparse one.
    for sparse in [false, true] {
        let cd = ConfigDir::demo();
        if sparse {
            cd.edit_app_yaml(|d| {
                *d = json!({"paths": d["paths"].clone(), "features": {"wizard": false}});
            });
        }
        let before = cd.read_app_yaml();
        let server = TestServer::start(&cd.app_yaml());
        let api = Api::new(&server);
        let (_, config) = api.get("/api/config").await;
        let (status, answer) = api.put("/api/config", &config).await;
        assert_eq!((status, &answer), (200, &config));
        let (status, _) = api.post("/api/system/restart", &json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(cd.read_app_yaml(), before, "sparse: {sparse}");
        assert_eq!(api.get("/api/config").await.1, config);
    }
}

#[tokio::test]
async fn explicit_null_clears_and_unknown_keys_are_ignored() {
    let cd = ConfigDir::demo();
    cd.edit_app_yaml(|d| d["map"]["default_zoom"] = json!(4));
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let (status, answer) = api
        .put(
            "/api/config",
            &json!({"map": {"default_zoom": null}, "not_a_section": {"x": 1},
                    "features": {"no_such_flag": true}}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["map"]["default_zoom"], Value::Null);
    assert!(answer.get("not_a_section").is_none());
    assert!(answer["features"].get("no_such_flag").is_none());
    let file = cd.read_app_yaml();
    assert_eq!(file["map"]["default_zoom"], Value::Null);
    assert!(file.get("not_a_section").is_none());
    assert!(file["features"].get("no_such_flag").is_none());
}
