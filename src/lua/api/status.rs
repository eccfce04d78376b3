//! `rackscope.status_map(name, map)` (registration, only during setup) and
//! `rackscope.status.severity(name, status)` / `rackscope.status.SEVERITIES`: the maps from a
//! plugin's statuses (Slurm node states, ...) to the host's severities, looked up in this
//! plugin's maps first, then in the other loaded plugins'.

use std::collections::BTreeMap;
use std::rc::Rc;

use mlua::{Lua, Table, Value};

use super::support::{arg_string, arg_table, check_open};
use crate::lua::errors;
use crate::lua::host::HostCtx;
use crate::lua::registry::SEVERITIES;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    root.set("status_map", lua.create_function(status_map(ctx.clone()))?)?;
    let status = lua.create_table()?;
    status.set("severity", lua.create_function(severity(ctx.clone()))?)?;
    status.set("SEVERITIES", lua.create_sequence_from(SEVERITIES)?)?;
    root.set("status", status)
}

/// `rackscope.status_map(name, map)` (only during setup).
fn status_map(c: Rc<HostCtx>) -> impl Fn(&Lua, (Value, Value)) -> mlua::Result<()> {
    move |lua, (name, map)| {
        const F: &str = "rackscope.status_map";
        let name = arg_string(lua, F, 1, &name)?;
        let map = arg_table(lua, F, 2, &map)?;
        let parsed = parse_status_map(&map).map_err(|e| errors::bad_argument(lua, F, 2, e))?;
        let mut reg = c.registrar.borrow_mut();
        check_open(lua, F, reg.sealed)?;
        reg.status_maps.insert(name, parsed);
        Ok(())
    }
}

/// `rackscope.status.severity(name, status)`: this plugin's maps first, then the others'.
fn severity(c: Rc<HostCtx>) -> impl Fn(&Lua, (Value, Value)) -> mlua::Result<String> {
    move |lua, (name, st)| {
        const F: &str = "rackscope.status.severity";
        let name = arg_string(lua, F, 1, &name)?;
        let st = match st {
            Value::Nil => return Ok("UNKNOWN".to_string()),
            other => arg_string(lua, F, 2, &other)?,
        };
        let local = c.registrar.borrow().status_maps.get(&name).cloned();
        let Some(map) = local.or_else(|| c.runtime.status_map(&name)) else {
            return Err(errors::bad_argument(
                lua,
                F,
                1,
                format!("no status map named '{name}'"),
            ));
        };
        Ok(severity_of(&map, &st))
    }
}

/// `{ allocated = "OK", drain = "CRIT" }` or `{ OK = {"idle", "allocated"}, CRIT = {...} }`,
/// plus an optional `default`. Status keys are compared case-insensitively.
fn parse_status_map(t: &Table) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let key = match &k {
            Value::String(s) => s.to_string_lossy(),
            other => {
                return Err(format!(
                    "status map keys must be strings, got {}",
                    errors::type_name(other)
                ))
            }
        };
        match v {
            Value::String(sev) => {
                let sev = sev.to_string_lossy().to_ascii_uppercase();
                if !SEVERITIES.contains(&sev.as_str()) {
                    return Err(format!(
                        "unknown severity '{sev}' for '{key}' (expected one of {})",
                        SEVERITIES.join(", ")
                    ));
                }
                out.insert(key.to_ascii_lowercase(), sev);
            }
            Value::Table(list) => {
                let sev = key.to_ascii_uppercase();
                if !SEVERITIES.contains(&sev.as_str()) {
                    return Err(format!(
                        "unknown severity '{key}' (expected one of {})",
                        SEVERITIES.join(", ")
                    ));
                }
                for item in list.sequence_values::<String>() {
                    let st = item.map_err(|e| e.to_string())?;
                    out.insert(st.to_ascii_lowercase(), sev.clone());
                }
            }
            other => {
                return Err(format!(
                    "value for '{key}' must be a severity or a list of statuses, got {}",
                    errors::type_name(&other)
                ))
            }
        }
    }
    Ok(out)
}

/// The severity of `status` in `map`: exact (case-insensitive) match, else `default`,
/// else UNKNOWN.
pub fn severity_of(map: &BTreeMap<String, String>, status: &str) -> String {
    let s = status.to_ascii_lowercase();
    map.get(&s)
        .or_else(|| map.get("default"))
        .cloned()
        .unwrap_or_else(|| "UNKNOWN".into())
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;

    #[tokio::test]
    async fn status_maps_and_severities() {
        let h = TestHost::new(&[super::register]);
        h.eval::<()>(
            r#"
            rackscope.status_map("slurm", { OK = { "idle" }, down = "crit", default = "WARN" })
            "#,
        )
        .unwrap();
        let sev: (String, String, String, String) = h
            .eval(
                r#"return rackscope.status.severity("slurm", "IDLE"),
                   rackscope.status.severity("slurm", "down"),
                   rackscope.status.severity("slurm", "weird"),
                   rackscope.status.severity("slurm", nil)"#,
            )
            .unwrap();
        assert_eq!(
            sev,
            ("OK".into(), "CRIT".into(), "WARN".into(), "UNKNOWN".into())
        );
        let err = h.error("rackscope.status.severity('nope', 'x')");
        assert!(err.contains("no status map named 'nope'"), "{err}");
        let err = h.error("rackscope.status_map('x', { OK = 'idle', BAD = {} })");
        assert!(err.contains("unknown severity"), "{err}");
    }
}
