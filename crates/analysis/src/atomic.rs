//! Atomic file output: every table, figure and report is written to a temporary file in the
//! same directory and renamed over the target, so a reader (or an interrupted rerun) never
//! sees half a file.

use std::path::{Path, PathBuf};

use crate::error::{AnalysisError, Result};

/// `dir/.name.tmp-<pid>.<ext>`: hidden, unique per process, and with the target's extension
/// kept last (the PNG encoder picks its format from the extension).
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

/// Moves a finished temporary file over `path`; removes it when the rename fails.
pub fn commit(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        AnalysisError::io(path, e)
    })
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    if let Err(e) = std::fs::write(&tmp, bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(AnalysisError::io(path, e));
    }
    commit(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmp_keeps_the_extension_and_write_replaces() -> Result<()> {
        let p = Path::new("/x/figures/loss-lr=0.01.png");
        assert_eq!(
            tmp_path(p),
            PathBuf::from(format!(
                "/x/figures/.loss-lr=0.01.tmp-{}.png",
                std::process::id()
            ))
        );
        let dir = tempfile::tempdir().map_err(|e| AnalysisError::io("tempdir", e))?;
        let f = dir.path().join("a.md");
        write(&f, b"one")?;
        write(&f, b"two")?;
        assert_eq!(
            std::fs::read(&f).map_err(|e| AnalysisError::io(&f, e))?,
            b"two"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .map_err(|e| AnalysisError::io(dir.path(), e))?
            .collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
        Ok(())
    }
}
