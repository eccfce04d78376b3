//! Runs a plugin's Lua unit tests without the server: each `tests/<topic>_test.lua` file of
//! the plugin's code folder on a fresh sandboxed state (the plugin's own, with `require`
//! limited to its folder), with the real `rackscope` API over a running state and the
//! plugin's [`PluginPaths`], and a small test API (`describe`, `it`, `assert.equal`,
//! `assert.same`, `assert.error`, ...) from `testkit.lua`, embedded here.
//!
//! Registration stays open (no `setup` has run) and there are no other plugins
//! ([`NoRuntime`]). Prometheus calls go to the state's Prometheus; a test that must not
//! depend on one passes its own data to the library under test.
//!
//! [`run`] builds its own single-threaded runtime, as a plugin thread does, so it is
//! called from plain (non-async) code: a test, or a command.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use mlua::{Function, Table, Value};

use super::budget::{Budget, Budgeted};
use super::host::{HostCtx, Limits, NoRuntime};
use super::{api, errors, sandbox};
use crate::config::plugin_file::PluginPaths;
use crate::state::AppState;

/// The test API, loaded into every test file's state.
const PRELUDE: &str = include_str!("testkit.lua");

/// Where a plugin's test files are, inside its code folder.
pub const TEST_DIR: &str = "tests";

/// What the tests run against.
pub struct Suite {
    /// The plugin's folder name (`rackscope.plugin.folder`).
    pub folder: String,
    /// Its code folder (the tests and the libraries under test) and its config folder
    /// (what `rackscope.fs` reads and writes: give a copy, tests may write).
    pub paths: PluginPaths,
    /// The running state the API reads (topology, app config, Prometheus).
    pub state: AppState,
    pub limits: Limits,
}

/// The outcome of one `it(...)`.
#[derive(Debug, Clone)]
pub struct Case {
    /// The test file, relative to the code folder (`tests/status_test.lua`).
    pub file: String,
    /// The `describe` names and the `it` name, joined by spaces.
    pub name: String,
    /// Why it failed (file and line of the failed assertion first); None if it passed.
    pub error: Option<String>,
}

/// Every case of every test file, and the files that could not run at all.
#[derive(Debug, Default)]
pub struct Report {
    pub cases: Vec<Case>,
    /// `(file, error)` for a file that did not load or run (a syntax error, an error
    /// outside any `it`).
    pub broken: Vec<(String, String)>,
}

impl Report {
    pub fn failed(&self) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(|c| c.error.is_some())
    }

    /// True when every case passed and every file ran.
    pub fn passed(&self) -> bool {
        self.broken.is_empty() && self.failed().next().is_none()
    }

    /// One line per failure, then a count: what a person reads.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (file, e) in &self.broken {
            out.push_str(&format!("BROKEN {file}: {e}\n"));
        }
        for c in self.failed() {
            let e = c.error.as_deref().unwrap_or_default();
            out.push_str(&format!("FAIL {} :: {}\n  {e}\n", c.file, c.name));
        }
        let failed = self.failed().count();
        out.push_str(&format!(
            "{} passed, {} failed\n",
            self.cases.len() - failed,
            failed + self.broken.len()
        ));
        out
    }
}

/// The test files of the plugin whose code is in `code_dir`: `tests/*_test.lua`, sorted.
pub fn test_files(code_dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(code_dir.join(TEST_DIR)) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_test.lua"))
        .map(|n| Path::new(TEST_DIR).join(n))
        .collect();
    out.sort();
    out
}

/// Runs every test file of the suite's plugin and reports each case. An error of the host
/// itself (no runtime could be built) is reported as a broken file.
pub fn run(suite: &Suite) -> Report {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Report {
                cases: Vec::new(),
                broken: vec![("(runtime)".into(), e.to_string())],
            }
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let mut report = Report::default();
        for file in test_files(&suite.paths.code_dir) {
            let shown = file.display().to_string();
            match run_file(suite, &file).await {
                Ok(cases) => report
                    .cases
                    .extend(cases.into_iter().map(|(name, error)| Case {
                        file: shown.clone(),
                        name,
                        error,
                    })),
                Err(e) => report.broken.push((shown, e)),
            }
        }
        report
    })
}

/// One test file on a state of its own: `(name, error)` per case.
async fn run_file(suite: &Suite, file: &Path) -> Result<Vec<(String, Option<String>)>, String> {
    let spec = sandbox::SandboxSpec {
        code_dir: suite.paths.code_dir.clone(),
        display_prefix: format!("plugins/{}", suite.folder),
        memory_limit: suite.limits.memory,
    };
    let lua = sandbox::new_state(&spec).map_err(|e| e.to_string())?;
    let ctx = HostCtx::new(
        suite.state.clone(),
        tokio::runtime::Handle::current(),
        &suite.folder,
        suite.paths.clone(),
        suite.limits,
        Arc::new(NoRuntime),
    );
    api::register(&lua, Rc::new(ctx)).map_err(|e| e.to_string())?;
    let kit: Table = lua
        .load(PRELUDE)
        .set_name("=testkit")
        .eval()
        .map_err(|e| e.to_string())?;
    let g = lua.globals();
    for name in ["describe", "it", "assert"] {
        g.raw_set(name, kit.get::<Value>(name).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let chunk = sandbox::load_file(&lua, &spec, file).map_err(|e| message(&e))?;
    let what = file.display().to_string();
    Budgeted::new(
        Budget::new(suite.limits.instructions, what.as_str()),
        chunk.call_async::<()>(()),
    )
    .await
    .map_err(|e| message(&e))?;
    let run: Function = kit.get("run").map_err(|e| e.to_string())?;
    let results: Table = Budgeted::new(
        Budget::new(suite.limits.instructions, what.as_str()),
        run.call_async::<Table>(()),
    )
    .await
    .map_err(|e| message(&e))?;
    results
        .sequence_values::<Table>()
        .map(|r| {
            let r = r.map_err(|e| e.to_string())?;
            let name: String = r.get("name").map_err(|e| e.to_string())?;
            let error: Option<String> = r.get("error").map_err(|e| e.to_string())?;
            Ok((name, error))
        })
        .collect()
}

fn message(e: &mlua::Error) -> String {
    match errors::classify(e) {
        errors::Failure::Error(m) => m,
        errors::Failure::Interrupted(i) => i.to_string(),
        errors::Failure::Http(h) => h.to_string(),
        errors::Failure::Memory => "out of memory (the plugin's memory limit was reached)".into(),
    }
}
