//! The functions at the root of `rackscope` that belong to no namespace: `route` and
//! `menu` (registration, open only during `setup`), `http_error`, `every` (timers),
//! `sleep`, `now` (the host's clock: [`HostCtx::now`]), and JSON's `array`, `is_array`
//! and `null`.

use std::rc::Rc;
use std::time::Duration;

use mlua::{Function, Lua, LuaSerdeExt, MultiValue, Table, Value};

use super::support::{arg_number, arg_string, check_open};
use crate::lua::budget::{Budget, Budgeted};
use crate::lua::errors::{self, HttpError};
use crate::lua::host::HostCtx;
use crate::lua::registry::{parse_sections, RouteDef};
use crate::lua::route_doc;
use crate::lua::routes::{PathPattern, METHODS};

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    root.set("route", lua.create_function(route(ctx.clone()))?)?;
    root.set("menu", lua.create_function(menu(ctx.clone()))?)?;
    root.set("http_error", lua.create_function(http_error)?)?;
    root.set("every", lua.create_function(every(ctx.clone()))?)?;
    root.set("array", lua.create_function(array)?)?;
    root.set("is_array", lua.create_function(is_array)?)?;
    root.set("null", lua.null())?;
    root.set("sleep", lua.create_async_function(sleep)?)?;
    let c = ctx.clone();
    root.set("now", lua.create_function(move |_, ()| Ok(c.now()))?)?;
    Ok(())
}

/// `rackscope.route(method, path, handler [, description])`: registers a route (only
/// during setup). The description (summary, parameters, body and answers as JSON Schema)
/// goes into the API document; a malformed one raises, naming the route.
fn route(c: Rc<HostCtx>) -> impl Fn(&Lua, (Value, Value, Value, Value)) -> mlua::Result<()> {
    move |lua, (method, path, handler, description)| {
        const F: &str = "rackscope.route";
        let method = arg_string(lua, F, 1, &method)?.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(errors::bad_argument(
                lua,
                F,
                1,
                format!(
                    "unknown method '{method}', expected one of {}",
                    METHODS.join(", ")
                ),
            ));
        }
        let path = arg_string(lua, F, 2, &path)?;
        let pattern = PathPattern::parse(&path).map_err(|e| errors::bad_argument(lua, F, 2, e))?;
        let Value::Function(handler) = handler else {
            return Err(errors::type_error(lua, F, 3, "function", &handler));
        };
        let doc = match &description {
            Value::Nil => None,
            Value::Table(t) => Some(std::sync::Arc::new(
                route_doc::parse(lua, t, &pattern).map_err(|e| {
                    errors::bad_argument(lua, F, 4, format!("{method} {path}: {e}"))
                })?,
            )),
            other => return Err(errors::type_error(lua, F, 4, "table or nil", other)),
        };
        let mut reg = c.registrar.borrow_mut();
        check_open(lua, F, reg.sealed)?;
        if reg.routes.iter().any(|r| {
            r.method == method
                && r.pattern.overlaps(&pattern)
                && r.pattern.specificity() == pattern.specificity()
        }) {
            return Err(errors::misuse(
                lua,
                format!("{F}: {method} {path} is already registered"),
            ));
        }
        reg.routes.push(RouteDef {
            method,
            pattern,
            doc,
        });
        reg.handlers.push(handler);
        Ok(())
    }
}

