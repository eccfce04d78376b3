//! The host functions behind a test file's `testing` table: loading the plugin under test
//! (a [`Bench`]) and talking to it, the fake Prometheus's rules and records, the clock,
//! the captured log, and where a failure happened. The prelude (`prelude.lua`) builds the
//! public API on these; they are handed to it as a table, never made globals.
//!
//! Functions a test can misuse return `nil, message` here, and the prelude raises the
//! message at the test's line.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use mlua::{Lua, LuaSerdeExt, MultiValue, Table, UserData, UserDataMethods, Value};
use serde_json::Value as Json;

use super::bench::{Bench, Options, PluginUnderTest, Topology};
use super::fakes::{FailKind, Fakes, Matcher, Outcome, Rule};
use super::logs::{Captured, LogLine};
use crate::lua::host::TestHooks;

/// Rounds of `yield_now` after the clock moved, so that what the timers and answers
/// woke up runs before the test goes on (each round lets every ready task take a step).
const SETTLE_ROUNDS: usize = 64;

/// One test file's kit: its fakes, the benches its tests opened, its captured log.
pub struct Kit {
    pub fakes: Arc<Fakes>,
    pub plugin: PluginUnderTest,
    pub logs: Captured,
    /// `(scope, bench)`: a bench opened during a test is stopped when the test ends, one
    /// opened at the file's top level when the file ends.
    benches: RefCell<Vec<(u64, Rc<Bench>)>>,
    /// Where the current scope's log lines start.
    log_start: Cell<usize>,
}

impl Kit {
    pub fn new(fakes: Arc<Fakes>, plugin: PluginUnderTest, logs: Captured) -> Kit {
        Kit {
            fakes,
            plugin,
            logs,
            benches: RefCell::default(),
            log_start: Cell::new(0),
        }
    }

    /// Test `scope` (1, 2, ...) starts.
    pub fn begin(&self, scope: u64) {
        self.fakes.enter(scope);
        self.log_start.set(self.logs.lock().len());
    }

    /// Scope `scope` ends (0: the file): its benches stop, its rules are dropped. Returns
    /// the warnings and errors logged meanwhile.
    pub async fn finish(&self, scope: u64) -> Vec<LogLine> {
        let ending: Vec<Rc<Bench>> = {
            let mut all = self.benches.borrow_mut();
            let (ending, kept): (Vec<_>, Vec<_>) = all.drain(..).partition(|(s, _)| *s == scope);
            *all = kept;
            ending.into_iter().map(|(_, b)| b).collect()
        };
        for b in ending {
            b.stop().await;
        }
        self.fakes.forget(scope);
        self.fakes.enter(0);
        let logs = self.logs.lock();
        let start = self.log_start.get().min(logs.len());
        let out = logs[start..]
            .iter()
            .filter(|l| l.level <= tracing::Level::WARN)
            .cloned()
            .collect();
        self.log_start.set(logs.len());
        out
    }
}

/// `nil, message`.
fn fail(lua: &Lua, msg: impl Into<String>) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([
        Value::Nil,
        Value::String(lua.create_string(msg.into())?),
    ]))
}

fn ok(v: Value) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([v]))
}

