//! Atomic file output through `clipbench_core::atomic` (temp file, fsync, rename): every
//! table, figure and report; a reader or an interrupted rerun never sees half a file.

use std::path::{Path, PathBuf};

use crate::error::Result;

pub fn tmp_path(path: &Path) -> PathBuf {
    clipbench_core::atomic::tmp_path(path)
}

/// Moves a finished temporary file over `path`, durably.
pub fn commit(tmp: &Path, path: &Path) -> Result<()> {
    Ok(clipbench_core::atomic::persist_file(tmp, path)?)
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(clipbench_core::atomic::write_atomic(path, bytes)?)
}
