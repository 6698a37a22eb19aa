//! The state of every run of a study, read from its results directory alone (`clipbench
//! status`), and the one definition of a *failed* run that `clipbench run --retry-failed`
//! uses too.
//!
//! A stage directory (the study's, and `tuning/` for a tuned study) lists its runs in
//! `plan/<run-id>.json` (written by every `clipbench run`) and `runs/<run-id>/`. Each run is,
//! first match wins:
//! - `complete` / `diverged`: its summary.json is valid (the status it records);
//! - `running`: a process holds its `plan/<run-id>.lock` (a local worker or a Slurm task on
//!   this file system), or Slurm lists its array task as pending or running;
//! - `failed`: a worker ran it and ended without a summary: the stage's last sweep report
//!   (`sweep.json`) says so, or its Slurm array task has ended (with a log) and is not queued;
//! - `partial`: its directory holds something, but nothing says a worker failed on it (a
//!   runner killed with it, say): a rerun clears and reruns it;
//! - `pending`: nothing yet.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::SweepError;
use crate::layout::{self, run_state, RunState};
use crate::local::log_tail;
use crate::lock::FileLock;
use crate::report::{Outcome, SweepReport};
use crate::slurm_state::{is_active, SlurmTools, SlurmView};
use clipbench_train::records::RunStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunCondition {
    Pending,
    Running,
    Partial,
    Failed,
    Complete,
    Diverged,
}

impl RunCondition {
    pub const ALL: [RunCondition; 6] = [
        RunCondition::Complete,
        RunCondition::Diverged,
        RunCondition::Failed,
        RunCondition::Running,
        RunCondition::Partial,
        RunCondition::Pending,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RunCondition::Pending => "pending",
            RunCondition::Running => "running",
            RunCondition::Partial => "partial",
            RunCondition::Failed => "failed",
            RunCondition::Complete => "complete",
            RunCondition::Diverged => "diverged",
        }
    }
}

/// One run's state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub strategy: String,
    pub seed: Option<u64>,
    pub state: RunCondition,
    /// Why it failed: the end of its log, or what Slurm says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
}

/// The runs of one stage directory.
#[derive(Clone, Debug, PartialEq)]
pub struct StageStatus {
    /// `tune` or `final` (a study without a tuning stage has only `final`).
    pub stage: &'static str,
    pub root: PathBuf,
    pub runs: Vec<RunRow>,
    pub slurm: SlurmView,
}

impl StageStatus {
    /// Reads the stage directory `root`.
    pub fn load(
        root: &Path,
        stage: &'static str,
        tools: &SlurmTools,
    ) -> Result<StageStatus, SweepError> {
        let ids = run_ids(root)?;
        let last = SweepReport::load(&layout::report_file(root))?;
        let slurm = SlurmView::load(root, tools);
        let runs = ids
            .iter()
            .map(|id| condition(root, id, last.as_ref(), &slurm))
            .collect();
        Ok(StageStatus {
            stage,
            root: root.to_path_buf(),
            runs,
            slurm,
        })
    }

    pub fn count(&self, c: RunCondition) -> usize {
        self.runs.iter().filter(|r| r.state == c).count()
    }

    /// Runs per strategy and state, strategies by name.
    pub fn by_strategy(&self) -> BTreeMap<String, BTreeMap<RunCondition, usize>> {
        let mut m: BTreeMap<String, BTreeMap<RunCondition, usize>> = BTreeMap::new();
        for r in &self.runs {
            *m.entry(r.strategy.clone())
                .or_default()
                .entry(r.state)
                .or_default() += 1;
        }
        m
    }
}

/// Every stage of the study at `root`: `tuning/` first when there is one.
pub fn study_status(root: &Path, tools: &SlurmTools) -> Result<Vec<StageStatus>, SweepError> {
    let is_stage = |d: &Path| d.join("plan").is_dir() || d.join("runs").is_dir();
    let tuning = root.join("tuning");
    // A tuned study whose final stage is not planned yet has only tuning/.
    if !is_stage(root) && !is_stage(&tuning) {
        return Err(SweepError::NotAStudy {
            dir: root.to_path_buf(),
        });
    }
    let mut stages = Vec::new();
    if is_stage(&tuning) {
        stages.push(StageStatus::load(&tuning, "tune", tools)?);
    }
    stages.push(StageStatus::load(root, "final", tools)?);
    Ok(stages)
}

