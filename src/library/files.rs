//! The files of a library folder: which ones the loaders read (and so which ones the API
//! lists), where each item of a YAML list starts (for problems that name a line), and
//! reading one file by the name a client sends, without ever leaving the folder.

use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_norway::Value;

use crate::topology::Problem;

/// How deep a recursive library folder is followed (symlink loops end here too).
const MAX_DEPTH: usize = 16;

/// One file a loader read: its name relative to the library folder (`/`-separated, so
/// `node.yaml` or `gpu/node.yaml`) and its path as the server opens it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryFile {
    pub name: String,
    pub path: PathBuf,
}

/// What a configured library path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// A folder: its `*.yaml` then `*.yml` files are read.
    Dir,
    /// One file, read alone.
    File,
    /// Nothing there: an empty library.
    #[default]
    Missing,
}

/// Where a library comes from and which files were read from it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The configured path, resolved as the server sees it.
    pub root: PathBuf,
    pub source: Source,
    /// The files read, in load order.
    pub files: Vec<LibraryFile>,
}

/// Lists the files of `root`: a folder's `*.yaml` files sorted by name, then its `*.yml`
/// files sorted (the reference's order), from sub-folders too when `recursive`; a file
/// alone; nothing when the path does not exist.
pub fn collect(root: &Path, recursive: bool, problems: &mut Vec<Problem>) -> Origin {
    let mut origin = Origin {
        root: root.to_path_buf(),
        ..Origin::default()
    };
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        origin.source = Source::File;
        origin.files.push(LibraryFile {
            name,
            path: root.to_path_buf(),
        });
        return origin;
    }
    if !root.is_dir() {
        return origin;
    }
    origin.source = Source::Dir;
    let mut found = Vec::new();
    walk(root, "", recursive, 0, &mut found, problems);
    for ext in ["yaml", "yml"] {
        let mut names: Vec<&String> = found
            .iter()
            .filter(|n| Path::new(n.as_str()).extension().is_some_and(|e| e == ext))
            .collect();
        names.sort();
        origin
            .files
            .extend(names.into_iter().map(|name| LibraryFile {
                name: name.clone(),
                path: root.join(name),
            }));
    }
    origin
}

fn walk(
    dir: &Path,
    prefix: &str,
    recursive: bool,
    depth: usize,
    out: &mut Vec<String>,
    problems: &mut Vec<Problem>,
) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(problem(dir, None, format!("cannot list the folder: {e}")));
            return;
        }
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue; // not UTF-8: no client could name it
        };
        let path = entry.path();
        let rel = format!("{prefix}{name}");
        if path.is_dir() {
            if recursive && depth < MAX_DEPTH {
                walk(
                    &path,
                    &format!("{rel}/"),
                    recursive,
                    depth + 1,
                    out,
                    problems,
                );
            }
        } else if path.is_file() {
            out.push(rel);
        }
    }
}

/// Reads a library: [`collect`]s its files, parses each as YAML (merge keys applied) and
/// hands each non-empty document to `each` with its path and text. A file that cannot be
/// read or parsed is a problem (with the parser's line); every problem is logged, tagged
/// with `what`.
pub fn load_each(
    root: &Path,
    recursive: bool,
    what: &str,
    mut each: impl FnMut(&Path, &str, &Value, &mut Vec<Problem>),
) -> (Origin, Vec<Problem>) {
    let mut problems = Vec::new();
    let origin = collect(root, recursive, &mut problems);
    for file in &origin.files {
        let path = file.path.as_path();
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(problem(path, None, format!("cannot read: {e}")));
                continue;
            }
        };
        let mut doc: Value = match serde_norway::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                let line = e.location().map(|l| l.line());
                problems.push(problem(path, line, format!("file skipped: {e}")));
                continue;
            }
        };
        if let Err(e) = doc.apply_merge() {
            problems.push(problem(path, None, format!("file skipped: {e}")));
            continue;
        }
        if !doc.is_null() {
            each(path, &text, &doc, &mut problems);
        }
    }
    for p in &problems {
        tracing::warn!("{what}: {p}");
    }
    (origin, problems)
}

