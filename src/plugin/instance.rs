//! One loaded plugin: its own OS thread running a single-threaded tokio runtime and the
//! plugin's sandboxed Lua state, fed by a job channel.
//!
//! Loading runs `init.lua`, reads the plugin's config, and calls `setup(config)` while
//! registration (routes, menus, status maps, metrics listener) is open; then registration
//! is sealed and the handle, with everything the plugin registered, goes back to the
//! caller. From then on each job (a route call, a menu evaluation, a config-reload hook)
//! runs as its own task with its own instruction budget; a job awaiting Prometheus yields
//! and lets the others run. Dropping every handle, or sending `Shutdown`, stops the
//! thread after in-flight jobs finish (bounded by [`DRAIN_TIMEOUT`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mlua::{Function, Lua, LuaSerdeExt, MultiValue, Table, Value};
use serde_json::Value as Json;
use tokio::sync::{mpsc, oneshot};

use crate::config::plugin_file;
use crate::lua::budget::{self, Budget, Budgeted, Cancel, Interrupt};
use crate::lua::errors::{self, Failure};
pub use crate::lua::host::Limits;
use crate::lua::host::{HostCtx, PluginRuntime, Published, Warnings};
use crate::lua::registry::{parse_sections, MenuSection, PluginMeta, Registrar, RouteDef};
use crate::lua::{api, sandbox};
use crate::metrics::MetricsRegistry;
use crate::state::AppState;

/// How long a stopping plugin waits for in-flight jobs (reload, disable).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything needed to load one plugin instance.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Folder name under `paths.plugins` (the app.yaml switch is `plugins.<folder>.enabled`).
    pub folder: String,
    /// `<paths.plugins>/<folder>`: init.lua and the files it requires.
    pub code_dir: PathBuf,
    /// `<dir of app.yaml>/plugins/<folder>`: the plugin's config folder.
    pub config_dir: PathBuf,
    /// Use this config instead of reading the file (to validate an update before writing).
    pub config_override: Option<Json>,
    pub limits: Limits,
    pub generation: u64,
    /// Load the plugin's *fallback* for this load error instead of the plugin itself:
    /// run `init.lua`, then `on_load_error(error, config)` (registration open) instead of
    /// `validate_config` and `setup`. What it registers (routes that explain the failure,
    /// a menu) serves while the plugin has no running instance. A plugin without
    /// `on_load_error` has no fallback (the load fails).
    pub fallback_for: Option<String>,
}

/// The request a route handler sees as `req`.
#[derive(Debug, Clone)]
pub struct RequestData {
    pub method: String,
    pub path: String,
    pub params: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Json>,
    pub user: Option<String>,
}

/// A handler's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The body, already serialised as JSON (on the plugin thread, straight from the Lua
    /// value, without an intermediate `serde_json::Value`).
    pub body: bytes::Bytes,
}

/// Why a call into the plugin did not produce a reply.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The handler raised `rackscope.http_error(status, detail)`.
    #[error("HTTP {status}")]
    Http { status: u16, detail: Json },
    /// The call ran out of instruction budget.
    #[error("{0}")]
    Budget(String),
    /// The call was stopped because its caller gave up (timeout, client gone).
    #[error("{0}")]
    Cancelled(String),
    /// The plugin's Lua state hit its memory limit.
    #[error("out of memory")]
    Memory,
    /// A Lua error (a plugin bug): the message has file, line and traceback; log it.
    #[error("{0}")]
    Failed(String),
    /// The plugin is stopping or stopped: the call was never taken.
    #[error("plugin is not running")]
    Unavailable,
    /// The call was taken, but the instance stopped before it answered (its drain time
    /// ran out during a reload): the handler may have run in part.
    #[error("plugin stopped while handling the call")]
    Dropped,
}

enum Job {
    Route {
        index: usize,
        req: Arc<RequestData>,
        reply: oneshot::Sender<Result<Reply, CallError>>,
        /// Set when the caller stops waiting: stops CPU-bound Lua at its next hook.
        cancel: Cancel,
    },
    Menu {
        reply: oneshot::Sender<Vec<MenuSection>>,
        cancel: Cancel,
    },
    ConfigReload {
        app_config: Json,
    },
    /// Stop taking jobs; wait at most `drain` for in-flight ones, then run `shutdown()`.
    Shutdown {
        drain: Duration,
    },
}

