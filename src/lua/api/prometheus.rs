//! `rackscope.prometheus.query(promql [, {cache = "health"|"metrics"|"generic"|"none",
//! columns = {...}}])` and `rackscope.prometheus.query_range(promql, start, end [, step])`.
//!
//! Both return the `data` part of Prometheus's answer as plain tables
//! (`{resultType = "vector", result = {...}}`), or `nil, err` where `err` is a table
//! `{kind = "unreachable"|"timeout"|"http"|"query"|"malformed"|"config"|"request",
//! message = ...}` that also prints as its message. An answer a clustered engine marks as
//! partial carries `partial = true` beside `result` (and Prometheus's `warnings`, if any).
//! The HTTP request runs on the server's main runtime; the calling handler yields
//! meanwhile, so other requests to the plugin go on. Under a test host the query goes to
//! its fake Prometheus instead ([`crate::lua::host::TestHooks::prometheus`]), and the
//! answer takes the same path back (columns, error tables).
//!
//! With `columns`, an instant vector comes back in a columnar form, for plugins that read
//! every series of a large answer:
//! `rackscope.prometheus.query(promql, { columns = { "node", "status" } })`.
//!
//! Instead of one table per series (`{metric = {...}, value = {ts, "v"}}`, three tables and
//! a string-to-number conversion per row), the answer is
//!
//! ```lua
//! { resultType = "vector", count = n,
//!   labels = { node = { "n1", "n2", ... }, status = { "idle", "down", ... } },
//!   values = { 1, 0, ... } }   -- numbers; NaN and +-Inf stay floats
//! ```
//!
//! with row `i` spread over `labels.<name>[i]` and `values[i]`. A label a series does not
//! have is `""` (as in Prometheus, where an empty label is an absent one), so the lists
//! have no holes. Only the named labels are copied. At 28,500 series this took 30-60 ms
//! on the plugin's thread against 80-190 ms for the table form (a busy 2-core machine),
//! and the plugin's own loop over it needs no `tonumber` and no table per row.

use std::collections::HashMap;
use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};
use serde_json::Value as Json;

use super::support::{arg_number, arg_string};
use crate::lua::convert::to_lua;
use crate::lua::errors;
use crate::lua::host::{HostCtx, PromCall};
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
        Value::Table(t) => parse_columns(&lua, F, 2, t.get("columns")?)?,
        _ => None,
    };
    let kind = cache_kind(&lua, F, &opts)?;
    let joined = match &c.hooks {
        Some(h) => Ok(h.prometheus(call(&c, q, None, kind)).await),
        None => {
            let prom = c.state.prometheus().clone();
            c.main
                .spawn(async move { prom.query(&q, kind).await })
                .await
        }
    };
    match (columns, joined) {
        (Some(cols), Ok(Ok(data))) => match to_columns(&lua, &data, &cols).await {
            Ok(t) => Ok(MultiValue::from_iter([Value::Table(t?)])),
            Err(msg) => Ok(MultiValue::from_iter([
                Value::Nil,
                Value::Table(error_table(&lua, "query", &msg)?),
            ])),
        },
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
    let joined = match &c.hooks {
        Some(h) => {
            let range = Some((start, end, step));
            Ok(h.prometheus(call(&c, q, range, CacheKind::Generic)).await)
        }
        None => {
            let prom = c.state.prometheus().clone();
            c.main
                .spawn(async move { prom.query_range(&q, start, end, &step).await })
                .await
        }
    };
    answer(&lua, joined)
}

/// A query as a test host's fake Prometheus sees it.
fn call(
    c: &HostCtx,
    query: String,
    range: Option<(f64, f64, String)>,
    cache: CacheKind,
) -> PromCall {
    PromCall {
        query,
        range,
        cache,
        timeout: c.state.prometheus().settings().timeout,
    }
}