/// The table of host functions the prelude receives.
pub fn internal(lua: &Lua, kit: Rc<Kit>) -> mlua::Result<Table> {
    let t = lua.create_table()?;

    let k = kit.clone();
    t.set(
        "load",
        lua.create_async_function(move |lua, opts: Value| {
            let k = k.clone();
            async move {
                let opts = match options(&lua, opts) {
                    Ok(o) => o,
                    Err(e) => return fail(&lua, e),
                };
                match Bench::open(&k.plugin, &opts, k.fakes.clone()).await {
                    Ok(b) => {
                        let b = Rc::new(b);
                        k.benches.borrow_mut().push((k.fakes.scope(), b.clone()));
                        ok(Value::UserData(lua.create_userdata(BenchUd(b))?))
                    }
                    Err(e) => fail(&lua, format!("cannot set up the plugin's test: {e}")),
                }
            }
        })?,
    )?;

    let k = kit.clone();
    t.set(
        "rule",
        lua.create_function(
            move |lua, (matcher, kind, payload, delay): (Value, Value, Value, Option<f64>)| {
                let matcher = match matcher {
                    Value::String(s) => Matcher::Exact(s.to_str()?.to_string()),
                    Value::Table(m) => match m.get::<Option<String>>("pattern")? {
                        Some(p) => match regex::Regex::new(&p) {
                            Ok(re) => Matcher::Pattern(re),
                            Err(e) => return fail(lua, format!("invalid pattern '{p}': {e}")),
                        },
                        None => return fail(lua, "a query, or { pattern = '<regular expression>' }"),
                    },
                    _ => return fail(lua, "a query, or { pattern = '<regular expression>' }"),
                };
                let outcome = match kind {
                    Value::Nil => {
                        let mut data: Json = match lua.from_value(payload) {
                            Ok(d) => d,
                            Err(e) => return fail(lua, format!("the answer has no JSON form: {e}")),
                        };
                        // An empty Lua table is `{}`; Prometheus lists are lists.
                        if data.get("result") == Some(&Json::Object(Default::default())) {
                            data["result"] = Json::Array(Vec::new());
                        }
                        Outcome::Data(Arc::new(data))
                    }
                    Value::String(s) => {
                        let s = s.to_str()?.to_string();
                        let Some(kind) = FailKind::parse(&s) else {
                            return fail(lua, format!("unknown failure '{s}' (expected unreachable, timeout, http, query or malformed)"));
                        };
                        let message = match payload {
                            Value::String(m) => Some(m.to_str()?.to_string()),
                            _ => None,
                        };
                        Outcome::Fail { kind, message }
                    }
                    _ => return fail(lua, "the kind of failure must be a string"),
                };
                let delay = delay.unwrap_or(0.0);
                if !(delay.is_finite() && (0.0..=86_400.0).contains(&delay)) {
                    return fail(lua, format!("delay must be 0 to 86400 seconds, got {delay}"));
                }
                k.fakes.add_rule(Rule {
                    matcher,
                    outcome,
                    delay: Duration::from_secs_f64(delay),
                });
                ok(Value::Boolean(true))
            },
        )?,
    )?;

    let k = kit.clone();
    t.set(
        "calls",
        lua.create_function(move |lua, ()| {
            let out = lua.create_table()?;
            for (i, r) in k.fakes.received().into_iter().enumerate() {
                let c = lua.create_table()?;
                c.set("query", r.call.query)?;
                c.set("at", r.at)?;
                match r.call.range {
                    Some((start, end, step)) => {
                        c.set("kind", "range")?;
                        c.set("start", start)?;
                        c.set("end", end)?;
                        c.set("step", step)?;
                    }
                    None => {
                        c.set("kind", "instant")?;
                        c.set("cache", cache_name(r.call.cache))?;
                    }
                }
                out.raw_set(i + 1, c)?;
            }
            Ok(out)
        })?,
    )?;

    let k = kit.clone();
    t.set(
        "reset",
        lua.create_function(move |_, ()| {
            k.fakes.reset();
            Ok(())
        })?,
    )?;

    let k = kit.clone();
    t.set("now", lua.create_function(move |_, ()| Ok(k.fakes.now()))?)?;

    let k = kit.clone();
    t.set(
        "set_time",
        lua.create_function(move |lua, t: Value| match t {
            Value::Integer(i) => {
                k.fakes.set_time(i as f64);
                ok(Value::Boolean(true))
            }
            Value::Number(n) if n.is_finite() => {
                k.fakes.set_time(n);
                ok(Value::Boolean(true))
            }
            _ => fail(lua, "a time in Unix seconds"),
        })?,
    )?;

    t.set(
        "advance",
        lua.create_async_function(|lua, s: Value| async move {
            let secs = match s {
                Value::Integer(i) => i as f64,
                Value::Number(n) => n,
                _ => return fail(&lua, "a number of seconds"),
            };
            if !(secs.is_finite() && (0.0..=31_536_000.0).contains(&secs)) {
                return fail(&lua, format!("seconds must be 0 to 31536000, got {secs}"));
            }
            // Every task waiting on a timer that falls due meanwhile runs, in time order
            // (the paused clock jumps from timer to timer while nothing else can run).
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            for _ in 0..SETTLE_ROUNDS {
                tokio::task::yield_now().await;
            }
            ok(Value::Boolean(true))
        })?,
    )?;

    let k = kit.clone();
    t.set(
        "logs",
        lua.create_function(move |lua, ()| {
            let logs = k.logs.lock();
            let out = lua.create_table()?;
            let start = k.log_start.get().min(logs.len());
            for (i, l) in logs[start..].iter().enumerate() {
                let e = lua.create_table()?;
                e.set("level", l.level.as_str())?;
                e.set("plugin", l.plugin.clone())?;
                e.set("text", l.text.clone())?;
                out.raw_set(i + 1, e)?;
            }
            Ok(out)
        })?,
    )?;

    let prefix = format!("@plugins/{}/", kit.plugin.folder);
    t.set(
        "where",
        lua.create_function(move |lua, ()| Ok(where_in_tests(lua, &prefix)))?,
    )?;
    Ok(t)
}

