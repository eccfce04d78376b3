//! The API document in tests: finding the operation a request reaches, validating an
//! answer against the schema of its status (the `jsonschema` crate, draft 2020-12, with
//! the document's components to resolve `$ref`s), and the Python tools
//! (`scripts/python-tools.sh`: openapi-spec-validator, schemathesis). Also a private copy
//! of the demo config with both seed plugins running, for tests that call every route.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use super::server::{copy_dir, free_port, project_root, Api, ConfigDir};
use super::wait::until;

/// The HTTP methods an OpenAPI path item may hold.
pub const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Closes every object schema that lists its `properties` and says nothing of others
/// (`additionalProperties: false`), so that an answer with a field the document does not
/// describe fails: the document must say everything an answer holds. Schemas composed
/// with `allOf` are left open (closing a part would refuse the other parts' fields).
fn closed(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("properties")
                && !m.contains_key("additionalProperties")
                && !m.contains_key("allOf")
            {
                m.insert("additionalProperties".into(), Value::Bool(false));
            }
            m.values_mut().for_each(closed);
        }
        Value::Array(a) => a.iter_mut().for_each(closed),
        _ => {}
    }
}

/// A parsed `/api/openapi.json`.
pub struct Doc {
    pub doc: Value,
}

/// One operation of the document: its path template and method.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpKey {
    pub method: String,
    pub path: String,
}

impl std::fmt::Display for OpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method.to_uppercase(), self.path)
    }
}

impl Doc {
    pub fn new(doc: Value) -> Doc {
        Doc { doc }
    }

    /// Every operation, in document order.
    pub fn operations(&self) -> Vec<OpKey> {
        let mut out = Vec::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for m in METHODS {
                if item.get(m).is_some() {
                    out.push(OpKey {
                        method: m.to_string(),
                        path: path.clone(),
                    });
                }
            }
        }
        out
    }

    pub fn op(&self, key: &OpKey) -> &Value {
        &self.doc["paths"][&key.path][&key.method]
    }

    /// The operation `method path` reaches (the query string is ignored): of the templates
    /// that match, the one with the fewest parameters (literal segments win, as in the
    /// router).
    pub fn find(&self, method: &str, path: &str) -> Option<OpKey> {
        let path = path.split('?').next().unwrap_or(path);
        let method = method.to_ascii_lowercase();
        let parts: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, OpKey)> = None;
        for (template, item) in self.doc["paths"].as_object()? {
            if item.get(&method).is_none() {
                continue;
            }
            let t: Vec<&str> = template.split('/').collect();
            // `/api/metrics/library/files/{name}` takes sub-folders too (`{*name}`).
            let catch_all = template == "/api/metrics/library/files/{name}";
            let fits = if catch_all {
                parts.len() >= t.len() && t[..t.len() - 1] == parts[..t.len() - 1]
            } else {
                t.len() == parts.len()
                    && t.iter().zip(&parts).all(|(a, b)| {
                        (a.starts_with('{') && a.ends_with('}') && !b.is_empty()) || a == b
                    })
            };
            if fits {
                let params = t.iter().filter(|s| s.starts_with('{')).count();
                if best.as_ref().is_none_or(|(n, _)| params < *n) {
                    best = Some((
                        params,
                        OpKey {
                            method: method.clone(),
                            path: template.clone(),
                        },
                    ));
                }
            }
        }
        best.map(|(_, k)| k)
    }

    /// The schema of the JSON answer `status` of `key`: `Err` when the status is not
    /// documented, `Ok(None)` when that answer has no JSON body.
    pub fn answer_schema(&self, key: &OpKey, status: u16) -> Result<Option<Value>, String> {
        let responses = &self.op(key)["responses"];
        let answer = responses
            .get(status.to_string())
            .or_else(|| responses.get(format!("{}XX", status / 100)))
            .or_else(|| responses.get("default"))
            .ok_or_else(|| {
                format!(
                    "{key} answered {status}, which the document does not list (it lists {:?})",
                    responses.as_object().map(|m| m.keys().collect::<Vec<_>>())
                )
            })?;
        Ok(answer["content"]["application/json"]["schema"]
            .as_object()
            .map(|_| answer["content"]["application/json"]["schema"].clone()))
    }

    /// Checks `body` against `schema` (which may use the document's `$ref`s), every object
    /// schema closed ([`closed`]); the errors.
    pub fn check(&self, schema: &Value, body: &Value) -> Vec<String> {
        let mut root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": "#/x-target",
            "components": self.doc["components"],
            "x-target": schema,
        });
        closed(&mut root);
        let validator = match jsonschema::validator_for(&root) {
            Ok(v) => v,
            Err(e) => return vec![format!("the schema does not compile: {e}")],
        };
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Checks the answer `status`/`body` of `method path`: the status is documented and
    /// the body fits its schema. The problems, each naming the request.
    pub fn check_answer(&self, method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
        let Some(key) = self.find(method, path) else {
            return vec![format!(
                "{method} {path}: no operation of the document matches"
            )];
        };
        match self.answer_schema(&key, status) {
            Err(e) => vec![format!("{method} {path}: {e}")],
            Ok(None) => Vec::new(),
            Ok(Some(schema)) => self
                .check(&schema, body)
                .into_iter()
                .map(|e| {
                    format!(
                        "{method} {path} -> {status}: {e}\n  body: {}",
                        cut(&body.to_string(), 600)
                    )
                })
                .collect(),
        }
    }

    /// The example request body of `key`, when the document gives one (on the media type
    /// or inside its schema).
    pub fn body_example(&self, key: &OpKey) -> Option<Value> {
        let media = &self.op(key)["requestBody"]["content"]["application/json"];
        media
            .get("example")
            .or_else(|| media["schema"].get("example"))
            .cloned()
            .or_else(|| {
                // A `$ref`'d schema: its example is on the component.
                let r = media["schema"]["$ref"].as_str()?;
                let name = r.rsplit('/').next()?;
                self.doc["components"]["schemas"][name]
                    .get("example")
                    .cloned()
            })
    }
}

