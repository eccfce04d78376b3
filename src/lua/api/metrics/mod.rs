//! `rackscope.metrics`: the series a plugin exposes on its scrape listener.
//!
//! - `serve(addr)` (during setup): ask the host for a scrape listener;
//!   `listening()`: its address once it is open, or nil (not asked for, not yet open, or
//!   it could not be bound).
//! - `gauge(name, help, labels)` / `counter(...)`: a family ([`family`]) with
//!   `:set(labels, value)`, `:inc(labels [, by])`, `:remove(labels)`, `:clear()`;
//!   `labels` is a table keyed by label name, or a list of values in declaration order.
//!   For large families updated every tick, `:series(labels)` returns a numeric handle
//!   and `:set_many(values)` sets every series whose handle is an index of `values` in one
//!   call (`:set_many(handles, values)` for two parallel arrays).
//! - `label_table(columns)` and `family:block(table, extras)`: bulk series over a shared
//!   table of label values ([`block`]), for the simulator's ~730,000 series at 14,000 nodes.
//! - `clear()`: every series of every family.
//!
//! One namespace, registered here; its parts: [`labels`] (reading label values),
//! [`family`] (a family's method table), [`block`] (label tables and blocks).

pub mod block;
pub mod family;
pub mod labels;

use std::rc::Rc;

use mlua::{Lua, Table, Value};

use super::support::{arg_string, arg_table, check_open};
use crate::lua::errors;
use crate::lua::host::HostCtx;
use crate::metrics::Kind;

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
    ns.set("label_table", lua.create_function(block::label_table)?)?;
    let c = ctx.clone();
    ns.set(
        "listening",
        lua.create_function(move |_, ()| {
            Ok(c.runtime.listener_addr(&c.folder).map(|a| a.to_string()))
        })?,
    )?;
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
        check_open(lua, F, reg.sealed)?;
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
        family::family(lua, c.metrics.clone(), name, &labels)
    }
}

/// `rackscope.metrics.clear()`: every series of every family.
fn clear(c: Rc<HostCtx>) -> impl Fn(&Lua, ()) -> mlua::Result<()> {
    move |_, ()| {
        c.metrics.clear(None);
        Ok(())
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