/// The name a plugin gives a cache (`rackscope.prometheus.query`'s `cache` option).
fn cache_name(c: crate::prometheus::CacheKind) -> &'static str {
    use crate::prometheus::CacheKind;
    match c {
        CacheKind::None => "none",
        CacheKind::Generic => "generic",
        CacheKind::Health => "health",
        CacheKind::Metrics => "metrics",
    }
}

/// `tests/<file>:<line>`: the innermost frame on the stack that is in a file of the
/// plugin's `tests/` folder (the test's own line, even when the error came from deeper).
fn where_in_tests(lua: &Lua, prefix: &str) -> Option<String> {
    let tests = format!("{prefix}tests/");
    for level in 0..64 {
        let frame = lua.inspect_stack(level, |d| {
            let src = d.source().source.map(|s| s.into_owned());
            (src, d.current_line())
        })?;
        if let (Some(src), Some(line)) = frame {
            if let Some(rel) = src.strip_prefix(prefix) {
                if src.starts_with(&tests) {
                    return Some(format!("{rel}:{line}"));
                }
            }
        }
    }
    None
}

/// `testing.plugin(opts)`'s table as [`Options`].
fn options(lua: &Lua, v: Value) -> Result<Options, String> {
    let t = match v {
        Value::Nil => return Ok(Options::default()),
        Value::Table(t) => t,
        _ => return Err("the options must be a table".into()),
    };
    let json = |v: Value, key: &str| -> Result<Json, String> {
        lua.from_value::<Json>(v)
            .map_err(|e| format!("{key} has no JSON form: {e}"))
    };
    let mut o = Options::default();
    for pair in t.pairs::<String, Value>() {
        let (k, v) = pair.map_err(|e| format!("the options must have string keys: {e}"))?;
        match (k.as_str(), v) {
            // Read by the prelude.
            ("fails", _) => {}
            ("config", v @ Value::Table(_)) => o.config = Some(json(v, "config")?),
            ("topology", Value::String(s)) => {
                o.topology = Some(Topology::Fixture(s.to_string_lossy()));
            }
            ("topology", v @ Value::Table(_)) => {
                o.topology = Some(Topology::Inline(json(v, "topology")?));
            }
            ("templates", Value::String(s)) => o.templates = Some(s.to_string_lossy()),
            ("files", Value::Table(files)) => {
                for f in files.pairs::<String, String>() {
                    let (name, text) =
                        f.map_err(|_| "files must map file names to their text".to_string())?;
                    o.files.push((name, text));
                }
                o.files.sort();
            }
            ("app", v @ Value::Table(_)) => o.app = Some(json(v, "app")?),
            ("limits", v @ Value::Table(_)) => o.limits = Some(json(v, "limits")?),
            (
                k @ ("config" | "topology" | "templates" | "files" | "app" | "limits"),
                other,
            ) => {
                return Err(format!(
                    "{k} cannot be a {}",
                    crate::lua::errors::type_name(&other)
                ))
            }
            (other, _) => {
                return Err(format!(
                    "unknown option '{other}' (expected config, topology, templates, files, app, limits or fails)"
                ))
            }
        }
    }
    Ok(o)
}