/// The host's view of a running plugin instance.
#[derive(Debug)]
pub struct PluginHandle {
    pub folder: String,
    pub meta: PluginMeta,
    pub config_path: PathBuf,
    pub config: Json,
    pub config_source: &'static str,
    pub routes: Vec<RouteDef>,
    pub static_menu: Vec<MenuSection>,
    pub dynamic_menu: bool,
    pub status_maps: BTreeMap<String, BTreeMap<String, String>>,
    pub metrics_listen: Option<SocketAddr>,
    pub metrics: Arc<MetricsRegistry>,
    /// What the instance reports about itself while it runs (`warnings` in the API).
    pub warnings: Warnings,
    /// Answers it computed ahead (`rackscope.publish`), served without calling it.
    pub published: Published,
    pub limits: Limits,
    pub generation: u64,
    pub loaded_at: SystemTime,
    tx: mpsc::UnboundedSender<Job>,
    /// Closed (its sender dropped) when the plugin thread has exited, after `shutdown()`.
    done: tokio::sync::watch::Receiver<()>,
}

impl PluginHandle {
    /// Runs route `index` with `req` (shared, so a caller can retry it without a copy).
    /// Dropping the returned future (a timeout, a client gone) stops the Lua call, even a
    /// CPU-bound one, within a hook interval.
    pub async fn call_route(
        &self,
        index: usize,
        req: Arc<RequestData>,
    ) -> Result<Reply, CallError> {
        let (reply, rx) = oneshot::channel();
        let cancel = Cancel::default();
        let _stop_if_dropped = cancel.on_drop();
        self.tx
            .send(Job::Route {
                index,
                req,
                reply,
                cancel,
            })
            .map_err(|_| CallError::Unavailable)?;
        rx.await.map_err(|_| CallError::Dropped)?
    }

    /// The static sections plus whatever the menu functions return within `limit`. A
    /// plugin whose menu functions take longer is left out (and logged); its calls are
    /// stopped.
    pub async fn menu(&self, limit: Duration) -> Vec<MenuSection> {
        let mut out = self.static_menu.clone();
        if self.dynamic_menu {
            let (reply, rx) = oneshot::channel();
            let cancel = Cancel::default();
            let _stop_if_dropped = cancel.on_drop();
            if self.tx.send(Job::Menu { reply, cancel }).is_ok() {
                match tokio::time::timeout(limit, rx).await {
                    Ok(Ok(mut sections)) => out.append(&mut sections),
                    Ok(Err(_)) => {}
                    Err(_) => tracing::warn!(
                        plugin = %self.meta.id,
                        ?limit,
                        "menu function did not answer in time; its sections are left out"
                    ),
                }
            }
        }
        out
    }

    /// Tells the plugin the app config changed (`on_config_reload`, if it has one).
    pub fn config_reloaded(&self, app_config: Json) {
        let _ = self.tx.send(Job::ConfigReload { app_config });
    }

    /// Asks the plugin to stop once in-flight jobs are done (at most [`DRAIN_TIMEOUT`]).
    pub fn shutdown(&self) {
        self.shutdown_within(DRAIN_TIMEOUT);
    }

    /// Asks the plugin to stop, waiting at most `drain` for in-flight jobs before its
    /// `shutdown()` runs.
    pub fn shutdown_within(&self, drain: Duration) {
        let _ = self.tx.send(Job::Shutdown { drain });
    }

    /// Resolves once the plugin's thread has exited (after its `shutdown()` ran).
    pub async fn stopped(&self) {
        let mut done = self.done.clone();
        while done.changed().await.is_ok() {}
    }
}

