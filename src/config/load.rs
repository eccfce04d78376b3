//! Loading `app.yaml` from disk: parse errors with file and line, validation, and the
//! relative path resolution of docs/architecture.md, compatibility C2.

use std::path::{Path, PathBuf};

use serde_json::{Map, Number, Value};

use super::validate::{validate_with, Options};
use super::{AppConfig, FieldError};

/// Why a config file could not be loaded. Each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigLoadError {
    #[error("Config file not found: {0}")]
    NotFound(PathBuf),
    #[error("Cannot read config file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// YAML syntax error; `line` is 1-based when the parser gives one.
    #[error("Error parsing YAML file {path}{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("Config file is empty: {0}")]
    Empty(PathBuf),
    #[error("Validation failed for {path}:\n{}", errors.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        path: PathBuf,
        errors: Vec<FieldError>,
    },
}

/// Reads, parses and validates `path` with every rule on, then resolves relative paths
/// against it.
pub fn load_file(path: &Path) -> Result<AppConfig, ConfigLoadError> {
    load_file_with(path, Options::default())
}

/// [`load_file`] with some validation rules relaxed.
pub fn load_file_with(path: &Path, options: Options) -> Result<AppConfig, ConfigLoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigLoadError::NotFound(path.to_path_buf())
        } else {
            ConfigLoadError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let doc = parse_yaml_str(&text, path)?;
    if doc.is_null() {
        return Err(ConfigLoadError::Empty(path.to_path_buf()));
    }
    // Paths stay as written: the file is the source of truth and is written back as is;
    // callers resolve them (`resolve_paths`) when they use them.
    validate_with(&doc, options).map_err(|errors| ConfigLoadError::Invalid {
        path: path.to_path_buf(),
        errors,
    })
}

/// Parses one YAML document into JSON values. `path` only names the source in errors.
///
/// An empty document (or one holding only comments, or `null`) gives `Value::Null`. Merge
/// keys (`<<`) are applied. Mapping keys must be strings and tags are not supported; both
/// are reported as parse errors with the key path. A non-finite float becomes the string
/// `inf`, `-inf` or `NaN`, which a float field still reads as a number.
pub fn parse_yaml_str(text: &str, path: &Path) -> Result<Value, ConfigLoadError> {
    let parse_error = |line: Option<usize>, message: String| ConfigLoadError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut yaml: serde_norway::Value = serde_norway::from_str(text)
        .map_err(|e| parse_error(e.location().map(|l| l.line()), e.to_string()))?;
    yaml.apply_merge()
        .map_err(|e| parse_error(e.location().map(|l| l.line()), e.to_string()))?;
    let mut at = Vec::new();
    yaml_to_json(yaml, &mut at).map_err(|message| parse_error(None, message))
}

/// Converts a parsed YAML value; `at` is the key path, for messages.
fn yaml_to_json(yaml: serde_norway::Value, at: &mut Vec<String>) -> Result<Value, String> {
    use serde_norway::Value as Y;
    let where_ = |at: &[String]| {
        if at.is_empty() {
            "at the top level".to_string()
        } else {
            format!("under {}", at.join("."))
        }
    };
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                match Number::from_f64(f) {
                    Some(n) => Value::Number(n),
                    None if f.is_nan() => Value::String("NaN".into()),
                    None if f > 0.0 => Value::String("inf".into()),
                    None => Value::String("-inf".into()),
                }
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                at.push(i.to_string());
                out.push(yaml_to_json(item, at)?);
                at.pop();
            }
            Value::Array(out)
        }
        Y::Mapping(mapping) => {
            let mut out = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Y::String(s) => s,
                    other => {
                        let shown = serde_norway::to_string(&other)
                            .map(|s| s.trim_end().to_string())
                            .unwrap_or_else(|_| format!("{other:?}"));
                        return Err(format!(
                            "mapping keys must be strings, found key {shown} {}",
                            where_(at)
                        ));
                    }
                };
                at.push(key.clone());
                let value = yaml_to_json(value, at)?;
                at.pop();
                out.insert(key, value);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            return Err(format!(
                "unsupported YAML tag {} {}",
                tagged.tag,
                where_(at)
            ));
        }
    })
}

/// Resolves `paths.topology/templates/checks/metrics/plugins`: absolute kept; a path
/// that exists from the working directory kept; else `<dir of app.yaml>/<path>` if that
/// exists; else unchanged.
pub fn resolve_paths(cfg: &mut AppConfig, app_yaml: &Path) {
    let base = app_yaml.parent().unwrap_or(Path::new(""));
    let p = &mut cfg.paths;
    for value in [
        &mut p.topology,
        &mut p.templates,
        &mut p.checks,
        &mut p.metrics,
        &mut p.plugins,
    ] {
        if let Some(resolved) = resolve_one(value, base) {
            *value = resolved;
        }
    }
}