/// `text`, cut to `n` characters.
pub fn cut(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(n).collect::<String>())
    }
}

/// The venv's bin folder with openapi-spec-validator and schemathesis, installing them
/// the first time (`scripts/python-tools.sh`, which the CI's `scripts/test.sh` also runs).
pub fn python_tools() -> PathBuf {
    let out = Command::new("bash")
        .arg(project_root().join("scripts/python-tools.sh"))
        .output()
        .expect("run scripts/python-tools.sh");
    assert!(
        out.status.success(),
        "scripts/python-tools.sh failed (it needs python3 with venv and PyPI on the first run):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The demo config with both seed plugins (the Simulator on a free scrape port, ticking
/// every 2 s, with a fresh overrides file; the Slurm plugin), and the Simulator's listen
/// address, for a Prometheus to scrape.
pub fn demo_with_plugins() -> (ConfigDir, String) {
    let cd = ConfigDir::demo();
    for p in ["simulator", "slurm"] {
        copy_dir(
            &project_root().join("plugins").join(p),
            &cd.root().join("plugins").join(p),
        );
    }
    let sim = cd.root().join("config/plugins/simulator");
    let _ = fs::remove_dir_all(sim.join("state"));
    fs::write(sim.join("overrides/overrides.yaml"), "overrides: []\n").unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let plugin_yaml = sim.join("config/plugin.yaml");
    let text = fs::read_to_string(&plugin_yaml).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("listen:") && !l.starts_with("update_interval_seconds:"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(
        &plugin_yaml,
        format!("listen: {listen}\nupdate_interval_seconds: 2\n{text}"),
    )
    .unwrap();
    cd.edit_app_yaml(|d| {
        d["plugins"] = json!({"simulator": {"enabled": true}, "slurm": {"enabled": true}});
    });
    (cd, listen)
}

/// Waits until the Slurm plugin answers with nodes: Prometheus has scraped the Simulator.
pub async fn slurm_ready(api: &Api) {
    until("Slurm node states from Prometheus", 90, || async {
        let (s, b) = api.get("/api/slurm/summary").await;
        if s == 200 && b["total_nodes"].as_u64().unwrap_or(0) > 0 {
            Ok(())
        } else {
            Err(format!("{s} {b}"))
        }
    })
    .await;
}
