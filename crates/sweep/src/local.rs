//! The local runner: a pool of worker processes (`clipbench run-worker`), one per run, at
//! most `jobs` at a time. A worker that panics or is killed fails only its own run.
//!
//! Resume is the default: complete runs are skipped, partial ones are cleared and rerun by
//! their worker. The study lock refuses a second runner. Workers run in their own process
//! group (a terminal's Ctrl-C reaches only the runner, which decides) and die with the
//! runner (PR_SET_PDEATHSIG), so after a SIGKILL no orphan writes into a run directory.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::SweepError;
use crate::layout::{self, run_state, RunState};
use crate::lock::FileLock;
use crate::plan::{PlannedRun, RunPlan};
use crate::progress::Progress;
use crate::report::{Outcome, RunReport, SweepReport};
use crate::signal::Interrupts;
use crate::worker::EXIT_BUSY;

/// How to start a worker: `program args... --config C --out D --data-dir X --parent-pid P`.
#[derive(Clone, Debug)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

#[derive(Clone, Debug)]
pub struct LocalOptions {
    pub jobs: usize,
    pub worker: WorkerCommand,
    pub data_dir: PathBuf,
}

/// cores / threads per run, at least 1.
pub fn default_jobs(threads_per_run: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / threads_per_run.max(1)).max(1)
}

struct Running<'a> {
    run: &'a PlannedRun,
    child: Child,
    started: Instant,
}

/// Runs every incomplete run of `plan`; returns the report (also written to sweep.json).
pub fn run_local(
    plan: &RunPlan,
    opts: &LocalOptions,
    interrupts: &Interrupts,
) -> Result<SweepReport, SweepError> {
    let t0 = Instant::now();
    let _lock = FileLock::study(&plan.root, &format!("clipbench run {} (local)", plan.study))?;
    layout::write_plan_files(&plan.root, &plan.runs)?;
    layout::write_study_file(&plan.root, &plan.settings)?;
    let logs = plan.root.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| SweepError::io(&logs, e))?;

    let mut reports: Vec<Option<RunReport>> = vec![None; plan.runs.len()];
    let mut queue = VecDeque::new();
    for (i, r) in plan.runs.iter().enumerate() {
        match run_state(&r.dir, &r.run_id) {
            RunState::Complete(s) => {
                reports[i] = Some(RunReport::from_summary(Outcome::Skipped, &s));
            }
            _ => queue.push_back(i),
        }
    }
    let jobs = opts.jobs.max(1);
    let mut progress = Progress::auto(plan.runs.len(), plan.runs.len() - queue.len(), jobs);
    let mut running: Vec<(usize, Running<'_>)> = Vec::new();
    let mut interrupted = 0;
    loop {
        if interrupts.take() {
            interrupted += 1;
            if interrupted == 1 {
                progress.note(&format!(
                    "interrupted: starting no more runs; waiting for the {} running to finish \
                     (interrupt again to kill them)",
                    running.len()
                ));
            } else {
                progress.note("interrupted again: killing the running runs");
                for (_, r) in &mut running {
                    let _ = r.child.kill();
                }
            }
        }
        while interrupted == 0 && running.len() < jobs {
            let Some(i) = queue.pop_front() else { break };
            let run = &plan.runs[i];
            match spawn(plan, run, opts) {
                Ok(child) => {
                    progress.started(&run.run_id);
                    running.push((
                        i,
                        Running {
                            run,
                            child,
                            started: Instant::now(),
                        },
                    ));
                }
                Err(e) => {
                    let mut rep = RunReport::new(&run.run_id, Outcome::Failed);
                    rep.error = Some(format!("could not start the worker: {e}"));
                    progress.finished(&rep);
                    reports[i] = Some(rep);
                }
            }
            let ids: Vec<&str> = running.iter().map(|(_, r)| r.run.run_id.as_str()).collect();
            progress.running(&ids);
        }
        if running.is_empty() && (queue.is_empty() || interrupted > 0) {
            break;
        }
        let mut k = 0;
        while k < running.len() {
            match running[k].1.child.try_wait() {
                Ok(Some(status)) => {
                    let (i, r) = running.swap_remove(k);
                    let rep = classify(plan, r.run, status, r.started, interrupted > 1);
                    progress.finished(&rep);
                    reports[i] = Some(rep);
                    let ids: Vec<&str> =
                        running.iter().map(|(_, r)| r.run.run_id.as_str()).collect();
                    progress.running(&ids);
                }
                Ok(None) => k += 1,
                Err(e) => {
                    let (i, mut r) = running.swap_remove(k);
                    let _ = r.child.kill();
                    let _ = r.child.wait();
                    let mut rep = RunReport::new(&r.run.run_id, Outcome::Failed);
                    rep.error = Some(format!("waiting for the worker: {e}"));
                    reports[i] = Some(rep);
                }
            }
        }
        // Short: the poll delay adds to every run of a sweep of short runs.
        std::thread::sleep(Duration::from_millis(10));
    }
    progress.finish();
    let runs = plan
        .runs
        .iter()
        .zip(reports)
        .map(|(r, rep)| rep.unwrap_or_else(|| RunReport::new(&r.run_id, Outcome::NotRun)))
        .collect();
    let report = SweepReport {
        study: plan.study.clone(),
        backend: "local".into(),
        jobs,
        wall_s: t0.elapsed().as_secs_f64(),
        interrupted: interrupted > 0,
        runs,
    };
    report.write(&layout::report_file(&plan.root))?;
    Ok(report)
}

