//! The API document (`GET /api/openapi.json`) stays honest:
//! - it validates as OpenAPI 3.1 (openapi-spec-validator), with both seed plugins' routes;
//! - the core router serves exactly the routes it lists (paths read from the router
//!   itself, methods from its 405s), and the plugin routes it lists are those of the
//!   published plugin set, through reloads, a refused description and a disabled plugin;
//! - every example answer of the contract (`../shared/spec/api-reference.md`) and every
//!   request example of the document fits its schema;
//! - every answer of a run that calls each core and seed-plugin route (successes and
//!   errors, with auth off then on) has a documented status and fits its schema, with
//!   no field the schema does not describe;
//! - the document and its page are public, work offline, and nothing else is.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::process::Command;
use std::time::Duration;

use rackscope::app::App;
use rackscope::http::openapi;
use rackscope::state::AppState;
use serde_json::{json, Value};
use support::openapi::{cut, demo_with_plugins, python_tools, slurm_ready, Doc, OpKey};
use support::prometheus::RealPrometheus;
use support::server::{Api, ConfigDir, TestServer};
use support::wait::until;

/// `path` with every `{param}` (and `{*param}`) replaced by `value`.
fn with_params(path: &str, value: &str) -> String {
    static PARAM: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\{\*?[a-z_]+\}").unwrap());
    PARAM.replace_all(path, value).into_owned()
}

async fn fetch_doc(base: &str) -> Doc {
    let doc: Value = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Doc::new(doc)
}

// ---------------------------------------------------------------------------------------
// Valid OpenAPI 3.1, examples included
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_document_is_valid_openapi_3_1_with_the_seed_plugins_routes() {
    let bin = python_tools();
    let (cd, _listen) = demo_with_plugins();
    let server = TestServer::start(&cd.app_yaml());
    let base = format!("http://{}", server.addr);
    let doc = until("both plugins in the document", 60, || async {
        let d = fetch_doc(&base).await;
        let tags: Vec<String> = d.doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        if tags.contains(&"simulator".into()) && tags.contains(&"workload-slurm".into()) {
            Ok(d)
        } else {
            Err(format!("tags {tags:?}"))
        }
    })
    .await;
    assert_eq!(doc.doc["openapi"], "3.1.0");
    let file = cd.root().join("openapi.json");
    fs::write(&file, serde_json::to_vec_pretty(&doc.doc).unwrap()).unwrap();
    let out = Command::new(bin.join("openapi-spec-validator"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Operation ids are unique; every seed-plugin route is described with its answers.
    let mut ids = BTreeSet::new();
    for key in doc.operations() {
        let op = doc.op(&key);
        let id = op["operationId"].as_str().unwrap().to_string();
        assert!(ids.insert(id.clone()), "operationId {id} twice");
        let tag = op["tags"][0].as_str().unwrap();
        if tag == "simulator" || tag == "workload-slurm" {
            assert!(op["summary"].is_string(), "{key} has no summary");
            let ok = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(s, _)| s.starts_with('2'))
                .unwrap()
                .1;
            assert!(
                ok["content"]["application/json"]["schema"]["type"] == "object",
                "{key}: its answer has no schema"
            );
            for status in ["404", "415", "422", "500", "503", "504"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{key} lacks {status}"
                );
            }
        }
    }
    // The fallback routes of the Simulator are described too (one description each).
    let restart = doc.op(&OpKey {
        method: "post".into(),
        path: "/api/simulator/restart".into(),
    });
    assert_eq!(restart["summary"], "Restart the simulator");

    // Every request example fits the body's schema.
    let mut examples = 0;
    for key in doc.operations() {
        if let Some(example) = doc.body_example(&key) {
            examples += 1;
            let schema = &doc.op(&key)["requestBody"]["content"]["application/json"]["schema"];
            let errors = doc.check(schema, &example);
            assert!(
                errors.is_empty(),
                "{key}: its example does not fit: {errors:?}"
            );
        } else if doc.op(&key).get("requestBody").is_some() {
            panic!("{key} takes a body but gives no example");
        }
    }
    assert!(examples >= 12, "only {examples} request examples");
}

// ---------------------------------------------------------------------------------------
// The core router and the document list the same routes
// ---------------------------------------------------------------------------------------

