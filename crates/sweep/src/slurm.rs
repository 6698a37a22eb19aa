//! The Slurm backend: one job array over the runs that are neither complete nor already
//! queued, each task running `clipbench run-worker` on one line of `runs.tsv`.
//!
//! Success is judged by the result files (a valid summary.json per run), never by job states:
//! a misconfigured Slurm reports COMPLETED while running nothing (see notes/slurm.md).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::SweepError;
use crate::layout::{self, run_state, RunState};
use crate::local::{log_tail, WorkerCommand};
use crate::lock::FileLock;
use crate::plan::{PlannedRun, RunPlan};
use crate::progress::Progress;
use crate::report::{Outcome, RunReport, SweepReport};
use crate::signal::Interrupts;

#[derive(Clone, Debug)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// `--time` (e.g. `01:00:00`).
    pub time: Option<String>,
    /// `--cpus-per-task`; default: the study's threads per run.
    pub cpus_per_task: Option<usize>,
    /// At most this many array tasks at once (`--array=0-N%THROTTLE`).
    pub throttle: Option<usize>,
    /// Extra lines for the script's header, e.g. `--mem=4G` (written as `#SBATCH --mem=4G`).
    pub extra: Vec<String>,
    /// The clipbench binary as the compute nodes see it (absolute), and its worker args.
    pub worker: WorkerCommand,
    pub data_dir: PathBuf,
    /// `sbatch` and `squeue` programs.
    pub sbatch: PathBuf,
    pub squeue: PathBuf,
}

/// Waiting for a submission (`--wait`).
#[derive(Clone, Debug)]
pub struct WaitOptions {
    pub poll: Duration,
    pub timeout: Option<Duration>,
}

/// What one submission holds (`slurm/<name>/submission.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub job_id: String,
    /// Array index → run id.
    pub runs: Vec<String>,
    pub submitted_unix_s: u64,
    pub dir: PathBuf,
}

/// What [`submit_incomplete`] did. Holds the study lock until dropped (through `--wait`).
#[derive(Debug)]
pub struct Submitted {
    pub lock: FileLock,
    pub submission: Option<Submission>,
    pub complete_before: usize,
    /// Runs left out because a task of an earlier submission still has them queued or running,
    /// with that submission.
    pub already_queued: Vec<(String, Submission)>,
}

impl Submitted {
    /// The (job, runs) pairs to wait for: this submission and the earlier ones still busy
    /// with runs of this plan.
    pub fn watched(&self) -> Vec<(String, Vec<String>, PathBuf)> {
        let mut w: Vec<(String, Vec<String>, PathBuf)> = Vec::new();
        if let Some(s) = &self.submission {
            w.push((s.job_id.clone(), s.runs.clone(), s.dir.clone()));
        }
        for (id, sub) in &self.already_queued {
            match w.iter_mut().find(|(j, _, _)| *j == sub.job_id) {
                Some((_, runs, _)) => runs.push(id.clone()),
                None => w.push((sub.job_id.clone(), vec![id.clone()], sub.dir.clone())),
            }
        }
        w
    }
}

fn abs(p: &Path) -> Result<PathBuf, SweepError> {
    std::path::absolute(p).map_err(|e| SweepError::io(p, e))
}

/// Single-quotes `s` for bash.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn path_str(p: &Path) -> Result<&str, SweepError> {
    p.to_str()
        .ok_or_else(|| SweepError::Usage(format!("{}: paths for Slurm must be UTF-8", p.display())))
}

