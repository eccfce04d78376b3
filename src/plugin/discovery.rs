//! Which plugins there are and where their files are: the enabled folders under
//! `paths.plugins`, each plugin's [`PluginPaths`], and the content fingerprint that tells a
//! reload whether anything it depends on changed.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::config::plugin_file::{is_safe_id, PluginPaths};
use crate::state::AppState;

/// The resolved `paths.plugins`.
pub fn code_root(state: &AppState) -> PathBuf {
    PathBuf::from(&state.snapshot().paths.plugins)
}

/// The paths of the plugin in `folder` under the running state: its code folder under
/// `paths.plugins`, its config folder next to app.yaml, the default config file.
pub fn paths_of(state: &AppState, folder: &str) -> PluginPaths {
    PluginPaths::new(&code_root(state), state.config_path(), folder)
}

/// Whether `folder` names a plugin that is present: a safe name with an `init.lua`.
pub fn is_present(state: &AppState, folder: &str) -> bool {
    is_safe_id(folder) && code_root(state).join(folder).join("init.lua").is_file()
}

/// Folders under `paths.plugins` that have an init.lua and are enabled, sorted, except
/// those this process leaves off (`without`).
pub fn enabled_folders(state: &AppState, without: &BTreeSet<String>) -> Vec<String> {
    let snap = state.snapshot();
    let root = PathBuf::from(&snap.paths.plugins);
    let mut out: Vec<String> = snap
        .config
        .plugins
        .keys()
        .filter(|f| snap.config.plugin_enabled(f))
        .filter(|f| {
            let off = without.contains(f.as_str());
            if off {
                tracing::info!(folder = %f, "plugin enabled in app.yaml but left off on this replica (--without-plugin)");
            }
            !off
        })
        .filter(|f| {
            let ok = is_safe_id(f);
            if !ok {
                tracing::warn!(folder = %f, "plugin folder name is not a safe id; not loaded");
            }
            ok
        })
        .filter(|f| {
            let present = root.join(f.as_str()).join("init.lua").is_file();
            if !present {
                tracing::warn!(folder = %f, root = %root.display(), "plugin enabled but no init.lua found");
            }
            present
        })
        .cloned()
        .collect();
    out.sort();
    out
}

/// A hash of what a reload depends on: every `.lua` file of the plugin's code folder and
/// its config file. Other files (data a plugin writes with `rackscope.fs`, READMEs) do not
/// count, so writing them reloads nothing; nor do our own config writes, which record the
/// new fingerprint.
pub fn fingerprint(code_dir: &Path, config_file: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut files = Vec::new();
    collect_lua_files(code_dir, &mut files, 0);
    files.sort();
    files.push(config_file.to_path_buf());
    for f in files {
        f.hash(&mut h);
        std::fs::read(&f).ok().hash(&mut h);
    }
    h.finish()
}

fn collect_lua_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect_lua_files(&p, out, depth + 1);
        } else if p.extension().is_some_and(|x| x == "lua") {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_follows_lua_files_and_the_config_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("code");
        std::fs::create_dir_all(code.join("lib/.hidden")).unwrap();
        std::fs::write(code.join("init.lua"), "return {}").unwrap();
        let config = dir.path().join("config.yml");
        let fp = || fingerprint(&code, &config);
        let first = fp();
        std::fs::write(code.join("README.md"), "notes").unwrap();
        std::fs::write(code.join("lib/.hidden/x.lua"), "x").unwrap();
        assert_eq!(fp(), first, "other files and hidden folders do not count");
        std::fs::write(code.join("lib/util.lua"), "return 1").unwrap();
        let with_lib = fp();
        assert_ne!(with_lib, first, "a required file counts");
        std::fs::write(&config, "a: 1").unwrap();
        assert_ne!(fp(), with_lib, "the config file counts");
    }
}
