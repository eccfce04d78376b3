//! The `rackscope.*` API that plugins call, all under the one root global `rackscope`.
//!
//! Each module below owns a set of keys of `rackscope` (a namespace table, or functions
//! at the root) and registers them itself, from the host it is handed ([`HostCtx`]); no
//! module reads or writes another's keys, so the order of [`PARTS`] does not matter (a
//! test registers them in every rotation). This table lists exactly what is registered
//! (a test compares it with [`PARTS`]; another compares the whole `rackscope` table with
//! the editor definitions in `plugins/_meta/`):
//!
//! | keys of `rackscope` | module |
//! |---|---|
//! | `route`, `menu`, `http_error`, `every`, `sleep`, `now`, `array`, `is_array`, `null` | [`core`] |
//! | `status_map`, `status` (`severity`, `SEVERITIES`) | [`status`] |
//! | `plugin` (`folder`, `config_dir`, `code_dir`, `resolve_path`, `reload`, `set_warning`) | [`plugin`] |
//! | `prometheus` (`query`, `query_range`) | [`prometheus`] |
//! | `config` (`app`, `plugin`, `path`, `save`, `update`) | [`config`] |
//! | `topology` (`sites`, `rooms`, `room`, `rack`, `template`, `aisles`, `racks`, `devices`, `instance`, `instances`, `expand`, `generation`) | [`topology`] |
//! | `json` (`encode`, `decode`, `raw`) | [`json`] |
//! | `yaml` (`encode`, `decode`) | [`yaml`] |
//! | `log` (`debug`, `info`, `warn`, `error`; and the global `print`) | [`log`] |
//! | `fs` (`read`, `write`, `update`, `exists`, `list`, `read_bundled`, `read_or_bundled`) | [`fs`] |
//! | `metrics` (`serve`, `listening`, `gauge`, `counter`, `clear`, `label_table`) | [`metrics`] |
//! | `spawn`, `single_flight` | [`task`] |
//! | `publish`, `unpublish` | [`publish`] |
//! | `health` (`rooms`, `room`, `rack`, `node`, `alerts`, `summary`) | [`health`] |
//!
//! What the modules share is in [`support`] (argument checks, `nil, err`), which is no
//! namespace. Conventions (Kong's): misuse raises an error located at the caller's line,
//! worded like Lua's own (`bad argument #1 to 'rackscope.prometheus.query' (string
//! expected, got nil)`); expected failures (Prometheus down, file missing) return
//! `nil, err`. `plugins/_meta/` (one file per namespace) documents all of it for editors.

pub mod config;
pub mod core;
pub mod fs;
pub mod health;
pub mod json;
pub mod log;
pub mod metrics;
pub mod plugin;
pub mod prometheus;
pub mod publish;
pub mod status;
pub mod support;
pub mod task;
pub mod topology;
pub mod yaml;

#[cfg(test)]
pub(crate) mod testing;

use std::rc::Rc;

use mlua::{Lua, Table};

use crate::lua::host::HostCtx;

/// How a part of the API registers itself under the `rackscope` table.
pub type Register = fn(&Lua, &Table, &Rc<HostCtx>) -> mlua::Result<()>;

/// One module of the API: the keys of `rackscope` it owns, and its register function.
pub struct Part {
    pub module: &'static str,
    pub keys: &'static [&'static str],
    pub register: Register,
}

