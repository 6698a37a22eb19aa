//! Errors of reading a metrics file: each names the file and, for a bad record, its line.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: corrupt JSONL record: {message}")]
    JsonLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl MetricsError {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        MetricsError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = MetricsError> = std::result::Result<T, E>;
