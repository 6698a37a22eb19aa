//! `clipbench run STUDY.toml`: every run of a study, on this machine (a pool of worker
//! processes, resumable, locked) or as a Slurm job array; and the hidden
//! `clipbench run-worker`, which runs one planned run in its own process.
//!
//! Test hook: a worker whose run id contains `$CLIPBENCH_TEST_PANIC_RUN` panics (the tests
//! use it to show that one crashing run does not stop a sweep).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clipbench_data::{resolve_data_dir, DatasetName};
use clipbench_sweep::layout::{run_state, RunState};
use clipbench_sweep::local::{default_jobs, run_local, LocalOptions, WorkerCommand};
use clipbench_sweep::report::{Outcome, SweepReport};
use clipbench_sweep::signal::Interrupts;
use clipbench_sweep::slurm::{submit_incomplete, wait_for, SlurmOptions, WaitOptions};
use clipbench_sweep::worker::{die_with_parent, run_planned, WorkerOutcome, EXIT_BUSY};
use clipbench_sweep::{RunPlan, SweepError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    Local,
    Slurm,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The study file, e.g. experiments/smoke.toml.
    study: PathBuf,
    /// Print the plan, one JSON object per run (with its run id and state), and exit.
    #[arg(long)]
    dry_run: bool,
    /// Results directory: the study's runs go to DIR/<study>/runs/<run-id>/.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Local backend: runs at once (worker processes); default cores / threads per run.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    backend: Backend,
    /// Data directory (default $CLIPBENCH_DATA_DIR, else ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Slurm: partition (`--partition`).
    #[arg(long)]
    partition: Option<String>,
    /// Slurm: time limit per task (`--time`, e.g. 01:00:00).
    #[arg(long)]
    time: Option<String>,
    /// Slurm: CPUs per task (default: the study's threads per run).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    cpus_per_task: Option<u64>,
    /// Slurm: at most this many array tasks at once (`--array=0-N%K`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100000))]
    array_throttle: Option<u64>,
    /// Slurm: an extra sbatch option line, e.g. `--mem=4G` (repeatable).
    #[arg(long = "sbatch-line", value_name = "LINE", allow_hyphen_values = true)]
    sbatch_lines: Vec<String>,
    /// Slurm: wait for the array, then check every run's summary.json and report failures.
    #[arg(long)]
    wait: bool,
    /// Slurm: seconds between checks while waiting.
    #[arg(long, default_value_t = 5.0)]
    poll_s: f64,
    /// Slurm: stop waiting after this many seconds (the job keeps running).
    #[arg(long)]
    wait_timeout_s: Option<f64>,
    /// Slurm: the clipbench binary as the compute nodes see it (default: this one).
    #[arg(long)]
    clipbench: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// The planned run's RunConfig (results/<study>/plan/<run-id>.json).
    #[arg(long)]
    config: PathBuf,
    /// Its run directory (results/<study>/runs/<run-id>).
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    data_dir: PathBuf,
    /// Die when this process (the local runner) exits.
    #[arg(long)]
    parent_pid: Option<u32>,
}

/// One JSON line per run; a closed stdout (`| head`) ends the listing quietly.
fn print_plan(plan: &RunPlan) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for r in &plan.runs {
        let mut v = serde_json::to_value(r)?;
        let state = match run_state(&r.dir, &r.run_id) {
            RunState::Complete(_) => "complete",
            RunState::Partial => "partial",
            RunState::Absent => "pending",
        };
        if let Some(m) = v.as_object_mut() {
            m.insert("study".into(), plan.study.clone().into());
            m.insert("state".into(), state.into());
        }
        match writeln!(out, "{}", serde_json::to_string(&v)?) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r.context("writing the plan to stdout")?,
        }
    }
    Ok(())
}

/// Fails fast when a real data set is missing, instead of failing every run.
fn check_data(plan: &RunPlan, data_dir: &std::path::Path) -> anyhow::Result<()> {
    if plan.dataset == DatasetName::Synthetic {
        return Ok(());
    }
    clipbench_data::verify(plan.dataset, data_dir).with_context(|| {
        format!(
            "data set {} in {} (install it with `clipbench data fetch {}`)",
            plan.dataset,
            data_dir.display(),
            plan.dataset
        )
    })?;
    Ok(())
}

fn worker_command(program: Option<PathBuf>) -> anyhow::Result<WorkerCommand> {
    let program = match program {
        Some(p) => std::path::absolute(&p).with_context(|| format!("{}", p.display()))?,
        None => std::env::current_exe().context("locating the clipbench binary")?,
    };
    Ok(WorkerCommand {
        program,
        args: vec!["run-worker".into()],
    })
}