/// The sbatch script for `n` tasks.
pub fn script(
    plan: &RunPlan,
    opts: &SlurmOptions,
    sub_dir: &Path,
    n: usize,
) -> Result<String, SweepError> {
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name=clipbench-{}\n", plan.study));
    let throttle = opts.throttle.map(|t| format!("%{t}")).unwrap_or_default();
    s.push_str(&format!(
        "#SBATCH --array=0-{}{throttle}\n",
        n.saturating_sub(1)
    ));
    let cpus = opts.cpus_per_task.unwrap_or(plan.threads);
    s.push_str(&format!("#SBATCH --cpus-per-task={cpus}\n"));
    s.push_str("#SBATCH --ntasks=1\n#SBATCH --nodes=1\n");
    let logs = sub_dir.join("logs");
    s.push_str(&format!(
        "#SBATCH --output={}/%A_%a.log\n",
        path_str(&logs)?
    ));
    let cwd = std::env::current_dir().map_err(|e| SweepError::io(Path::new("."), e))?;
    s.push_str(&format!("#SBATCH --chdir={}\n", path_str(&cwd)?));
    if let Some(p) = &opts.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &opts.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    for line in &opts.extra {
        let line = line.trim();
        if line.starts_with("#SBATCH") {
            s.push_str(&format!("{line}\n"));
        } else {
            s.push_str(&format!("#SBATCH {line}\n"));
        }
    }
    let list = sub_dir.join("runs.tsv");
    let mut worker = sh_quote(path_str(&opts.worker.program)?);
    for a in &opts.worker.args {
        let a = a
            .to_str()
            .ok_or_else(|| SweepError::Usage("worker arguments must be UTF-8".into()))?;
        worker.push(' ');
        worker.push_str(&sh_quote(a));
    }
    s.push_str(&format!(
        "# Written by `clipbench run {} --backend slurm`: array task i runs line i+1 of runs.tsv\n\
         # (index, run id, config, run directory). The worker skips a run that is complete.\n\
         set -euo pipefail\n\
         line=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {list})\n\
         IFS=$'\\t' read -r index run_id config out <<< \"$line\"\n\
         echo \"clipbench: array task $SLURM_ARRAY_TASK_ID: run $run_id on $(hostname)\"\n\
         exec {worker} --config \"$config\" --out \"$out\" --data-dir {data}\n",
        plan.file.display(),
        list = sh_quote(path_str(&list)?),
        data = sh_quote(path_str(&opts.data_dir)?),
    ));
    Ok(s)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Array indices of `job` still pending or running (`squeue -r` lists one element a line).
fn active_indices(squeue: &Path, job: &str) -> Result<BTreeSet<usize>, SweepError> {
    let out = Command::new(squeue)
        .args(["-h", "-r", "-j", job, "-o", "%i"])
        .output()
        .map_err(|e| SweepError::Slurm(format!("{}: {e}", squeue.display())))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // A job that Slurm has forgotten is not active.
        if err.contains("Invalid job id") {
            return Ok(BTreeSet::new());
        }
        return Err(SweepError::Slurm(format!(
            "squeue -j {job}: {}",
            err.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().rsplit_once('_'))
        .filter_map(|(_, i)| i.parse().ok())
        .collect())
}

/// Earlier submissions of this study.
pub(crate) fn submissions(root: &Path) -> Vec<Submission> {
    let Ok(rd) = std::fs::read_dir(root.join("slurm")) else {
        return Vec::new();
    };
    let mut subs: Vec<Submission> = rd
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("submission.json")).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    subs.sort_by(|a, b| a.dir.cmp(&b.dir));
    subs
}

/// Run ids that earlier submissions still have queued or running, with their submission.
fn queued_runs(
    root: &Path,
    squeue: &Path,
) -> Result<std::collections::BTreeMap<String, Submission>, SweepError> {
    let mut ids = std::collections::BTreeMap::new();
    for sub in submissions(root) {
        for i in active_indices(squeue, &sub.job_id)? {
            if let Some(id) = sub.runs.get(i) {
                ids.insert(id.clone(), sub.clone());
            }
        }
    }
    Ok(ids)
}

/// Takes the study lock and submits the runs of `plan` that are neither complete nor queued
/// in Slurm already, as one array (nothing when there are none).
pub fn submit_incomplete(plan: &RunPlan, opts: &SlurmOptions) -> Result<Submitted, SweepError> {
    let lock = FileLock::study(&plan.root, &format!("clipbench run {} (slurm)", plan.study))?;
    let root = abs(&plan.root)?;
    layout::write_plan_files(&root, &plan.runs)?;
    layout::write_study_file(&root, &plan.settings)?;
    let queued = queued_runs(&root, &opts.squeue)?;
    let mut complete_before = 0;
    let mut already_queued = Vec::new();
    let mut todo: Vec<&PlannedRun> = Vec::new();
    for r in &plan.runs {
        if run_state(&r.dir, &r.run_id).is_complete() {
            complete_before += 1;
        } else if let Some(sub) = queued.get(&r.run_id) {
            already_queued.push((r.run_id.clone(), sub.clone()));
        } else {
            todo.push(r);
        }
    }
    let submission = if todo.is_empty() {
        None
    } else {
        Some(submit(plan, &root, opts, &todo)?)
    };
    Ok(Submitted {
        lock,
        submission,
        complete_before,
        already_queued,
    })
}

fn submit(
    plan: &RunPlan,
    root: &Path,
    opts: &SlurmOptions,
    todo: &[&PlannedRun],
) -> Result<Submission, SweepError> {
    let base = root.join("slurm");
    let n = submissions(root).len() + 1;
    let mut dir = base.join(format!("{n:04}-{}", unix_now()));
    let mut k = 1;
    while dir.exists() {
        dir = base.join(format!("{n:04}-{}-{k}", unix_now()));
        k += 1;
    }
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| SweepError::io(&logs, e))?;
    let mut tsv = String::new();
    for (i, r) in todo.iter().enumerate() {
        let cfg = layout::plan_file(root, &r.run_id);
        let out = root.join("runs").join(&r.run_id);
        tsv.push_str(&format!(
            "{i}\t{}\t{}\t{}\n",
            r.run_id,
            path_str(&cfg)?,
            path_str(&out)?
        ));
    }
    clipbench_train::sink::write_atomic(&dir.join("runs.tsv"), tsv.as_bytes())?;
    let script_path = dir.join("array.sbatch");
    let text = script(plan, opts, &dir, todo.len())?;
    clipbench_train::sink::write_atomic(&script_path, text.as_bytes())?;
    let out = Command::new(&opts.sbatch)
        .arg("--parsable")
        .arg(&script_path)
        .output()
        .map_err(|e| SweepError::Slurm(format!("{}: {e}", opts.sbatch.display())))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let job_id = stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if !out.status.success() || job_id.is_empty() || !job_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(SweepError::Slurm(format!(
            "sbatch {} failed ({}): {}{}",
            script_path.display(),
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let sub = Submission {
        job_id,
        runs: todo.iter().map(|r| r.run_id.clone()).collect(),
        submitted_unix_s: unix_now(),
        dir: dir.clone(),
    };
    clipbench_train::sink::write_json_atomic(&dir.join("submission.json"), &sub)?;
    Ok(sub)
}

/// Waits until no task of the watched jobs is queued or running, then judges every watched
/// run by its files: a valid summary.json, else failed (with the end of its task's log).
pub fn wait_for(
    plan: &RunPlan,
    opts: &SlurmOptions,
    sub: &Submitted,
    w: &WaitOptions,
    interrupts: &Interrupts,
) -> Result<SweepReport, SweepError> {
    let t0 = Instant::now();
    let watched = sub.watched();
    // (run, job id, array index, submission dir)
    let runs: Vec<(&PlannedRun, &str, usize, &Path)> = watched
        .iter()
        .flat_map(|(job, ids, dir)| {
            let all = submissions_runs(dir);
            ids.iter().filter_map(move |id| {
                let run = plan.runs.iter().find(|r| &r.run_id == id)?;
                let index = all.iter().position(|x| x == id).unwrap_or(0);
                Some((run, job.as_str(), index, dir.as_path()))
            })
        })
        .collect();
    let jobs: Vec<&str> = watched.iter().map(|(j, _, _)| j.as_str()).collect();
    let mut progress = Progress::auto(runs.len(), 0, 0);
    let mut done = vec![false; runs.len()];
    let mut squeue_errors = 0;
    let mut interrupted = false;
    loop {
        for (i, (r, _, _, _)) in runs.iter().enumerate() {
            if !done[i] {
                if let RunState::Complete(s) = run_state(&r.dir, &r.run_id) {
                    done[i] = true;
                    progress.finished(&RunReport::from_summary(Outcome::of(&s), &s));
                }
            }
        }
        let mut active = 0;
        for job in &jobs {
            match active_indices(&opts.squeue, job) {
                Ok(a) => {
                    squeue_errors = 0;
                    active += a.len();
                }
                Err(e) => {
                    squeue_errors += 1;
                    if squeue_errors >= 10 {
                        return Err(e);
                    }
                    active += 1;
                }
            }
        }
        if active == 0 {
            break;
        }
        progress.running(&[&format!(
            "job {}: {active} tasks queued or running",
            jobs.join(", ")
        )]);
        if interrupts.take() {
            progress.note(&format!(
                "interrupted: no longer waiting; job {} keeps running (`scancel` cancels it)",
                jobs.join(", ")
            ));
            interrupted = true;
            break;
        }
        if w.timeout.is_some_and(|t| t0.elapsed() > t) {
            progress.note(&format!(
                "gave up waiting after {:.0} s; job {} keeps running",
                t0.elapsed().as_secs_f64(),
                jobs.join(", ")
            ));
            interrupted = true;
            break;
        }
        std::thread::sleep(w.poll);
    }
    progress.finish();
    let reports = runs
        .iter()
        .map(|(r, job, index, dir)| match run_state(&r.dir, &r.run_id) {
            RunState::Complete(s) => RunReport::from_summary(Outcome::of(&s), &s),
            _ if interrupted => RunReport::new(&r.run_id, Outcome::NotRun),
            _ => {
                let log = dir.join("logs").join(format!("{job}_{index}.log"));
                let mut rep = RunReport::new(&r.run_id, Outcome::Failed);
                let tail = log_tail(&log, 3);
                rep.error = Some(if tail.is_empty() {
                    format!(
                        "no summary.json and no log ({}): did the task run at all?",
                        log.display()
                    )
                } else {
                    format!("no summary.json; task log: {tail}")
                });
                rep.log = Some(log);
                rep
            }
        })
        .collect();
    let report = SweepReport {
        study: plan.study.clone(),
        backend: format!("slurm job {}", jobs.join(", ")),
        jobs: opts.throttle.unwrap_or(0),
        wall_s: t0.elapsed().as_secs_f64(),
        interrupted,
        runs: reports,
    };
    report.write(&layout::report_file(&plan.root))?;
    Ok(report)
}

/// A submission's runs by array index (runs.tsv).
fn submissions_runs(dir: &Path) -> Vec<String> {
    std::fs::read(dir.join("submission.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Submission>(&b).ok())
        .map(|s| s.runs)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(sh_quote("a'b"), "'a'\\''b'");
    }
}
