//! The whole API fuzzed from its own document: `schemathesis run` (installed by
//! `scripts/python-tools.sh`) against the real server with the demo config, both seed
//! plugins, a real Prometheus scraping the Simulator, and auth on (with a token, so the
//! auth checks mean something). It must find no 5xx, no status the document does not
//! list, no answer that breaks its schema, no route that ignores the token. Bounded in
//! time (`--max-time`), about two and a half minutes in all.
//!
//! Two runs, because some routes reconfigure the server: the first leaves out
//! `PUT /api/config`, the credential changes (which can turn auth off or rename the user)
//! and plugin configs; the second fuzzes only those, without the checks that assume auth
//! stays on. Left out of both: `GET /api/logs/stream`, an event stream that lasts 10
//! minutes per request. Also left out: `negative_data_rejection` and
//! `positive_data_acceptance`, which hold the server to the schema's strictness: it
//! accepts the reference's lax spellings (`"3"` for 3, compatibility C1) and business
//! rules refuse some schema-valid requests (an unknown rack id), both on purpose.
//!
//! `RACKSCOPE_FUZZ_SEED=<n>` replays a run with the seed it printed.
//!
//! Below, what the fuzzer found, pinned as plain tests.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::openapi::{demo_with_plugins, python_tools, slurm_ready};
use support::prometheus::RealPrometheus;
use support::server::{Api, ConfigDir, TestServer};

const PASSWORD: &str = "fuzz-password-1";

/// Routes that change how the server is configured: they can end the session they are
/// fuzzed with (turn auth off, rename the user), and a random plugin config can take a
/// plugin's resources away (its scrape port, its Prometheus query) from the routes
/// fuzzed after it. Fuzzed last, in a run of their own.
const RECONFIGURING: [&str; 4] = [
    "/api/config",
    "/api/auth/change-password",
    "/api/auth/change-username",
    "/api/plugins/{id}/config",
];

/// Runs schemathesis with `args`; panics with its report (and the server's log) unless
/// it finds nothing. Killed after `limit`.
fn schemathesis(server: &TestServer, token: &str, args: &[&str], limit: Duration) {
    let bin = python_tools();
    let mut cmd = Command::new(bin.join("schemathesis"));
    cmd.arg("run")
        .arg(server.url("/api/openapi.json"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--workers", "2", "--request-timeout", "20"])
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    if let Ok(seed) = std::env::var("RACKSCOPE_FUZZ_SEED") {
        cmd.args(["--seed", &seed]);
    }
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.txt");
    let out = std::fs::File::create(&out_path).unwrap();
    cmd.current_dir(dir.path())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    let mut child = cmd.spawn().expect("start schemathesis");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = std::fs::read_to_string(&out_path).unwrap_or_default();
    let tail = |text: &str, n: usize| {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    };
    match status {
        Some(s) if s.success() => {}
        Some(_) => panic!(
            "schemathesis found problems:\n{}\n--- server log (tail) ---\n{}",
            tail(&report, 250),
            tail(&server.log(), 40)
        ),
        None => panic!("schemathesis ran past {limit:?}:\n{}", tail(&report, 80)),
    }
}

#[tokio::test]
async fn schemathesis_finds_nothing_to_report() {
    let (cd, listen) = demo_with_plugins();
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    cd.edit_app_yaml(|d| {
        d["auth"]["enabled"] = json!(true);
        d["auth"]["password_hash"] = json!(hash);
    });
    let prom = RealPrometheus::start(&[listen]);
    let server = TestServer::start_with_env(&cd.app_yaml(), &[("PROMETHEUS_URL", &prom.url())]);
    let mut api = Api::new(&server);
    let (s, login) = api
        .post(
            "/api/auth/login",
            &json!({"username": "admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 200, "{login}");
    let token = login["access_token"].as_str().unwrap().to_string();
    api.token = Some(token.clone());
    // Fuzz a working server: Slurm answers once Prometheus scraped the Simulator.
    slurm_ready(&api).await;

    let flag = |flag: &str| -> Vec<String> {
        RECONFIGURING
            .iter()
            .flat_map(|p| [flag.to_string(), p.to_string()])
            .collect()
    };
    let (excluded, included) = (flag("--exclude-path"), flag("--include-path"));
    let mut first: Vec<&str> = vec![
        "--exclude-path",
        "/api/logs/stream",
        "--checks",
        "all",
        "--exclude-checks",
        "negative_data_rejection,positive_data_acceptance",
        "--max-time",
        "90",
    ];
    first.extend(excluded.iter().map(String::as_str));
    schemathesis(&server, &token, &first, Duration::from_secs(150));

    let mut second: Vec<&str> = vec![
        "--checks",
        "all",
        "--exclude-checks",
        "negative_data_rejection,positive_data_acceptance,ignored_auth,missing_required_header",
        "--max-time",
        "30",
    ];
    second.extend(included.iter().map(String::as_str));
    schemathesis(&server, &token, &second, Duration::from_secs(90));
    drop(prom);
}

// ---------------------------------------------------------------------------------------
// What the fuzzer found
// ---------------------------------------------------------------------------------------

/// `PUT /api/config` with settings for `plugins.<folder>` writes them to
/// `<config dir>/plugins/<folder>/config.yml`: a folder named `../../x` wrote outside the
/// config folder, and one with control characters was a 500. Now both are a 422 that
/// writes nothing.
#[tokio::test]
async fn plugin_settings_under_an_unsafe_folder_name_are_refused() {
    let cd = ConfigDir::demo();
    let server = TestServer::start(&cd.app_yaml());
    let api = Api::new(&server);
    let before = std::fs::read_to_string(cd.app_yaml()).unwrap();
    for folder in ["../../evil", "a/b", "bad\u{1}name", ".."] {
        let (status, body) = api
            .put("/api/config", &json!({"plugins": {folder: {"x": 1}}}))
            .await;
        assert_eq!(status, 422, "{folder}: {body}");
        assert_eq!(body["detail"][0]["loc"], json!(["body", "plugins", folder]));
        assert_eq!(body["detail"][0]["type"], "value_error");
    }
    assert!(!cd.root().join("evil").exists());
    assert!(!cd.root().join("config/plugins/a").exists());
    assert_eq!(std::fs::read_to_string(cd.app_yaml()).unwrap(), before);
    // A safe name still takes settings (written to its own file).
    let (status, body) = api
        .put("/api/config", &json!({"plugins": {"later": {"x": 1}}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let written: Value = serde_norway::from_str(
        &std::fs::read_to_string(cd.root().join("config/plugins/later/config.yml")).unwrap(),
    )
    .unwrap();
    assert_eq!(written, json!({"x": 1}));
}