/// A problem in `file`, at `line` when known.
pub fn problem(file: &Path, line: Option<usize>, message: impl Into<String>) -> Problem {
    Problem {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// The 1-based line where each item of the block list under the keys `keys` starts
/// (`["checks"]`, or `["kinds", "server"]`). `None` when the list is not written in block
/// style (a flow list `[...]`) or cannot be found; callers then name the key's file only.
pub fn item_lines(text: &str, keys: &[&str]) -> Option<Vec<usize>> {
    let lines: Vec<&str> = text.lines().collect();
    let content = |l: &str| {
        let t = l.trim_start();
        !(t.is_empty() || t.starts_with('#') || t == "---")
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_key = |t: &str, key: &str| {
        [key.to_string(), format!("\"{key}\""), format!("'{key}'")]
            .iter()
            .any(|k| {
                t.strip_prefix(k.as_str())
                    .is_some_and(|r| r.trim_start().starts_with(':'))
            })
    };
    // Find each key in turn, each one indented under the one before.
    let mut start = 0;
    let mut key_indent: Option<usize> = None;
    for key in keys {
        let (line, ind) = lines
            .iter()
            .enumerate()
            .skip(start)
            .filter(|(_, l)| content(l))
            .take_while(|(_, l)| key_indent.is_none_or(|p| indent(l) > p))
            .find(|(_, l)| (key_indent.is_some() || indent(l) == 0) && is_key(l.trim_start(), key))
            .map(|(i, l)| (i, indent(l)))?;
        start = line + 1;
        key_indent = Some(ind);
    }
    // A value on the last key's own line (a flow list, a scalar) is not a block list.
    let after = lines[start - 1]
        .split_once(':')
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    if !(after.is_empty() || after.starts_with('#') || after.starts_with('&')) {
        return None;
    }
    let key_indent = key_indent?;
    let mut out = Vec::new();
    let mut item_indent = None;
    for (i, l) in lines.iter().enumerate().skip(start) {
        if !content(l) {
            continue;
        }
        let ind = indent(l);
        let t = l.trim_start();
        let dash = t == "-" || t.starts_with("- ");
        match item_indent {
            None if dash && ind >= key_indent => {
                item_indent = Some(ind);
                out.push(i + 1);
            }
            None => break,
            Some(d) if ind == d && dash => out.push(i + 1),
            Some(d) if ind > d => {}
            Some(_) => break,
        }
    }
    Some(out)
}

/// Why a library file cannot be served.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Empty, `..`, absolute, or a separator where none is allowed (400).
    #[error("Invalid filename")]
    Invalid,
    /// The name resolves outside the library folder, through a symlink (403).
    #[error("Access denied")]
    Denied,
    /// No such file, a folder, or a file the loader does not read (404).
    #[error("not found")]
    NotFound,
}

/// Reads the file `name` of a library (raw text), as `GET .../files/{name}` serves it.
///
/// Refuses names that are empty, absolute, hold `..` or a backslash (and a `/` unless
/// `nested` names are allowed, for recursive libraries), files outside the folder once
/// symlinks are resolved, folders, and files the loader would not read (only `.yaml` and
/// `.yml`). When the library is one file, only that file's own name is served.
pub fn read(origin: &Origin, name: &str, nested: bool) -> Result<String, FileError> {
    if name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.split('/').any(|part| part == ".." || part.is_empty())
        || (!nested && name.contains('/'))
    {
        return Err(FileError::Invalid);
    }
    if !Path::new(name)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(FileError::Invalid);
    }
    let path = match origin.source {
        Source::Missing => return Err(FileError::NotFound),
        Source::File => {
            let own = origin.root.file_name().map(|n| n.to_string_lossy());
            if own.as_deref() != Some(name) {
                return Err(FileError::NotFound);
            }
            origin.root.clone()
        }
        Source::Dir => {
            let path = origin.root.join(name);
            if !path.exists() {
                return Err(FileError::NotFound);
            }
            let (Ok(real), Ok(base)) = (path.canonicalize(), origin.root.canonicalize()) else {
                return Err(FileError::NotFound);
            };
            if !real.starts_with(&base) {
                return Err(FileError::Denied);
            }
            path
        }
    };
    let readable = path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if !readable {
        return Err(FileError::NotFound);
    }
    fs::read_to_string(&path).map_err(|_| FileError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_lines_follow_block_lists() {
        let text = "# head\nchecks:\n  - id: a\n    rules:\n      - op: x\n  - id: b\n\n  # c\n  -\n    id: c\nkinds:\n  server:\n  - id: d\n  - {id: e}\n  gpu: [ {id: f} ]\nother: 1\n";
        assert_eq!(item_lines(text, &["checks"]), Some(vec![3, 6, 9]));
        assert_eq!(item_lines(text, &["kinds", "server"]), Some(vec![13, 14]));
        assert_eq!(item_lines(text, &["kinds", "gpu"]), None);
        assert_eq!(item_lines(text, &["nope"]), None);
        assert_eq!(
            item_lines("checks:\n- id: a\n- id: b\nnext: 1\n", &["checks"]),
            Some(vec![2, 3])
        );
        assert_eq!(item_lines("checks: []\n", &["checks"]), None);
    }

    #[test]
    fn collect_orders_yaml_then_yml_and_recurses_on_request() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for f in [
            "b.yaml",
            "a.yml",
            "a.yaml",
            "notes.md",
            "sub/z.yaml",
            "sub/deeper/y.yml",
        ] {
            let p = d.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "x: 1\n").unwrap();
        }
        let mut problems = Vec::new();
        let flat = collect(d, false, &mut problems);
        let names: Vec<&str> = flat.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.yaml", "b.yaml", "a.yml"]);
        let deep = collect(d, true, &mut problems);
        let names: Vec<&str> = deep.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "a.yaml",
                "b.yaml",
                "sub/z.yaml",
                "a.yml",
                "sub/deeper/y.yml"
            ]
        );
        assert_eq!(deep.files[2].path, d.join("sub/z.yaml"));
        assert!(problems.is_empty());
        let one = collect(&d.join("b.yaml"), false, &mut problems);
        assert_eq!(one.source, Source::File);
        assert_eq!(one.files[0].name, "b.yaml");
        assert_eq!(
            collect(&d.join("nope"), false, &mut problems).source,
            Source::Missing
        );
    }

    #[test]
    fn read_stays_inside_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("lib");
        fs::create_dir_all(lib.join("sub/folder.yaml")).unwrap();
        fs::write(lib.join("a.yaml"), "a: 1\n").unwrap();
        fs::write(lib.join("sub/b.yml"), "b: 1\n").unwrap();
        fs::write(lib.join("notes.md"), "x\n").unwrap();
        fs::write(tmp.path().join("secret.yaml"), "s: 1\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(tmp.path().join("secret.yaml"), lib.join("out.yaml")).unwrap();
        let origin = collect(&lib, true, &mut Vec::new());
        assert_eq!(read(&origin, "a.yaml", false).unwrap(), "a: 1\n");
        assert_eq!(read(&origin, "sub/b.yml", true).unwrap(), "b: 1\n");
        assert_eq!(read(&origin, "sub/b.yml", false), Err(FileError::Invalid));
        for bad in [
            "",
            "..",
            "../secret.yaml",
            "/etc/passwd",
            "sub/../a.yaml",
            "a\\b",
            "sub//b.yml",
        ] {
            assert_eq!(read(&origin, bad, true), Err(FileError::Invalid), "{bad}");
        }
        #[cfg(unix)]
        assert_eq!(read(&origin, "out.yaml", false), Err(FileError::Denied));
        assert_eq!(read(&origin, "sub", true), Err(FileError::NotFound));
        assert_eq!(
            read(&origin, "sub/folder.yaml", true),
            Err(FileError::NotFound)
        );
        assert_eq!(read(&origin, "notes.md", false), Err(FileError::NotFound));
        assert_eq!(
            read(&origin, "missing.yaml", false),
            Err(FileError::NotFound)
        );
        let one = collect(&lib.join("a.yaml"), false, &mut Vec::new());
        assert_eq!(read(&one, "a.yaml", false).unwrap(), "a: 1\n");
        assert_eq!(read(&one, "other.yaml", false), Err(FileError::NotFound));
    }
}
