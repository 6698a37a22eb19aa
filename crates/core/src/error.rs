//! Errors of the core crate.

use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CoreError {
    #[error("unknown clipping strategy {name:?}; valid strategies: {valid}{}", .suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownStrategy {
        name: String,
        valid: String,
        suggestion: Option<&'static str>,
    },
    #[error("unknown data set {found:?}: expected one of {valid}")]
    UnknownDataset { found: String, valid: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: JSON: {message}", path.display())]
    Json { path: PathBuf, message: String },
}

impl CoreError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        CoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