/// Every part of the API (the table in this module's header, as data).
pub const PARTS: &[Part] = &[
    Part {
        module: "core",
        keys: &[
            "route",
            "menu",
            "http_error",
            "every",
            "sleep",
            "now",
            "array",
            "is_array",
            "null",
        ],
        register: core::register,
    },
    Part {
        module: "status",
        keys: &["status_map", "status"],
        register: status::register,
    },
    Part {
        module: "plugin",
        keys: &["plugin"],
        register: plugin::register,
    },
    Part {
        module: "prometheus",
        keys: &["prometheus"],
        register: prometheus::register,
    },
    Part {
        module: "config",
        keys: &["config"],
        register: config::register,
    },
    Part {
        module: "topology",
        keys: &["topology"],
        register: topology::register,
    },
    Part {
        module: "json",
        keys: &["json"],
        register: json::register,
    },
    Part {
        module: "yaml",
        keys: &["yaml"],
        register: yaml::register,
    },
    Part {
        module: "log",
        keys: &["log"],
        register: log::register,
    },
    Part {
        module: "fs",
        keys: &["fs"],
        register: fs::register,
    },
    Part {
        module: "metrics",
        keys: &["metrics"],
        register: metrics::register,
    },
    Part {
        module: "task",
        keys: &["spawn", "single_flight"],
        register: task::register,
    },
    Part {
        module: "publish",
        keys: &["publish", "unpublish"],
        register: publish::register,
    },
    Part {
        module: "health",
        keys: &["health"],
        register: health::register,
    },
];

/// Creates the `rackscope` global with every part of the API.
pub fn register(lua: &Lua, ctx: Rc<HostCtx>) -> mlua::Result<()> {
    let root = lua.create_table()?;
    for part in PARTS {
        (part.register)(lua, &root, &ctx)?;
    }
    lua.globals().raw_set("rackscope", root)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::testing::TestHost;
    use super::*;

    fn keys_of(t: &Table) -> BTreeSet<String> {
        t.pairs::<String, mlua::Value>()
            .map(|kv| kv.unwrap().0)
            .collect()
    }

    #[tokio::test]
    async fn each_part_registers_exactly_its_keys_on_its_own() {
        let h = TestHost::new(&[]);
        let mut seen = BTreeSet::new();
        for part in PARTS {
            // Alone on an empty root: it needs nothing another part registers.
            let root = h.lua.create_table().unwrap();
            (part.register)(&h.lua, &root, &h.ctx).unwrap();
            let want: BTreeSet<String> = part.keys.iter().map(|k| k.to_string()).collect();
            assert_eq!(keys_of(&root), want, "keys of {}", part.module);
            for k in part.keys {
                assert!(seen.insert(*k), "{k} is owned by two parts");
            }
        }
    }

    #[tokio::test]
    async fn the_order_of_registration_does_not_matter() {
        let h = TestHost::new(&[]);
        let tree = |order: &[&Part]| {
            let root = h.lua.create_table().unwrap();
            for part in order {
                (part.register)(&h.lua, &root, &h.ctx).unwrap();
            }
            // Every key, and every key of every namespace table, one level down.
            let mut out = BTreeSet::new();
            for kv in root.pairs::<String, mlua::Value>() {
                let (k, v) = kv.unwrap();
                if let mlua::Value::Table(t) = v {
                    out.extend(keys_of(&t).into_iter().map(|n| format!("{k}.{n}")));
                }
                out.insert(k);
            }
            out
        };
        let forward: Vec<&Part> = PARTS.iter().collect();
        let expected = tree(&forward);
        for shift in 1..PARTS.len() {
            let mut order = forward.clone();
            order.rotate_left(shift);
            order.reverse();
            assert_eq!(tree(&order), expected, "rotated by {shift}, reversed");
        }
    }

    #[test]
    fn the_header_table_lists_what_is_registered() {
        let header: String = include_str!("mod.rs")
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .filter(|l| l.starts_with("//! | `"))
            .collect::<Vec<_>>()
            .join("\n");
        for part in PARTS {
            let row = header
                .lines()
                .find(|l| l.ends_with(&format!("[`{}`] |", part.module)))
                .unwrap_or_else(|| panic!("no row for {}", part.module));
            let first_cell = row
                .trim_start_matches("//! | ")
                .split(" | ")
                .next()
                .unwrap();
            let named: Vec<&str> = first_cell
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|k| !k.contains(' '))
                .collect();
            for k in part.keys {
                assert!(named.contains(k), "the row of {} names `{k}`", part.module);
            }
        }
        assert_eq!(
            header.lines().count(),
            PARTS.len(),
            "one row per part:\n{header}"
        );
    }
}
