//! Test support for the namespaces: a host context over the demo config, and a bare Lua
//! state (no sandbox) with the namespaces under test registered under `rackscope`, so each
//! namespace is tested the way Lua calls it.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{FromLuaMulti, Lua, Table};

use crate::lua::host::{HostCtx, Limits, NoRuntime};
use crate::lua::registry::Registrar;
use crate::metrics::MetricsRegistry;
use crate::state::AppState;

/// How a namespace registers itself.
pub type Register = fn(&Lua, &Table, &Rc<HostCtx>) -> mlua::Result<()>;

/// A bare Lua state with some namespaces, its host context and a private config folder.
pub struct TestHost {
    pub lua: Lua,
    pub ctx: Rc<HostCtx>,
    pub dir: tempfile::TempDir,
}

/// The demo config (`config/app.yaml` of the repository): topology, templates, no secrets.
pub fn demo_state() -> AppState {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/app.yaml");
    AppState::load(&path).expect("the demo config loads")
}

impl TestHost {
    /// `core` first (other namespaces hang off `rackscope.plugin`), then `namespaces`.
    /// Must run inside a Tokio runtime.
    pub fn new(namespaces: &[Register]) -> TestHost {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Rc::new(HostCtx {
            state: demo_state(),
            main: tokio::runtime::Handle::current(),
            folder: "probe".into(),
            plugin_id: RefCell::new("probe".into()),
            code_dir: dir.path().join("code"),
            config_dir: dir.path().to_path_buf(),
            config_path: RefCell::new(dir.path().join("config.yml")),
            config: RefCell::new(serde_json::json!({"greeting": "hi"})),
            registrar: RefCell::new(Registrar::default()),
            limits: Limits::default(),
            metrics: Arc::new(MetricsRegistry::default()),
            runtime: Arc::new(NoRuntime),
            warnings: Default::default(),
            published: Default::default(),
        });
        let lua = Lua::new();
        let root = lua.create_table().unwrap();
        super::core::register(&lua, &root, &ctx).unwrap();
        for register in namespaces {
            register(&lua, &root, &ctx).unwrap();
        }
        lua.globals().set("rackscope", root).unwrap();
        TestHost { lua, ctx, dir }
    }

    /// Runs `src` and returns what it returns.
    pub fn eval<T: FromLuaMulti>(&self, src: &str) -> mlua::Result<T> {
        self.lua.load(src).set_name("=test").eval()
    }

    /// Runs `src` (which may call async functions) and returns what it returns.
    pub async fn eval_async<T: FromLuaMulti>(&self, src: &str) -> mlua::Result<T> {
        self.lua.load(src).set_name("=test").eval_async().await
    }

    /// The message of the error `src` raises.
    pub fn error(&self, src: &str) -> String {
        match self.eval::<mlua::Value>(src) {
            Ok(v) => panic!("expected an error from {src}, got {v:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// Seals registration, as the runtime does once `setup` has returned.
    pub fn seal(&self) {
        self.ctx.registrar.borrow_mut().sealed = true;
    }
}
