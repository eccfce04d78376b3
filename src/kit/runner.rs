//! Runs a plugin's test files (`tests/*_test.lua` in its folder), each on a state of its
//! own, and reports every test as it finishes.
//!
//! A test file runs on a fresh current-thread tokio runtime whose clock starts paused, in
//! a `LocalSet`, with its own [`Fakes`] and its own captured log (a thread-local
//! `tracing` subscriber). Its Lua state is the plugin's sandbox (`require` limited to the
//! plugin's folder) with the real `rackscope` API over an empty config folder, the test
//! API of `prelude.lua`, and the test clock and fake Prometheus as the host's
//! [`TestHooks`](crate::lua::host::TestHooks). The file runs once to declare its tests;
//! then each test runs with an instruction budget of its own (the server's default per
//! call), and whatever it opened (plugins, Prometheus answers) is dropped when it ends.

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Function, Table, Value};
use tracing_subscriber::layer::SubscriberExt;

use super::api::{self as kit_api, Kit};
use super::bench::{Options, PluginUnderTest, Workspace};
use super::fakes::Fakes;
use super::logs::{Capture, Captured, LogLine};
use crate::config::plugin_file::{is_safe_id, PluginPaths, DEFAULT_CONFIG_FILE};
use crate::lua::budget::{Budget, Budgeted};
use crate::lua::errors;
use crate::lua::host::{HostCtx, Limits, NoRuntime};
use crate::lua::{api, sandbox};
use crate::state::AppState;

/// The test API, loaded into every test file's state.
pub const PRELUDE: &str = include_str!("prelude.lua");

/// Where a plugin's test files are, inside its folder.
pub const TEST_DIR: &str = "tests";

/// How long a test may take on the test clock. With the clock paused, a test that waits
/// for something that never comes (no timer left to reach) gets here at once and fails,
/// instead of hanging the run; a test that moves the clock on purpose stays far below.
const TEST_CLOCK_LIMIT: Duration = Duration::from_secs(10 * 365 * 86_400);

/// What became of one test.
#[derive(Debug, Clone)]
pub enum Outcome {
    Passed,
    Failed {
        /// The error, with its file and line when Lua knows them.
        message: String,
        /// `tests/<file>:<line>`: the innermost line of a test file on the stack when it
        /// failed.
        at: Option<String>,
        /// Warnings and errors logged while it ran (a handler's error is logged, not
        /// sent to the client).
        logs: Vec<LogLine>,
    },
    /// Not selected by `--filter`.
    Skipped,
}

/// One test.
#[derive(Debug, Clone)]
pub struct Case {
    /// The plugin's folder name.
    pub plugin: String,
    /// `tests/<file>`.
    pub file: String,
    /// The `describe` names and the `it` name, joined by spaces.
    pub name: String,
    pub outcome: Outcome,
}

/// Counts over a run.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Test files that did not run (a syntax error, an error outside any test), and
    /// plugins without test files.
    pub broken: usize,
    pub elapsed: Duration,
}

impl Totals {
    /// True when every selected test passed, every file ran and at least one test ran.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.broken == 0 && self.passed > 0
    }
}

/// What the runner tells as it goes.
pub trait Reporter {
    /// A plugin's tests start.
    fn plugin(&mut self, plugin: &PluginUnderTest);
    /// A test file starts.
    fn file(&mut self, plugin: &PluginUnderTest, file: &str);
    /// A test finished (or was skipped).
    fn case(&mut self, case: &Case);
    /// A test file could not run (`file` is the test folder when there are no files).
    fn broken(&mut self, plugin: &PluginUnderTest, file: &str, error: &str);
    /// Everything ran.
    fn finished(&mut self, totals: &Totals);
}

/// The plugin in `folder`: a folder with an `init.lua`, whose name is a plugin folder name.
pub fn find(folder: &Path) -> Result<PluginUnderTest, String> {
    let code_dir = folder
        .canonicalize()
        .map_err(|e| format!("{}: {e}", folder.display()))?;
    if !code_dir.join("init.lua").is_file() {
        return Err(format!(
            "{}: not a plugin folder (no init.lua)",
            folder.display()
        ));
    }
    let name = code_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !is_safe_id(&name) {
        return Err(format!(
            "{}: '{name}' cannot be a plugin folder name (lower-case letters, digits, '.', '_' and '-')",
            folder.display()
        ));
    }
    Ok(PluginUnderTest {
        code_dir,
        folder: name,
    })
}

/// The test files of the plugin whose code is in `code_dir`: `tests/*_test.lua`, sorted.
pub fn test_files(code_dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(code_dir.join(TEST_DIR)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_test.lua"))
        .map(|n| format!("{TEST_DIR}/{n}"))
        .collect();
    out.sort();
    out
}

/// Runs the tests of every plugin in `plugins` whose name or file contains `filter` (all
/// of them without one).
pub fn run(
    plugins: &[PluginUnderTest],
    filter: Option<&str>,
    reporter: &mut dyn Reporter,
) -> Totals {
    let started = Instant::now();
    let mut totals = Totals::default();
    for plugin in plugins {
        reporter.plugin(plugin);
        let files = test_files(&plugin.code_dir);
        if files.is_empty() {
            totals.broken += 1;
            reporter.broken(
                plugin,
                TEST_DIR,
                &format!(
                    "no test files ({TEST_DIR}/*_test.lua) in {}",
                    plugin.code_dir.display()
                ),
            );
        }
        for file in files {
            reporter.file(plugin, &file);
            let mut report = |case: Case| {
                match case.outcome {
                    Outcome::Passed => totals.passed += 1,
                    Outcome::Failed { .. } => totals.failed += 1,
                    Outcome::Skipped => totals.skipped += 1,
                }
                reporter.case(&case);
            };
            if let Err(e) = run_file(plugin, &file, filter, &mut report) {
                totals.broken += 1;
                reporter.broken(plugin, &file, &e);
            }
        }
    }
    totals.elapsed = started.elapsed();
    reporter.finished(&totals);
    totals
}

/// Runs one test file on a runtime, clock and log of its own.
fn run_file(
    plugin: &PluginUnderTest,
    file: &str,
    filter: Option<&str>,
    report: &mut dyn FnMut(Case),
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(Capture(captured.clone()));
    let _logs = tracing::subscriber::set_default(subscriber);
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, run_tests(plugin, file, filter, report, captured))
}