fn resolve_one(value: &str, base: &Path) -> Option<String> {
    let path = Path::new(value);
    if value.is_empty() || path.is_absolute() || path.exists() {
        return None;
    }
    let joined = base.join(path);
    joined
        .exists()
        .then(|| joined.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<Value, ConfigLoadError> {
        parse_yaml_str(text, Path::new("/x/app.yaml"))
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const MINIMAL: &str = "paths:\n  topology: t\n  templates: tp\n  checks: c\n";

    #[test]
    fn resolve_paths_rules() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("topo")).unwrap();
        std::fs::create_dir_all(tmp.path().join("src")).unwrap();
        let abs = tmp.path().join("elsewhere").to_string_lossy().into_owned();
        // Tests run from the package root, where `src` exists.
        let mut cfg = AppConfig::with_paths("topo", "src", abs.clone());
        cfg.paths.metrics = "no/such/dir".into();
        resolve_paths(&mut cfg, &tmp.path().join("app.yaml"));
        assert_eq!(Path::new(&cfg.paths.topology), tmp.path().join("topo"));
        assert_eq!(
            cfg.paths.templates, "src",
            "a CWD-relative path that exists is kept"
        );
        assert_eq!(cfg.paths.checks, abs, "absolute kept");
        assert_eq!(cfg.paths.metrics, "no/such/dir", "unresolvable kept");
        assert_eq!(cfg.paths.plugins, "plugins");
    }

    #[test]
    fn missing_file() {
        let err = load_file(Path::new("/no/such/app.yaml")).unwrap_err();
        assert!(matches!(err, ConfigLoadError::NotFound(_)));
        assert_eq!(err.to_string(), "Config file not found: /no/such/app.yaml");
    }

    #[test]
    fn empty_documents() {
        let tmp = tempfile::tempdir().unwrap();
        for text in ["", "\n\n", "# only a comment\n", "null\n", "---\n", "~"] {
            let path = write(tmp.path(), "app.yaml", text);
            let err = load_file(&path).unwrap_err();
            assert!(matches!(err, ConfigLoadError::Empty(_)), "{text:?}: {err}");
            assert!(err.to_string().starts_with("Config file is empty: "));
        }
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let text = "paths:\n  topology: t\n  templates: [tp\n  checks: c\n";
        match parse(text).unwrap_err() {
            ConfigLoadError::Parse { line, message, .. } => {
                assert!(matches!(line, Some(3..=5)), "{line:?} {message}");
            }
            other => panic!("{other}"),
        }
        let text = "app:\n  name: x\n\tbad: tab\n";
        let err = parse(text).unwrap_err();
        let ConfigLoadError::Parse { line, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(*line, Some(3));
        assert!(err
            .to_string()
            .starts_with("Error parsing YAML file /x/app.yaml (line 3): "));

        let dup = "a: 1\nb: 2\na: 3\n";
        assert!(matches!(parse(dup), Err(ConfigLoadError::Parse { .. })));
    }

    #[test]
    fn non_string_keys_are_parse_errors() {
        let err = parse("plugins:\n  1: {enabled: true}\n").unwrap_err();
        let ConfigLoadError::Parse { message, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(
            message,
            "mapping keys must be strings, found key 1 under plugins"
        );
        assert!(parse("true: x\n").is_err());
        assert!(parse("? [a]\n: x\n").is_err());
    }

    #[test]
    fn tags_are_parse_errors() {
        let err = parse("app: !custom {name: x}\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("unsupported YAML tag !custom under app"),
            "{err}"
        );
    }

    #[test]
    fn yaml_values_convert_to_json() {
        let doc = parse(
            "a: 1\nb: 2.5\nc: yes\nd: true\ne: null\nf: [x, 2]\ng: '30'\nh: .inf\ni: -.inf\nj: .nan\nk: 18446744073709551615\n",
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({
                "a": 1, "b": 2.5, "c": "yes", "d": true, "e": null, "f": ["x", 2], "g": "30",
                "h": "inf", "i": "-inf", "j": "NaN", "k": u64::MAX
            })
        );
    }

    #[test]
    fn merge_keys_are_applied() {
        let doc = parse(
            "base: &b {enabled: true, seed: 1}\nplugins:\n  simulator:\n    <<: *b\n    seed: 2\n",
        )
        .unwrap();
        assert_eq!(
            doc["plugins"]["simulator"],
            json!({"enabled": true, "seed": 2})
        );
    }

    #[test]
    fn non_finite_timeouts_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "app.yaml",
            &format!("{MINIMAL}telemetry:\n  prometheus_timeout_seconds: .inf\n"),
        );
        let ConfigLoadError::Invalid { errors, .. } = load_file(&path).unwrap_err() else {
            panic!("expected Invalid")
        };
        assert_eq!(errors[0].kind, "less_than_equal");
    }

    #[test]
    fn validation_errors_name_the_file_and_each_field() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "app.yaml",
            "refresh:\n  room_state_seconds: 5\nfeatures:\n  playlist: maybe\n",
        );
        let err = load_file(&path).unwrap_err();
        let ConfigLoadError::Invalid { errors, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(errors.len(), 3);
        let text = err.to_string();
        assert!(text.starts_with(&format!("Validation failed for {}:\n", path.display())));
        assert!(text.contains("\n  paths: Field required"), "{text}");
        assert!(text.contains(
            "\n  refresh.room_state_seconds: Input should be greater than or equal to 10"
        ));
        assert!(text.contains("\n  features.playlist: Input should be a valid boolean"));
    }

    #[test]
    fn auth_without_hash_is_refused_unless_relaxed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "app.yaml",
            &format!("{MINIMAL}auth:\n  enabled: true\n  password_hash: ''\n"),
        );
        assert!(matches!(
            load_file(&path),
            Err(ConfigLoadError::Invalid { .. })
        ));
        let relaxed = Options {
            require_hash_when_auth_enabled: false,
        };
        assert!(load_file_with(&path, relaxed).unwrap().auth.enabled);
    }

    #[test]
    fn unreadable_bytes_are_io_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("app.yaml");
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(load_file(&path), Err(ConfigLoadError::Io { .. })));
    }
}