/// A bench, as the prelude's `Plugin` object holds it.
struct BenchUd(Rc<Bench>);

impl UserData for BenchUd {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        // request(method, target, headers, body) -> status, headers, text | nil, err
        m.add_async_method(
            "request",
            |lua,
             this,
             (method, target, headers, body): (
                String,
                String,
                Option<Table>,
                Option<mlua::String>,
            )| {
                let bench = this.0.clone();
                drop(this);
                async move {
                    let mut hs = Vec::new();
                    if let Some(h) = headers {
                        for pair in h.pairs::<String, String>() {
                            hs.push(pair?);
                        }
                    }
                    hs.sort();
                    let body = body.map(|b| b.as_bytes().to_vec());
                    match bench.request(&method, &target, &hs, body).await {
                        Ok(a) => {
                            let headers = lua.create_table()?;
                            for (k, v) in a.headers {
                                headers.set(k, v)?;
                            }
                            Ok(MultiValue::from_iter([
                                Value::Integer(i64::from(a.status)),
                                Value::Table(headers),
                                Value::String(lua.create_string(&a.body)?),
                            ]))
                        }
                        Err(e) => fail(&lua, e),
                    }
                }
            },
        );
        m.add_method("slot", |lua, this, ()| {
            let t = lua.create_table()?;
            t.set("folder", this.0.folder.as_str())?;
            if let Some(slot) = this.0.slot() {
                t.set("id", slot.id())?;
                t.set("running", slot.handle.is_some())?;
                t.set("fallback", slot.fallback.is_some())?;
                t.set("error", slot.error.clone())?;
            } else {
                t.set("id", this.0.folder.as_str())?;
                t.set("running", false)?;
                t.set("fallback", false)?;
                t.set("error", "the plugin is not enabled")?;
            }
            Ok(t)
        });
        m.add_method("scrape", |_, this, ()| {
            Ok(this
                .0
                .slot()
                .and_then(|s| s.handle.map(|h| h.metrics.render())))
        });
        m.add_method("status_maps", |lua, this, ()| {
            let out = lua.create_table()?;
            if let Some(h) = this.0.slot().and_then(|s| s.serving().cloned()) {
                for (name, map) in &h.status_maps {
                    out.set(name.as_str(), lua.create_table_from(map.clone())?)?;
                }
            }
            Ok(out)
        });
        m.add_async_method("stop", |_, this, ()| {
            let bench = this.0.clone();
            drop(this);
            async move {
                bench.stop().await;
                Ok(())
            }
        });
        m.add_async_method("reload", |_, this, ()| {
            let bench = this.0.clone();
            drop(this);
            async move {
                bench.reload().await;
                Ok(())
            }
        });
        m.add_method("read", |lua, this, rel: String| {
            let Some(rel) = crate::config::plugin_file::safe_relative(&rel) else {
                return fail(
                    lua,
                    format!("'{rel}' is not a path inside the config folder"),
                );
            };
            match std::fs::read_to_string(this.0.workspace.config_dir.join(rel)) {
                Ok(text) => ok(Value::String(lua.create_string(text)?)),
                Err(e) => fail(lua, e.to_string()),
            }
        });
        m.add_method("write", |lua, this, (rel, text): (String, mlua::String)| {
            let Some(rel) = crate::config::plugin_file::safe_relative(&rel) else {
                return fail(
                    lua,
                    format!("'{rel}' is not a path inside the config folder"),
                );
            };
            let path = this.0.workspace.config_dir.join(rel);
            if let Some(parent) = path.parent() {
                if let Err(e) = std::fs::create_dir_all(parent) {
                    return fail(lua, e.to_string());
                }
            }
            match crate::fsutil::write_atomic(&path, &text.as_bytes()) {
                Ok(()) => ok(Value::Boolean(true)),
                Err(e) => fail(lua, e.to_string()),
            }
        });
    }
}
