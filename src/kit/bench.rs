//! A bench: one plugin under test, loaded the way the server loads it, in a config
//! folder of its own, and the server's HTTP application in front of it with no socket.
//!
//! [`Workspace`] writes the folder: an `app.yaml` whose `paths` name the test's topology
//! (a fixture of the plugin's folder, or one the test built), templates and empty
//! libraries, whose `paths.plugins` is the folder the plugin under test sits in, and which
//! enables that plugin alone; and the plugin's config folder next to it, with the files
//! and the config the test gives. [`Bench::open`] loads the running state from it
//! (`AppState::load`), hands it to a [`PluginManager`] made for tests (the test's clock and
//! fakes, instances on the test's thread) and reconciles, exactly as the server starts;
//! requests go through `http::app`, so status, headers, body checks, published answers,
//! 404/405 and time limits are the server's.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use serde_json::{json, Value as Json};
use tower::ServiceExt;

use super::fakes::Fakes;
use crate::app::App;
use crate::config::plugin_file;
use crate::lua::host::{Limits, NoRuntime};
use crate::plugin::load::{self, LoadSpec};
use crate::plugin::{discovery, PluginManager, PluginSlot};
use crate::state::AppState;

/// The plugin a test file belongs to.
#[derive(Debug, Clone)]
pub struct PluginUnderTest {
    /// Its code folder (`init.lua`, `lib/`, `tests/`).
    pub code_dir: PathBuf,
    /// The folder's name: its switch in app.yaml, and `rackscope.plugin.folder`.
    pub folder: String,
}

/// The topology a bench loads.
#[derive(Debug, Clone)]
pub enum Topology {
    /// A file or folder of the plugin's own (a path relative to its code folder).
    Fixture(String),
    /// The single-file form (`{sites = {...}}`), built by the test.
    Inline(Json),
}

/// What a test asks for when it loads its plugin (`testing.plugin(opts)`).
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// The plugin's config file, as a document (written as YAML where the plugin reads it).
    pub config: Option<Json>,
    /// None: an empty topology.
    pub topology: Option<Topology>,
    /// Device templates: a folder of the plugin's own. None: no templates.
    pub templates: Option<String>,
    /// Files of the plugin's config folder: relative path, text.
    pub files: Vec<(String, String)>,
    /// Keys merged into the generated app.yaml (`cache`, `telemetry`, ...).
    pub app: Option<Json>,
    /// `memory_limit_mb`, `instruction_limit`, `request_timeout_seconds` of the plugin.
    pub limits: Option<Json>,
}

/// A config folder written for a test.
pub struct Workspace {
    /// Removed with the workspace.
    _dir: tempfile::TempDir,
    pub app_yaml: PathBuf,
    /// The plugin's config folder (`<dir of app.yaml>/plugins/<folder>`).
    pub config_dir: PathBuf,
}

impl Workspace {
    /// Writes the config folder for `plugin` with `opts`.
    pub fn create(plugin: &PluginUnderTest, opts: &Options) -> Result<Workspace, String> {
        let dir =
            tempfile::tempdir().map_err(|e| format!("cannot create a temporary folder: {e}"))?;
        let root = dir.path();
        let write = |path: &Path, text: &str| -> Result<(), String> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        for sub in ["templates", "checks", "metrics"] {
            std::fs::create_dir_all(root.join(sub))
                .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
        }
        let topology = match &opts.topology {
            Some(Topology::Fixture(rel)) => fixture(plugin, rel, "topology")?,
            Some(Topology::Inline(doc)) => {
                let p = root.join("topology.yaml");
                // JSON is YAML: the loader reads it as the single-file form.
                write(&p, &doc.to_string())?;
                p
            }
            None => {
                let p = root.join("topology.yaml");
                write(&p, "sites: []\n")?;
                p
            }
        };
        let templates = match &opts.templates {
            Some(rel) => fixture(plugin, rel, "templates")?,
            None => root.join("templates"),
        };
        let code_root = plugin
            .code_dir
            .parent()
            .ok_or("the plugin folder has no parent folder")?;
        let mut entry = json!({ "enabled": true });
        if let Some(Json::Object(l)) = &opts.limits {
            for (k, v) in l {
                entry[k] = v.clone();
            }
        }
        let mut app = json!({
            // Never contacted: the test's fake Prometheus answers every query.
            "telemetry": { "prometheus_url": "http://prometheus.test:9090" },
        });
        if let Some(extra) = &opts.app {
            merge(&mut app, extra);
        }
        app["paths"] = json!({
            "topology": topology,
            "templates": templates,
            "checks": root.join("checks"),
            "metrics": root.join("metrics"),
            "plugins": code_root,
        });
        app["plugins"] = json!({ plugin.folder.clone(): entry });
        let app_yaml = root.join("app.yaml");
        write(&app_yaml, &app.to_string())?;
        let config_dir = plugin_file::config_dir(&app_yaml, &plugin.folder);
        std::fs::create_dir_all(&config_dir)
            .map_err(|e| format!("cannot create {}: {e}", config_dir.display()))?;
        for (rel, text) in &opts.files {
            let Some(rel) = plugin_file::safe_relative(rel) else {
                return Err(format!(
                    "files: '{rel}' must be a relative path inside the plugin's config folder"
                ));
            };
            write(&config_dir.join(rel), text)?;
        }
        Ok(Workspace {
            _dir: dir,
            app_yaml,
            config_dir,
        })
    }
}

