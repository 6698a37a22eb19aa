//! The one atomic writer: every file clipbench writes whole (manifests, summaries, plans,
//! tables, figures, reports) goes through a temp file in the same directory, fsync, rename —
//! a reader sees the old file or the new one, never half of one, even across a crash.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::CoreError;

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CoreError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io = |e: std::io::Error| CoreError::io(path, e);
    let mut builder = tempfile::Builder::new();
    // tempfile makes its files 0600; results are shared (a Slurm group, a web server), so
    // create it as a plain file would be: 0666 less the umask.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| CoreError::io(dir, e))?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// A temporary path beside `path` for writers that need a file name (image encoders):
/// `dir/.name.tmp-<pid>.<ext>`, hidden, unique per process, with the target's extension kept
/// last (an encoder may pick its format from it). Finish with [`persist_file`].
pub fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_string(), format!(".{e}")),
        None => (name.clone(), String::new()),
    };
    path.with_file_name(format!(".{stem}.tmp-{}{ext}", std::process::id()))
}

/// Makes a file another library wrote at `tmp` durable (fsync) and renames it over `path`;
/// on failure the temporary file is removed.
pub fn persist_file(tmp: &Path, path: &Path) -> Result<(), CoreError> {
    let result = std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        CoreError::io(path, e)
    })
}

/// Pretty JSON with a final newline, atomically.
pub fn write_json_atomic<T: Serialize>(path: &Path, v: &T) -> Result<(), CoreError> {
    let mut bytes = serde_json::to_vec_pretty(v).map_err(|e| CoreError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_written_elsewhere_is_persisted_under_its_name(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let p = Path::new("/x/figures/loss-lr=0.01.png");
        assert_eq!(
            tmp_path(p),
            PathBuf::from(format!(
                "/x/figures/.loss-lr=0.01.tmp-{}.png",
                std::process::id()
            ))
        );
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("a.png");
        let tmp = tmp_path(&target);
        std::fs::write(&tmp, b"png")?;
        persist_file(&tmp, &target)?;
        assert_eq!(std::fs::read(&target)?, b"png");
        assert!(!tmp.exists());
        assert!(
            persist_file(&tmp, &target).is_err(),
            "a missing temporary file is an error"
        );
        Ok(())
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temp() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("x.json");
        write_atomic(&p, b"one")?;
        write_atomic(&p, b"two")?;
        assert_eq!(std::fs::read(&p)?, b"two");
        assert_eq!(
            std::fs::read_dir(dir.path())?.count(),
            1,
            "no temp file left"
        );
        let err = write_atomic(&dir.path().join("no/such/dir/x"), b"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("no/such/dir"), "{err}");
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_written_file_has_a_plain_files_permissions() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"")?;
        let atomic = dir.path().join("atomic");
        write_atomic(&atomic, b"")?;
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(
            mode(&atomic)?,
            mode(&plain)?,
            "umask applied as to any file"
        );
        Ok(())
    }
}