fn spawn(plan: &RunPlan, run: &PlannedRun, opts: &LocalOptions) -> Result<Child, SweepError> {
    let log_path = layout::log_file(&plan.root, &run.run_id);
    let log = File::create(&log_path).map_err(|e| SweepError::io(&log_path, e))?;
    let log2 = log.try_clone().map_err(|e| SweepError::io(&log_path, e))?;
    Command::new(&opts.worker.program)
        .args(&opts.worker.args)
        .arg("--config")
        .arg(layout::plan_file(&plan.root, &run.run_id))
        .arg("--out")
        .arg(&run.dir)
        .arg("--data-dir")
        .arg(&opts.data_dir)
        .arg("--parent-pid")
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .process_group(0)
        .spawn()
        .map_err(|e| SweepError::io(&opts.worker.program, e))
}

/// Why a worker failed, from its log: the panic and its message, else the last `error:`
/// line, else the last `n` lines; on one line.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        return lines[i..(i + 2).min(lines.len())].join(" ");
    }
    if let Some(l) = lines.iter().rev().find(|l| l.starts_with("error:")) {
        return l.to_string();
    }
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

fn exit_text(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "unknown exit status".into(),
    }
}

/// The run's outcome from its files (a valid summary.json), not from the exit status.
fn classify(
    plan: &RunPlan,
    run: &PlannedRun,
    status: ExitStatus,
    started: Instant,
    killed: bool,
) -> RunReport {
    let wall = started.elapsed().as_secs_f64();
    let mut rep = match run_state(&run.dir, &run.run_id) {
        RunState::Complete(s) => RunReport::from_summary(Outcome::of(&s), &s),
        _ => {
            let log = layout::log_file(&plan.root, &run.run_id);
            let outcome = if killed {
                Outcome::NotRun
            } else {
                Outcome::Failed
            };
            let mut r = RunReport::new(&run.run_id, outcome);
            let why = if status.code() == Some(EXIT_BUSY) {
                "another process is writing this run".to_string()
            } else {
                exit_text(status)
            };
            r.error = Some(format!("{why}: {}", log_tail(&log, 3)));
            r.log = Some(log);
            r
        }
    };
    rep.wall_s = Some(wall);
    rep
}
