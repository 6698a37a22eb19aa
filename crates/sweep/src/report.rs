//! The outcome of a sweep: one entry per planned run, written to `<study>/sweep.json`
//! (atomically) and summed up in one line.

use std::path::{Path, PathBuf};

use clipbench_train::records::{RunStatus, Summary};
use serde::{Deserialize, Serialize};

use crate::error::SweepError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Trained in this sweep and completed.
    Completed,
    /// Trained in this sweep; the loss or a gradient became non-finite (a result, not an error).
    Diverged,
    /// The worker exited without a valid summary (panic, error, signal): rerun to retry.
    Failed,
    /// Complete before this sweep started.
    Skipped,
    /// Not started or killed because the sweep was interrupted.
    NotRun,
}

impl Outcome {
    pub fn of(s: &Summary) -> Outcome {
        match s.status {
            RunStatus::Completed => Outcome::Completed,
            RunStatus::Diverged => Outcome::Diverged,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_id: String,
    pub outcome: Outcome,
    /// For skipped runs: the status recorded in their summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatus>,
    /// Validation accuracy at the run's selected epoch (what a sweep is watched on; test
    /// figures stay in the run's files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_acc: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_s: Option<f64>,
    /// Why a run failed (exit status and the end of its log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
}

impl RunReport {
    pub fn new(run_id: &str, outcome: Outcome) -> Self {
        RunReport {
            run_id: run_id.to_string(),
            outcome,
            status: None,
            val_acc: None,
            wall_s: None,
            error: None,
            log: None,
        }
    }

    pub fn from_summary(outcome: Outcome, s: &Summary) -> Self {
        let mut r = RunReport::new(&s.run_id, outcome);
        r.status = Some(s.status);
        r.val_acc = s.val_acc_at_selected;
        r
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub study: String,
    pub backend: String,
    pub jobs: usize,
    pub wall_s: f64,
    pub interrupted: bool,
    pub runs: Vec<RunReport>,
}

impl SweepReport {
    pub fn count(&self, o: Outcome) -> usize {
        self.runs.iter().filter(|r| r.outcome == o).count()
    }

    /// `smoke: 8 runs: 6 completed, 1 diverged, 1 failed, 0 skipped in 12.3 s`.
    pub fn one_line(&self) -> String {
        let mut s = format!(
            "{}: {} runs: {} completed, {} diverged, {} failed, {} skipped (complete before)",
            self.study,
            self.runs.len(),
            self.count(Outcome::Completed),
            self.count(Outcome::Diverged),
            self.count(Outcome::Failed),
            self.count(Outcome::Skipped),
        );
        let not_run = self.count(Outcome::NotRun);
        if not_run > 0 {
            s.push_str(&format!(", {not_run} not run"));
        }
        s.push_str(&format!(" in {:.1} s", self.wall_s));
        if self.interrupted {
            s.push_str(" (interrupted)");
        }
        s
    }

    /// Whether every run now has a valid summary.
    pub fn all_complete(&self) -> bool {
        self.runs.iter().all(|r| {
            matches!(
                r.outcome,
                Outcome::Completed | Outcome::Diverged | Outcome::Skipped
            )
        })
    }

    /// The report at `path` (`sweep.json`); None when there is none yet.
    pub fn load(path: &Path) -> Result<Option<SweepReport>, SweepError> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| SweepError::BadFile {
                    path: path.to_path_buf(),
                    message: format!("not a sweep report of this clipbench: {e}"),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SweepError::io(path, e)),
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), SweepError> {
        Ok(clipbench_train::sink::write_json_atomic(path, self)?)
    }
}