fn answer(
    lua: &Lua,
    joined: Result<Result<std::sync::Arc<serde_json::Value>, PromError>, tokio::task::JoinError>,
) -> mlua::Result<MultiValue> {
    match joined {
        Ok(Ok(data)) => Ok(MultiValue::from_iter([to_lua(lua, &*data)?])),
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

/// Label names given as `columns`, checked: a list of non-empty strings.
fn parse_columns(lua: &Lua, func: &str, n: usize, v: Value) -> mlua::Result<Option<Vec<String>>> {
    let t = match v {
        Value::Nil => return Ok(None),
        Value::Table(t) => t,
        other => {
            return Err(errors::bad_argument(
                lua,
                func,
                n,
                format!(
                    "columns must be a list of label names, got {}",
                    errors::type_name(&other)
                ),
            ))
        }
    };
    let mut out = Vec::new();
    for item in t.sequence_values::<Value>() {
        match item? {
            Value::String(s) if !s.as_bytes().is_empty() => out.push(s.to_str()?.to_string()),
            other => {
                return Err(errors::bad_argument(
                    lua,
                    func,
                    n,
                    format!(
                        "columns must hold label names, got {}",
                        errors::type_name(&other)
                    ),
                ))
            }
        }
    }
    Ok(Some(out))
}

/// A Prometheus sample value: a decimal, `NaN`, `+Inf` or `-Inf`.
fn sample(v: Option<&Json>) -> f64 {
    match v.and_then(Json::as_str) {
        Some("NaN") | None => f64::NAN,
        Some("+Inf") => f64::INFINITY,
        Some("-Inf") => f64::NEG_INFINITY,
        Some(s) => s.parse().unwrap_or(f64::NAN),
    }
}

/// Distinct values remembered per column: label values repeat (statuses, partitions), and
/// reusing the Lua string skips re-hashing it. Columns of unique values stop caching here.
const CACHE_LIMIT: usize = 1024;

/// Rows converted between two yields: a large answer does not hold the plugin's thread
/// for the whole conversion, so its other requests are answered meanwhile.
const ROWS_PER_YIELD: usize = 4096;

/// Converts the `data` object of an instant query into the columnar table, or says why it
/// cannot (not a vector). Yields to the plugin's other tasks every [`ROWS_PER_YIELD`] rows.
async fn to_columns(
    lua: &Lua,
    data: &Json,
    columns: &[String],
) -> Result<mlua::Result<Table>, String> {
    let kind = data.get("resultType").and_then(Json::as_str).unwrap_or("");
    let rows: &[Json] = match data.get("result") {
        Some(Json::Array(a)) => a,
        None | Some(Json::Null) => &[],
        Some(_) => return Err(format!("columns needs a vector result, got {kind}")),
    };
    if !(kind == "vector" || (kind.is_empty() && rows.is_empty())) {
        return Err(format!("columns needs a vector result, got {kind}"));
    }
    Ok(build(lua, rows, columns).await)
}

async fn build(lua: &Lua, rows: &[Json], columns: &[String]) -> mlua::Result<Table> {
    let n = rows.len();
    let values = lua.create_table_with_capacity(n, 0)?;
    let mut cols = Vec::with_capacity(columns.len());
    for _ in columns {
        cols.push(lua.create_table_with_capacity(n, 0)?);
    }
    let mut caches: Vec<Option<HashMap<&str, mlua::String>>> =
        columns.iter().map(|_| Some(HashMap::new())).collect();
    let empty = lua.create_string("")?;
    for (i, row) in rows.iter().enumerate() {
        if i > 0 && i % ROWS_PER_YIELD == 0 {
            tokio::task::yield_now().await;
        }
        let metric = row.get("metric").and_then(Json::as_object);
        for (c, name) in columns.iter().enumerate() {
            let s = metric
                .and_then(|m| m.get(name))
                .and_then(Json::as_str)
                .unwrap_or("");
            let ls = if s.is_empty() {
                empty.clone()
            } else if let Some(cache) = caches[c].as_mut() {
                match cache.get(s) {
                    Some(v) => v.clone(),
                    None => {
                        let v = lua.create_string(s)?;
                        if cache.len() < CACHE_LIMIT {
                            cache.insert(s, v.clone());
                        } else {
                            caches[c] = None;
                        }
                        v
                    }
                }
            } else {
                lua.create_string(s)?
            };
            cols[c].raw_set(i + 1, ls)?;
        }
        values.raw_set(i + 1, sample(row.get("value").and_then(|v| v.get(1))))?;
    }
    let labels = lua.create_table_with_capacity(0, columns.len())?;
    for (name, col) in columns.iter().zip(cols) {
        labels.raw_set(name.as_str(), col)?;
    }
    let out = lua.create_table_with_capacity(0, 4)?;
    out.raw_set("resultType", "vector")?;
    out.raw_set("count", n)?;
    out.raw_set("labels", labels)?;
    out.raw_set("values", values)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;
    use super::*;
    use serde_json::json;

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

    #[tokio::test]
    async fn rows_become_columns_with_empty_strings_for_absent_labels() {
        let lua = Lua::new();
        let data = json!({"resultType": "vector", "result": [
            {"metric": {"node": "n1", "status": "idle", "job": "x"}, "value": [1.5, "1"]},
            {"metric": {"node": "n2"}, "value": [1.5, "NaN"]},
            {"metric": {"node": "n3", "status": "idle"}, "value": [1.5, "+Inf"]},
            {"metric": {}, "value": [1.5, "-2.5"]},
        ]});
        let cols = ["node".to_string(), "status".to_string()];
        let t = to_columns(&lua, &data, &cols).await.unwrap().unwrap();
        lua.globals().set("t", t).unwrap();
        let (count, n2, s2, s3, nan, inf, neg, job): (
            i64,
            String,
            String,
            String,
            bool,
            f64,
            f64,
            bool,
        ) = lua
            .load(
                "return t.count, t.labels.node[2], t.labels.status[2], t.labels.status[3], \
                 t.values[2] ~= t.values[2], t.values[3], t.values[4], t.labels.job == nil",
            )
            .eval()
            .unwrap();
        assert_eq!(count, 4);
        assert_eq!((n2.as_str(), s2.as_str(), s3.as_str()), ("n2", "", "idle"));
        assert!(nan);
        assert_eq!((inf, neg), (f64::INFINITY, -2.5));
        assert!(job);
        let lens: (i64, i64, i64) = lua
            .load("return #t.labels.node, #t.labels.status, #t.values")
            .eval()
            .unwrap();
        assert_eq!(lens, (4, 4, 4));
    }

    #[tokio::test]
    async fn only_vectors_and_empty_answers() {
        let lua = Lua::new();
        let cols = ["node".to_string()];
        let empty = to_columns(&lua, &json!({}), &cols).await.unwrap().unwrap();
        assert_eq!(empty.get::<i64>("count").unwrap(), 0);
        let err = to_columns(
            &lua,
            &json!({"resultType": "matrix", "result": [{"metric": {}, "values": []}]}),
            &cols,
        )
        .await
        .unwrap_err();
        assert!(err.contains("vector") && err.contains("matrix"), "{err}");
        let err = to_columns(
            &lua,
            &json!({"resultType": "scalar", "result": [1, "1"]}),
            &cols,
        )
        .await
        .unwrap_err();
        assert!(err.contains("scalar"), "{err}");
    }

    #[test]
    fn the_option_is_a_list_of_label_names() {
        let lua = Lua::new();
        let ok = parse_columns(
            &lua,
            "f",
            2,
            Value::Table(lua.create_sequence_from(["a", "b"]).unwrap()),
        )
        .unwrap();
        assert_eq!(ok, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(parse_columns(&lua, "f", 2, Value::Nil).unwrap(), None);
        assert!(parse_columns(&lua, "f", 2, Value::Integer(1)).is_err());
        assert!(parse_columns(
            &lua,
            "f",
            2,
            Value::Table(lua.create_sequence_from([""]).unwrap())
        )
        .is_err());
    }
}
