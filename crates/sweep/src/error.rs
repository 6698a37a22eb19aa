//! Errors of the sweep crate. Each names what it is about: the study file with line, column
//! and key, the results directory, the run id or the Slurm command.

use std::fmt;
use std::path::{Path, PathBuf};

use clipbench_train::TrainError;
use thiserror::Error;

/// One problem in a study file, located as precisely as the file allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line and column (characters), when the problem has a place in the file.
    pub at: Option<(usize, usize)>,
    /// The dotted key, e.g. `optimizer.lr` or `grid."optimizer.lr"[2]`.
    pub key: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(
        at: Option<(usize, usize)>,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            at,
            key,
            message: message.into(),
        }
    }

    /// `FILE:LINE:COL: KEY: MESSAGE` (parts that are unknown are left out).
    pub fn display_in<'a>(&'a self, file: &'a Path) -> impl fmt::Display + 'a {
        struct D<'a>(&'a Problem, &'a Path);
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.1.display())?;
                if let Some((l, c)) = self.0.at {
                    write!(f, ":{l}:{c}")?;
                }
                if let Some(k) = &self.0.key {
                    write!(f, ": {k}")?;
                }
                write!(f, ": {}", self.0.message)
            }
        }
        D(self, file)
    }
}

fn problems_text(file: &Path, problems: &[Problem]) -> String {
    match problems {
        [one] => one.display_in(file).to_string(),
        many => {
            let mut s = format!("{}: {} problems:", file.display(), many.len());
            for p in many {
                s.push_str(&format!("\n  {}", p.display_in(file)));
            }
            s
        }
    }
}

#[derive(Debug, Error)]
pub enum SweepError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The study file is unreadable, malformed or invalid (every problem found is listed).
    #[error("{}", problems_text(.file, .problems))]
    Spec {
        file: PathBuf,
        problems: Vec<Problem>,
    },
    #[error(
        "{dir} is in use by another `clipbench run` ({holder}); wait for it to finish or stop it \
         (a killed runner releases the lock by itself)"
    )]
    Locked { dir: PathBuf, holder: String },
    /// Another process holds the run's lock (a worker of another runner or Slurm task).
    #[error("run {run_id} is being written by another process ({holder})")]
    Busy { run_id: String, holder: String },
    #[error("run {run_id}: {message}")]
    Run { run_id: String, message: String },
    /// A file of a results directory that does not hold what it should.
    #[error("{}: {message}", path.display())]
    BadFile { path: PathBuf, message: String },
    /// `clipbench status` / `--retry-failed` on a directory that is no study's results.
    #[error(
        "{}: not a study's results directory: it has neither plan/ nor runs/. A study \
         directory is what `clipbench run STUDY.toml` writes, results/<study>/, holding \
         plan/<run-id>.json (the planned runs), runs/<run-id>/ (their files), sweep.json, and \
         for a tuned study tuning/ laid out the same way",
        dir.display()
    )]
    NotAStudy { dir: PathBuf },
    #[error("slurm: {0}")]
    Slurm(String),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Train(Box<TrainError>),
    #[error("data set: {0}")]
    Data(Box<clipbench_data::DataError>),
}

impl From<TrainError> for SweepError {
    fn from(e: TrainError) -> Self {
        SweepError::Train(Box::new(e))
    }
}

impl From<clipbench_data::DataError> for SweepError {
    fn from(e: clipbench_data::DataError) -> Self {
        SweepError::Data(Box::new(e))
    }
}

impl SweepError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        SweepError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A study-file error with one problem.
    pub fn spec(file: &Path, problem: Problem) -> Self {
        SweepError::Spec {
            file: file.to_path_buf(),
            problems: vec![problem],
        }
    }
}