/// Every path the router has: read from its `Debug` form (axum prints the path of every
/// route id), so the list comes from the router, not from a list kept beside it.
fn router_paths(router: &axum::Router<App>) -> BTreeSet<String> {
    let text = format!("{router:?}");
    // The routes proper, not those of the fallback router that follows them.
    let text = text.split("fallback_router").next().unwrap_or_default();
    let re = regex::Regex::new(r#"RouteId\(\d+\): "([^"]+)""#).unwrap();
    let paths: BTreeSet<String> = re.captures_iter(text).map(|c| c[1].to_string()).collect();
    assert!(
        paths.len() > 20,
        "axum's Debug output no longer lists the routes' paths; update router_paths: {}",
        cut(text, 400)
    );
    paths
}

#[tokio::test]
async fn the_core_router_serves_exactly_the_routes_the_document_lists() {
    let cd = ConfigDir::demo();
    let state = AppState::load(&cd.app_yaml()).unwrap();
    let app = App::new(state, BTreeSet::new());
    let (router, _) = openapi::core_routes().split_for_parts();
    let paths = router_paths(&router);

    // Serve the bare core router (no fallback): a method it lacks is axum's own 405,
    // whose `Allow` lists the methods the path has.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = router.with_state(app);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let mut served = BTreeSet::new();
    for path in &paths {
        let concrete = with_params(path, "x");
        let r = client
            .request(reqwest::Method::TRACE, format!("http://{addr}{concrete}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "TRACE {concrete}");
        let allow = r.headers()["allow"].to_str().unwrap().to_string();
        for m in allow.split(',').map(str::trim).filter(|m| *m != "HEAD") {
            served.insert(OpKey {
                method: m.to_ascii_lowercase(),
                path: path.replace("{*", "{"),
            });
        }
    }
    let doc = Doc::new(openapi::core_document().clone());
    let described: BTreeSet<OpKey> = doc.operations().into_iter().collect();
    let undescribed: Vec<String> = served
        .difference(&described)
        .map(|k| k.to_string())
        .collect();
    let unserved: Vec<String> = described
        .difference(&served)
        .map(|k| k.to_string())
        .collect();
    assert!(
        undescribed.is_empty() && unserved.is_empty(),
        "served but not in the document: {undescribed:?}\nin the document but not served: {unserved:?}"
    );
    assert!(served.len() >= 50, "{} core routes", served.len());
    let put_config = doc.op(&OpKey {
        method: "put".into(),
        path: "/api/config".into(),
    });
    assert_eq!(
        put_config["responses"]["403"]["content"]["application/json"]["schema"]["$ref"],
        openapi::DETAIL
    );

    // Everything behind the auth gate says so; the public routes do not. Every error
    // answer has its body.
    for key in doc.operations() {
        let op = doc.op(&key);
        for (status, answer) in op["responses"].as_object().unwrap() {
            if status.as_str() >= "400" {
                assert!(
                    answer["content"]["application/json"]["schema"].is_object(),
                    "{key} {status} has no body"
                );
            }
        }
        let public = rackscope::auth::gate::is_public(&key.path);
        assert_eq!(
            op.get("security").is_none(),
            public,
            "{key}: security {:?}",
            op.get("security")
        );
        assert_eq!(
            op["responses"].get("401").is_some(),
            !public || key.path == "/api/auth/login"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Plugin routes follow the published plugin set
// ---------------------------------------------------------------------------------------

const PROBE_V1: &str = r#"
return {
  id = "probe", name = "Probe", version = "2.0.0", description = "A plugin for the document's tests",
  setup = function()
    rackscope.route("GET", "/api/probe/items/{item_id}", function(req) return { id = req.params.item_id } end, {
      summary = "One item",
      params = { item_id = { type = "string", pattern = "^[a-z]+$", description = "The item" } },
      query = { verbose = { type = "boolean" }, limit = { type = "integer", minimum = 1, required = true } },
      responses = { [200] = { type = "object", required = { "id" }, properties = { id = { type = "string" } } },
                    [404] = "No such item" },
    })
    rackscope.route("POST", "/api/probe/items", function(req) return 201, req.body end, {
      body = { type = "object", properties = { name = { type = "string" } }, example = { name = "x" } },
      responses = { [201] = { type = "object" } },
    })
    rackscope.route("DELETE", "/api/probe/items/{item_id}", function() return { ok = true } end)
  end,
}
"#;

#[tokio::test]
async fn plugin_routes_follow_the_published_plugin_set() {
    let cd = ConfigDir::demo();
    let dir = cd.root().join("plugins/probe");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("init.lua"), PROBE_V1).unwrap();
    cd.edit_app_yaml(|d| d["plugins"] = json!({"probe": {"enabled": true}}));
    let state = AppState::load(&cd.app_yaml()).unwrap();
    let app = App::new(state, BTreeSet::new());
    app.plugins.reconcile(&app.state, false).await;

    let set = app.plugins.current();
    let bytes = openapi::document(&set);
    assert!(
        std::ptr::eq(bytes.as_ptr(), openapi::document(&set).as_ptr()),
        "the document is encoded once per plugin set"
    );
    let doc = Doc::new(serde_json::from_slice(&bytes).unwrap());
    let plugin_ops = |doc: &Doc| -> BTreeSet<String> {
        doc.operations()
            .into_iter()
            .filter(|k| doc.op(k)["tags"][0] == "probe")
            .map(|k| k.to_string())
            .collect()
    };
    // Exactly the routes the plugin registered, from the set itself.
    let registered: BTreeSet<String> = set
        .slots
        .iter()
        .filter_map(|s| s.serving())
        .flat_map(|h| h.routes.iter())
        .map(|r| format!("{} {}", r.method, r.pattern.as_str()))
        .collect();
    assert_eq!(plugin_ops(&doc), registered);
    let get = doc.op(&OpKey {
        method: "get".into(),
        path: "/api/probe/items/{item_id}".into(),
    });
    assert_eq!(get["summary"], "One item");
    let params = get["parameters"].as_array().unwrap();
    assert_eq!(params[0]["name"], "item_id");
    assert_eq!(params[0]["in"], "path");
    assert_eq!(params[0]["required"], true);
    assert_eq!(params[0]["schema"]["pattern"], "^[a-z]+$");
    assert_eq!(params[0]["description"], "The item");
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(
        (&limit["in"], &limit["required"]),
        (&json!("query"), &json!(true))
    );
    assert_eq!(get["responses"]["404"]["description"], "No such item");
    assert_eq!(
        get["responses"]["404"]["content"]["application/json"]["schema"]["$ref"],
        openapi::PLUGIN_ERROR
    );
    for status in ["401", "404", "413", "415", "422", "500", "503", "504"] {
        assert!(get["responses"].get(status).is_some(), "GET lacks {status}");
    }
    assert!(
        get["responses"].get("403").is_none(),
        "a read passes no admin check"
    );
    assert_eq!(get["security"], json!([{"bearer": []}]));
    let post = doc.op(&OpKey {
        method: "post".into(),
        path: "/api/probe/items".into(),
    });
    assert_eq!(post["requestBody"]["required"], true);
    assert!(post["responses"].get("403").is_some());
    assert!(post["responses"].get("201").is_some());
    assert!(post["responses"].get("200").is_none());
    // An undescribed route: path parameters from its pattern, any JSON answer.
    let delete = doc.op(&OpKey {
        method: "delete".into(),
        path: "/api/probe/items/{item_id}".into(),
    });
    assert_eq!(delete["parameters"][0]["schema"], json!({"type": "string"}));
    assert!(delete["description"]
        .as_str()
        .unwrap()
        .contains("does not describe it"));
    let tag = doc.doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "probe")
        .unwrap();
    assert!(tag["description"]
        .as_str()
        .unwrap()
        .contains("A plugin for the document's tests"));

    // A reload that adds a route publishes a set whose document has it; the old set's
    // document is untouched.
    let v2 = PROBE_V1.replace(
        "  end,\n}",
        "    rackscope.route(\"GET\", \"/api/probe/count\", function() return 3 end, { summary = \"How many\" })\n  end,\n}",
    );
    fs::write(dir.join("init.lua"), &v2).unwrap();
    app.plugins.reload(&app.state, "probe").await;
    let set2 = app.plugins.current();
    assert!(!std::sync::Arc::ptr_eq(&set, &set2));
    let doc2 = Doc::new(serde_json::from_slice(&openapi::document(&set2)).unwrap());
    assert!(plugin_ops(&doc2).contains("GET /api/probe/count"));
    assert!(!plugin_ops(&doc).contains("GET /api/probe/count"));

    // A malformed description is a load error naming the route; the old instance keeps
    // serving, and the document keeps its routes.
    let broken = v2.replace("{ summary = \"How many\" }", "{ summary = \"How many\", responses = { [200] = { type = \"number\", minimum = \"0\" } } }");
    fs::write(dir.join("init.lua"), &broken).unwrap();
    app.plugins.reload(&app.state, "probe").await;
    let set3 = app.plugins.current();
    let slot = set3.slot("probe").unwrap();
    let error = slot.error.clone().unwrap_or_default();
    assert!(
        error.contains("bad argument #4 to 'rackscope.route' (GET /api/probe/count: responses[200].minimum: number expected, got string)"),
        "{error}"
    );
    assert!(error.contains("init.lua:"), "{error}");
    let doc3 = Doc::new(serde_json::from_slice(&openapi::document(&set3)).unwrap());
    assert_eq!(plugin_ops(&doc3), plugin_ops(&doc2));

    // Disabled: its routes leave the document.
    cd.edit_app_yaml(|d| d["plugins"] = json!({"probe": {"enabled": false}}));
    app.reload_from_disk(false).await.unwrap();
    let doc4 =
        Doc::new(serde_json::from_slice(&openapi::document(&app.plugins.current())).unwrap());
    assert!(plugin_ops(&doc4).is_empty());
    assert!(doc4.doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["name"] != "probe"));
    app.plugins.shutdown_all().await;
}

// ---------------------------------------------------------------------------------------
// The contract's examples
// ---------------------------------------------------------------------------------------

/// One example of the contract: the request line above it, and whether it is a request
/// body or an answer.
#[derive(Debug)]
struct Example {
    method: String,
    path: String,
    request: bool,
    value: Value,
    line: usize,
}

/// Every JSON example of the contract, with the request line it belongs to. A block that
/// looks like JSON but does not parse is returned in the second list.
fn contract_examples(text: &str) -> (Vec<Example>, Vec<(usize, String)>) {
    let request_line = regex::Regex::new(r"^(GET|POST|PUT|DELETE|PATCH) (/\S+)$").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (mut out, mut broken) = (Vec::new(), Vec::new());
    let mut current: Option<(String, String)> = None;
    let mut request = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(c) = request_line.captures(line) {
            let path = c[2].replace(['\\'], "");
            current = Some((c[1].to_string(), path));
            request = false;
        } else if line.starts_with("Content-Type: application/json")
            || line.starts_with("Request body")
        {
            request = true;
        } else if line == "Response" || line.starts_with("Returns the") {
            request = false;
        } else if line.starts_with('{') || line == "[" || line.starts_with("[{") {
            let mut text = String::new();
            let mut parsed = None;
            let mut seen = String::new();
            for (j, l) in lines.iter().enumerate().skip(i).take(80) {
                text.push_str(l);
                text.push('\n');
                if seen.len() < 200 {
                    seen.push_str(l.trim());
                }
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    parsed = Some((v, j));
                    break;
                }
            }
            match (parsed, &current) {
                (Some((value, end)), Some((method, path))) => {
                    out.push(Example {
                        method: method.clone(),
                        path: path.clone(),
                        request,
                        value,
                        line: i + 1,
                    });
                    i = end;
                }
                _ => broken.push((i + 1, seen)),
            }
        }
        i += 1;
    }
    (out, broken)
}

#[tokio::test]
async fn the_contract_examples_fit_the_document() {
    let path = support::server::shared_dir().join("spec/api-reference.md");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the contract is missing: expected it in ../shared/spec/api-reference.md next to the project, or under RACKSCOPE_SHARED ({}): {e}",
            path.display()
        )
    });
    let (examples, broken) = contract_examples(&text);
    // The catalog's example elides its list (`"metrics": [...]`): not JSON.
    let broken: Vec<_> = broken
        .into_iter()
        .filter(|(_, l)| !l.contains("\"metrics\": [...]"))
        .collect();
    assert!(broken.is_empty(), "examples that do not parse: {broken:?}");

    // The document with both seed plugins, as the server publishes it.
    let (cd, _listen) = demo_with_plugins();
    let server = TestServer::start(&cd.app_yaml());
    let base = format!("http://{}", server.addr);
    let doc = until("the plugins' routes", 60, || async {
        let d = fetch_doc(&base).await;
        if d.find("get", "/api/slurm/summary").is_some()
            && d.find("get", "/api/simulator/status").is_some()
        {
            Ok(d)
        } else {
            Err("not yet".into())
        }
    })
    .await;
    let mut problems = Vec::new();
    let mut answers = 0;
    for e in &examples {
        let Some(key) = doc.find(&e.method, &e.path) else {
            problems.push(format!(
                "line {}: {} {} is not in the document",
                e.line, e.method, e.path
            ));
            continue;
        };
        let schema = if e.request {
            doc.op(&key)["requestBody"]["content"]["application/json"]["schema"].clone()
        } else {
            answers += 1;
            let ok = doc.op(&key)["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(s, _)| s.starts_with('2'))
                .map(|(_, r)| r["content"]["application/json"]["schema"].clone())
                .unwrap_or(Value::Null);
            ok
        };
        if schema.is_null() {
            problems.push(format!(
                "line {}: {key} has no schema for this example",
                e.line
            ));
            continue;
        }
        for err in doc.check(&schema, &e.value) {
            problems.push(format!(
                "line {} ({key}, {}): {err}",
                e.line,
                if e.request { "request" } else { "answer" }
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(answers >= 18, "only {answers} answer examples found");
    assert!(
        examples.iter().any(|e| e.request),
        "no request example found"
    );
}

// ---------------------------------------------------------------------------------------
// Every answer of a run of every route fits its schema
// ---------------------------------------------------------------------------------------

enum Body {
    None,
    Json(Value),
    Raw(&'static str, &'static str),
}

/// Sends requests and checks each answer against the document; records which operations
/// were called. `OPENAPI_TRACE=1` prints each request with its status.
struct Checker {
    doc: Doc,
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    problems: Vec<String>,
    calls: BTreeMap<OpKey, usize>,
}

impl Checker {
    async fn call(&mut self, method: &str, path: &str, body: Body) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(m, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(kind, text) => req.header("content-type", kind).body(text),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        // Calls that pass the gate (its 401s say `WWW-Authenticate`) count as calls of
        // the route.
        let gated = resp.headers().contains_key("www-authenticate");
        if std::env::var("OPENAPI_TRACE").is_ok() {
            eprintln!("TRACE {method} {path} -> {status}");
        }
        if let (Some(key), false) = (self.doc.find(method, path), gated) {
            *self.calls.entry(key).or_default() += 1;
        }
        if kind.starts_with("text/event-stream") {
            // A stream: its headers are the answer (the body would go on for minutes).
            drop(resp);
            self.expect_status(method, path, status);
            return (status, Value::Null);
        }
        let text = resp.text().await.unwrap_or_default();
        if kind.starts_with("application/json") {
            let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
                self.problems.push(format!(
                    "{method} {path} -> {status}: not JSON ({e}): {}",
                    cut(&text, 200)
                ));
                Value::Null
            });
            let found = self.doc.check_answer(method, path, status, &value);
            self.problems.extend(found);
            (status, value)
        } else {
            if status != 204 && !(status == 200 && path.starts_with("/api/docs")) {
                self.problems.push(format!(
                    "{method} {path} -> {status}: content type {kind:?}"
                ));
            }
            self.expect_status(method, path, status);
            (status, Value::String(text))
        }
    }

    fn expect_status(&mut self, method: &str, path: &str, status: u16) {
        match self.doc.find(method, path) {
            Some(key) => {
                if let Err(e) = self.doc.answer_schema(&key, status) {
                    self.problems.push(format!("{method} {path}: {e}"));
                }
            }
            None => self
                .problems
                .push(format!("{method} {path}: not in the document")),
        }
    }

    async fn get(&mut self, path: &str) -> (u16, Value) {
        self.call("GET", path, Body::None).await
    }
}

/// Ids of the demo topology and libraries that the routes can be called with.
struct Ids {
    room: String,
    rack: String,
    device: String,
    instance: String,
    metric: String,
    check_file: String,
    metric_file: String,
    slurm_metric: String,
}

async fn discover(c: &mut Checker) -> Ids {
    let (_, rooms) = c.get("/api/rooms").await;
    let room = rooms[0]["id"].as_str().unwrap().to_string();
    let rack = rooms[0]["aisles"][0]["racks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, r) = c.get(&format!("/api/racks/{rack}")).await;
    let device = r["devices"][0]["id"].as_str().unwrap().to_string();
    let (_, state) = c.get(&format!("/api/racks/{rack}/state")).await;
    let instance = state["nodes"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let (_, lib) = c.get("/api/metrics/library").await;
    let metric = lib["metrics"][0]["id"].as_str().unwrap().to_string();
    let (_, files) = c.get("/api/checks/files").await;
    let check_file = files["files"][0]["name"].as_str().unwrap().to_string();
    let (_, files) = c.get("/api/metrics/library/files").await;
    let metric_file = files["files"][0]["name"].as_str().unwrap().to_string();
    let (_, cat) = c.get("/api/slurm/metrics/catalog").await;
    let slurm_metric = cat["metrics"][0]["id"].as_str().unwrap().to_string();
    Ids {
        room,
        rack,
        device,
        instance,
        metric,
        check_file,
        metric_file,
        slurm_metric,
    }
}

/// Operations called last, in this order: they restart things, change the config or the
/// credentials.
const LAST: [&str; 8] = [
    "delete /api/logs",
    "post /api/simulator/restart",
    "post /api/system/restart",
    "put /api/config",
    "post /api/plugins/{id}/config",
    "post /api/auth/change-password",
    "post /api/auth/change-username",
    "post /api/auth/login",
];

impl Checker {
    /// `template` with its parameters filled for a good request; may create what it names.
    async fn fill(&mut self, ids: &Ids, key: &OpKey) -> String {
        let mut path = key.path.clone();
        let simple = [
            ("{room_id}", ids.room.as_str()),
            ("{rack_id}", ids.rack.as_str()),
            ("{device_id}", ids.device.as_str()),
            ("{metric_id}", ids.metric.as_str()),
            ("{file}", "swagger-ui.css"),
        ];
        for (p, v) in simple {
            path = path.replace(p, v);
        }
        if path.starts_with("/api/checks/files/") {
            path = path.replace("{name}", &ids.check_file);
        }
        if path.starts_with("/api/metrics/library/files/") {
            path = path.replace("{name}", &ids.metric_file);
        }
        if path.starts_with("/api/plugins/") {
            path = path.replace("{id}", "simulator");
        }
        if path.contains("/api/maintenances/{id}") {
            let (_, m) = self
                .call(
                    "POST",
                    "/api/maintenances",
                    Body::Json(
                        json!({"target_type": "rack", "target_id": ids.rack, "reason": "test"}),
                    ),
                )
                .await;
            let id = m["id"].as_str().unwrap().to_string();
            if path.ends_with("/reactivate") {
                self.call("POST", &format!("/api/maintenances/{id}/stop"), Body::None)
                    .await;
            }
            path = path.replace("{id}", &id);
        }
        if path.contains("{override_id}") {
            self.call(
                "POST",
                "/api/simulator/overrides",
                Body::Json(json!({"rack_id": ids.rack, "metric": "pdu_active_power", "value": 100, "id": "to-delete"})),
            )
            .await;
            path = path.replace("{override_id}", "to-delete");
        }
        // Required and useful query parameters.
        let query = match key.path.as_str() {
            "/api/metrics/data" => format!(
                "?metric_id={}&target_id={}&time_range=1h",
                ids.metric, ids.instance
            ),
            "/api/slurm/metrics/data" => format!("?metric_id={}", ids.slurm_metric),
            "/api/slurm/summary" | "/api/slurm/nodes" | "/api/slurm/partitions" => {
                format!("?room_id={}", ids.room)
            }
            "/api/racks/{rack_id}/state" => "?include_metrics=true".into(),
            "/api/logs" => "?n=5".into(),
            _ => String::new(),
        };
        format!("{path}{query}")
    }
}

#[tokio::test]
async fn every_answer_of_a_run_of_every_route_fits_its_schema() {
    let (cd, listen) = demo_with_plugins();
    let prom = RealPrometheus::start(&[listen]);
    let server = TestServer::start_with_env(&cd.app_yaml(), &[("PROMETHEUS_URL", &prom.url())]);
    let base = format!("http://{}", server.addr);
    let api = Api::new(&server);
    slurm_ready(&api).await;
    let doc = fetch_doc(&base).await;
    let mut c = Checker {
        doc,
        client: reqwest::Client::new(),
        base: base.clone(),
        token: None,
        problems: Vec::new(),
        calls: BTreeMap::new(),
    };
    // The checker is not vacuous: a wrong answer, an undocumented status are reported.
    assert!(!c
        .doc
        .check_answer("GET", "/api/system/status", 200, &json!({"status": 1}))
        .is_empty());
    assert!(!c
        .doc
        .check_answer(
            "GET",
            "/api/simulator/status",
            200,
            &json!({"running": "yes"})
        )
        .is_empty());
    assert!(!c
        .doc
        .check_answer("GET", "/api/sites", 418, &json!({}))
        .is_empty());
    assert!(!c
        .doc
        .check_answer("GET", "/api/rooms/r1/state", 200, &json!({"room_id": "r1"}))
        .is_empty());
    let ids = discover(&mut c).await;
    let ops = c.doc.operations();
    let last = |k: &OpKey| {
        LAST.iter()
            .position(|l| *l == format!("{} {}", k.method, k.path))
    };
    let mut ordered: Vec<OpKey> = ops.iter().filter(|k| last(k).is_none()).cloned().collect();
    let mut deferred: Vec<OpKey> = ops.iter().filter(|k| last(k).is_some()).cloned().collect();
    deferred.sort_by_key(|k| last(k));
    ordered.extend(deferred);

    // Good requests: each operation with real ids and its body example.
    for key in &ordered {
        let path = c.fill(&ids, key).await;
        let body = match c.doc.body_example(key) {
            Some(example) => Body::Json(example),
            None => Body::None,
        };
        let method = key.method.to_uppercase();
        let (status, answer) = c.call(&method, &path, body).await;
        let _ = answer;
        // The run is only worth something if the routes mostly succeed.
        if status >= 500 {
            c.problems
                .push(format!("{method} {path} -> {status} on a good request"));
        }
    }
    // Successes the examples do not reach (they name ids of the contract's demo).
    c.call(
        "POST",
        "/api/simulator/incidents",
        Body::Json(json!({"type": "rack_down", "target_id": ids.rack, "duration": 60})),
    )
    .await;
    c.call(
        "POST",
        "/api/simulator/overrides",
        Body::Json(
            json!({"instance": ids.instance, "metric": "up", "value": 0, "ttl_seconds": 30}),
        ),
    )
    .await;
    c.get("/api/simulator/overrides").await;
    c.call("POST", "/api/maintenances", Body::Json(json!({"target_type": "device", "target_id": ids.instance, "reason": "fan", "effect": "badge"}))).await;
    for path in [
        "/api/alerts/active".to_string(),
        format!("/api/slurm/rooms/{}/nodes", ids.room),
        "/api/slurm/summary".into(),
    ] {
        c.get(&path).await;
    }

    // Error answers: unknown ids, bad bodies, bad queries.
    for key in &ops {
        let method = key.method.to_uppercase();
        if key.path.contains('{') && !key.path.contains("{file}") {
            let path = with_params(&key.path, "nope-nope");
            let body = c
                .doc
                .body_example(key)
                .map(Body::Json)
                .unwrap_or(Body::None);
            c.call(&method, &path, body).await;
        }
        if c.doc.op(key).get("requestBody").is_some()
            && !LAST.contains(&format!("{} {}", key.method, key.path).as_str())
        {
            let path = c.fill(&ids, key).await;
            c.call(
                &method,
                &path,
                Body::Raw("application/json", "{\"unterminated\": "),
            )
            .await;
            c.call(&method, &path, Body::Raw("text/plain", "{}")).await;
            c.call(&method, &path, Body::Json(json!(["not", "an", "object"])))
                .await;
        }
    }
    let bad_reads = [
        "/api/docs/nope.js".to_string(),
        "/api/logs?n=abc".into(),
        format!("/api/racks/{}/state?include_metrics=maybe", ids.rack),
        "/api/metrics/data".into(),
        format!(
            "/api/metrics/data?metric_id={}&target_id=x&time_range=soon",
            ids.metric
        ),
        "/api/metrics/data?metric_id=nope&target_id=x".into(),
        "/api/racks/Not%20Safe/devices/x".into(),
        "/api/checks/files/a..b".into(),
        "/api/slurm/metrics/data".into(),
        "/api/slurm/summary?room_id=nope".into(),
        "/api/auth/me".into(),
    ];
    for path in &bad_reads {
        c.get(path).await;
    }
    c.call(
        "POST",
        "/api/simulator/overrides",
        Body::Json(json!({"instance": ids.instance, "metric": "nope", "value": 1})),
    )
    .await;
    c.call(
        "POST",
        "/api/slurm/mapping",
        Body::Json(json!({"entries": [{"node": 5}]})),
    )
    .await;
    c.call(
        "POST",
        "/api/auth/login",
        Body::Json(json!({"username": "admin"})),
    )
    .await;

    // Auth on: a first password (set above by change-password), then every route without
    // a token, then with one.
    let (s, _) = c
        .call(
            "PUT",
            "/api/config",
            Body::Json(json!({"auth": {"enabled": true}})),
        )
        .await;
    assert_eq!(s, 200, "auth could not be enabled");
    for key in &ops {
        let path = with_params(&key.path, "x");
        let (status, _) = c.call(&key.method.to_uppercase(), &path, Body::None).await;
        let public = rackscope::auth::gate::is_public(&key.path);
        if !public && status != 401 {
            c.problems.push(format!(
                "{key} answered {status} without a token while auth is on"
            ));
        }
    }
    let (s, token) = c
        .call(
            "POST",
            "/api/auth/login",
            Body::Json(json!({"username": "admin", "password": "new-secure-password"})),
        )
        .await;
    assert_eq!(s, 200, "login: {token}");
    c.token = token["access_token"].as_str().map(str::to_string);
    for path in ["/api/auth/me", "/api/config", "/api/plugins"] {
        c.get(path).await;
    }
    c.token = Some("not-a-token".into());
    c.get("/api/sites").await;

    let never: Vec<String> = ops
        .iter()
        .filter(|k| !c.calls.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    assert!(
        never.is_empty(),
        "operations never called past the gate: {never:?}"
    );
    assert!(
        c.problems.is_empty(),
        "{} answers do not fit the document:\n{}\n--- server log (tail) ---\n{}",
        c.problems.len(),
        c.problems.join("\n"),
        tail(&server.log(), 30)
    );
    drop(prom);
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------------------------------
// Public and offline
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_document_and_its_page_are_public_and_work_offline() {
    let cd = ConfigDir::demo();
    let hash = bcrypt::hash("a-password-1", 4).unwrap();
    cd.edit_app_yaml(|d| {
        d["auth"]["enabled"] = json!(true);
        d["auth"]["password_hash"] = json!(hash);
    });
    let server = TestServer::start(&cd.app_yaml());
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(server.url(path)).send();

    let r = get("/api/openapi.json").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["info"]["title"], "rackscope");

    let r = get("/api/docs").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = r.text().await.unwrap();
    // Everything the page loads is served by this server (relative links), and Swagger UI
    // is told not to ask an outside validator.
    let links = regex::Regex::new(r#"(?:src|href)="([^"]+)""#).unwrap();
    let assets: Vec<String> = links
        .captures_iter(&page)
        .map(|c| c[1].to_string())
        .collect();
    assert!(!assets.is_empty());
    for a in &assets {
        assert!(!a.contains("//"), "the page loads {a} from elsewhere");
        let r = get(&format!("/api/{a}")).await.unwrap();
        assert_eq!(r.status(), 200, "{a}");
        assert!(r.bytes().await.unwrap().len() > 1000, "{a} is empty");
    }
    assert!(page.contains("url: \"openapi.json\""));
    assert!(page.contains("validatorUrl: null"));
    let r = get("/api/docs/nope.js").await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Not Found"})
    );
    // Swagger UI's own page and initializer (which would point elsewhere) are not served.
    assert_eq!(get("/api/docs/index.html").await.unwrap().status(), 404);
    assert_eq!(
        get("/api/docs/swagger-initializer.js")
            .await
            .unwrap()
            .status(),
        404
    );

    // Nothing else is public.
    for path in [
        "/api/sites",
        "/api/docsx",
        "/api/openapi.jsonx",
        "/api/config",
    ] {
        assert_eq!(get(path).await.unwrap().status(), 401, "{path}");
    }
    let _ = Duration::from_secs(0);
}
