//! A plugin's own config file: where it lives ([`PluginPaths`]), reading it, merging an
//! update into it and writing it atomically.
//!
//! It lives under the `plugins/` folder next to app.yaml: `<folder>/config.yml` by
//! default, or the path the plugin declares (`config_file = "config/plugin.yaml"`). That
//! folder, `<dir of app.yaml>/plugins/<folder>/`, is also the only place the plugin's
//! `rackscope.fs` functions may touch. [`PluginPaths`] is here, below both the plugin
//! runtime and the Lua API, because both need it: the runtime works a plugin's paths out
//! once per load and hands them down to the instance and its host context.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::fsutil;

/// Default config file name inside the plugin's config folder.
pub const DEFAULT_CONFIG_FILE: &str = "config.yml";

/// `<dir of app.yaml>/plugins/<folder>`.
pub fn config_dir(app_yaml: &Path, folder: &str) -> PathBuf {
    let base = match app_yaml.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    base.join("plugins").join(folder)
}

/// `^[a-z0-9][a-z0-9._-]{0,127}$`: the safe-id rule for plugin ids and plugin folders.
/// [`is_safe_id`] as a regular expression, for the API document.
pub const SAFE_ID_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,127}$";

pub fn is_safe_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
}

/// Where one plugin's files are: worked out once per load from `paths.plugins` and the
/// location of app.yaml, and handed down (manager, instance, host context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginPaths {
    /// `<paths.plugins>/<folder>`: `init.lua`, the files it requires and the files the
    /// plugin ships (read-only).
    pub code_dir: PathBuf,
    /// `<dir of app.yaml>/plugins/<folder>`: the plugin's config folder, the only place
    /// `rackscope.fs` writes.
    pub config_dir: PathBuf,
    /// The plugin's config file: [`DEFAULT_CONFIG_FILE`] in `config_dir` until the plugin
    /// declares another one ([`PluginPaths::with_config_file`]).
    pub config_file: PathBuf,
}

impl PluginPaths {
    /// The paths of the plugin in `folder`, with the default config file.
    pub fn new(code_root: &Path, app_yaml: &Path, folder: &str) -> PluginPaths {
        let config_dir = config_dir(app_yaml, folder);
        PluginPaths {
            code_dir: code_root.join(folder),
            config_file: config_dir.join(DEFAULT_CONFIG_FILE),
            config_dir,
        }
    }

    /// The same paths with the config file the plugin declares (`config_file`, relative
    /// to the config folder); None when `rel` leaves it ([`safe_relative`]).
    pub fn with_config_file(&self, rel: &str) -> Option<PluginPaths> {
        Some(PluginPaths {
            config_file: self.config_dir.join(safe_relative(rel)?),
            ..self.clone()
        })
    }
}

/// Checks a plugin-declared relative path (no `..`, not absolute).
pub fn safe_relative(rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    (!rel.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_))))
    .then(|| p.to_path_buf())
}

/// Keys of `plugins.<folder>` in app.yaml that the host itself reads.
pub const HOST_KEYS: [&str; 4] = [
    "enabled",
    "memory_limit_mb",
    "instruction_limit",
    "request_timeout_seconds",
];

/// Removes every non-host key from `cfg.plugins.<folder>` and returns them per folder
/// (folders with none are left out), for writing into the plugins' own config files.
pub fn split_plugin_settings(
    cfg: &mut crate::config::AppConfig,
) -> Vec<(String, Map<String, Value>)> {
    let mut out = Vec::new();
    for (folder, entry) in cfg.plugins.iter_mut() {
        // The settings go to `<config dir>/plugins/<folder>/`: a name that is not a safe
        // id (`..`, a slash) would write elsewhere. Such a folder is never loaded either
        // (`plugin::discovery`); its settings stay in app.yaml.
        if !is_safe_id(folder) {
            continue;
        }
        let moved: Map<String, Value> = entry
            .iter()
            .filter(|(k, _)| !HOST_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !moved.is_empty() {
            entry.retain(|k, _| HOST_KEYS.contains(&k.as_str()));
            out.push((folder.clone(), moved));
        }
    }
    out
}

/// What reading the file gave.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The parsed document ({} when the file is absent or empty).
    pub config: Value,
    /// "file" when read from disk, "defaults" when there is no file.
    pub source: &'static str,
}

/// Why a plugin config file could not be read or written. Messages name the file and,
/// for YAML errors, the line.
#[derive(Debug, thiserror::Error)]
pub enum PluginFileError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Parse { path: PathBuf, source: YamlError },
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the config as YAML: {0}")]
    Serialise(String),
}

/// A YAML document that does not parse: the parser's message, with its line when known.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct YamlError {
    pub line: Option<usize>,
    pub message: String,
}