/// Loads a plugin on a new thread. Resolves once `setup` has finished: with the handle,
/// or with the load error (file and line included) after the thread has exited.
pub async fn spawn(
    spec: LoadSpec,
    state: AppState,
    runtime: Arc<dyn PluginRuntime>,
) -> Result<PluginHandle, LoadError> {
    let (loaded_tx, loaded_rx) = oneshot::channel();
    let main = tokio::runtime::Handle::current();
    let name = format!("plugin-{}", spec.folder);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || thread_main(spec, state, runtime, main, loaded_tx))
        .map_err(|e| LoadError::Host(format!("cannot start plugin thread: {e}")))?;
    loaded_rx
        .await
        .unwrap_or_else(|_| Err(LoadError::Host("plugin thread exited during load".into())))
}

type LoadedTx = oneshot::Sender<Result<PluginHandle, LoadError>>;

/// The plugin's Lua side, shared by the jobs of one instance (single thread).
struct Vm {
    lua: Lua,
    ctx: Rc<HostCtx>,
    module: Table,
    handlers: Vec<Function>,
    menu_fns: Vec<Function>,
    /// `"GET /api/x/{id}"` per route, for budget errors (built once, not per request).
    labels: Vec<Rc<str>>,
}

fn thread_main(
    spec: LoadSpec,
    state: AppState,
    runtime: Arc<dyn PluginRuntime>,
    main: tokio::runtime::Handle,
    loaded_tx: LoadedTx,
) {
    // Timers only: network IO (Prometheus) runs on the main runtime, and without an IO
    // driver an idle plugin thread parks on a futex, which is cheaper to wake.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = loaded_tx.send(Err(LoadError::Host(format!(
                "cannot start plugin runtime: {e}"
            ))));
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    // Dropped when this thread ends: `PluginHandle::stopped` waits for that.
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    local.block_on(&rt, async move {
        let _done = done_tx;
        let (tx, rx) = mpsc::unbounded_channel();
        let vm = match load(&spec, state, runtime, main, tx, done_rx).await {
            Ok((vm, handle)) => {
                if loaded_tx.send(Ok(handle)).is_err() {
                    return;
                }
                vm
            }
            Err(e) => {
                let _ = loaded_tx.send(Err(e));
                return;
            }
        };
        serve_jobs(Rc::new(vm), rx).await;
    });
}

