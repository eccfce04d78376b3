//! The editor definitions in `plugins/_meta/*.lua` match the real API: the `rackscope`
//! table the host builds for a plugin (every namespace registered, over the demo config)
//! is compared, both ways, with the functions, namespaces and fields the definitions
//! declare. A function added or renamed in Rust without its stub, or a stub left behind,
//! fails here.
//!
//! The test API (`plugins/_meta/testing.lua`: the globals a plugin's test files get from
//! `rackscope plugin test`) is held the same way against the kit's prelude, apart from
//! the `rackscope` table, which it does not touch.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{Lua, Table, Value};
use rackscope::config::plugin_file::PluginPaths;
use rackscope::lua::api;
use rackscope::lua::host::{HostCtx, Limits, NoRuntime};
use rackscope::state::AppState;
use support::server::project_root;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A table of functions and fields (`rackscope.fs`).
    Namespace,
    Function,
    /// Any other value (`rackscope.null`, `rackscope.plugin.folder`, a list).
    Field,
}

type Api = BTreeMap<String, Kind>;

/// What the host registers: every key under `rackscope`, namespaces walked.
fn real_api() -> Api {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = AppState::load(&project_root().join("config/app.yaml")).unwrap();
    let lua = Lua::new();
    let paths = PluginPaths::new(
        &project_root().join("plugins"),
        state.config_path(),
        "probe",
    );
    let ctx = HostCtx::new(
        state,
        rt.handle().clone(),
        "probe",
        paths,
        Limits::default(),
        Arc::new(NoRuntime),
    );
    api::register(&lua, Rc::new(ctx)).unwrap();
    let root: Table = lua.globals().get("rackscope").unwrap();
    let mut out = Api::new();
    walk(&root, "rackscope", &mut out);
    out
}

fn walk(t: &Table, prefix: &str, out: &mut Api) {
    for pair in t.pairs::<String, Value>() {
        let (k, v) = pair.unwrap();
        let path = format!("{prefix}.{k}");
        let kind = match &v {
            Value::Function(_) => Kind::Function,
            Value::Table(t) if t.raw_len() == 0 => {
                walk(t, &path, out);
                Kind::Namespace
            }
            _ => Kind::Field,
        };
        out.insert(path, kind);
    }
}

/// What the definitions declare: `function rackscope.a.b(...)`, `rackscope.a = {}` under
/// a `---@class` (a namespace) or a `---@type C` whose class declares `---@field`s (a
/// namespace with those fields), and any other `rackscope.a.b = ...` (a field).
fn declared_api(files: &[(String, String)]) -> Api {
    let mut classes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut typed: Vec<(String, String)> = Vec::new();
    let mut out = Api::new();
    for (_, text) in files {
        let mut block: Vec<&str> = Vec::new();
        let mut class: Option<String> = None;
        for line in text.lines() {
            let line = line.trim_end();
            if let Some(doc) = line.strip_prefix("---") {
                if let Some(c) = doc.strip_prefix("@class ") {
                    let name = c.split([' ', ':']).next().unwrap_or_default().to_string();
                    classes.entry(name.clone()).or_default();
                    class = Some(name);
                } else if let (Some(f), Some(c)) = (doc.strip_prefix("@field "), &class) {
                    let field = f.split([' ', '?']).next().unwrap_or_default();
                    classes.get_mut(c).unwrap().push(field.to_string());
                }
                block.push(doc);
                continue;
            }
            if let Some(rest) = line.strip_prefix("function rackscope.") {
                let name = rest.split('(').next().unwrap_or_default();
                out.insert(format!("rackscope.{name}"), Kind::Function);
            } else if let Some(rest) = line.strip_prefix("rackscope.") {
                if let Some((name, _)) = rest.split_once('=') {
                    let path = format!("rackscope.{}", name.trim());
                    let is_class = block.iter().any(|d| d.starts_with("@class "));
                    let of_type = block
                        .iter()
                        .find_map(|d| d.strip_prefix("@type "))
                        .map(|t| t.trim().to_string());
                    let kind = if is_class {
                        Kind::Namespace
                    } else if let Some(t) = of_type {
                        typed.push((path.clone(), t));
                        Kind::Field
                    } else {
                        Kind::Field
                    };
                    out.insert(path, kind);
                }
            }
            block.clear();
            class = None;
        }
    }
    // `---@type C` over a value whose class declares fields: a namespace of those fields.
    for (path, t) in typed {
        if let Some(fields) = classes.get(&t).filter(|f| !f.is_empty()) {
            out.insert(path.clone(), Kind::Namespace);
            for f in fields {
                out.insert(format!("{path}.{f}"), Kind::Field);
            }
        }
    }
    out
}

/// The test API's definitions: not part of the `rackscope` table the server registers.
const TEST_API: &str = "testing.lua";