/// `rel` inside the plugin's code folder, which it may not leave.
fn fixture(plugin: &PluginUnderTest, rel: &str, what: &str) -> Result<PathBuf, String> {
    let inside = Path::new(rel)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let path = plugin.code_dir.join(rel);
    if !inside || !path.exists() {
        return Err(format!(
            "{what}: '{rel}' is not a file or folder of the plugin (paths are relative to its folder)"
        ));
    }
    Ok(path)
}

/// Deep-merges `extra` into `base` (objects key by key, anything else replaced).
fn merge(base: &mut Json, extra: &Json) {
    match (base, extra) {
        (Json::Object(b), Json::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
        (b, e) => *b = e.clone(),
    }
}

/// One plugin under test, loaded, and the server's HTTP application in front of it.
pub struct Bench {
    pub workspace: Workspace,
    pub app: App,
    pub folder: String,
    router: axum::Router,
}

/// An answer, as a client reads it.
pub struct Answer {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: bytes::Bytes,
}

impl Bench {
    /// Writes the workspace, loads the state and the plugin as the server starts. A
    /// plugin that fails to load still gives a bench (its slot has the error, and its
    /// fallback, if any, serves); a workspace or state that cannot be built does not.
    pub async fn open(
        plugin: &PluginUnderTest,
        opts: &Options,
        fakes: Arc<Fakes>,
    ) -> Result<Bench, String> {
        let workspace = Workspace::create(plugin, opts)?;
        let state = AppState::load(&workspace.app_yaml).map_err(|e| e.to_string())?;
        if let Some(config) = &opts.config {
            let path = config_file_of(&state, &plugin.folder, fakes.clone())
                .await
                .unwrap_or_else(|| workspace.config_dir.join(plugin_file::DEFAULT_CONFIG_FILE));
            plugin_file::write(&path, &plugin.folder, config).map_err(|e| e.to_string())?;
        }
        let app = App {
            state,
            plugins: PluginManager::for_tests(fakes),
        };
        app.plugins.reconcile(&app.state, false).await;
        let router = crate::http::app(app.clone());
        Ok(Bench {
            workspace,
            app,
            folder: plugin.folder.clone(),
            router,
        })
    }

    /// The plugin's slot: its running instance (or fallback) and its load error.
    pub fn slot(&self) -> Option<PluginSlot> {
        self.app
            .plugins
            .current()
            .slot_by_folder(&self.folder)
            .cloned()
    }

    /// Sends a request through the server's HTTP application.
    pub async fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Answer, String> {
        let mut req = axum::http::Request::builder().method(method).uri(target);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .map_err(|e| format!("cannot build the request {method} {target}: {e}"))?;
        // The router's error type is Infallible.
        let Ok(res) = self.router.clone().oneshot(req).await;
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .map_err(|e| format!("cannot read the answer to {method} {target}: {e}"))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Reloads the plugin from disk as an edit of its files would (transactional).
    pub async fn reload(&self) {
        self.app
            .plugins
            .reload_forced(&self.app.state, &self.folder)
            .await;
    }

    /// Stops the plugin (its in-flight calls, then `shutdown()`).
    pub async fn stop(&self) {
        self.app.plugins.shutdown_all().await;
    }
}

/// The config file the plugin in `folder` declares (its `init.lua` run once, in a
/// `LocalSet` dropped afterwards), or None when `init.lua` does not run.
async fn config_file_of(state: &AppState, folder: &str, fakes: Arc<Fakes>) -> Option<PathBuf> {
    let spec = LoadSpec {
        folder: folder.to_string(),
        paths: discovery::paths_of(state, folder),
        config_override: None,
        limits: Limits::default(),
        generation: 0,
        fallback_for: None,
        hooks: Some(fakes),
    };
    let local = tokio::task::LocalSet::new();
    let main = tokio::runtime::Handle::current();
    local
        .run_until(load::declare(
            &spec,
            state.clone(),
            Arc::new(NoRuntime),
            main,
        ))
        .await
        .ok()
        .map(|d| d.config_path)
}