async fn load(
    spec: &LoadSpec,
    state: AppState,
    runtime: Arc<dyn PluginRuntime>,
    main: tokio::runtime::Handle,
    tx: mpsc::UnboundedSender<Job>,
    done: tokio::sync::watch::Receiver<()>,
) -> Result<(Vm, PluginHandle), LoadError> {
    let display_prefix = format!("plugins/{}", spec.folder);
    let sspec = sandbox::SandboxSpec {
        code_dir: spec.code_dir.clone(),
        display_prefix: display_prefix.clone(),
        memory_limit: spec.limits.memory,
    };
    let lua = sandbox::new_state(&sspec)
        .map_err(|e| LoadError::Host(format!("cannot create Lua state: {e}")))?;
    let ctx = Rc::new(HostCtx {
        state,
        main,
        folder: spec.folder.clone(),
        plugin_id: RefCell::new(spec.folder.clone()),
        code_dir: spec.code_dir.clone(),
        config_dir: spec.config_dir.clone(),
        config_path: RefCell::new(spec.config_dir.join(plugin_file::DEFAULT_CONFIG_FILE)),
        config: RefCell::new(Json::Object(Default::default())),
        registrar: RefCell::new(Registrar::default()),
        limits: spec.limits,
        metrics: Arc::new(MetricsRegistry::default()),
        runtime,
        warnings: Default::default(),
        published: Default::default(),
    });
    api::register(&lua, ctx.clone())
        .map_err(|e| LoadError::Host(format!("cannot register the rackscope API: {e}")))?;

    let init = spec.code_dir.join("init.lua");
    if !init.is_file() {
        return Err(LoadError::Plugin(format!(
            "{display_prefix}/init.lua not found"
        )));
    }
    let chunk =
        sandbox::load_file(&lua, &sspec, std::path::Path::new("init.lua")).map_err(script_error)?;
    let b = Budget::new(spec.limits.instructions, "init.lua");
    let module: Value = Budgeted::new(b, chunk.call_async::<Value>(()))
        .await
        .map_err(script_error)?;
    let Value::Table(module) = module else {
        return Err(LoadError::Plugin(format!(
            "{display_prefix}/init.lua must return a table {{ id = ..., name = ..., setup = function(config) ... end }}, got {}",
            errors::type_name(&module)
        )));
    };
    let meta = read_meta(&module, &display_prefix)?;
    *ctx.plugin_id.borrow_mut() = meta.id.clone();

    let config_rel = match module.get::<Value>("config_file").map_err(script_error)? {
        Value::Nil => PathBuf::from(plugin_file::DEFAULT_CONFIG_FILE),
        Value::String(s) => {
            let s = s.to_string_lossy();
            plugin_file::safe_relative(&s).ok_or_else(|| {
                LoadError::Plugin(format!("{display_prefix}/init.lua: config_file must be a relative path inside the plugin's config folder, got '{s}'"))
            })?
        }
        other => {
            return Err(LoadError::Plugin(format!(
                "{display_prefix}/init.lua: config_file must be a string, got {}",
                errors::type_name(&other)
            )))
        }
    };
    let config_path = spec.config_dir.join(config_rel);
    if let Some(error) = &spec.fallback_for {
        let config = plugin_file::read(&config_path).ok().map(|l| l.config);
        *ctx.config_path.borrow_mut() = config_path.clone();
        *ctx.config.borrow_mut() = config.clone().unwrap_or(Json::Null);
        let Value::Function(hook) = module.get::<Value>("on_load_error").map_err(script_error)?
        else {
            return Err(LoadError::Plugin(format!(
                "{display_prefix}/init.lua has no on_load_error"
            )));
        };
        let config_value = match &config {
            Some(c) => api::to_lua(&lua, c).map_err(script_error)?,
            None => Value::Nil,
        };
        let b = Budget::new(spec.limits.instructions, "on_load_error");
        Budgeted::new(b, hook.call_async::<()>((error.as_str(), config_value)))
            .await
            .map_err(script_error)?;
        return Ok(seal(
            spec,
            ctx,
            lua,
            module,
            meta,
            config_path,
            config.unwrap_or(Json::Null),
            "file",
            tx,
            done,
        ));
    }
    let (config, source) = match &spec.config_override {
        Some(c) => (c.clone(), "file"),
        None => {
            let l =
                plugin_file::read(&config_path).map_err(|e| LoadError::Config(e.to_string()))?;
            (l.config, l.source)
        }
    };
    *ctx.config_path.borrow_mut() = config_path.clone();
    *ctx.config.borrow_mut() = config.clone();
    let config_value = api::to_lua(&lua, &config).map_err(script_error)?;

    if let Some(validate) = module
        .get::<Option<Function>>("validate_config")
        .map_err(script_error)?
    {
        let b = Budget::new(spec.limits.instructions, "validate_config");
        let out: MultiValue =
            Budgeted::new(b, validate.call_async::<MultiValue>(config_value.clone()))
                .await
                .map_err(script_error)?;
        let mut it = out.into_iter();
        let ok = it.next().unwrap_or(Value::Nil);
        if matches!(ok, Value::Nil | Value::Boolean(false)) {
            let why = match it.next() {
                Some(Value::String(s)) => s.to_string_lossy(),
                _ => "validate_config refused the config".to_string(),
            };
            return Err(LoadError::Config(format!("invalid config: {why}")));
        }
    }

    match module.get::<Value>("setup").map_err(script_error)? {
        Value::Function(setup) => {
            let b = Budget::new(spec.limits.instructions, "setup");
            Budgeted::new(b, setup.call_async::<()>(config_value))
                .await
                .map_err(script_error)?;
        }
        Value::Nil => {}
        other => {
            return Err(LoadError::Plugin(format!(
                "{display_prefix}/init.lua: setup must be a function, got {}",
                errors::type_name(&other)
            )))
        }
    }

    Ok(seal(
        spec,
        ctx,
        lua,
        module,
        meta,
        config_path,
        config,
        source,
        tx,
        done,
    ))
}

