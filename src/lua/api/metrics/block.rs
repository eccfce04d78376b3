//! Bulk series for plugins that publish very large families (the simulator's ~730,000
//! series at 14,000 nodes), over [`crate::metrics::block`]:
//!
//! - `rackscope.metrics.label_table(columns)`: the label values of many rows, given as
//!   `{ label = {value per row} | "one value for every row", ... }`; returns a table
//!   object (`t:size()`, `#t`) to share between families;
//! - `family:block(table [, extras])`: the family's series over every row of `table`,
//!   plus constant `extras` labels; the table's columns and the extras must be exactly
//!   the family's labels. Returns a block with `:set_many(values [, n])` (`values[i]` a
//!   number sets row i, `false` removes it, `nil` leaves it), `:set(i, v)` (`v` nil or
//!   false removes), `:fill(v)` (every row to `v`, or all removed with `false`),
//!   `:remove(i)` and `:size()` (rows, present rows). Rows are absent from scrapes until
//!   they get a value.
//!
//! One `label_table` of 14,000 rows and fifty blocks over it cost a few milliseconds;
//! the per-series Lua tables and calls of `family:series(labels)` are what made large
//! registrations take seconds.

use std::collections::HashMap;
use std::sync::Arc;

use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use super::labels::label_value;
use crate::lua::api::support::arg_table;
use crate::lua::errors;
use crate::metrics::block::{ColumnInput, LabelTable};
use crate::metrics::MetricsRegistry;

/// `rackscope.metrics.label_table(columns)`.
pub fn label_table(lua: &Lua, columns: Value) -> mlua::Result<LuaLabelTable> {
    const F: &str = "rackscope.metrics.label_table";
    let t = arg_table(lua, F, 1, &columns)?;
    let table = LabelTable::new(read_columns(lua, F, &t)?)
        .map_err(|e| errors::bad_argument(lua, F, 1, e))?;
    Ok(LuaLabelTable(Arc::new(table)))
}

fn read_columns(lua: &Lua, f: &str, t: &Table) -> mlua::Result<Vec<(String, ColumnInput)>> {
    let mut out = Vec::new();
    // The same Lua list passed for two columns (node_id and instance) is read once.
    let mut lists: HashMap<usize, ColumnInput> = HashMap::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        let Value::String(name) = &k else {
            return Err(errors::bad_argument(
                lua,
                f,
                1,
                format!(
                    "column names must be strings, got {}",
                    errors::type_name(&k)
                ),
            ));
        };
        let name = name.to_str()?.to_string();
        let col = match v {
            Value::Table(values) => {
                let key = values.to_pointer() as usize;
                match lists.get(&key) {
                    Some(c) => c.clone(),
                    None => {
                        let c = read_list(lua, f, &name, &values)?;
                        lists.insert(key, c.clone());
                        c
                    }
                }
            }
            other => ColumnInput::Const(label_value(lua, &other).ok_or_else(|| {
                errors::bad_argument(
                    lua,
                    f,
                    1,
                    format!(
                        "column '{name}' must be a list of values or one value, got {}",
                        errors::type_name(&other)
                    ),
                )
            })?),
        };
        out.push((name, col));
    }
    Ok(out)
}

/// A hasher for pointer-sized keys (a multiply: addresses are already spread).
#[derive(Default)]
struct PtrHasher(u64);

impl std::hash::Hasher for PtrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// One column given as a list, interned while it is read: a value repeated down the
/// column (a rack id shared by a whole rack's nodes) is copied out of Lua once. Lua
/// interns short strings, so equal values are usually the same string object: they are
/// recognised by address before their text is looked at.
fn read_list(lua: &Lua, f: &str, name: &str, values: &Table) -> mlua::Result<ColumnInput> {
    let n = values.raw_len();
    let mut by_address: HashMap<usize, u32, std::hash::BuildHasherDefault<PtrHasher>> =
        HashMap::default();
    let mut by_text: HashMap<String, u32> = HashMap::new();
    let mut pool: Vec<String> = Vec::new();
    let mut ids = Vec::with_capacity(n);
    let mut intern = |text: &str, pool: &mut Vec<String>| -> u32 {
        match by_text.get(text) {
            Some(&id) => id,
            None => {
                pool.push(text.to_string());
                let id = (pool.len() - 1) as u32;
                by_text.insert(text.to_string(), id);
                id
            }
        }
    };
    for i in 1..=n {
        let v: Value = values.raw_get(i)?;
        let id = match &v {
            Value::String(s) => {
                // The list holds the string for the whole loop: its address is stable.
                let address = s.to_pointer() as usize;
                match by_address.get(&address) {
                    Some(&id) => id,
                    None => {
                        let id = intern(&s.to_str()?, &mut pool);
                        by_address.insert(address, id);
                        id
                    }
                }
            }
            other => {
                let text = label_value(lua, other).ok_or_else(|| {
                    errors::bad_argument(
                        lua,
                        f,
                        1,
                        format!(
                            "column '{name}': value #{i} must be a string, got {}",
                            errors::type_name(other)
                        ),
                    )
                })?;
                intern(&text, &mut pool)
            }
        };
        ids.push(id);
    }
    Ok(ColumnInput::Interned { pool, ids })
}

