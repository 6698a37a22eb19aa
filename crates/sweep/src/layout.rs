//! Where a study's files live (**contract**, README "Studies"):
//!
//! ```text
//! <results>/<study>/
//!   .lock                 held (OS file lock) by the runner or the Slurm submitter
//!   runs/<run-id>/        the run directory: manifest.json, metrics.jsonl, timing.jsonl,
//!                         summary.json (last: its presence marks the run complete)
//!   plan/<run-id>.json    the run's resolved RunConfig, as the worker reads it
//!   plan/<run-id>.lock    held by the worker process writing runs/<run-id>/
//!   logs/<run-id>.log     the local worker's stdout and stderr
//!   sweep.json            the last local sweep's report: one entry per run with its status
//!   study.json            study-level settings the analysis reads (target_acc, ...)
//!   slurm/<submission>/   array.sbatch, runs.tsv (array index → run), logs/, submission.json
//! ```

use std::path::{Path, PathBuf};

use clipbench_train::out::SUMMARY;
use clipbench_train::records::Summary;

use crate::error::SweepError;
use crate::plan::{PlannedRun, StudySettings};

pub fn plan_file(root: &Path, run_id: &str) -> PathBuf {
    root.join("plan").join(format!("{run_id}.json"))
}

pub fn run_lock_file(config: &Path) -> PathBuf {
    config.with_extension("lock")
}

pub fn log_file(root: &Path, run_id: &str) -> PathBuf {
    root.join("logs").join(format!("{run_id}.log"))
}

pub fn report_file(root: &Path) -> PathBuf {
    root.join("sweep.json")
}

/// What a run directory holds.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    /// summary.json is present, parses, and belongs to this run.
    Complete(Box<Summary>),
    /// Something is there, but no valid summary: cleared and rerun.
    Partial,
    Absent,
}

impl RunState {
    pub fn is_complete(&self) -> bool {
        matches!(self, RunState::Complete(_))
    }
}

/// The state of run `run_id` in `dir`.
pub fn run_state(dir: &Path, run_id: &str) -> RunState {
    let summary = dir.join(SUMMARY);
    match std::fs::read(&summary) {
        Ok(bytes) => match serde_json::from_slice::<Summary>(&bytes) {
            Ok(s) if s.run_id == run_id => RunState::Complete(Box::new(s)),
            _ => RunState::Partial,
        },
        Err(_) if dir.exists() => RunState::Partial,
        Err(_) => RunState::Absent,
    }
}

/// Writes `study.json` (the study-level settings the analysis reads), atomically.
pub fn write_study_file(root: &Path, settings: &StudySettings) -> Result<(), SweepError> {
    std::fs::create_dir_all(root).map_err(|e| SweepError::io(root, e))?;
    let mut bytes = serde_json::to_vec_pretty(settings).map_err(|e| SweepError::Run {
        run_id: "study.json".into(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    clipbench_train::sink::write_atomic(&root.join(STUDY_FILE), &bytes)?;
    Ok(())
}

pub const STUDY_FILE: &str = "study.json";

/// Writes every run's config to `plan/<run-id>.json` (atomically, and only when it differs,
/// so a worker's lock file beside it is never disturbed).
pub fn write_plan_files(root: &Path, runs: &[PlannedRun]) -> Result<(), SweepError> {
    let dir = root.join("plan");
    std::fs::create_dir_all(&dir).map_err(|e| SweepError::io(&dir, e))?;
    for r in runs {
        let path = plan_file(root, &r.run_id);
        let mut bytes = serde_json::to_vec_pretty(&r.config).map_err(|e| SweepError::Run {
            run_id: r.run_id.clone(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            clipbench_train::sink::write_atomic(&path, &bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use clipbench_train::records::{RunStatus, SCHEMA_VERSION};

    fn summary(run_id: &str) -> Summary {
        Summary {
            schema_version: SCHEMA_VERSION,
            run_id: run_id.into(),
            status: RunStatus::Completed,
            strategy: "none".into(),
            seed: 1,
            epochs_completed: 1,
            steps: 1,
            selection: "best-val".into(),
            selected_epoch: Some(0),
            val_acc_at_selected: Some(0.5),
            test_acc_at_selected: Some(0.5),
            test_loss_at_selected: Some(1.0),
            final_test_acc: Some(0.5),
            final_test_loss: Some(1.0),
            final_val_acc: Some(0.5),
            final_train_loss: Some(1.0),
            diverged_at_step: None,
            final_theta: BTreeMap::new(),
            theta_projected: BTreeMap::new(),
            max_grad_norm: 1.0,
            train_wall_s: 0.1,
            eval_wall_s: Some(0.05),
            run_wall_s: Some(0.2),
            load_wall_s: None,
        }
    }

    #[test]
    fn only_a_parseable_summary_of_this_run_is_complete() -> Result<(), Box<dyn std::error::Error>>
    {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join("none-s1-abc");
        assert_eq!(run_state(&dir, "none-s1-abc"), RunState::Absent);
        std::fs::create_dir_all(&dir)?;
        assert_eq!(run_state(&dir, "none-s1-abc"), RunState::Partial, "empty");
        std::fs::write(dir.join("metrics.jsonl"), "{\"kind\":\"step\"}\n")?;
        assert_eq!(
            run_state(&dir, "none-s1-abc"),
            RunState::Partial,
            "metrics only"
        );
        std::fs::write(dir.join(SUMMARY), "{\"run_id\": \"none-s1-abc\", ")?;
        assert_eq!(run_state(&dir, "none-s1-abc"), RunState::Partial, "corrupt");
        std::fs::write(
            dir.join(SUMMARY),
            serde_json::to_vec(&summary("none-s2-def"))?,
        )?;
        assert_eq!(
            run_state(&dir, "none-s1-abc"),
            RunState::Partial,
            "another run's"
        );
        std::fs::write(
            dir.join(SUMMARY),
            serde_json::to_vec(&summary("none-s1-abc"))?,
        )?;
        assert!(run_state(&dir, "none-s1-abc").is_complete());
        Ok(())
    }
}
