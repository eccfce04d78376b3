//! Errors across the Lua boundary: argument errors worded like Lua's own and located at
//! the plugin author's line, the HTTP error a handler raises on purpose, and the
//! classification of whatever a call failed with.

use std::sync::Arc;

use mlua::{Lua, Value};

use super::budget::Interrupt;

/// `rackscope.http_error(status, detail)`: raised by a handler to answer with `status`
/// and `{"detail": detail}`.
#[derive(Debug, Clone)]
pub struct HttpError {
    pub status: u16,
    pub detail: serde_json::Value,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.detail)
    }
}

impl std::error::Error for HttpError {}

/// `"plugins/hello/init.lua:12: "`: where the Lua code that called the running host
/// function is, or "" when it cannot be told.
///
/// The nearest Lua frame above the host function is used, skipping C frames and the
/// poller chunk mlua wraps every async function in (`[string "?"]`), so that misuse of
/// an async function (`rackscope.prometheus.query(nil)`) points at the plugin's line too.
pub fn caller_location(lua: &Lua) -> String {
    for level in 1..8 {
        let frame = lua.inspect_stack(level, |d| {
            let src = d.source();
            (src.short_src.map(|s| s.into_owned()), d.current_line())
        });
        match frame {
            None => break,
            Some((Some(s), _)) if s == "[C]" || s == "[string \"?\"]" => continue,
            Some((Some(s), Some(line))) => return format!("{s}:{line}: "),
            Some(_) => continue,
        }
    }
    String::new()
}

/// A misuse error located at the caller's line: `init.lua:12: <msg>`.
pub fn misuse(lua: &Lua, msg: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::RuntimeError(format!("{}{msg}", caller_location(lua)))
}

/// `bad argument #n to 'func' (msg)`, worded like Lua's own, at the caller's line.
pub fn bad_argument(lua: &Lua, func: &str, n: usize, msg: impl std::fmt::Display) -> mlua::Error {
    misuse(lua, format!("bad argument #{n} to '{func}' ({msg})"))
}

/// `bad argument #n to 'func' (<expected> expected, got <type>)`.
pub fn type_error(lua: &Lua, func: &str, n: usize, expected: &str, got: &Value) -> mlua::Error {
    bad_argument(
        lua,
        func,
        n,
        format!("{expected} expected, got {}", type_name(got)),
    )
}

/// Lua's name for a value's type (`nil`, `number`, `table`...).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::UserData(_) => "userdata",
        Value::Error(_) => "error",
        _ => "other",
    }
}

/// What a failed Lua call amounts to.
#[derive(Debug)]
pub enum Failure {
    /// The handler raised `rackscope.http_error`.
    Http(HttpError),
    /// The call ran out of instruction budget, or was cancelled (see [`Interrupt`]).
    Interrupted(Interrupt),
    /// The plugin's Lua state hit its memory limit.
    Memory,
    /// Any other error: a bug in the plugin. The message carries file, line and traceback.
    Error(String),
}

/// Classifies `err`, looking through callback wrappers for the error that started it.
pub fn classify(err: &mlua::Error) -> Failure {
    if let Some(h) = find_external::<HttpError>(err) {
        return Failure::Http(h);
    }
    if let Some(i) = find_external::<Interrupt>(err) {
        return Failure::Interrupted(i);
    }
    match root(err) {
        mlua::Error::MemoryError(_) => Failure::Memory,
        _ => Failure::Error(err.to_string()),
    }
}

fn root(err: &mlua::Error) -> &mlua::Error {
    match err {
        mlua::Error::CallbackError { cause, .. } => root(cause),
        mlua::Error::WithContext { cause, .. } => root(cause),
        other => other,
    }
}

/// The typed host error `err` started from, looking through callback wrappers.
fn find_external<T: std::error::Error + Clone + 'static>(err: &mlua::Error) -> Option<T> {
    match err {
        mlua::Error::ExternalError(e) => e.downcast_ref::<T>().cloned(),
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            find_external(cause)
        }
        _ => None,
    }
}

/// Wraps an [`HttpError`] as a Lua value that `error()` can raise and the host recognise.
pub fn http_error_value(e: HttpError) -> Value {
    Value::Error(Box::new(mlua::Error::ExternalError(Arc::new(e))))
}
