//! `rackscope.metrics.serve(addr)` (during setup: ask the host for a scrape listener),
//! `rackscope.metrics.gauge(name, help, labels)` / `counter(...)` returning a family
//! with `:set(labels, value)`, `:inc(labels [, by])`, `:remove(labels)`, `:clear()`, and
//! `rackscope.metrics.clear()`. `labels` is a table keyed by label name, or a list of
//! values in declaration order.
//!
//! For large families updated every tick: `:series(labels)` returns a numeric handle
//! (creating the series), and `:set_many(values)` sets every series whose handle is an
//! index of the array `values` in one call (`:set_many(handles, values)` for two
//! parallel arrays). A few hundred thousand samples per call take tens of milliseconds.
//! `:block(table, extras)` (bulk series over a label table) is in [`super::metrics_bulk`].

use std::rc::Rc;
use std::sync::Arc;

use mlua::{Lua, Table, Value};

use super::{arg_number, arg_string, arg_table};
use crate::lua::errors;
use crate::lua::host::HostCtx;
use crate::metrics::{Kind, MetricsRegistry};

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    ns.set("serve", lua.create_function(serve(ctx.clone()))?)?;
    ns.set(
        "gauge",
        lua.create_function(declare(ctx.clone(), "gauge", Kind::Gauge))?,
    )?;
    ns.set(
        "counter",
        lua.create_function(declare(ctx.clone(), "counter", Kind::Counter))?,
    )?;
    ns.set("clear", lua.create_function(clear(ctx.clone()))?)?;
    root.set("metrics", ns)
}