async fn run_tests(
    plugin: &PluginUnderTest,
    file: &str,
    filter: Option<&str>,
    report: &mut dyn FnMut(Case),
    captured: Captured,
) -> Result<(), String> {
    let (fakes, mut tasks) = Fakes::new();
    // What the host asks to run outside any plugin instance (a reload a plugin asked for).
    tokio::task::spawn_local(async move {
        while let Some(task) = tasks.recv().await {
            tokio::task::spawn_local(task);
        }
    });
    // The test file's own state: the real API over an empty config folder of its own.
    let workspace = Workspace::create(plugin, &Options::default())?;
    let state = AppState::load(&workspace.app_yaml).map_err(|e| e.to_string())?;
    let limits = Limits::default();
    let spec = sandbox::SandboxSpec {
        code_dir: plugin.code_dir.clone(),
        display_prefix: format!("plugins/{}", plugin.folder),
        memory_limit: limits.memory,
    };
    let lua = sandbox::new_state(&spec).map_err(|e| e.to_string())?;
    let mut host = HostCtx::new(
        state,
        tokio::runtime::Handle::current(),
        &plugin.folder,
        PluginPaths {
            code_dir: plugin.code_dir.clone(),
            config_file: workspace.config_dir.join(DEFAULT_CONFIG_FILE),
            config_dir: workspace.config_dir.clone(),
        },
        limits,
        Arc::new(NoRuntime),
    );
    host.hooks = Some(fakes.clone());
    api::register(&lua, Rc::new(host)).map_err(|e| e.to_string())?;
    crate::plugin::load::follow_test_clock(&lua, fakes.clone()).map_err(|e| e.to_string())?;
    let kit = Rc::new(Kit::new(fakes, plugin.clone(), captured));
    let internal = kit_api::internal(&lua, kit.clone()).map_err(|e| e.to_string())?;
    let prelude: Table = lua
        .load(PRELUDE)
        .set_name("=testing")
        .call(internal)
        .map_err(|e| e.to_string())?;
    // A test file's `print` is for the person running it: standard error, at once.
    let print = lua
        .create_function(|_, args: mlua::MultiValue| {
            eprintln!("{}", api::log::joined(&args, "\t"));
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    lua.globals()
        .raw_set("print", print)
        .map_err(|e| e.to_string())?;
    let globals: Table = prelude.get("globals").map_err(|e| e.to_string())?;
    for pair in globals.pairs::<String, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        lua.globals().raw_set(k, v).map_err(|e| e.to_string())?;
    }

    let chunk = sandbox::load_file(&lua, &spec, Path::new(file)).map_err(|e| message(&e))?;
    Budgeted::new(
        Budget::new(limits.instructions, file),
        chunk.call_async::<()>(()),
    )
    .await
    .map_err(|e| message(&e))?;
    let names: Vec<String> = prelude
        .get::<Function>("names")
        .and_then(|f| f.call(()))
        .map_err(|e| e.to_string())?;
    let run: Function = prelude.get("run").map_err(|e| e.to_string())?;
    for (i, name) in names.into_iter().enumerate() {
        let selected = filter.is_none_or(|f| name.contains(f) || file.contains(f));
        let outcome = if !selected {
            Outcome::Skipped
        } else {
            let scope = i as u64 + 1;
            kit.begin(scope);
            let result = tokio::time::timeout(
                TEST_CLOCK_LIMIT,
                Budgeted::new(
                    Budget::new(limits.instructions, name.as_str()),
                    run.call_async::<Value>(scope),
                ),
            )
            .await
            .unwrap_or_else(|_| {
                Err(mlua::Error::runtime(
                    "the test never finished: it waits for something that never comes \
                     (no timer is left for the test clock to reach)",
                ))
            });
            let logs = kit.finish(scope).await;
            match result {
                Ok(Value::Nil) => Outcome::Passed,
                Ok(Value::Table(t)) => Outcome::Failed {
                    message: t
                        .get::<Option<String>>("message")
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| "(no message)".into()),
                    at: t.get::<Option<String>>("at").ok().flatten(),
                    logs,
                },
                Ok(other) => Outcome::Failed {
                    message: format!("the test runner got {}", errors::type_name(&other)),
                    at: None,
                    logs,
                },
                Err(e) => Outcome::Failed {
                    message: message(&e),
                    at: None,
                    logs,
                },
            }
        };
        report(Case {
            plugin: plugin.folder.clone(),
            file: file.to_string(),
            name,
            outcome,
        });
    }
    kit.finish(0).await;
    Ok(())
}

/// A Lua error as one line (file:line: message) or the reason the call was stopped.
fn message(e: &mlua::Error) -> String {
    match errors::classify(e) {
        errors::Failure::Error(m) => m,
        errors::Failure::Interrupted(i) => i.to_string(),
        errors::Failure::Http(h) => h.to_string(),
        errors::Failure::Memory => "out of memory (the plugin's memory limit was reached)".into(),
    }
}