fn finish(report: &SweepReport) -> anyhow::Result<()> {
    println!("{}", report.one_line());
    let failed: Vec<_> = report
        .runs
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .collect();
    if !failed.is_empty() {
        let mut msg = format!("{} of {} runs failed:", failed.len(), report.runs.len());
        for r in &failed {
            msg.push_str(&format!(
                "\n  {}: {}",
                r.run_id,
                r.error.as_deref().unwrap_or("no summary.json")
            ));
            if let Some(l) = &r.log {
                msg.push_str(&format!(" (log: {})", l.display()));
            }
        }
        msg.push_str("\nrerun the same command to retry them (complete runs are kept)");
        bail!(msg);
    }
    if report.interrupted {
        bail!(
            "interrupted: {} runs not run; finished runs are kept: rerun the same command to resume",
            report.count(Outcome::NotRun)
        );
    }
    Ok(())
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let plan = RunPlan::load(&a.study, &a.results)?;
    if a.dry_run {
        return print_plan(&plan);
    }
    let slurm_only = a.partition.is_some()
        || a.time.is_some()
        || a.cpus_per_task.is_some()
        || a.array_throttle.is_some()
        || !a.sbatch_lines.is_empty()
        || a.wait
        || a.wait_timeout_s.is_some()
        || a.clipbench.is_some();
    if a.backend == Backend::Local && slurm_only {
        bail!("--partition, --time, --cpus-per-task, --array-throttle, --sbatch-line, --wait, --wait-timeout-s and --clipbench need --backend slurm");
    }
    if a.backend == Backend::Slurm && a.jobs.is_some() {
        bail!("--jobs is for the local backend; with --backend slurm use --array-throttle");
    }
    if !(a.poll_s.is_finite() && a.poll_s > 0.0) {
        bail!(
            "--poll-s: expected a number of seconds > 0, got {}",
            a.poll_s
        );
    }
    let data_dir = std::path::absolute(resolve_data_dir(a.data_dir.as_deref()))
        .context("resolving the data directory")?;
    check_data(&plan, &data_dir)?;
    let interrupts = Interrupts::install()?;
    match a.backend {
        Backend::Local => {
            let jobs = a
                .jobs
                .map_or_else(|| default_jobs(plan.threads), |j| j as usize);
            let opts = LocalOptions {
                jobs,
                worker: worker_command(None)?,
                data_dir,
            };
            let report = run_local(&plan, &opts, &interrupts)?;
            finish(&report)
        }
        Backend::Slurm => {
            let timeout = match a.wait_timeout_s {
                Some(t) if !(t.is_finite() && t > 0.0) => {
                    bail!("--wait-timeout-s: expected seconds > 0, got {t}")
                }
                t => t.map(Duration::from_secs_f64),
            };
            let opts = SlurmOptions {
                partition: a.partition,
                time: a.time,
                cpus_per_task: a.cpus_per_task.map(|c| c as usize),
                throttle: a.array_throttle.map(|t| t as usize),
                extra: a.sbatch_lines,
                worker: worker_command(a.clipbench)?,
                data_dir,
                sbatch: "sbatch".into(),
                squeue: "squeue".into(),
            };
            let wait = a.wait.then(|| WaitOptions {
                poll: Duration::from_secs_f64(a.poll_s),
                timeout,
            });
            let sub = submit_incomplete(&plan, &opts)?;
            let mut line = format!(
                "{}: {} runs: {} complete before, {} already queued in Slurm",
                plan.study,
                plan.runs.len(),
                sub.complete_before,
                sub.already_queued.len()
            );
            match &sub.submission {
                Some(s) => line.push_str(&format!(
                    ", {} submitted as job {} ({})",
                    s.runs.len(),
                    s.job_id,
                    s.dir.join("array.sbatch").display()
                )),
                None => line.push_str(", nothing to submit"),
            }
            println!("{line}");
            match wait {
                Some(w) if !sub.watched().is_empty() => {
                    let report = wait_for(&plan, &opts, &sub, &w, &interrupts)?;
                    finish(&report)
                }
                _ => Ok(()),
            }
        }
    }
}

pub fn worker(a: WorkerArgs) -> anyhow::Result<()> {
    if let Some(p) = a.parent_pid {
        die_with_parent(p)?;
    }
    if let Ok(pat) = std::env::var("CLIPBENCH_TEST_PANIC_RUN") {
        let id = a.out.file_name().map(|n| n.to_string_lossy().into_owned());
        if !pat.is_empty() && id.is_some_and(|id| id.contains(&pat)) {
            panic!("CLIPBENCH_TEST_PANIC_RUN={pat}: test hook panics in this run");
        }
    }
    match run_planned(&a.config, &a.out, &a.data_dir) {
        Ok(WorkerOutcome::AlreadyComplete(s)) => {
            println!("{}: already complete ({:?})", s.run_id, s.status);
            Ok(())
        }
        Ok(WorkerOutcome::Ran(s)) => {
            println!("{}", serde_json::to_string(&s)?);
            Ok(())
        }
        Err(e @ SweepError::Busy { .. }) => {
            eprintln!("error: {e}");
            std::process::exit(EXIT_BUSY);
        }
        Err(e) => Err(e.into()),
    }
}
