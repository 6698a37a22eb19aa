//! Errors of a training run.

use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TrainError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("invalid run config: {0}")]
    Config(String),
    #[error(transparent)]
    Invalid(#[from] clipbench_core::ConfigErrors),
    #[error(transparent)]
    Core(#[from] clipbench_core::CoreError),
    #[error(transparent)]
    Data(#[from] clipbench_data::DataError),
    #[error(transparent)]
    Nn(#[from] clipbench_nn::NnError),
    #[error(transparent)]
    Clip(#[from] clipbench_clip::ClipError),
    #[error("device: {0}")]
    Device(String),
    #[error("thread pool: {0}")]
    Threads(String),
    #[error(
        "{path}: made by a clipbench writing metrics schema {found} (git {revision}); this one \
         writes schema {supported} and cannot reproduce it: check out that revision to verify it"
    )]
    OldSchema {
        path: PathBuf,
        found: u64,
        supported: u32,
        revision: String,
    },
}

impl TrainError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
