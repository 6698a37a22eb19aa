//! OS file locks (flock on Linux, via `std::fs::File::try_lock`): released by the kernel
//! when the holder exits, however it exits, so a killed runner never leaves a stale lock.
//! File descriptors are close-on-exec, so worker processes do not inherit the lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::SweepError;

/// An exclusive lock held until dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    pub path: PathBuf,
}

/// Who holds a lock file (what its holder wrote into it).
fn holder(path: &Path) -> String {
    let mut s = String::new();
    let _ = File::open(path).and_then(|mut f| f.read_to_string(&mut s));
    let s = s.trim();
    if s.is_empty() {
        format!("lock file {}", path.display())
    } else {
        format!("{s}; lock file {}", path.display())
    }
}

impl FileLock {
    /// Takes the lock on `path` (created if missing) without waiting, and writes who holds it.
    /// `Ok(None)` when another process holds it.
    pub fn try_acquire(path: &Path, what: &str) -> Result<Option<FileLock>, SweepError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| SweepError::io(dir, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| SweepError::io(path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(SweepError::io(path, e)),
        }
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let note = format!(
            "{what}, pid {}, since unix time {since}\n",
            std::process::id()
        );
        let w = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(note.as_bytes()));
        w.map_err(|e| SweepError::io(path, e))?;
        Ok(Some(FileLock {
            _file: file,
            path: path.to_path_buf(),
        }))
    }

    /// The study lock `<root>/.lock`: refuses a second runner with a clear message.
    pub fn study(root: &Path, what: &str) -> Result<FileLock, SweepError> {
        let path = root.join(".lock");
        FileLock::try_acquire(&path, what)?.ok_or_else(|| SweepError::Locked {
            dir: root.to_path_buf(),
            holder: holder(&path),
        })
    }

    /// Whether another process holds the lock on `path` now (false when the file is missing).
    /// Probes with a shared lock on a read-only handle, released at once: the file is neither
    /// created nor written. A holder that tries to take the lock in the same instant can miss
    /// it (a worker then exits as busy), so this is for reporting, never for deciding who runs.
    pub fn is_held(path: &Path) -> bool {
        let Ok(file) = File::open(path) else {
            return false;
        };
        matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
    }

    /// Who holds `path` now, for messages.
    pub fn holder(path: &Path) -> String {
        holder(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_a_dropped_one_is_free() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let first = FileLock::study(dir.path(), "clipbench run smoke")?;
        let second = FileLock::study(dir.path(), "clipbench run smoke");
        let msg = second.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("in use by another `clipbench run`"), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(FileLock::is_held(&dir.path().join(".lock")));
        drop(first);
        assert!(!FileLock::is_held(&dir.path().join(".lock")));
        assert!(!FileLock::is_held(&dir.path().join("missing.lock")));
        let _third = FileLock::study(dir.path(), "clipbench run smoke")?;
        Ok(())
    }
}
