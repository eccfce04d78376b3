//! `rackscope.prometheus.query(promql [, {cache = "health"|"metrics"|"generic"|"none",
//! columns = {...}}])` and `rackscope.prometheus.query_range(promql, start, end [, step])`.
//!
//! Both return the `data` part of Prometheus's answer as plain tables
//! (`{resultType = "vector", result = {...}}`), or `nil, err` where `err` is a table
//! `{kind = "unreachable"|"timeout"|"http"|"query"|"malformed"|"config"|"request",
//! message = ...}` that also prints as its message. An answer a clustered engine marks as
//! partial carries `partial = true` beside `result` (and Prometheus's `warnings`, if any).
//! With `columns`, an instant vector comes back in the columnar form of
//! [`super::promcolumns`]. The HTTP request runs on the server's main runtime; the calling
//! handler yields meanwhile, so other requests to the plugin go on.

use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use super::{arg_number, arg_string, arg_table};
use crate::lua::errors;
use crate::lua::host::HostCtx;
use crate::prometheus::{CacheKind, PromError};

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;

    let c = ctx.clone();
    ns.set(
        "query",
        lua.create_async_function(move |lua, (q, opts): (Value, Value)| {
            let c = c.clone();
            async move {
                const F: &str = "rackscope.prometheus.query";
                let q = arg_string(&lua, F, 1, &q)?;
                let columns = match &opts {
                    Value::Table(t) => super::promcolumns::parse_option(&lua, F, 2, t.get("columns")?)?,
                    _ => None,
                };
                let kind = match &opts {
                    Value::Nil => CacheKind::Generic,
                    Value::Table(t) => match t.get::<Value>("cache")? {
                        Value::Nil => CacheKind::Generic,
                        Value::String(s) => {
                            let s = s.to_str()?.to_string();
                            CacheKind::parse(&s).ok_or_else(|| {
                                errors::bad_argument(&lua, F, 2, format!("unknown cache '{s}' (expected health, metrics, generic or none)"))
                            })?
                        }
                        other => return Err(errors::bad_argument(&lua, F, 2, format!("cache must be a string, got {}", errors::type_name(&other)))),
                    },
                    other => return Err(errors::type_error(&lua, F, 2, "table", other)),
                };
                let prom = c.state.prometheus().clone();
                let joined = c.main.spawn(async move { prom.query(&q, kind).await }).await;
                match (columns, joined) {
                    (Some(cols), Ok(Ok(data))) => {
                        match super::promcolumns::to_columns(&lua, &data, &cols).await {
                            Ok(t) => Ok(MultiValue::from_iter([Value::Table(t?)])),
                            Err(msg) => Ok(MultiValue::from_iter([
                                Value::Nil,
                                Value::Table(error_table(&lua, "query", &msg)?),
                            ])),
                        }
                    }
                    (_, joined) => answer(&lua, joined),
                }
            }
        })?,
    )?;

    let c = ctx.clone();
    ns.set(
        "query_range",
        lua.create_async_function(
            move |lua, (q, start, end, step): (Value, Value, Value, Value)| {
                let c = c.clone();
                async move {
                    const F: &str = "rackscope.prometheus.query_range";
                    let q = arg_string(&lua, F, 1, &q)?;
                    let start = arg_number(&lua, F, 2, &start)?;
                    let end = arg_number(&lua, F, 3, &end)?;
                    let step = match &step {
                        Value::Nil => "60s".to_string(),
                        // Plain seconds: both Prometheus and compatible engines read
                        // `7.5`, while Prometheus refuses the duration `7.5s`.
                        Value::Integer(_) | Value::Number(_) => {
                            let secs = arg_number(&lua, F, 4, &step)?;
                            if !(secs.is_finite() && secs > 0.0) {
                                return Err(errors::bad_argument(
                                    &lua,
                                    F,
                                    4,
                                    format!(
                                        "step must be a positive number of seconds, got {secs}"
                                    ),
                                ));
                            }
                            secs.to_string()
                        }
                        other => arg_string(&lua, F, 4, other)?,
                    };
                    let prom = c.state.prometheus().clone();
                    let joined = c
                        .main
                        .spawn(async move { prom.query_range(&q, start, end, &step).await })
                        .await;
                    answer(&lua, joined)
                }
            },
        )?,
    )?;
    let _ = arg_table;
    root.set("prometheus", ns)
}

fn answer(
    lua: &Lua,
    joined: Result<Result<std::sync::Arc<serde_json::Value>, PromError>, tokio::task::JoinError>,
) -> mlua::Result<MultiValue> {
    match joined {
        Ok(Ok(data)) => Ok(MultiValue::from_iter([super::to_lua(lua, &*data)?])),
        Ok(Err(e)) => Ok(MultiValue::from_iter([
            Value::Nil,
            Value::Table(error_table(lua, e.kind(), &e.to_string())?),
        ])),
        Err(e) => Ok(MultiValue::from_iter([
            Value::Nil,
            Value::Table(error_table(lua, "internal", &e.to_string())?),
        ])),
    }
}

/// `{kind = ..., message = ...}` that `tostring()` and `..` turn into the message.
pub fn error_table(lua: &Lua, kind: &str, message: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("kind", kind)?;
    t.set("message", message)?;
    let mt = lua.create_table()?;
    mt.set(
        "__tostring",
        lua.create_function(|_, t: Table| t.get::<String>("message"))?,
    )?;
    mt.set(
        "__concat",
        lua.create_function(|_, (a, b): (Value, Value)| {
            let s = |v: &Value| -> mlua::Result<String> {
                Ok(match v {
                    Value::Table(t) => t.get::<String>("message")?,
                    other => other.to_string()?,
                })
            };
            Ok(format!("{}{}", s(&a)?, s(&b)?))
        })?,
    )?;
    t.set_metatable(Some(mt))?;
    Ok(t)
}