/// Seals registration (it is only open during `setup` or `on_load_error`) and builds the
/// handle and the Lua side of a loaded instance.
#[allow(clippy::too_many_arguments)]
fn seal(
    spec: &LoadSpec,
    ctx: Rc<HostCtx>,
    lua: Lua,
    module: Table,
    meta: PluginMeta,
    config_path: PathBuf,
    config: Json,
    source: &'static str,
    tx: mpsc::UnboundedSender<Job>,
    done: tokio::sync::watch::Receiver<()>,
) -> (Vm, PluginHandle) {
    let reg = {
        let mut r = ctx.registrar.borrow_mut();
        let taken = std::mem::take(&mut *r);
        // Sealed from now on: registration is only open during setup. The status maps stay
        // for this instance's own `rackscope.status.severity` lookups.
        r.sealed = true;
        r.status_maps = taken.status_maps.clone();
        taken
    };
    let handle = PluginHandle {
        folder: spec.folder.clone(),
        meta,
        config_path,
        config,
        config_source: source,
        routes: reg.routes.clone(),
        static_menu: reg.static_menu,
        dynamic_menu: !reg.menu_fns.is_empty(),
        status_maps: reg.status_maps,
        metrics_listen: reg.metrics_listen,
        metrics: ctx.metrics.clone(),
        warnings: ctx.warnings.clone(),
        published: ctx.published.clone(),
        limits: spec.limits,
        generation: spec.generation,
        loaded_at: SystemTime::now(),
        tx,
        done,
    };
    let vm = Vm {
        lua,
        ctx,
        module,
        handlers: reg.handlers,
        menu_fns: reg.menu_fns,
        labels: reg
            .routes
            .iter()
            .map(|r| Rc::from(format!("{} {}", r.method, r.pattern.as_str())))
            .collect(),
    };
    (vm, handle)
}

fn read_meta(module: &Table, prefix: &str) -> Result<PluginMeta, LoadError> {
    let get = |k: &str| -> Result<Option<String>, LoadError> {
        match module.get::<Value>(k).map_err(script_error)? {
            Value::Nil => Ok(None),
            Value::String(s) => Ok(Some(s.to_string_lossy())),
            other => Err(LoadError::Plugin(format!(
                "{prefix}/init.lua: '{k}' must be a string, got {}",
                errors::type_name(&other)
            ))),
        }
    };
    let id = get("id")?.ok_or_else(|| {
        LoadError::Plugin(format!(
            "{prefix}/init.lua: the returned table needs an 'id'"
        ))
    })?;
    if !crate::plugin::manager::is_safe_id(&id) {
        return Err(LoadError::Plugin(format!(
            "{prefix}/init.lua: invalid plugin id '{id}': ids must contain only lowercase letters, digits, dots, hyphens and underscores (max 128 characters)"
        )));
    }
    let name = get("name")?.unwrap_or_else(|| id.clone());
    Ok(PluginMeta {
        id,
        name,
        version: get("version")?.unwrap_or_else(|| "1.0.0".into()),
        description: get("description")?,
        author: get("author")?,
    })
}

/// Why a plugin instance did not load. The message is what `GET /api/plugins/{id}` shows
/// as `error`: one line, with the plugin-relative file and line where Lua knows them.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The host could not start the instance (thread, runtime, Lua state).
    #[error("{0}")]
    Host(String),
    /// The plugin's code failed: a Lua error at its file and line, a budget or memory stop.
    #[error("{0}")]
    Script(String),
    /// `init.lua` is missing or did not return a valid plugin table.
    #[error("{0}")]
    Plugin(String),
    /// The config file could not be read, or `validate_config` refused the config.
    #[error("{0}")]
    Config(String),
}

fn script_error(e: mlua::Error) -> LoadError {
    LoadError::Script(lua_message(&e))
}

/// A load-time Lua error as one line (file:line: message), plus the traceback if any.
fn lua_message(e: &mlua::Error) -> String {
    match errors::classify(e) {
        Failure::Interrupted(i) => i.to_string(),
        Failure::Memory => "out of memory (the plugin's memory limit was reached)".into(),
        Failure::Http(h) => h.to_string(),
        Failure::Error(m) => m,
    }
}