/// The definitions of the `rackscope` API (every file of `plugins/_meta` but the test API's).
fn meta_files() -> Vec<(String, String)> {
    let dir = project_root().join("plugins/_meta");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "lua"))
        .filter(|p| name_of(p) != TEST_API)
        .map(|p| (name_of(&p), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every difference, one line each; empty when they match.
fn differences(declared: &Api, real: &Api) -> Vec<String> {
    let mut out = Vec::new();
    for (path, kind) in real {
        match declared.get(path) {
            None => out.push(format!(
                "{path} ({kind:?}) is registered but has no definition in plugins/_meta"
            )),
            Some(d) if d != kind => out.push(format!(
                "{path} is a {kind:?} but plugins/_meta declares a {d:?}"
            )),
            Some(_) => {}
        }
    }
    for (path, kind) in declared {
        if !real.contains_key(path) {
            out.push(format!(
                "{path} ({kind:?}) is declared in plugins/_meta but not registered"
            ));
        }
    }
    out
}

#[test]
fn the_definitions_match_the_registered_api() {
    let real = real_api();
    assert!(real.len() > 60, "{real:?}");
    let diff = differences(&declared_api(&meta_files()), &real);
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}

#[test]
fn a_removed_stub_or_an_undeclared_function_is_found() {
    let real = real_api();
    let mut files = meta_files();
    let fs = files.iter_mut().find(|(n, _)| n == "fs.lua").unwrap();
    fs.1 = fs.1.replace("function rackscope.fs.exists(path) end", "");
    let diff = differences(&declared_api(&files), &real);
    assert_eq!(
        diff,
        vec!["rackscope.fs.exists (Function) is registered but has no definition in plugins/_meta"]
    );

    let mut grown = real.clone();
    grown.insert("rackscope.fs.copy".into(), Kind::Function);
    let diff = differences(&declared_api(&meta_files()), &grown);
    assert_eq!(
        diff,
        vec!["rackscope.fs.copy (Function) is registered but has no definition in plugins/_meta"]
    );

    let mut files = meta_files();
    files[0]
        .1
        .push_str("\nfunction rackscope.fs.gone(path) end\n");
    let diff = differences(&declared_api(&files), &real);
    assert_eq!(
        diff,
        vec!["rackscope.fs.gone (Function) is declared in plugins/_meta but not registered"]
    );
}

/// What the kit's prelude gives test files: `describe`, `it`, ... as names, namespaces
/// (`testing.prometheus`) with a trailing `.`, and the methods of `testing.plugin()`'s
/// objects as `Plugin:<name>`.
fn real_test_api() -> BTreeSet<String> {
    let lua = Lua::new();
    let prelude: Table = lua
        .load(rackscope::kit::runner::PRELUDE)
        .call(lua.create_table().unwrap())
        .unwrap();
    fn walk(t: &Table, prefix: &str, out: &mut BTreeSet<String>) {
        for pair in t.pairs::<String, Value>() {
            let (k, v) = pair.unwrap();
            let path = format!("{prefix}{k}");
            match v {
                Value::Function(_) => {
                    out.insert(path);
                }
                Value::Table(t) => {
                    // `assert` is a table you can call.
                    if t.metatable()
                        .is_some_and(|m| m.contains_key("__call").unwrap())
                    {
                        out.insert(path.clone());
                    }
                    out.insert(format!("{path}."));
                    walk(&t, &format!("{path}."), out);
                }
                _ => {}
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&prelude.get::<Table>("globals").unwrap(), "", &mut out);
    for pair in prelude
        .get::<Table>("Plugin")
        .unwrap()
        .pairs::<String, Value>()
    {
        let (k, v) = pair.unwrap();
        if matches!(v, Value::Function(_)) && !k.starts_with('_') {
            out.insert(format!("Plugin:{k}"));
        }
    }
    out
}

/// What `testing.lua` declares, in the same form: `function a.b(` and `function
/// Plugin:c(`, `x = {}` (a namespace), and `---@overload` over a namespace (callable).
fn declared_test_api(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut callable = false;
    for line in text.lines() {
        if line.starts_with("---@overload") {
            callable = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("function ") {
            let name = rest.split('(').next().unwrap_or_default().trim();
            out.insert(name.to_string());
        } else if let Some((name, value)) = line.split_once(" = ") {
            if value.trim() == "{}" && !name.starts_with("local ") && !name.starts_with('-') {
                out.insert(format!("{}.", name.trim()));
                if callable {
                    out.insert(name.trim().to_string());
                }
            }
        }
        if !line.starts_with("---") {
            callable = false;
        }
    }
    out
}

#[test]
fn the_test_api_definitions_match_the_prelude() {
    let real = real_test_api();
    assert!(
        real.contains("testing.prometheus.answer") && real.contains("Plugin:get"),
        "{real:?}"
    );
    let text =
        std::fs::read_to_string(project_root().join("plugins/_meta").join(TEST_API)).unwrap();
    let declared = declared_test_api(&text);
    let missing: Vec<&String> = real.difference(&declared).collect();
    let extra: Vec<&String> = declared.difference(&real).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "in the prelude but not in plugins/_meta/testing.lua: {missing:?}; declared there but not in the prelude: {extra:?}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("rackscope.") || l.starts_with("function rackscope.")),
        "testing.lua declares nothing of the rackscope table"
    );
}
