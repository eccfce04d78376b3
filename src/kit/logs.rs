//! What the plugins under test log, kept instead of printed: a `tracing` layer installed
//! as the test thread's default subscriber while a test file runs. The runner shows the
//! warnings and errors a failed test logged (a handler's Lua error and its traceback are
//! logged, not sent to the client); a test reads them with `testing.logs()`.

use std::fmt::Write as _;
use std::sync::Arc;

use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// One event.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub level: Level,
    /// The plugin id or folder the event names, if any.
    pub plugin: Option<String>,
    /// The message, then the other fields as `key=value` (`at` and `plugin` aside).
    pub text: String,
}

impl std::fmt::Display for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.level)?;
        if let Some(p) = &self.plugin {
            write!(f, " [{p}]")?;
        }
        write!(f, " {}", self.text)
    }
}

/// The events of one test file, oldest first. A `parking_lot` mutex: held only to push
/// or copy.
pub type Captured = Arc<Mutex<Vec<LogLine>>>;

/// Keeps the server's own events (target `rackscope...`) at debug level and above.
pub struct Capture(pub Captured);

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with("rackscope") || *meta.level() > Level::DEBUG {
            return;
        }
        let mut v = Fields::default();
        event.record(&mut v);
        let mut text = v.message;
        if let Some(at) = v.at {
            text = format!("{at}: {text}");
        }
        if !v.rest.is_empty() {
            text.push_str(&v.rest);
        }
        self.0.lock().push(LogLine {
            level: *meta.level(),
            plugin: v.plugin,
            text,
        });
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    plugin: Option<String>,
    at: Option<String>,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "plugin" | "folder" if self.plugin.is_none() => self.plugin = Some(value),
            "at" => self.at = Some(value),
            name => {
                let _ = write!(self.rest, " {name}={value}");
            }
        }
    }
}