async fn serve_jobs(vm: Rc<Vm>, mut rx: mpsc::UnboundedReceiver<Job>) {
    // In-flight jobs, counted rather than joined: the hot path is one spawn per request.
    let inflight = Rc::new(InFlight::default());
    // Most calls finish without waiting on anything: run each job once inline, and only a
    // job that has to wait (Prometheus, sleep) becomes a task of its own.
    let run = |job: Job| {
        let (vm, inflight) = (vm.clone(), inflight.clone());
        async move {
            let mut fut = Box::pin(run_job(vm, job));
            if futures::poll!(fut.as_mut()).is_pending() {
                inflight.count.set(inflight.count.get() + 1);
                tokio::task::spawn_local(async move {
                    fut.await;
                    inflight.count.set(inflight.count.get() - 1);
                    if inflight.count.get() == 0 {
                        inflight.idle.notify_waiters();
                    }
                });
            }
        }
    };
    let mut drain_for = DRAIN_TIMEOUT;
    while let Some(job) = rx.recv().await {
        if let Job::Shutdown { drain } = job {
            drain_for = drain;
            break;
        }
        run(job).await;
    }
    // Refuse new jobs, but serve those already queued: a request that picked this
    // instance just before a reload swapped it out still gets its answer.
    rx.close();
    while let Some(job) = rx.recv().await {
        if !matches!(job, Job::Shutdown { .. }) {
            run(job).await;
        }
    }
    let drain = async {
        while inflight.count.get() > 0 {
            let idle = inflight.idle.notified();
            if inflight.count.get() == 0 {
                break;
            }
            idle.await;
        }
    };
    if tokio::time::timeout(drain_for, drain).await.is_err() {
        tracing::warn!(plugin = %vm.ctx.folder, "in-flight plugin calls cancelled at shutdown");
    }
    if let Ok(Some(f)) = vm.module.get::<Option<Function>>("shutdown") {
        let b = Budget::new(vm.ctx.limits.instructions, "shutdown");
        if let Err(e) = Budgeted::new(b, f.call_async::<()>(())).await {
            tracing::warn!(plugin = %vm.ctx.folder, error = %lua_message(&e), "plugin shutdown hook failed");
        }
    }
    tracing::debug!(plugin = %vm.ctx.folder, "plugin instance stopped");
}

/// Jobs running on the plugin thread, and a signal for when none is left.
#[derive(Default)]
struct InFlight {
    count: std::cell::Cell<usize>,
    idle: tokio::sync::Notify,
}

async fn run_job(vm: Rc<Vm>, job: Job) {
    match job {
        Job::Route {
            index,
            req,
            mut reply,
            cancel,
        } => {
            // The caller gone (client disconnected, or the request timed out) cancels the
            // call: dropping it drops the handler's coroutine wherever it was waiting, and
            // `cancel` stops it at its next hook if it is running Lua.
            tokio::select! {
                out = run_route(&vm, index, req, cancel) => {
                    let _ = reply.send(out);
                }
                _ = reply.closed() => {
                    tracing::debug!(plugin = %vm.ctx.folder, "route call cancelled: the caller is gone");
                }
            }
        }
        Job::Menu { reply, cancel } => {
            let mut sections = Vec::new();
            for f in &vm.menu_fns {
                if cancel.is_cancelled() {
                    return;
                }
                let b = Budget::cancellable(
                    vm.ctx.limits.instructions,
                    "menu function",
                    cancel.clone(),
                );
                match Budgeted::new(b, f.call_async::<Value>(())).await {
                    Ok(v) => match parse_sections(&vm.lua, v) {
                        Ok(mut s) => sections.append(&mut s),
                        Err(e) => {
                            tracing::warn!(plugin = %vm.ctx.folder, error = %e, "menu function returned a bad section; skipped")
                        }
                    },
                    Err(e) => {
                        tracing::warn!(plugin = %vm.ctx.folder, error = %lua_message(&e), "menu function failed; its sections are skipped")
                    }
                }
            }
            let _ = reply.send(sections);
        }
        Job::ConfigReload { app_config } => {
            let Ok(Some(f)) = vm.module.get::<Option<Function>>("on_config_reload") else {
                return;
            };
            let arg = match api::to_lua(&vm.lua, &app_config) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(plugin = %vm.ctx.folder, error = %e, "cannot pass app config to on_config_reload");
                    return;
                }
            };
            let b = Budget::new(vm.ctx.limits.instructions, "on_config_reload");
            if let Err(e) = Budgeted::new(b, f.call_async::<()>(arg)).await {
                tracing::warn!(plugin = %vm.ctx.folder, error = %lua_message(&e), "on_config_reload failed");
            }
        }
        Job::Shutdown { .. } => {}
    }
}

