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

use super::{arg_number, arg_string};
use crate::lua::errors;
use crate::lua::host::HostCtx;
use crate::prometheus::{CacheKind, PromError};

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    let c = ctx.clone();
    ns.set(
        "query",
        lua.create_async_function(move |lua, args: (Value, Value)| query(lua, c.clone(), args))?,
    )?;
    let c = ctx.clone();
    ns.set(
        "query_range",
        lua.create_async_function(move |lua, args: (Value, Value, Value, Value)| {
            query_range(lua, c.clone(), args)
        })?,
    )?;
    root.set("prometheus", ns)
}

/// `rackscope.prometheus.query(promql [, {cache = ..., columns = ...}])`.
async fn query(lua: Lua, c: Rc<HostCtx>, (q, opts): (Value, Value)) -> mlua::Result<MultiValue> {
    const F: &str = "rackscope.prometheus.query";
    let q = arg_string(&lua, F, 1, &q)?;
    let columns = match &opts {
        Value::Table(t) => super::promcolumns::parse_option(&lua, F, 2, t.get("columns")?)?,
        _ => None,
    };
    let kind = cache_kind(&lua, F, &opts)?;
    let prom = c.state.prometheus().clone();
    let joined = c
        .main
        .spawn(async move { prom.query(&q, kind).await })
        .await;
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

/// The `cache` option of `query` (default `generic`).
fn cache_kind(lua: &Lua, f: &str, opts: &Value) -> mlua::Result<CacheKind> {
    match opts {
        Value::Nil => Ok(CacheKind::Generic),
        Value::Table(t) => match t.get::<Value>("cache")? {
            Value::Nil => Ok(CacheKind::Generic),
            Value::String(s) => {
                let s = s.to_str()?.to_string();
                CacheKind::parse(&s).ok_or_else(|| {
                    errors::bad_argument(
                        lua,
                        f,
                        2,
                        format!("unknown cache '{s}' (expected health, metrics, generic or none)"),
                    )
                })
            }
            other => Err(errors::bad_argument(
                lua,
                f,
                2,
                format!("cache must be a string, got {}", errors::type_name(&other)),
            )),
        },
        other => Err(errors::type_error(lua, f, 2, "table", other)),
    }
}

/// `rackscope.prometheus.query_range(promql, start, end [, step])`.
async fn query_range(
    lua: Lua,
    c: Rc<HostCtx>,
    (q, start, end, step): (Value, Value, Value, Value),
) -> mlua::Result<MultiValue> {
    const F: &str = "rackscope.prometheus.query_range";
    let q = arg_string(&lua, F, 1, &q)?;
    let start = arg_number(&lua, F, 2, &start)?;
    let end = arg_number(&lua, F, 3, &end)?;
    let step = match &step {
        Value::Nil => "60s".to_string(),
        // Plain seconds: both Prometheus and compatible engines read `7.5`, while
        // Prometheus refuses the duration `7.5s`.
        Value::Integer(_) | Value::Number(_) => {
            let secs = arg_number(&lua, F, 4, &step)?;
            if !(secs.is_finite() && secs > 0.0) {
                return Err(errors::bad_argument(
                    &lua,
                    F,
                    4,
                    format!("step must be a positive number of seconds, got {secs}"),
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

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn arguments_are_checked_before_any_request() {
        let h = TestHost::new(&[super::register]);
        for (src, want) in [
            (
                "rackscope.prometheus.query(nil)",
                "(string expected, got nil)",
            ),
            (
                "rackscope.prometheus.query('up', 5)",
                "(table expected, got number)",
            ),
            (
                "rackscope.prometheus.query('up', { cache = 'weekly' })",
                "unknown cache 'weekly'",
            ),
            (
                "rackscope.prometheus.query('up', { cache = 1 })",
                "cache must be a string",
            ),
            (
                "rackscope.prometheus.query_range('up', 'a', 2)",
                "bad argument #2",
            ),
            (
                "rackscope.prometheus.query_range('up', 1, 2, -5)",
                "step must be a positive number of seconds",
            ),
            (
                "rackscope.prometheus.query_range('up', 1, 2, 0/0)",
                "step must be a positive number of seconds",
            ),
        ] {
            // Not a tail call, as in a plugin: the caller's frame stays on the stack.
            let src = format!("local _ = {src}");
            let err = h.eval_async::<()>(&src).await.unwrap_err().to_string();
            assert!(err.contains(want), "{src}: {err}");
            assert!(
                err.contains("test:1:"),
                "located at the caller's line: {err}"
            );
        }
    }

    #[tokio::test]
    async fn the_error_table_prints_as_its_message() {
        let h = TestHost::new(&[super::register]);
        let t = super::error_table(&h.lua, "timeout", "too slow").unwrap();
        h.lua.globals().set("err", t).unwrap();
        let (kind, text, joined): (String, String, String) = h
            .eval("return err.kind, tostring(err), 'Prometheus: ' .. err")
            .unwrap();
        assert_eq!(
            (kind.as_str(), text.as_str(), joined.as_str()),
            ("timeout", "too slow", "Prometheus: too slow")
        );
    }
}
