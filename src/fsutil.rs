//! Atomic file writes, shared by every writer of config files (app.yaml, plugin configs).
//!
//! A write goes to a temporary file in the target's own directory, is flushed to disk, then
//! renamed over the target, and the directory is synced: a reader (or a crash) sees either
//! the old file or the new one, never half of either. Callers serialise writers of the same
//! file themselves (the state's reload lock); this module only guarantees atomicity.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

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
        ".{}.tmp-{}-{}",
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