/// `rackscope.menu(section | sections | fn)` (only during setup).
fn menu(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<()> {
    move |lua, section| {
        const F: &str = "rackscope.menu";
        let mut reg = c.registrar.borrow_mut();
        check_open(lua, F, reg.sealed)?;
        match section {
            Value::Function(f) => reg.menu_fns.push(f),
            Value::Table(_) => {
                let mut s =
                    parse_sections(lua, section).map_err(|e| errors::bad_argument(lua, F, 1, e))?;
                reg.static_menu.append(&mut s);
            }
            other => return Err(errors::type_error(lua, F, 1, "table or function", &other)),
        }
        Ok(())
    }
}

/// `rackscope.http_error(status, detail)`: an error value a handler raises.
fn http_error(lua: &Lua, (status, detail): (Value, Value)) -> mlua::Result<Value> {
    const F: &str = "rackscope.http_error";
    let code = arg_number(lua, F, 1, &status)?;
    if code.fract() != 0.0 || !(400.0..=599.0).contains(&code) {
        return Err(errors::bad_argument(
            lua,
            F,
            1,
            format!("HTTP error status must be 400..599, got {code}"),
        ));
    }
    let detail: serde_json::Value = match detail {
        Value::Nil => serde_json::Value::String(default_reason(code as u16).into()),
        other => lua
            .from_value(other)
            .map_err(|e| errors::bad_argument(lua, F, 2, e))?,
    };
    Ok(errors::http_error_value(HttpError {
        status: code as u16,
        detail,
    }))
}

/// `rackscope.every(seconds, fn)`: a repeating timer; returns `{cancel = fn}`.
fn every(c: Rc<HostCtx>) -> impl Fn(&Lua, (Value, Value)) -> mlua::Result<Table> {
    move |lua, (seconds, f)| {
        const F: &str = "rackscope.every";
        let secs = arg_number(lua, F, 1, &seconds)?;
        if !(secs.is_finite() && secs >= 0.05) {
            return Err(errors::bad_argument(
                lua,
                F,
                1,
                format!("interval must be at least 0.05 seconds, got {secs}"),
            ));
        }
        let Value::Function(f) = f else {
            return Err(errors::type_error(lua, F, 2, "function", &f));
        };
        let cancelled = Rc::new(std::cell::Cell::new(false));
        spawn_timer(
            c.clone(),
            Duration::from_secs_f64(secs),
            f,
            cancelled.clone(),
        );
        let cancel = lua.create_function(move |_, ()| {
            cancelled.set(true);
            Ok(())
        })?;
        let handle = lua.create_table()?;
        handle.set("cancel", cancel)?;
        Ok(handle)
    }
}

/// `rackscope.array([t])`: marks a table (or a new one) as a JSON array.
fn array(lua: &Lua, t: Option<Table>) -> mlua::Result<Table> {
    let t = match t {
        Some(t) => t,
        None => lua.create_table()?,
    };
    t.set_metatable(Some(lua.array_metatable()))?;
    Ok(t)
}

/// `rackscope.is_array(v)`: a table marked as a JSON array.
fn is_array(lua: &Lua, v: Value) -> mlua::Result<bool> {
    Ok(matches!(v, Value::Table(t) if t.metatable().is_some_and(|m| m == lua.array_metatable())))
}

/// `rackscope.sleep(seconds)`: waits without blocking the plugin; `sleep(0)` yields.
async fn sleep(lua: Lua, secs: Value) -> mlua::Result<()> {
    const F: &str = "rackscope.sleep";
    let s = arg_number(&lua, F, 1, &secs)?;
    if !(s.is_finite() && (0.0..=3600.0).contains(&s)) {
        return Err(errors::bad_argument(
            &lua,
            F,
            1,
            format!("seconds must be within 0..3600, got {s}"),
        ));
    }
    if s == 0.0 {
        // `sleep(0)` lets the plugin's other tasks run (a timer at zero would not).
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(Duration::from_secs_f64(s)).await;
    }
    Ok(())
}

fn default_reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

fn spawn_timer(
    ctx: Rc<HostCtx>,
    every: Duration,
    f: Function,
    cancelled: Rc<std::cell::Cell<bool>>,
) {
    tokio::task::spawn_local(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if cancelled.get() {
                break;
            }
            let b = Budget::new(ctx.limits.instructions, "timer");
            if let Err(e) = Budgeted::new(b, f.call_async::<MultiValue>(())).await {
                tracing::warn!(plugin = %ctx.folder, error = %e, "timer callback failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn route_checks_its_arguments_and_registration_seals() {
        let h = TestHost::new(&[]);
        h.eval::<()>("rackscope.route('get', '/api/probe/{id}', function() end)")
            .unwrap();
        assert_eq!(h.ctx.registrar.borrow().routes[0].method, "GET");
        let err = h.error("rackscope.route('BREW', '/api/x', function() end)");
        assert!(
            err.contains("test:1: bad argument #1 to 'rackscope.route' (unknown method 'BREW'"),
            "{err}"
        );
        let err = h.error("rackscope.route('GET', '/api/config/x', function() end)");
        assert!(err.contains("would shadow a core route"), "{err}");
        let err = h.error("rackscope.route('GET', '/api/x', 5)");
        assert!(err.contains("(function expected, got number)"), "{err}");
        let err = h.error("rackscope.route('GET', '/api/probe/{other}', function() end)");
        assert!(
            err.contains("GET /api/probe/{other} is already registered"),
            "{err}"
        );
        h.eval::<()>(
            "rackscope.route('POST', '/api/probe', function() end, { summary = 'Probe', body = { type = 'object' } })",
        )
        .unwrap();
        let doc = h.ctx.registrar.borrow().routes[1].doc.clone().unwrap();
        assert_eq!(doc.summary.as_deref(), Some("Probe"));
        let err = h.error(
            "rackscope.route('GET', '/api/described', function() end, { responses = { [200] = { type = 'strng' } } })",
        );
        assert!(
            err.contains("test:1: bad argument #4 to 'rackscope.route' (GET /api/described: responses[200].type: 'strng' is not a JSON Schema type"),
            "{err}"
        );
        let err = h.error("rackscope.route('GET', '/api/described', function() end, 'x')");
        assert!(err.contains("(table or nil expected, got string)"), "{err}");
        h.seal();
        let err = h.error("rackscope.route('GET', '/api/late', function() end)");
        assert!(
            err.contains("rackscope.route can only be called during setup"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn menus() {
        let h = TestHost::new(&[]);
        h.eval::<()>(
            r#"
            rackscope.menu({ id = "p", label = "P", items = {} })
            rackscope.menu(function() return {} end)
            "#,
        )
        .unwrap();
        {
            let reg = h.ctx.registrar.borrow();
            assert_eq!(reg.static_menu[0].order, 100);
            assert_eq!(reg.menu_fns.len(), 1);
        }
        let err = h.error("rackscope.menu(3)");
        assert!(
            err.contains("(table or function expected, got number)"),
            "{err}"
        );
        h.seal();
        let err = h.error("rackscope.menu({ id = 'q', label = 'Q' })");
        assert!(err.contains("can only be called during setup"), "{err}");
    }

    #[tokio::test]
    async fn errors_arrays_time_and_timers() {
        let h = TestHost::new(&[]);
        let err = h.error("error(rackscope.http_error(418, { why = 'teapot' }))");
        assert!(err.contains("418"), "{err}");
        let err = h.error("rackscope.http_error(200)");
        assert!(
            err.contains("HTTP error status must be 400..599, got 200"),
            "{err}"
        );
        let (a, t, n): (bool, bool, bool) = h
            .eval("return rackscope.is_array(rackscope.array()), rackscope.is_array({}), rackscope.is_array(rackscope.null)")
            .unwrap();
        assert_eq!((a, t, n), (true, false, false));
        let now: f64 = h.eval("return rackscope.now()").unwrap();
        assert!(now > 1.7e9);
        let err = h.error("rackscope.every(0.01, function() end)");
        assert!(
            err.contains("interval must be at least 0.05 seconds"),
            "{err}"
        );
        let err = h.error("rackscope.every(1, 'x')");
        assert!(err.contains("(function expected, got string)"), "{err}");
    }

    #[tokio::test]
    async fn sleep_checks_its_range() {
        let h = TestHost::new(&[]);
        h.eval_async::<()>("rackscope.sleep(0) rackscope.sleep(0.001)")
            .await
            .unwrap();
        let err = h
            .eval_async::<()>("rackscope.sleep(-1)")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("seconds must be within 0..3600, got -1"),
            "{err}"
        );
    }
}
