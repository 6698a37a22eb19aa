//! The analysis crate's errors: every one names the file (and line) it is about.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON of the expected form: {message}")]
    Json { path: PathBuf, message: String },
    #[error("{path}:{line}: corrupt JSONL record: {message}")]
    JsonLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{path}: schema_version {found} is not supported (this clipbench reads schema_version \
         1 to {supported}); rerun the study or use a matching clipbench"
    )]
    Schema {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{}: not a study directory: {} is not a folder. A study directory is what \
         `clipbench run STUDY.toml` writes, results/<study>/, holding runs/<run-id>/ \
         (manifest.json, metrics.jsonl, summary.json) and, for a tuned study, tuning/",
        path.display(),
        runs.display()
    )]
    NotAStudy { path: PathBuf, runs: PathBuf },
    #[error("{path}: no complete runs (a run is complete when its summary.json exists and parses){skipped}")]
    NoRuns { path: PathBuf, skipped: String },
    #[error("polars ({context}): {source}")]
    Polars {
        context: String,
        source: polars::error::PolarsError,
    },
    #[error("figure {path}: {message}")]
    Plot { path: PathBuf, message: String },
    #[error("font: {0}")]
    Font(String),
    #[error(transparent)]
    Core(#[from] clipbench_core::CoreError),
}

impl AnalysisError {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        AnalysisError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub fn polars(context: impl Into<String>, source: polars::error::PolarsError) -> Self {
        AnalysisError::Polars {
            context: context.into(),
            source,
        }
    }

    pub fn plot(path: impl AsRef<Path>, message: impl std::fmt::Display) -> Self {
        AnalysisError::Plot {
            path: path.as_ref().to_path_buf(),
            message: message.to_string(),
        }
    }
}

impl From<clipbench_metrics::MetricsError> for AnalysisError {
    fn from(e: clipbench_metrics::MetricsError) -> Self {
        match e {
            clipbench_metrics::MetricsError::Io { path, source } => {
                AnalysisError::Io { path, source }
            }
            clipbench_metrics::MetricsError::JsonLine {
                path,
                line,
                message,
            } => AnalysisError::JsonLine {
                path,
                line,
                message,
            },
        }
    }
}

pub type Result<T, E = AnalysisError> = std::result::Result<T, E>;