async fn run_route(
    vm: &Rc<Vm>,
    index: usize,
    req: Arc<RequestData>,
    cancel: Cancel,
) -> Result<Reply, CallError> {
    let (Some(handler), Some(label)) = (vm.handlers.get(index), vm.labels.get(index)) else {
        return Err(CallError::Unavailable);
    };
    let budget = Budget::cancellable(vm.ctx.limits.instructions, label.clone(), cancel);
    let lua = &vm.lua;
    let result = Budgeted::new(budget.clone(), async {
        let t = request_table(lua, &req)?;
        handler.call_async::<MultiValue>(t).await
    })
    .await;
    let values = match result {
        Ok(v) => v,
        Err(e) => {
            return Err(match errors::classify(&e) {
                Failure::Http(h) => CallError::Http {
                    status: h.status,
                    detail: h.detail,
                },
                Failure::Interrupted(i @ Interrupt::Budget { .. }) => {
                    CallError::Budget(i.to_string())
                }
                Failure::Interrupted(i @ Interrupt::Cancelled { .. }) => {
                    tracing::info!(plugin = %vm.ctx.folder, "{i}");
                    CallError::Cancelled(i.to_string())
                }
                Failure::Memory => {
                    lua.gc_collect().ok();
                    CallError::Memory
                }
                Failure::Error(m) => CallError::Failed(m),
            })
        }
    };
    budget::run_with(&budget, || reply_from(values)).map_err(CallError::Failed)
}

fn request_table(lua: &Lua, req: &RequestData) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 8)?;
    t.set("method", req.method.as_str())?;
    t.set("path", req.path.as_str())?;
    t.set(
        "params",
        lua.create_table_from(req.params.iter().map(|(k, v)| (k.as_str(), v.as_str())))?,
    )?;
    t.set(
        "query",
        lua.create_table_from(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())))?,
    )?;
    t.set(
        "headers",
        lua.create_table_from(req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))?,
    )?;
    if let Some(b) = &req.body {
        t.set("body", lua.to_value(b)?)?;
    }
    if let Some(u) = &req.user {
        t.set("user", u.as_str())?;
    }
    Ok(t)
}

/// `return table` is 200; `return status, table` sets the status.
fn reply_from(values: MultiValue) -> Result<Reply, String> {
    let mut it = values.into_iter();
    let first = it.next().unwrap_or(Value::Nil);
    let (status, body) = match first {
        Value::Integer(n) => (n, it.next().unwrap_or(Value::Nil)),
        Value::Number(n) if n.fract() == 0.0 => (n as i64, it.next().unwrap_or(Value::Nil)),
        other => (200, other),
    };
    // 1xx are not final answers: a handler cannot send one.
    if !(200..=599).contains(&status) {
        return Err(format!("handler returned invalid HTTP status {status}"));
    }
    // A pre-encoded answer (`rackscope.json.raw`) goes out as is.
    if let Some(bytes) = api::rawjson::RawJson::from_value(&body) {
        return Ok(Reply {
            status: status as u16,
            body: bytes,
        });
    }
    let body = serde_json::to_vec(&body)
        .map_err(|e| format!("handler returned a value that cannot be sent as JSON: {e}"))?;
    Ok(Reply {
        status: status as u16,
        body: body.into(),
    })
}
