//! Test support for the namespaces: a host context over the demo config, and a bare Lua
//! state (no sandbox) with the namespaces under test registered under `rackscope`, so each
//! namespace is tested the way Lua calls it.

use std::rc::Rc;
use std::sync::Arc;

use mlua::{FromLuaMulti, Lua};

use super::Register;
use crate::config::plugin_file::PluginPaths;
use crate::lua::host::{HostCtx, Limits, NoRuntime};
use crate::state::AppState;

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
    /// `core` (which most tests use: `rackscope.array`, `null`), then `namespaces`.
    /// Must run inside a Tokio runtime.
    pub fn new(namespaces: &[Register]) -> TestHost {
        let dir = tempfile::tempdir().unwrap();
        let paths = PluginPaths {
            code_dir: dir.path().join("code"),
            config_dir: dir.path().to_path_buf(),
            config_file: dir.path().join("config.yml"),
        };
        let ctx = HostCtx::new(
            demo_state(),
            tokio::runtime::Handle::current(),
            "probe",
            paths,
            Limits::default(),
            Arc::new(NoRuntime),
        );
        *ctx.config.borrow_mut() = serde_json::json!({"greeting": "hi"});
        let ctx = Rc::new(ctx);
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