/// The run ids of a stage: its plan files and its run directories.
fn run_ids(root: &Path) -> Result<BTreeSet<String>, SweepError> {
    let mut ids = BTreeSet::new();
    for (dir, ext) in [(root.join("plan"), Some("json")), (root.join("runs"), None)] {
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(SweepError::io(&dir, e)),
        };
        for e in rd {
            let p = e.map_err(|e| SweepError::io(&dir, e))?.path();
            let name = match ext {
                Some(x) if p.extension().is_some_and(|e| e == x) => p.file_stem(),
                Some(_) => None,
                None if p.is_dir() => p.file_name(),
                None => None,
            };
            if let Some(n) = name.and_then(|n| n.to_str()) {
                ids.insert(n.to_string());
            }
        }
    }
    Ok(ids)
}

/// `<strategy>-s<seed>-<hash>` → (strategy, seed); the whole id when it has another form.
fn split_id(id: &str) -> (String, Option<u64>) {
    id.rsplit_once('-')
        .and_then(|(rest, _)| rest.rsplit_once("-s"))
        .and_then(|(s, seed)| Some((s.to_string(), Some(seed.parse().ok()?))))
        .unwrap_or_else(|| (id.to_string(), None))
}

/// The state of run `id` of the stage at `root` (see the module's list).
pub fn condition(root: &Path, id: &str, last: Option<&SweepReport>, slurm: &SlurmView) -> RunRow {
    let (strategy, seed) = split_id(id);
    let mut row = RunRow {
        run_id: id.to_string(),
        strategy,
        seed,
        state: RunCondition::Pending,
        error: None,
        log: None,
    };
    let dir = root.join("runs").join(id);
    let state = run_state(&dir, id);
    if let RunState::Complete(s) = &state {
        row.strategy = s.strategy.clone();
        row.seed = Some(s.seed);
        row.state = match s.status {
            RunStatus::Completed => RunCondition::Complete,
            RunStatus::Diverged => RunCondition::Diverged,
        };
        return row;
    }
    let task = slurm.last_task(id);
    let queued = task.is_some_and(|(j, i)| j.states[i].as_deref().is_some_and(is_active));
    if queued || FileLock::is_held(&layout::run_lock_file(&layout::plan_file(root, id))) {
        row.state = RunCondition::Running;
        return row;
    }
    if let Some(f) = failure(id, last, slurm) {
        row.state = RunCondition::Failed;
        row.error = Some(f.0);
        row.log = f.1;
        return row;
    }
    row.state = match state {
        RunState::Partial => RunCondition::Partial,
        _ => RunCondition::Pending,
    };
    row
}

/// Why a run that is neither complete nor running counts as failed, with its log; None when
/// nothing says a worker failed on it.
fn failure(
    id: &str,
    last: Option<&SweepReport>,
    slurm: &SlurmView,
) -> Option<(String, Option<PathBuf>)> {
    // The stage's last sweep report names the worker's error; else the run's last Slurm task.
    let reported = last
        .and_then(|r| r.runs.iter().find(|x| x.run_id == id))
        .filter(|x| x.outcome == Outcome::Failed);
    if let Some(r) = reported {
        let error = r
            .log
            .as_deref()
            .filter(|l| l.is_file())
            .map(|l| log_tail(l, 3))
            .or_else(|| r.error.clone())
            .unwrap_or_else(|| "no summary.json".into());
        return Some((error, r.log.clone()));
    }
    let (job, i) = slurm.last_task(id)?;
    let log = job.log(i);
    // A task with a log started; it has ended unless Slurm calls it active. Without a state
    // (sacct without accounting, squeue forgetting finished jobs, or no command at all) the
    // log and the free run lock are the evidence: a task still running holds the lock.
    let ended = job.states[i].as_deref().is_none_or(|s| !is_active(s));
    if !ended || !log.is_file() {
        return None;
    }
    let state = job.states[i]
        .clone()
        .unwrap_or_else(|| "state unknown".into());
    Some((
        format!(
            "Slurm job {}_{i} ({state}) ended without summary.json: {}",
            job.job_id,
            log_tail(&log, 3)
        ),
        Some(log),
    ))
}

/// The failed runs of the stage at `root` (what `clipbench run --retry-failed` reruns).
pub fn failed_runs(root: &Path, tools: &SlurmTools) -> Result<BTreeSet<String>, SweepError> {
    let s = StageStatus::load(root, "", tools)?;
    Ok(s.runs
        .into_iter()
        .filter(|r| r.state == RunCondition::Failed)
        .map(|r| r.run_id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_split_into_strategy_and_seed() {
        assert_eq!(
            split_id("tanh-learnable-s12-0123456789"),
            ("tanh-learnable".into(), Some(12))
        );
        assert_eq!(split_id("none-s1-abc"), ("none".into(), Some(1)));
        assert_eq!(split_id("odd"), ("odd".into(), None));
    }
}
