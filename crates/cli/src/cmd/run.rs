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
use clipbench_sweep::slurm_state::SlurmTools;
use clipbench_sweep::tune::select::TuneState;
use clipbench_sweep::worker::{die_with_parent, run_planned, WorkerOutcome, EXIT_BUSY};
use clipbench_sweep::{RunPlan, StudyPlan, SweepError, TunedStudy};

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
    /// Rerun only the failed runs (as `clipbench status` defines them), stage by stage;
    /// pending and partial runs are left alone (a plain rerun resumes everything).
    #[arg(long)]
    retry_failed: bool,
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

/// One JSON line per run (`lines`); a closed stdout (`| head`) ends the listing quietly.
fn print_lines(lines: &[serde_json::Value]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for v in lines {
        match writeln!(out, "{}", serde_json::to_string(v)?) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r.context("writing the plan to stdout")?,
        }
    }
    Ok(())
}

/// The plan's runs as JSON lines, with the study name and each run's state.
fn plan_lines(plan: &RunPlan, study: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut lines = Vec::new();
    for r in &plan.runs {
        let mut v = serde_json::to_value(r)?;
        let state = match run_state(&r.dir, &r.run_id) {
            RunState::Complete(_) => "complete",
            RunState::Partial => "partial",
            RunState::Absent => "pending",
        };
        if let Some(m) = v.as_object_mut() {
            m.insert("study".into(), study.into());
            m.insert("state".into(), state.into());
        }
        lines.push(v);
    }
    Ok(lines)
}

/// A tuned study's dry run: the tuning runs, then the final runs, or, while tuning is not
/// complete, one placeholder per final (strategy, seed) whose settings are not known yet.
fn tuned_lines(t: &TunedStudy) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut lines = plan_lines(&t.tune, &t.study)?;
    match t.tune_state() {
        TuneState::Done { selected, .. } => {
            lines.extend(plan_lines(&t.final_plan(&selected)?, &t.study)?);
        }
        TuneState::Incomplete { complete, total } => {
            for &seed in t.final_seeds() {
                for s in t.strategies() {
                    lines.push(serde_json::json!({
                        "stage": "final",
                        "run_id": null,
                        "strategy": s,
                        "seed": seed,
                        "study": t.study,
                        "state": "pending",
                        "settings": format!(
                            "not known yet: selected when tuning is complete ({complete} of {total} tuning runs complete)"
                        ),
                    }));
                }
            }
        }
    }
    Ok(lines)
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
        msg.push_str(
            "\nrerun the same command to retry them (complete runs are kept), or add \
             --retry-failed to rerun only the failed runs",
        );
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

/// What running one stage left behind.
#[derive(Debug, PartialEq, Eq)]
enum StageDone {
    /// Every run of the stage is complete.
    Complete,
    /// Submitted to Slurm without waiting: the runs are queued.
    Queued,
}

struct Ctx {
    backend: Backend,
    jobs: Option<usize>,
    data_dir: PathBuf,
    slurm: Option<(SlurmOptions, Option<WaitOptions>)>,
    interrupts: Interrupts,
    retry_failed: bool,
}

