//! Loading one plugin instance, on the thread that will run it: a sandboxed Lua state with
//! the `rackscope` API over the plugin's [`PluginPaths`], `init.lua`, the plugin's config
//! file, `validate_config` and `setup` (or, for a plugin's fallback, `on_load_error`), each
//! under its own instruction budget. What comes out ([`Loaded`]) still has registration
//! open; [`super::instance`] seals it and starts serving jobs.
//!
//! The first steps also serve on their own the tools that must not run `setup`
//! (`rackscope check`, the test kit): [`declare`] (sandbox, API, `init.lua`, metadata,
//! config file) and [`validated_config`] (the config read and passed through
//! `validate_config`).

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{Function, Lua, MultiValue, Table, Value};
use serde_json::Value as Json;

use crate::config::plugin_file::{self, is_safe_id, PluginPaths};
use crate::lua::budget::{Budget, Budgeted};
use crate::lua::convert::to_lua;
use crate::lua::errors::{self, Failure};
use crate::lua::host::{HostCtx, Limits, PluginRuntime, TestHooks};
use crate::lua::registry::PluginMeta;
use crate::lua::{api, sandbox};
use crate::state::AppState;

/// Everything needed to load one plugin instance.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Folder name under `paths.plugins` (the app.yaml switch is `plugins.<folder>.enabled`).
    pub folder: String,
    /// Where the plugin's code, config folder and (default) config file are.
    pub paths: PluginPaths,
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
    /// A test host's clock and fakes (`rackscope plugin test`); None in the server.
    pub hooks: Option<Arc<dyn TestHooks>>,
}

/// A plugin whose `setup` (or `on_load_error`) has returned, registration still open.
pub struct Loaded {
    pub lua: Lua,
    pub ctx: Rc<HostCtx>,
    /// The table `init.lua` returned.
    pub module: Table,
    pub meta: PluginMeta,
    /// The config file it reads (the default one, or its `config_file`).
    pub config_path: PathBuf,
    pub config: Json,
    /// "file" or "defaults": where `config` came from.
    pub source: &'static str,
}

/// A plugin whose `init.lua` has run: its table, its metadata and its config file are
/// known; its config is not read yet and `setup` has not run. Registration is still
/// open: what `init.lua` registered at its top level is in `ctx.registrar`.
pub struct Declared {
    pub lua: Lua,
    pub ctx: Rc<HostCtx>,
    /// The table `init.lua` returned.
    pub module: Table,
    pub meta: PluginMeta,
    /// The config file it reads (the default one, or its `config_file`).
    pub config_path: PathBuf,
}

/// Loads the plugin `spec` names, on the calling thread (inside its `LocalSet`).
pub async fn load(
    spec: &LoadSpec,
    state: AppState,
    runtime: Arc<dyn PluginRuntime>,
    main: tokio::runtime::Handle,
) -> Result<Loaded, LoadError> {
    let declared = declare(spec, state, runtime, main).await?;
    if let Some(error) = &spec.fallback_for {
        return fallback(spec, declared, error).await;
    }
    let (config, source, config_value) = validated_config(spec, &declared).await?;
    match declared
        .module
        .get::<Value>("setup")
        .map_err(script_error)?
    {
        Value::Function(setup) => {
            let b = Budget::new(spec.limits.instructions, "setup");
            Budgeted::new(b, setup.call_async::<()>(config_value))
                .await
                .map_err(script_error)?;
        }
        Value::Nil => {}
        other => {
            return Err(LoadError::Plugin(format!(
                "plugins/{}/init.lua: setup must be a function, got {}",
                spec.folder,
                errors::type_name(&other)
            )))
        }
    }
    Ok(declared.loaded(config, source))
}

impl Declared {
    /// The loaded plugin, with the config it got and where that came from.
    fn loaded(self, config: Json, source: &'static str) -> Loaded {
        Loaded {
            lua: self.lua,
            ctx: self.ctx,
            module: self.module,
            meta: self.meta,
            config_path: self.config_path,
            config,
            source,
        }
    }
}

