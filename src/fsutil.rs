//! Atomic file writes, shared by every writer of config files (app.yaml, plugin configs).
//!
//! A write goes to a temporary file in the target's own directory, is flushed to disk, then
//! renamed over the target, and the directory is synced: a reader (or a crash) sees either
//! the old file or the new one, never half of either.
//!
//! Atomic writes alone do not stop lost updates: two writers that each read a file, merge
//! a change and write it back can overwrite each other. Every read-modify-write of a
//! config file therefore holds [`lock_file`] for that file, the one serialisation point
//! per file whichever route (PUT /api/config, POST /api/plugins/{id}/config, a plugin's
//! `rackscope.config.save`) does the writing.
//!
//! A crash between creating a temporary file and renaming it leaves the temporary file
//! behind; [`remove_stale_temporaries`] clears them at start-up.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

/// One async mutex per file path (absolute). A std mutex guards the map itself: it is
/// held only to look the entry up, never across an await.
static FILE_LOCKS: LazyLock<parking_lot::Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

/// Waits for exclusive use of `path` for a read-modify-write. Hold the guard from the
/// read to the end of the write; take no other lock while holding it.
pub async fn lock_file(path: &Path) -> tokio::sync::OwnedMutexGuard<()> {
    let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let lock = FILE_LOCKS.lock().entry(key).or_default().clone();
    lock.lock_owned().await
}

/// The name prefix and infix of [`write_atomic`]'s temporary files: `.<name>.tmp-<pid>-<n>`.
const TMP_INFIX: &str = ".tmp-";

/// Removes temporary files that [`write_atomic`] left in `dir` (and its subfolders with
/// `recursive`) when a process died between writing and renaming them. Returns how many
/// were removed.
/// Only files named like ours and older than a minute are touched, so the temporaries of
/// another process writing right now are left alone.
pub fn remove_stale_temporaries(dir: &Path, recursive: bool) -> usize {
    remove_stale_in(dir, 0, recursive)
}

fn remove_stale_in(dir: &Path, depth: usize, recursive: bool) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let Ok(kind) = e.file_type() else { continue };
        let path = e.path();
        if kind.is_dir() {
            if recursive && depth < 8 {
                removed += remove_stale_in(&path, depth + 1, true);
            }
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = kind.is_file() && name.starts_with('.') && name.contains(TMP_INFIX);
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() >= 60);
        if ours && old && fs::remove_file(&path).is_ok() {
            tracing::info!(path = %path.display(), "removed a temporary file left by an interrupted write");
            removed += 1;
        }
    }
    removed
}

/// Distinguishes temporary files of concurrent writers in one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `contents` atomically, creating parent directories as needed.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}{TMP_INFIX}{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        // Keep the permissions of the file we replace: app.yaml holds secrets and may be 0600.
        if let Ok(meta) = fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // Persist the rename itself; not every filesystem supports syncing a directory.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("plugins/x");
        fs::create_dir_all(&sub).unwrap();
        let stale = [
            dir.path().join(".app.yaml.tmp-123-0"),
            sub.join(".config.yml.tmp-9-4"),
        ];
        let fresh = sub.join(".config.yml.tmp-9-5");
        let kept = [dir.path().join("app.yaml"), sub.join("notes.tmp-1")];
        for p in stale.iter().chain(kept.iter()).chain([&fresh]) {
            fs::write(p, "x").unwrap();
        }
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for p in stale.iter().chain(kept.iter()) {
            File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        assert_eq!(remove_stale_temporaries(dir.path(), true), 2);
        assert!(stale.iter().all(|p| !p.exists()));
        assert!(kept.iter().all(|p| p.exists()) && fresh.exists());
    }

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/app.yaml");
        write_atomic(&p, b"a: 1\n").unwrap();
        write_atomic(&p, b"a: 2\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a: 2\n");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn concurrent_writers_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let p = p.clone();
                std::thread::spawn(move || {
                    let body = format!("{i}").repeat(100_000);
                    for _ in 0..5 {
                        write_atomic(&p, body.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let s = fs::read_to_string(&p).unwrap();
        assert_eq!(s.len(), 100_000);
        let first = s.chars().next().unwrap();
        assert!(s.chars().all(|c| c == first));
    }
}
