//! `rackscope.log.debug/info/warn/error(...)` and `print(...)`: log lines through the
//! server's `tracing`, tagged with the plugin and the caller's file and line.

use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use crate::lua::errors;
use crate::lua::host::HostCtx;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    let ns = lua.create_table()?;
    for level in ["debug", "info", "warn", "error"] {
        ns.set(level, lua.create_function(logger(ctx.clone(), level))?)?;
    }
    root.set("log", ns)?;
    lua.globals()
        .raw_set("print", lua.create_function(logger(ctx.clone(), "info"))?)
}

/// `rackscope.log.<level>(...)` (and `print` at info).
fn logger(c: Rc<HostCtx>, level: &'static str) -> impl Fn(&Lua, MultiValue) -> mlua::Result<()> {
    move |lua, args| {
        emit(lua, &c, level, args);
        Ok(())
    }
}

/// The arguments of `print`-like functions as text, joined by `sep` (what `tostring`
/// gives; a value without a text form by its type name).
pub fn joined(args: &MultiValue, sep: &str) -> String {
    args.iter()
        .map(|v| match v {
            Value::String(s) => s.to_string_lossy(),
            other => other
                .to_string()
                .unwrap_or_else(|_| errors::type_name(other).into()),
        })
        .collect::<Vec<_>>()
        .join(sep)
}

fn emit(lua: &Lua, ctx: &HostCtx, level: &str, args: MultiValue) {
    let msg = joined(&args, " ");
    let at = errors::caller_location(lua);
    let at = at.trim_end_matches(": ");
    let plugin = ctx.plugin_id.borrow();
    match level {
        "debug" => tracing::debug!(plugin = %plugin, at, "{msg}"),
        "info" => tracing::info!(plugin = %plugin, at, "{msg}"),
        "warn" => tracing::warn!(plugin = %plugin, at, "{msg}"),
        _ => tracing::error!(plugin = %plugin, at, "{msg}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::super::testing::TestHost;

    /// Everything logged while `f` runs, as the server's text format writes it.
    fn logged(f: impl FnOnce()) -> String {
        let buf = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || SharedBuf(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buf.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct SharedBuf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedBuf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn each_level_logs_its_values_with_the_plugin_and_the_callers_line() {
        let h = TestHost::new(&[super::register]);
        let out = logged(|| {
            h.eval::<()>(
                "rackscope.log.debug('a', 1)\nrackscope.log.info(nil, true)\n\
                 rackscope.log.warn(2.5)\nrackscope.log.error()\nprint('x', 2)",
            )
            .unwrap()
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        for (line, (level, at, msg)) in lines.iter().zip([
            ("DEBUG", "test:1", "a 1"),
            ("INFO", "test:2", "nil true"),
            ("WARN", "test:3", "2.5"),
            ("ERROR", "test:4", ""),
            ("INFO", "test:5", "x 2"),
        ]) {
            assert!(line.contains(level), "{line}");
            assert!(line.contains("plugin=probe"), "{line}");
            assert!(line.contains(&format!("at=\"{at}\"")), "{line}");
            assert!(line.contains(&format!(": {msg}")), "{line}");
        }
    }

    #[tokio::test]
    async fn tables_and_functions_are_named_by_their_type() {
        let h = TestHost::new(&[super::register]);
        let out = logged(|| h.eval::<()>("rackscope.log.info({}, print)").unwrap());
        assert!(out.contains("table: 0x"), "{out}");
        assert!(out.contains("function: "), "{out}");
    }
}