/// `rackscope.metrics.label_table(...)` as a Lua value.
#[derive(Clone)]
pub struct LuaLabelTable(pub Arc<LabelTable>);

impl UserData for LuaLabelTable {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("size", |_, t, ()| Ok(t.0.len()));
        m.add_meta_method(mlua::MetaMethod::Len, |_, t, ()| Ok(t.0.len()));
        m.add_meta_method(mlua::MetaMethod::ToString, |_, t, ()| {
            Ok(format!(
                "label_table({} rows: {})",
                t.0.len(),
                t.0.names().join(", ")
            ))
        });
    }
}

/// The `block` method of a family table.
pub fn block_method(
    lua: &Lua,
    reg: Arc<MetricsRegistry>,
    family: String,
) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, (_self, table, extras): (Value, Value, Value)| {
        let f = format!("{family}:block");
        let table = match &table {
            Value::UserData(ud) => ud.borrow::<LuaLabelTable>().map(|t| t.0.clone()).ok(),
            _ => None,
        }
        .ok_or_else(|| errors::type_error(lua, &f, 1, "label table", &table))?;
        let mut ex = Vec::new();
        if !extras.is_nil() {
            for pair in arg_table(lua, &f, 2, &extras)?.pairs::<Value, Value>() {
                let (k, v) = pair?;
                match (&k, label_value(lua, &v)) {
                    (Value::String(k), Some(v)) => ex.push((k.to_str()?.to_string(), v)),
                    _ => {
                        return Err(errors::bad_argument(
                            lua,
                            &f,
                            2,
                            "extra labels must be a table of label = value strings",
                        ))
                    }
                }
            }
        }
        let index = reg
            .add_block(&family, table, ex)
            .map_err(|e| errors::bad_argument(lua, &f, 1, e))?;
        Ok(LuaBlock {
            reg: reg.clone(),
            family: family.clone(),
            index,
        })
    })
}

/// A block of series, as a Lua value.
pub struct LuaBlock {
    reg: Arc<MetricsRegistry>,
    family: String,
    index: usize,
}

/// A row number (1-based in Lua) as a 0-based index; None if not a positive integer.
fn row_of(v: &Value) -> Option<usize> {
    match v {
        Value::Integer(i) if *i >= 1 => Some(*i as usize - 1),
        Value::Number(n) if n.fract() == 0.0 && *n >= 1.0 => Some(*n as usize - 1),
        _ => None,
    }
}

/// A value for `set`/`set_many`: Some(Some(v)) sets, Some(None) removes, None leaves.
fn update_of(v: &Value) -> Result<Option<Option<f64>>, ()> {
    match v {
        Value::Nil => Ok(None),
        Value::Boolean(false) => Ok(Some(None)),
        Value::Integer(i) => Ok(Some(Some(*i as f64))),
        Value::Number(n) => Ok(Some(Some(*n))),
        _ => Err(()),
    }
}