/// The first steps of a load: a sandboxed state with the `rackscope` API over the
/// plugin's paths, `init.lua` run, its table's metadata checked, its `config_file`
/// settled.
pub async fn declare(
    spec: &LoadSpec,
    state: AppState,
    runtime: Arc<dyn PluginRuntime>,
    main: tokio::runtime::Handle,
) -> Result<Declared, LoadError> {
    let display_prefix = format!("plugins/{}", spec.folder);
    let sspec = sandbox::SandboxSpec {
        code_dir: spec.paths.code_dir.clone(),
        display_prefix: display_prefix.clone(),
        memory_limit: spec.limits.memory,
    };
    let lua = sandbox::new_state(&sspec)
        .map_err(|e| LoadError::Host(format!("cannot create Lua state: {e}")))?;
    let mut host = HostCtx::new(
        state,
        main,
        &spec.folder,
        spec.paths.clone(),
        spec.limits,
        runtime,
    );
    host.hooks = spec.hooks.clone();
    let ctx = Rc::new(host);
    api::register(&lua, ctx.clone())
        .map_err(|e| LoadError::Host(format!("cannot register the rackscope API: {e}")))?;
    if let Some(hooks) = &spec.hooks {
        follow_test_clock(&lua, hooks.clone())
            .map_err(|e| LoadError::Host(format!("cannot set the test clock: {e}")))?;
    }

    let init = spec.paths.code_dir.join("init.lua");
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

    let paths = match module.get::<Value>("config_file").map_err(script_error)? {
        Value::Nil => spec.paths.clone(),
        Value::String(s) => {
            let s = s.to_string_lossy();
            spec.paths.with_config_file(&s).ok_or_else(|| {
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
    let config_path = paths.config_file.clone();
    *ctx.paths.borrow_mut() = paths;
    Ok(Declared {
        lua,
        ctx,
        module,
        meta,
        config_path,
    })
}

/// The config a declared plugin would get (`spec.config_override`, else its config
/// file), once its `validate_config` (if any) accepts it; where it came from ("file" or
/// "defaults"); and the Lua table `validate_config` was given, which `setup` gets too.
/// The config is also what `rackscope.config.plugin()` gives from now on.
pub async fn validated_config(
    spec: &LoadSpec,
    declared: &Declared,
) -> Result<(Json, &'static str, Value), LoadError> {
    let (config, source) = match &spec.config_override {
        Some(c) => (c.clone(), "file"),
        None => {
            let l = plugin_file::read(&declared.config_path)
                .map_err(|e| LoadError::Config(e.to_string()))?;
            (l.config, l.source)
        }
    };
    *declared.ctx.config.borrow_mut() = config.clone();
    let config_value = to_lua(&declared.lua, &config).map_err(script_error)?;
    if let Some(validate) = declared
        .module
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
    Ok((config, source, config_value))
}

/// The plugin's fallback for the load error `error`: `on_load_error(error, config)` with
/// registration open, instead of `validate_config` and `setup`.
async fn fallback(spec: &LoadSpec, declared: Declared, error: &str) -> Result<Loaded, LoadError> {
    let config = plugin_file::read(&declared.config_path)
        .ok()
        .map(|l| l.config);
    *declared.ctx.config.borrow_mut() = config.clone().unwrap_or(Json::Null);
    let Value::Function(hook) = declared
        .module
        .get::<Value>("on_load_error")
        .map_err(script_error)?
    else {
        return Err(LoadError::Plugin(format!(
            "plugins/{}/init.lua has no on_load_error",
            spec.folder
        )));
    };
    let config_value = match &config {
        Some(c) => to_lua(&declared.lua, c).map_err(script_error)?,
        None => Value::Nil,
    };
    let b = Budget::new(spec.limits.instructions, "on_load_error");
    Budgeted::new(b, hook.call_async::<()>((error, config_value)))
        .await
        .map_err(script_error)?;
    Ok(declared.loaded(config.unwrap_or(Json::Null), "file"))
}

/// Under a test host, `os.time()` and `os.date(fmt)` without a time of their own read the
/// test's clock, as `rackscope.now()` does.
pub fn follow_test_clock(lua: &Lua, hooks: Arc<dyn TestHooks>) -> mlua::Result<()> {
    let now = lua.create_function(move |_, ()| Ok(hooks.now()))?;
    lua.load(
        r#"
        local now, os = ...
        local raw_time, raw_date = os.time, os.date
        os.time = function(t)
          if t == nil then return math.floor(now()) end
          return raw_time(t)
        end
        os.date = function(fmt, t)
          if t == nil then t = math.floor(now()) end
          return raw_date(fmt, t)
        end
        "#,
    )
    .set_name("=test clock")
    .call::<()>((now, lua.globals().get::<Table>("os")?))
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
    if !is_safe_id(&id) {
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

pub(super) fn script_error(e: mlua::Error) -> LoadError {
    LoadError::Script(lua_message(&e))
}

/// A load-time Lua error as one line (file:line: message), plus the traceback if any.
pub(super) fn lua_message(e: &mlua::Error) -> String {
    match errors::classify(e) {
        Failure::Interrupted(i) => i.to_string(),
        Failure::Memory => "out of memory (the plugin's memory limit was reached)".into(),
        Failure::Http(h) => h.to_string(),
        Failure::Error(m) => m,
    }
}