/// With `--retry-failed`, the plan cut down to its failed runs (None: nothing to retry).
fn retry_plan(plan: &RunPlan, cx: &Ctx) -> anyhow::Result<Option<RunPlan>> {
    let tools = match &cx.slurm {
        Some((o, _)) => SlurmTools {
            squeue: o.squeue.clone(),
            ..SlurmTools::default()
        },
        None => SlurmTools::default(),
    };
    let failed = clipbench_sweep::status::failed_runs(&plan.root, &tools)?;
    let mut p = plan.clone();
    p.runs.retain(|r| failed.contains(&r.run_id));
    if p.runs.is_empty() {
        let incomplete = plan
            .runs
            .iter()
            .filter(|r| !run_state(&r.dir, &r.run_id).is_complete())
            .count();
        println!(
            "{}: no failed runs among {} (see `clipbench status {}`): nothing to retry; \
             {incomplete} not complete (pending, partial or running): a rerun without \
             --retry-failed runs them",
            plan.study,
            plan.runs.len(),
            plan.root.display()
        );
        return Ok(None);
    }
    println!(
        "{}: retrying {} failed of {} runs: {}",
        plan.study,
        p.runs.len(),
        plan.runs.len(),
        p.runs
            .iter()
            .map(|r| r.run_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Some(p))
}

/// Runs (or submits) every incomplete run of `plan`.
fn run_stage(plan: &RunPlan, cx: &Ctx) -> anyhow::Result<StageDone> {
    let cut;
    let plan = if cx.retry_failed {
        match retry_plan(plan, cx)? {
            Some(p) => {
                cut = p;
                &cut
            }
            None => return Ok(StageDone::Complete),
        }
    } else {
        plan
    };
    check_data(plan, &cx.data_dir)?;
    match cx.backend {
        Backend::Local => {
            let jobs = cx.jobs.unwrap_or_else(|| default_jobs(plan.threads));
            let opts = LocalOptions {
                jobs,
                worker: worker_command(None)?,
                data_dir: cx.data_dir.clone(),
            };
            let report = run_local(plan, &opts, &cx.interrupts)?;
            finish(&report)?;
            Ok(StageDone::Complete)
        }
        Backend::Slurm => {
            let Some((opts, wait)) = &cx.slurm else {
                bail!("internal: Slurm options missing");
            };
            let sub = submit_incomplete(plan, opts)?;
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
            if sub.watched().is_empty() {
                return Ok(StageDone::Complete);
            }
            match wait {
                Some(w) => {
                    let report = wait_for(plan, opts, &sub, w, &cx.interrupts)?;
                    finish(&report)?;
                    Ok(StageDone::Complete)
                }
                None => Ok(StageDone::Queued),
            }
        }
    }
}

/// Tuning, selection on validation, then the final stage.
fn run_tuned(t: &TunedStudy, cx: &Ctx, study_file: &std::path::Path) -> anyhow::Result<()> {
    println!(
        "{}: tuning stage, {} trials per strategy x {} tuning seeds ({} runs)",
        t.study,
        t.tune_spec.budget,
        t.tune_spec.seeds.len(),
        t.tune.runs.len()
    );
    if run_stage(&t.tune, cx)? == StageDone::Queued {
        println!(
            "{}: the final stage is chosen on the tuning runs' validation accuracy: rerun \
             `clipbench run {} --backend slurm` once they are done (or pass --wait)",
            t.study,
            study_file.display()
        );
        return Ok(());
    }
    let (selected, trials) = match t.tune_state() {
        TuneState::Done { selected, trials } => (selected, trials),
        TuneState::Incomplete { complete, total } if cx.retry_failed => bail!(
            "{}: only {complete} of {total} tuning runs are complete, and --retry-failed \
             reruns failed runs only: rerun without it to run the rest (the final stage is \
             chosen on a complete tuning stage)",
            t.study
        ),
        TuneState::Incomplete { complete, total } => bail!(
            "{}: only {complete} of {total} tuning runs are complete: rerun to finish them",
            t.study
        ),
    };
    let files = t.write_selection(&selected, &trials)?;
    for (s, &i) in t.strategies().iter().zip(&selected) {
        let r = trials.iter().find(|r| r.strategy == *s && r.trial == i);
        println!(
            "{}: {s}: trial {i} selected (mean validation accuracy {:.4}): {}",
            t.study,
            r.map_or(f64::NAN, |r| r.val_acc_mean),
            serde_json::to_string(
                &t.trial_settings(t.strategies().iter().position(|x| x == s).unwrap_or(0), i)
            )?
        );
    }
    println!(
        "{}: selection written to {}",
        t.study,
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let final_plan = t.final_plan(&selected)?;
    println!("{}: final stage, {} runs", t.study, final_plan.runs.len());
    run_stage(&final_plan, cx)?;
    Ok(())
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let study = StudyPlan::load(&a.study, &a.results)?;
    if a.dry_run && a.retry_failed {
        bail!(
            "--retry-failed with --dry-run: `clipbench status RESULTS/STUDY` lists the failed runs"
        );
    }
    if a.dry_run {
        return match &study {
            StudyPlan::Plain(plan) => print_lines(&plan_lines(plan, &plan.study)?),
            StudyPlan::Tuned(t) => print_lines(&tuned_lines(t)?),
        };
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
    let slurm = match a.backend {
        Backend::Local => None,
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
                data_dir: data_dir.clone(),
                sbatch: "sbatch".into(),
                squeue: "squeue".into(),
            };
            let wait = a.wait.then(|| WaitOptions {
                poll: Duration::from_secs_f64(a.poll_s),
                timeout,
            });
            Some((opts, wait))
        }
    };
    let cx = Ctx {
        backend: a.backend,
        jobs: a.jobs.map(|j| j as usize),
        data_dir,
        slurm,
        interrupts: Interrupts::install()?,
        retry_failed: a.retry_failed,
    };
    match &study {
        StudyPlan::Plain(plan) => run_stage(plan, &cx).map(|_| ()),
        StudyPlan::Tuned(t) => run_tuned(t, &cx, &a.study),
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
