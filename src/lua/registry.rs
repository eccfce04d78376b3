//! What a plugin registers while it loads, and the shapes the host serves from it: routes
//! ([`RouteDef`], with their description for the API document), sidebar menu sections,
//! status maps, the metrics listener, and the plugin's own description ([`PluginMeta`]).
//! The Lua API ([`super::api`]) writes into a [`Registrar`]; the plugin runtime reads it
//! once `setup` has returned and seals it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use mlua::{Function, Lua, LuaSerdeExt, Value};
use serde::Serialize;

use super::errors;
use super::route_doc::RouteDoc;
use super::routes::PathPattern;

/// A status map: lower-cased status -> severity (and `default`).
pub type StatusMap = BTreeMap<String, String>;

/// Severities a status map may use, from best to worst rank order for summaries.
pub const SEVERITIES: [&str; 5] = ["OK", "INFO", "WARN", "CRIT", "UNKNOWN"];

/// What the plugin declares about itself in the table `init.lua` returns.
#[derive(Debug, Clone, Serialize)]
pub struct PluginMeta {
    pub id: String,
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub author: Option<String>,
}

/// A sidebar menu item (`GET /api/plugins/menu`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MenuItem {
    pub id: String,
    pub label: String,
    pub path: String,
    #[serde(default)]
    pub icon: Option<String>,
}

/// A sidebar menu section.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MenuSection {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default = "default_order")]
    pub order: i64,
    #[serde(default)]
    pub items: Vec<MenuItem>,
}

fn default_order() -> i64 {
    100
}

/// A registered route.
#[derive(Debug, Clone)]
pub struct RouteDef {
    pub method: String,
    pub pattern: PathPattern,
    /// What the plugin says about the route for the API document (the optional fourth
    /// argument of `rackscope.route`), checked at registration.
    pub doc: Option<Arc<RouteDoc>>,
}

/// What the plugin registered during `setup`, sealed afterwards.
#[derive(Default)]
pub struct Registrar {
    pub sealed: bool,
    pub routes: Vec<RouteDef>,
    pub handlers: Vec<Function>,
    pub static_menu: Vec<MenuSection>,
    pub menu_fns: Vec<Function>,
    pub status_maps: BTreeMap<String, StatusMap>,
    pub metrics_listen: Option<SocketAddr>,
}

/// One section table, or a list of them, into menu sections.
pub fn parse_sections(lua: &Lua, v: Value) -> Result<Vec<MenuSection>, String> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::Table(t) => {
            if t.contains_key("id").map_err(|e| e.to_string())? {
                let s: MenuSection = lua.from_value(Value::Table(t)).map_err(|e| e.to_string())?;
                Ok(vec![s])
            } else {
                lua.from_value(Value::Table(t)).map_err(|e| e.to_string())
            }
        }
        other => Err(format!(
            "menu section must be a table, got {}",
            errors::type_name(&other)
        )),
    }
}