/// `rackscope.metrics.serve(addr)`: asks for a scrape listener (only during setup).
fn serve(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<()> {
    move |lua, addr| {
        const F: &str = "rackscope.metrics.serve";
        let a = arg_string(lua, F, 1, &addr)?;
        let sock: std::net::SocketAddr = a.parse().map_err(|_| {
            errors::bad_argument(
                lua,
                F,
                1,
                format!("expected an address like 127.0.0.1:9000, got '{a}'"),
            )
        })?;
        let mut reg = c.registrar.borrow_mut();
        if reg.sealed {
            return Err(errors::misuse(
                lua,
                format!("{F} can only be called during setup"),
            ));
        }
        reg.metrics_listen = Some(sock);
        Ok(())
    }
}

/// `rackscope.metrics.gauge/counter(name, help, labels)`: declares a family (or gets the
/// one declared identically) and returns its method table.
fn declare(
    c: Rc<HostCtx>,
    fname: &'static str,
    kind: Kind,
) -> impl Fn(&Lua, (Value, Value, Value)) -> mlua::Result<Table> {
    move |lua, (name, help, labels)| {
        let f = format!("rackscope.metrics.{fname}");
        let name = arg_string(lua, &f, 1, &name)?;
        let help = match help {
            Value::Nil => String::new(),
            other => arg_string(lua, &f, 2, &other)?,
        };
        let labels: Vec<String> = match labels {
            Value::Nil => Vec::new(),
            other => arg_table(lua, &f, 3, &other)?
                .sequence_values::<String>()
                .collect::<mlua::Result<_>>()
                .map_err(|e| errors::bad_argument(lua, &f, 3, e))?,
        };
        c.metrics
            .declare(&name, kind, &help, labels.clone())
            .map_err(|e| errors::bad_argument(lua, &f, 1, e))?;
        family(lua, c.metrics.clone(), name, &labels)
    }
}

/// `rackscope.metrics.clear()`: every series of every family.
fn clear(c: Rc<HostCtx>) -> impl Fn(&Lua, ()) -> mlua::Result<()> {
    move |_, ()| {
        c.metrics.clear(None);
        Ok(())
    }
}

/// The label names of one family, as Lua strings made once, so that reading a label
/// table (`:series`, `:set`, ... once per sample) does not intern the names again.
struct LabelNames {
    names: Vec<String>,
    keys: Vec<mlua::String>,
}

impl LabelNames {
    fn new(lua: &Lua, names: &[String]) -> mlua::Result<Rc<Self>> {
        Ok(Rc::new(LabelNames {
            names: names.to_vec(),
            keys: names
                .iter()
                .map(|n| lua.create_string(n))
                .collect::<mlua::Result<_>>()?,
        }))
    }

    /// The label values of `labels` (a table keyed by label name, or a list of values
    /// in declaration order) as text; `method` names the call in errors.
    fn read(
        &self,
        lua: &Lua,
        method: &dyn Fn() -> String,
        labels: &Value,
    ) -> mlua::Result<Vec<String>> {
        let t = match labels {
            Value::Nil if self.names.is_empty() => return Ok(Vec::new()),
            Value::Table(t) => t,
            other => return Err(errors::type_error(lua, &method(), 1, "table", other)),
        };
        let n = t.raw_len();
        if n > 0 {
            return (1..=n)
                .map(|i| Ok(label_text(lua, method, t, i)?.unwrap_or_default()))
                .collect();
        }
        self.keys
            .iter()
            .zip(&self.names)
            .map(|(k, name)| match label_text(lua, method, t, k)? {
                Some(v) => Ok(v),
                None => Err(errors::bad_argument(
                    lua,
                    &method(),
                    1,
                    format!("missing label '{name}'"),
                )),
            })
            .collect()
    }
}

/// `t[key]` as label text, None when it is nil. A string (or number) is read straight off
/// the Lua stack, the common case, without taking a reference to the Lua value; anything
/// else goes through [`label_value`].
fn label_text(
    lua: &Lua,
    method: &dyn Fn() -> String,
    t: &Table,
    key: impl mlua::IntoLua + Copy,
) -> mlua::Result<Option<String>> {
    if let Ok(s) = t.raw_get::<Option<String>>(key) {
        return Ok(s);
    }
    let v: Value = t.raw_get(key)?;
    label_value(lua, &v).map(Some).ok_or_else(|| {
        errors::bad_argument(
            lua,
            &method(),
            1,
            format!(
                "label values must be strings, got {}",
                errors::type_name(&v)
            ),
        )
    })
}

fn family(
    lua: &Lua,
    reg: Arc<MetricsRegistry>,
    name: String,
    labels: &[String],
) -> mlua::Result<Table> {
    let names = LabelNames::new(lua, labels)?;
    let t = lua.create_table()?;
    t.set("name", name.as_str())?;
    for (method, add) in [("set", false), ("inc", true)] {
        let (reg, name, names) = (reg.clone(), name.clone(), names.clone());
        t.set(
            method,
            lua.create_function(move |lua, (_self, labels, v): (Value, Value, Value)| {
                let f = || format!("{name}:{method}");
                let texts = names.read(lua, &f, &labels)?;
                let v = match (&v, add) {
                    (Value::Nil, true) => 1.0,
                    _ => arg_number(lua, &f(), 2, &v)?,
                };
                reg.set(&name, &texts, v, add)
                    .map_err(|e| errors::misuse(lua, e))
            })?,
        )?;
    }
    t.set(
        "block",
        super::metrics_bulk::block_method(lua, reg.clone(), name.clone())?,
    )?;
    let (r, n, ln) = (reg.clone(), name.clone(), names.clone());
    t.set(
        "series",
        lua.create_function(move |lua, (_self, labels): (Value, Value)| {
            let f = || format!("{n}:series");
            let texts = ln.read(lua, &f, &labels)?;
            let h = r.handle(&n, &texts).map_err(|e| errors::misuse(lua, e))?;
            Ok(h as i64 + 1)
        })?,
    )?;
    let (r, n) = (reg.clone(), name.clone());
    t.set(
        "set_many",
        lua.create_function(move |lua, (_self, a, b): (Value, Value, Value)| {
            let f = format!("{n}:set_many");
            let first = arg_table(lua, &f, 1, &a)?;
            let number = |v: Value, i: usize| -> mlua::Result<Option<f64>> {
                match v {
                    Value::Nil => Ok(None),
                    Value::Integer(x) => Ok(Some(x as f64)),
                    Value::Number(x) => Ok(Some(x)),
                    other => Err(errors::bad_argument(
                        lua,
                        &f,
                        1,
                        format!(
                            "value #{i} must be a number, got {}",
                            errors::type_name(&other)
                        ),
                    )),
                }
            };
            let mut updates = Vec::with_capacity(first.raw_len());
            match b {
                Value::Nil => {
                    for i in 1..=first.raw_len() {
                        if let Some(v) = number(first.raw_get(i)?, i)? {
                            updates.push((i - 1, v));
                        }
                    }
                }
                other => {
                    let values = arg_table(lua, &f, 2, &other)?;
                    if values.raw_len() != first.raw_len() {
                        return Err(errors::bad_argument(
                            lua,
                            &f,
                            2,
                            "handles and values must have the same length",
                        ));
                    }
                    for i in 1..=first.raw_len() {
                        let h: i64 = first.raw_get(i)?;
                        if let (true, Some(v)) = (h >= 1, number(values.raw_get(i)?, i)?) {
                            updates.push((h as usize - 1, v));
                        }
                    }
                }
            }
            r.set_many(&n, updates).map_err(|e| errors::misuse(lua, e))
        })?,
    )?;
    let (r, n, ln) = (reg.clone(), name.clone(), names);
    t.set(
        "remove",
        lua.create_function(move |lua, (_self, labels): (Value, Value)| {
            let f = || format!("{n}:remove");
            let texts = ln.read(lua, &f, &labels)?;
            Ok(r.remove(&n, &texts))
        })?,
    )?;
    t.set(
        "clear",
        lua.create_function(move |_, _self: Value| {
            reg.clear(Some(&name));
            Ok(())
        })?,
    )?;
    Ok(t)
}

/// A label value as text: a string, or a number or boolean as Lua's `tostring` writes
/// it; None for other types.
pub fn label_value(lua: &Lua, v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| s.to_string_lossy()),
        Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn families_series_and_bulk_updates() {
        let h = TestHost::new(&[super::register]);
        h.eval::<()>(
            r#"
            rackscope.metrics.serve("127.0.0.1:9")
            local t = rackscope.metrics.gauge("probe_temp", "Temperature", { "node" })
            t:set({ node = "n1" }, 41.5)
            t:set({ "n2" }, 39)
            local c = rackscope.metrics.counter("probe_events_total", "Events", { "kind" })
            c:inc({ kind = "tick" })
            c:inc({ kind = "tick" }, 4)
            local a, b = t:series({ node = "a" }), t:series({ node = "b" })
            t:set_many({ a, b }, { 1, 2 })
            t:set_many({ a }, { 7 })
            assert(t:remove({ node = "n2" }) == true)
            assert(t:remove({ node = "n2" }) == false)
            "#,
        )
        .unwrap();
        let text = h.ctx.metrics.render();
        assert!(text.contains("# TYPE probe_temp gauge\n"), "{text}");
        assert!(text.contains("probe_temp{node=\"n1\"} 41.5\n"), "{text}");
        assert!(!text.contains("n2"), "{text}");
        assert!(text.contains("probe_temp{node=\"a\"} 7\n"), "{text}");
        assert!(text.contains("probe_temp{node=\"b\"} 2\n"), "{text}");
        assert!(
            text.contains("probe_events_total{kind=\"tick\"} 5\n"),
            "{text}"
        );
        assert_eq!(
            h.ctx.registrar.borrow().metrics_listen,
            Some("127.0.0.1:9".parse().unwrap())
        );
        let err = h.error("rackscope.metrics.gauge('probe_temp', 'x', { 'other' })");
        assert!(err.contains("already declared with other labels"), "{err}");
        let err = h.error("rackscope.metrics.gauge('bad name')");
        assert!(err.contains("invalid metric name 'bad name'"), "{err}");
        let err =
            h.error("rackscope.metrics.gauge('probe_temp', 'T', { 'node' }):set({ x = 1 }, 1)");
        assert!(err.contains("missing label 'node'"), "{err}");
        let err = h.error("rackscope.metrics.serve('nowhere')");
        assert!(
            err.contains("expected an address like 127.0.0.1:9000"),
            "{err}"
        );
        h.seal();
        let err = h.error("rackscope.metrics.serve('127.0.0.1:9')");
        assert!(err.contains("can only be called during setup"), "{err}");
        h.eval::<()>("rackscope.metrics.clear()").unwrap();
        assert_eq!(h.ctx.metrics.series_count(), 0);
    }

    #[tokio::test]
    async fn label_values_of_every_accepted_type() {
        let h = TestHost::new(&[super::register]);
        h.eval::<()>(
            r#"
            local g = rackscope.metrics.gauge("probe_kinds", "K", { "a", "b", "c" })
            g:set({ a = "x\"y", b = 7, c = true }, 1)
            g:set({ "p", 2.5, false }, 2)
            assert(g:series({ a = "f", b = 2.0, c = "s" }) == 3)
            g:set({ a = "bad\255", b = "1", c = "s" }, 4)
            "#,
        )
        .unwrap();
        let text = h.ctx.metrics.render();
        assert!(
            text.contains("probe_kinds{a=\"x\\\"y\",b=\"7\",c=\"true\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("probe_kinds{a=\"p\",b=\"2.5\",c=\"false\"} 2\n"),
            "{text}"
        );
        // Numbers are written as Lua's tostring writes them.
        assert!(
            text.contains("probe_kinds{a=\"f\",b=\"2.0\",c=\"s\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("probe_kinds{a=\"bad\u{fffd}\",b=\"1\",c=\"s\"} 4\n"),
            "{text}"
        );
        let err = h.error(
            "rackscope.metrics.gauge('probe_kinds', 'K', { 'a', 'b', 'c' }):series({ a = 'x', b = {}, c = 'y' })",
        );
        assert!(
            err.contains(
                "bad argument #1 to 'probe_kinds:series' (label values must be strings, got table)"
            ),
            "{err}"
        );
        let err = h.error("rackscope.metrics.gauge('probe_kinds', 'K', { 'a', 'b', 'c' }):series({ a = 'x', c = 'y' })");
        assert!(err.contains("missing label 'b'"), "{err}");
        let err =
            h.error("rackscope.metrics.gauge('probe_kinds', 'K', { 'a', 'b', 'c' }):set('x', 1)");
        assert!(
            err.contains("bad argument #1 to 'probe_kinds:set' (table expected, got string)"),
            "{err}"
        );
    }
}
