//! Problem collection: every problem found while loading, with its file and line.

use super::*;

#[derive(Default)]
pub(super) struct Ctx {
    pub(super) problems: Vec<Problem>,
    pub(super) warnings: Vec<String>,
}

impl Ctx {
    pub(super) fn problem(&mut self, file: &Path, message: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_path_buf(),
            line: None,
            message: message.into(),
        });
    }

    pub(super) fn yaml_problem(&mut self, file: &Path, err: &serde_norway::Error) {
        let mut message = err.to_string();
        let line = err.location().map(|loc| {
            // The position goes into `line`; drop the parser's own " at line L column C".
            let at = format!(" at line {} column {}", loc.line(), loc.column());
            if let Some(pos) = message.find(&at) {
                message.replace_range(pos..pos + at.len(), "");
            }
            loc.line()
        });
        self.problems.push(Problem {
            file: file.to_path_buf(),
            line,
            message,
        });
    }

    pub(super) fn warn(&mut self, message: String) {
        tracing::warn!("{message}");
        self.warnings.push(message);
    }
}

/// Reads and parses one YAML file. `Some(None)` is an empty document; `None` means a
/// problem was recorded.
pub(super) fn read_yaml<T: DeserializeOwned>(file: &Path, ctx: &mut Ctx) -> Option<Option<T>> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) => {
            ctx.problem(file, format!("cannot read file: {err}"));
            return None;
        }
    };
    match serde_norway::from_str::<Option<T>>(&text) {
        Ok(value) => Some(value),
        Err(err) => {
            ctx.yaml_problem(file, &err);
            None
        }
    }
}
