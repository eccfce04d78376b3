//! One running plugin: its own OS thread running a single-threaded tokio runtime and the
//! plugin's sandboxed Lua state, fed by a job channel.
//!
//! The thread first loads the plugin ([`super::load`]: `init.lua`, its config, `setup`
//! with registration open); then registration is sealed and the handle, with everything
//! the plugin registered, goes back to the caller. From then on each job (a route call, a menu evaluation, a config-reload hook)
//! runs as its own task with its own instruction budget; a job awaiting Prometheus yields
//! and lets the others run. Dropping every handle, or sending `Shutdown`, stops the
//! thread after in-flight jobs finish (bounded by [`DRAIN_TIMEOUT`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mlua::{Function, Lua, LuaSerdeExt, MultiValue, Table, Value};
use serde_json::Value as Json;
use tokio::sync::{mpsc, oneshot};

use super::load::{self, lua_message, LoadError, LoadSpec, Loaded};
use crate::lua::budget::{self, Budget, Budgeted, Cancel, Interrupt};
use crate::lua::convert::{to_lua, RawJson};
use crate::lua::errors::{self, Failure};
use crate::lua::host::{HostCtx, Limits, PluginRuntime, Published, Warnings};
use crate::lua::registry::{parse_sections, MenuSection, PluginMeta, RouteDef};
use crate::metrics::MetricsRegistry;
use crate::state::AppState;

/// How long a stopping plugin waits for in-flight jobs (reload, disable).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

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
///
/// Under a test host (`spec.hooks`), the instance runs on the calling thread instead, in
/// a `LocalSet` of its own inside the caller's (which must be running one): everything
/// else is the same (the load, the job loop, the drain and `shutdown()`), and it shares
/// the test's paused clock. Its timers and tasks end with its `LocalSet`, as they end
/// with the thread in the server.
pub async fn spawn(
    spec: LoadSpec,
    state: AppState,
    runtime: Arc<dyn PluginRuntime>,
) -> Result<PluginHandle, LoadError> {
    let (loaded_tx, loaded_rx) = oneshot::channel();
    let main = tokio::runtime::Handle::current();
    if spec.hooks.is_some() {
        let local = tokio::task::LocalSet::new();
        tokio::task::spawn_local(async move {
            local
                .run_until(run(spec, state, runtime, main, loaded_tx))
                .await;
        });
    } else {
        let name = format!("plugin-{}", spec.folder);
        std::thread::Builder::new()
            .name(name)
            .spawn(move || thread_main(spec, state, runtime, main, loaded_tx))
            .map_err(|e| LoadError::Host(format!("cannot start plugin thread: {e}")))?;
    }
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
    local.block_on(&rt, run(spec, state, runtime, main, loaded_tx));
}

/// The life of an instance on its thread (inside its `LocalSet`): the load, then its jobs
/// until it is shut down.
async fn run(
    spec: LoadSpec,
    state: AppState,
    runtime: Arc<dyn PluginRuntime>,
    main: tokio::runtime::Handle,
    loaded_tx: LoadedTx,
) {
    // Dropped when this ends: `PluginHandle::stopped` waits for that.
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    let _done = done_tx;
    let (tx, rx) = mpsc::unbounded_channel();
    let vm = match load::load(&spec, state, runtime, main).await {
        Ok(loaded) => {
            let (vm, handle) = seal(&spec, loaded, tx, done_rx);
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
}

/// Seals registration (it is only open during `setup` or `on_load_error`) and builds the
/// handle and the Lua side of a loaded instance.
fn seal(
    spec: &LoadSpec,
    loaded: Loaded,
    tx: mpsc::UnboundedSender<Job>,
    done: tokio::sync::watch::Receiver<()>,
) -> (Vm, PluginHandle) {
    let Loaded {
        lua,
        ctx,
        module,
        meta,
        config_path,
        config,
        source,
    } = loaded;
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
            let arg = match to_lua(&vm.lua, &app_config) {
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
    if let Some(bytes) = RawJson::from_value(&body) {
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