impl UserData for LuaBlock {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("set_many", |lua, b, (values, n): (Value, Option<i64>)| {
            let f = format!("{}:set_many", b.family);
            let t = arg_table(lua, &f, 1, &values)?;
            let n = match n {
                Some(n) if n >= 0 => n as usize,
                Some(n) => {
                    return Err(errors::bad_argument(
                        lua,
                        &f,
                        2,
                        format!("count must be >= 0, got {n}"),
                    ))
                }
                None => t.raw_len(),
            };
            // Read everything first: the registry lock is never held while Lua runs.
            let mut updates = Vec::with_capacity(n);
            for i in 1..=n {
                let v: Value = t.raw_get(i)?;
                match update_of(&v) {
                    Ok(Some(u)) => updates.push((i - 1, u)),
                    Ok(None) => {}
                    Err(()) => {
                        return Err(errors::bad_argument(
                            lua,
                            &f,
                            1,
                            format!(
                                "value #{i} must be a number, false or nil, got {}",
                                errors::type_name(&v)
                            ),
                        ))
                    }
                }
            }
            Ok(b.reg.block_update(&b.family, b.index, updates))
        });
        m.add_method("set", |lua, b, (row, v): (Value, Value)| {
            let f = format!("{}:set", b.family);
            let r =
                row_of(&row).ok_or_else(|| errors::type_error(lua, &f, 1, "row number", &row))?;
            let u = match update_of(&v) {
                Ok(Some(u)) => u,
                Ok(None) => None,
                Err(()) => return Err(errors::type_error(lua, &f, 2, "number", &v)),
            };
            Ok(b.reg.block_update(&b.family, b.index, [(r, u)]) == 1)
        });
        m.add_method("fill", |lua, b, v: Value| {
            let f = format!("{}:fill", b.family);
            match update_of(&v) {
                Ok(Some(u)) => b.reg.block_fill(&b.family, b.index, u),
                _ => return Err(errors::type_error(lua, &f, 1, "number or false", &v)),
            }
            Ok(())
        });
        m.add_method("remove", |lua, b, row: Value| {
            let f = format!("{}:remove", b.family);
            let r =
                row_of(&row).ok_or_else(|| errors::type_error(lua, &f, 1, "row number", &row))?;
            let before = b.reg.block_size(&b.family, b.index).1;
            b.reg.block_update(&b.family, b.index, [(r, None)]);
            Ok(b.reg.block_size(&b.family, b.index).1 < before)
        });
        m.add_method("size", |_, b, ()| {
            let (rows, live) = b.reg.block_size(&b.family, b.index);
            Ok(MultiValue::from_iter([
                Value::Integer(rows as i64),
                Value::Integer(live as i64),
            ]))
        });
        m.add_meta_method(mlua::MetaMethod::ToString, |_, b, ()| {
            let (rows, live) = b.reg.block_size(&b.family, b.index);
            Ok(format!(
                "block of {} ({rows} rows, {live} present)",
                b.family
            ))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Kind;

    /// A bare Lua state with `label_table` and one family's `block` method.
    fn lua_with(reg: &Arc<MetricsRegistry>) -> Lua {
        let lua = Lua::new();
        reg.declare(
            "m",
            Kind::Gauge,
            "M",
            vec!["node".into(), "rack".into(), "mode".into()],
        )
        .unwrap();
        let ns = lua.create_table().unwrap();
        ns.set(
            "label_table",
            lua.create_function(|lua, columns: Table| {
                let t = LabelTable::new(read_columns(lua, "label_table", &columns)?)
                    .map_err(mlua::Error::external)?;
                Ok(LuaLabelTable(Arc::new(t)))
            })
            .unwrap(),
        )
        .unwrap();
        let fam = lua.create_table().unwrap();
        fam.set(
            "block",
            block_method(&lua, reg.clone(), "m".into()).unwrap(),
        )
        .unwrap();
        ns.set("fam", fam).unwrap();
        lua.globals().set("metrics", ns).unwrap();
        lua
    }

    #[test]
    fn blocks_from_lua() {
        let reg = Arc::new(MetricsRegistry::default());
        let lua = lua_with(&reg);
        let (size, live): (i64, i64) = lua
            .load(
                r#"
                local t = metrics.label_table({ node = { "a", "b", "c" }, rack = "r1" })
                assert(#t == 3 and t:size() == 3)
                local b = metrics.fam:block(t, { mode = "idle" })
                assert(metrics.fam:block(t, { mode = "idle" }) ~= nil, "same block again")
                b:set_many({ 1, 2.5, 3 })
                b:set_many({ nil, false }, 3)
                b:fill(5)
                assert(select(2, b:size()) == 3)
                b:set_many({ 1, false, 3 })
                assert(b:set(3, 7) and not b:set(9, 1))
                assert(b:remove(1) and not b:remove(1))
                b:set(1, 4)
                return b:size()
                "#,
            )
            .eval()
            .unwrap();
        assert_eq!((size, live), (3, 2));
        assert_eq!(
            reg.render(),
            "# HELP m M\n# TYPE m gauge\nm{node=\"a\",rack=\"r1\",mode=\"idle\"} 4\nm{node=\"c\",rack=\"r1\",mode=\"idle\"} 7\n"
        );
        // A single-series update reaches the block's row instead of making a duplicate.
        reg.set("m", &["c", "r1", "idle"], 8.0, false).unwrap();
        assert!(reg
            .render()
            .ends_with("m{node=\"c\",rack=\"r1\",mode=\"idle\"} 8\n"));
        assert!(reg.handle("m", &["a", "r1", "idle"]).is_err());
        assert!(reg.remove("m", &["a", "r1", "idle"]));
        assert_eq!(reg.series_count(), 1);
    }

    #[test]
    fn misuse_is_reported() {
        let reg = Arc::new(MetricsRegistry::default());
        let lua = lua_with(&reg);
        for (code, want) in [
            (
                r#"metrics.label_table({ node = { "a", {} } })"#,
                "value #2 must be a string",
            ),
            (
                r#"metrics.fam:block(metrics.label_table({ node = { "a" } }), { mode = "x" })"#,
                "neither a column",
            ),
            (r#"metrics.fam:block({}, {})"#, "label table expected"),
            (
                r#"local t = metrics.label_table({ node = { "a" }, rack = "r" })
                   metrics.fam:block(t, { mode = "x" }):set_many({ "x" })"#,
                "value #1 must be a number",
            ),
            (
                r#"local t1 = metrics.label_table({ node = { "a", "b" }, rack = "r" })
                   local t2 = metrics.label_table({ node = { "b" }, rack = "r" })
                   metrics.fam:block(t1, { mode = "x" })
                   metrics.fam:block(t2, { mode = "x" })"#,
                "would repeat series",
            ),
        ] {
            let err = lua.load(code).exec().unwrap_err().to_string();
            assert!(err.contains(want), "{code}: {err}");
        }
    }
}