/// Reads and parses the YAML file; a missing file is `{}` from "defaults".
pub fn read(path: &Path) -> Result<Loaded, PluginFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let config = parse(&text).map_err(|source| PluginFileError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(Loaded {
                config,
                source: "file",
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Loaded {
            config: Value::Object(Map::new()),
            source: "defaults",
        }),
        Err(source) => Err(PluginFileError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Parses YAML into JSON; an empty document is `{}`.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let v: Value = serde_norway::from_str(text).map_err(|e| YamlError {
        line: e.location().map(|l| l.line()),
        message: e.to_string(),
    })?;
    Ok(if v.is_null() {
        Value::Object(Map::new())
    } else {
        v
    })
}

/// Merges `update`'s top-level keys into `current` (a key set to null is removed).
pub fn merge(current: &Value, update: &Map<String, Value>) -> Value {
    let mut out = current.as_object().cloned().unwrap_or_default();
    for (k, v) in update {
        if v.is_null() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Writes `config` as YAML with a header, atomically.
pub fn write(path: &Path, plugin_name: &str, config: &Value) -> Result<(), PluginFileError> {
    let body =
        serde_norway::to_string(config).map_err(|e| PluginFileError::Serialise(e.to_string()))?;
    let text = format!("# {plugin_name} plugin configuration, managed by rackscope (comments are not kept)\n\n{body}");
    fsutil::write_atomic(path, text.as_bytes()).map_err(|source| PluginFileError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_safe_id_pattern_says_what_is_safe_id_says() {
        let re = regex::Regex::new(SAFE_ID_PATTERN).unwrap();
        for id in [
            "a",
            "sim",
            "0x",
            "a.b-c_d",
            "",
            ".a",
            "-a",
            "A",
            "a/b",
            "..",
            "a b",
            &"a".repeat(128),
            &"a".repeat(129),
        ] {
            assert_eq!(re.is_match(id), is_safe_id(id), "{id:?}");
        }
    }

    #[test]
    fn settings_of_unsafe_folder_names_are_never_split_out() {
        let mut cfg = crate::config::AppConfig::with_paths("t", "tp", "c");
        for folder in ["sim", "../../evil", "a/b", "Bad"] {
            let entry = json!({"enabled": true, "x": 1});
            cfg.plugins
                .insert(folder.into(), entry.as_object().unwrap().clone());
        }
        let split = split_plugin_settings(&mut cfg);
        let folders: Vec<&str> = split.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(folders, ["sim"]);
        assert_eq!(cfg.plugins["../../evil"]["x"], json!(1), "kept in app.yaml");
    }

    #[test]
    fn merge_sets_and_removes_top_level_keys() {
        let cur = json!({"a": 1, "b": {"x": 1}, "c": 3});
        let upd = json!({"b": {"y": 2}, "c": null, "d": "new"});
        let out = merge(&cur, upd.as_object().unwrap());
        assert_eq!(out, json!({"a": 1, "b": {"y": 2}, "d": "new"}));
    }

    #[test]
    fn read_missing_is_defaults_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x/config.yml");
        let l = read(&p).unwrap();
        assert_eq!((l.config, l.source), (json!({}), "defaults"));
        write(&p, "X", &json!({"greeting": "hi", "n": 2})).unwrap();
        let l = read(&p).unwrap();
        assert_eq!(
            (l.config, l.source),
            (json!({"greeting": "hi", "n": 2}), "file")
        );
        std::fs::write(&p, "a: [\n").unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("line"));
    }

    #[test]
    fn paths_of_a_plugin() {
        let p = PluginPaths::new(
            Path::new("/opt/plugins"),
            Path::new("/etc/rs/app.yaml"),
            "sim",
        );
        assert_eq!(p.code_dir, Path::new("/opt/plugins/sim"));
        assert_eq!(p.config_dir, Path::new("/etc/rs/plugins/sim"));
        assert_eq!(p.config_file, Path::new("/etc/rs/plugins/sim/config.yml"));
        let declared = p.with_config_file("config/plugin.yaml").unwrap();
        assert_eq!(
            declared.config_file,
            Path::new("/etc/rs/plugins/sim/config/plugin.yaml")
        );
        assert!(p.with_config_file("../other/config.yml").is_none());
        let bare = PluginPaths::new(Path::new("plugins"), Path::new("app.yaml"), "x");
        assert_eq!(bare.config_dir, Path::new("./plugins/x"));
    }

    #[test]
    fn safe_ids() {
        for ok in [
            "a",
            "0",
            "slurm",
            "workload-slurm",
            "a.b_c-d",
            &"x".repeat(128),
        ] {
            assert!(is_safe_id(ok), "{ok}");
        }
        for bad in ["", "A", "-a", ".a", "a/b", "a b", "é", &"x".repeat(129)] {
            assert!(!is_safe_id(bad), "{bad}");
        }
    }

    #[test]
    fn safe_relative_refuses_escapes() {
        assert!(safe_relative("config/plugin.yaml").is_some());
        for bad in ["", "/etc/passwd", "../x", "a/../../b"] {
            assert!(safe_relative(bad).is_none(), "{bad}");
        }
    }
}
