//! What `rackscope plugin test` prints: a report a person reads ([`Human`]: each test with
//! ok or FAIL, the failing line and what the plugin logged, then the totals and the time),
//! or TAP version 13 for tools ([`Tap`], `--tap`).

use std::io::Write;

use super::bench::PluginUnderTest;
use super::runner::{Case, Outcome, Reporter, Totals};

/// The report for people.
pub struct Human<W: Write> {
    out: W,
}

impl<W: Write> Human<W> {
    pub fn new(out: W) -> Human<W> {
        Human { out }
    }
}

/// Most log lines shown under a failed test.
const MAX_LOG_LINES: usize = 12;

impl<W: Write> Reporter for Human<W> {
    fn plugin(&mut self, plugin: &PluginUnderTest) {
        let _ = writeln!(
            self.out,
            "{} ({})",
            plugin.folder,
            plugin.code_dir.display()
        );
    }

    fn file(&mut self, _plugin: &PluginUnderTest, file: &str) {
        let _ = writeln!(self.out, "  {file}");
    }

    fn case(&mut self, case: &Case) {
        match &case.outcome {
            Outcome::Passed => {
                let _ = writeln!(self.out, "    ok    {}", case.name);
            }
            Outcome::Skipped => {}
            Outcome::Failed { message, at, logs } => {
                let _ = writeln!(self.out, "    FAIL  {}", case.name);
                let mut lines = message.lines();
                if let Some(first) = lines.next() {
                    let _ = writeln!(self.out, "          {first}");
                }
                for l in lines.take(8) {
                    let _ = writeln!(self.out, "          {l}");
                }
                if let Some(at) = at {
                    if !message.contains(at.as_str()) {
                        let _ = writeln!(self.out, "          at {at}");
                    }
                }
                for l in logs.iter().take(MAX_LOG_LINES) {
                    let first = l.to_string();
                    let first = first.lines().next().unwrap_or_default();
                    let _ = writeln!(self.out, "          logged: {first}");
                }
                if logs.len() > MAX_LOG_LINES {
                    let _ = writeln!(
                        self.out,
                        "          logged: ... and {} more",
                        logs.len() - MAX_LOG_LINES
                    );
                }
            }
        }
    }

    fn broken(&mut self, _plugin: &PluginUnderTest, file: &str, error: &str) {
        let _ = writeln!(self.out, "    BROKEN {file} did not run");
        for l in error.lines().take(10) {
            let _ = writeln!(self.out, "          {l}");
        }
    }

    fn finished(&mut self, t: &Totals) {
        let mut parts = vec![
            format!("{} passed", t.passed),
            format!("{} failed", t.failed),
        ];
        if t.skipped > 0 {
            parts.push(format!("{} skipped (--filter)", t.skipped));
        }
        if t.broken > 0 {
            parts.push(format!(
                "{} {} did not run",
                t.broken,
                if t.broken == 1 { "file" } else { "files" }
            ));
        }
        let _ = writeln!(
            self.out,
            "\n{} in {:.2} s",
            parts.join(", "),
            t.elapsed.as_secs_f64()
        );
        if t.passed + t.failed == 0 && t.broken == 0 {
            let _ = writeln!(self.out, "no test ran");
        }
        let _ = self.out.flush();
    }
}

/// TAP version 13: one `ok` / `not ok` line per test, a YAML block under each failure,
/// the plan at the end.
pub struct Tap<W: Write> {
    out: W,
    n: usize,
}

impl<W: Write> Tap<W> {
    pub fn new(mut out: W) -> Tap<W> {
        let _ = writeln!(out, "TAP version 13");
        Tap { out, n: 0 }
    }

    /// A YAML block (`---` ... `...`) of string fields, indented under the test line.
    fn block(&mut self, fields: &[(&str, String)], logs: &[String]) {
        let _ = writeln!(self.out, "  ---");
        for (k, v) in fields {
            // A JSON string is a YAML string.
            let _ = writeln!(self.out, "  {k}: {}", serde_json::Value::from(v.as_str()));
        }
        if !logs.is_empty() {
            let _ = writeln!(self.out, "  log:");
            for l in logs {
                let _ = writeln!(self.out, "    - {}", serde_json::Value::from(l.as_str()));
            }
        }
        let _ = writeln!(self.out, "  ...");
    }
}

impl<W: Write> Reporter for Tap<W> {
    fn plugin(&mut self, plugin: &PluginUnderTest) {
        let _ = writeln!(
            self.out,
            "# {} ({})",
            plugin.folder,
            plugin.code_dir.display()
        );
    }

    fn file(&mut self, _plugin: &PluginUnderTest, file: &str) {
        let _ = writeln!(self.out, "# {file}");
    }

    fn case(&mut self, case: &Case) {
        let title = format!("{}: {}: {}", case.plugin, case.file, case.name);
        // `#` starts a directive in TAP.
        let title = title.replace('#', "\\#");
        match &case.outcome {
            Outcome::Skipped => {}
            Outcome::Passed => {
                self.n += 1;
                let _ = writeln!(self.out, "ok {} - {title}", self.n);
            }
            Outcome::Failed { message, at, logs } => {
                self.n += 1;
                let _ = writeln!(self.out, "not ok {} - {title}", self.n);
                let mut fields = vec![("message", message.clone())];
                if let Some(at) = at {
                    fields.push(("at", at.clone()));
                }
                let logs: Vec<String> = logs.iter().map(ToString::to_string).collect();
                self.block(&fields, &logs);
            }
        }
    }

    fn broken(&mut self, plugin: &PluginUnderTest, file: &str, error: &str) {
        self.n += 1;
        let _ = writeln!(
            self.out,
            "not ok {} - {}: {file} did not run",
            self.n, plugin.folder
        );
        self.block(&[("message", error.to_string())], &[]);
    }

    fn finished(&mut self, t: &Totals) {
        let _ = writeln!(self.out, "1..{}", self.n);
        let _ = writeln!(
            self.out,
            "# {} passed, {} failed, {} skipped, {} did not run, {:.2} s",
            t.passed,
            t.failed,
            t.skipped,
            t.broken,
            t.elapsed.as_secs_f64()
        );
        let _ = self.out.flush();
    }
}
