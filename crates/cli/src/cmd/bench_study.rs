//! `clipbench bench-study`: whole-study throughput (issue 15). Runs a reduced copy of a study
//! (default experiments/main.toml: the same data set and model, fewer strategies, seeds and
//! epochs, no tuning stage), or with `--whole` the study itself, tuning stage included,
//! through `clipbench run` in a temporary directory, then
//! `bench-train` for the same strategies with as many processes at once as the study had
//! workers, each with the study's threads per run; prints the study's training images/s, the
//! bench's, their ratio and where the study's time went (`throughput::Breakdown`).
//!
//! Example: `clipbench bench-study` (about a minute on 2 cores with Fashion-MNIST present);
//! `clipbench bench-study --whole` (the main job: about 15 minutes here).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use clipbench_data::resolve_data_dir;
use clipbench_sweep::local::default_jobs;
use clipbench_sweep::throughput::{collect_runs, merge_stages, reduce_study, Breakdown, Reduction};
use clipbench_sweep::StudyPlan;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The study to reduce.
    #[arg(long, default_value = "experiments/main.toml")]
    study: PathBuf,
    /// Run the study as it is, tuning stage included (the "main job"). The options
    /// below then apply only when given: --seeds, --epochs and --train-limit change the final
    /// stage only (the tuning stage keeps its [tune] settings), --strategies both stages.
    #[arg(long)]
    whole: bool,
    /// Keep the study's first N strategies [default without --whole: 4].
    #[arg(long)]
    strategies: Option<usize>,
    /// The reduced study's seeds [default without --whole: 1].
    #[arg(long, value_delimiter = ',')]
    seeds: Option<Vec<u64>>,
    /// Epochs per run [default without --whole: 2].
    #[arg(long)]
    epochs: Option<u32>,
    /// Training images per run (after the validation split); default: the study's.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Worker processes; default cores / threads per run (as `clipbench run`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Training steps per bench-train process.
    #[arg(long, default_value_t = 300)]
    bench_steps: usize,
    /// Data directory (default $CLIPBENCH_DATA_DIR, else ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep the reduced study and its runs here (default: a temporary directory, removed).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Also write the breakdown as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run the study and bench-train with this clipbench binary instead of this one (to
    /// measure an older build side by side with the same reduction and report).
    #[arg(long)]
    clipbench: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.study)
        .with_context(|| format!("reading {}", a.study.display()))?;
    let reduction = if a.whole {
        Reduction {
            name: "bench-study".into(),
            strategies: a.strategies,
            seeds: a.seeds.clone(),
            epochs: a.epochs,
            train_limit: a.train_limit,
            keep_tuning: true,
        }
    } else {
        Reduction {
            name: "bench-study".into(),
            strategies: Some(a.strategies.unwrap_or(4)),
            seeds: Some(a.seeds.clone().unwrap_or_else(|| vec![1])),
            epochs: Some(a.epochs.unwrap_or(2)),
            train_limit: a.train_limit,
            keep_tuning: false,
        }
    };
    let reduced = reduce_study(&text, &a.study, &reduction)?;
    let tmp;
    let dir = match &a.keep {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir().context("creating a temporary directory")?;
            tmp.path().to_path_buf()
        }
    };
    let study_file = dir.join("bench-study.toml");
    std::fs::write(&study_file, &reduced)
        .with_context(|| format!("writing {}", study_file.display()))?;
    let results = dir.join("results");
    // The stages' roots in the order they run, and the first stage's plan.
    let (stages, first_plan, dataset) = match StudyPlan::load(&study_file, &results)? {
        StudyPlan::Plain(p) => (vec![("study", p.root.clone())], p.clone(), p.dataset),
        StudyPlan::Tuned(t) => (
            vec![("tuning", t.tune.root.clone()), ("final", t.root.clone())],
            t.tune.clone(),
            t.tune.dataset,
        ),
    };
    let root = &stages[stages.len() - 1].1;
    if root.join("runs").exists() || root.join("tuning").exists() {
        bail!(
            "{} holds runs of an earlier bench-study: remove it or pass another --keep",
            root.display()
        );
    }
    let Some(first) = first_plan.runs.first() else {
        bail!("the reduced study has no runs");
    };
    let [c, h, w] = first.config.model.input;
    let batch = first.config.batch_size;
    let threads = first_plan.threads;
    let jobs = a.jobs.map_or_else(|| default_jobs(threads), |j| j as usize);
    let data_dir = std::path::absolute(resolve_data_dir(a.data_dir.as_deref()))
        .context("resolving the data directory")?;
    let this = std::env::current_exe().context("locating the clipbench binary")?;
    let exe = match &a.clipbench {
        Some(p) => std::path::absolute(p).with_context(|| format!("{}", p.display()))?,
        None => this.clone(),
    };
    // An older binary's bench-train has no sgemm timing to switch off.
    let sgemm_flag = exe == this;

    let what = if a.whole {
        format!("{} with its tuning stage", a.study.display())
    } else {
        format!(
            "{} runs of {} (reduced)",
            first_plan.runs.len(),
            a.study.display()
        )
    };
    eprintln!(
        "bench-study: {what} on {dataset} with {jobs} jobs x {threads} thread(s), in {}",
        dir.display()
    );
    let t0 = Instant::now();
    let status = Command::new(&exe)
        .arg("run")
        .arg(&study_file)
        .arg("--results")
        .arg(&results)
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--jobs")
        .arg(jobs.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .context("starting `clipbench run`")?;
    let study_wall_s = t0.elapsed().as_secs_f64();
    if !status.success() {
        bail!("`clipbench run {}` failed: {status}", study_file.display());
    }
    let per_stage = stages
        .iter()
        .map(|(_, r)| collect_runs(r))
        .collect::<Result<Vec<_>, _>>()?;
    let (report, runs) = merge_stages(&per_stage);

    let mut strategies: Vec<String> = runs.iter().map(|r| r.strategy.clone()).collect();
    strategies.sort();
    strategies.dedup();
    let mut bench = BTreeMap::new();
    for s in &strategies {
        eprintln!("bench-study: bench-train --strategy {s}, {jobs} processes at once");
        let rate = bench_processes(
            (&exe, sgemm_flag),
            s,
            [c, h, w],
            batch,
            a.bench_steps,
            (threads, jobs),
        )?;
        bench.insert(s.clone(), rate);
    }
    let b = Breakdown::compute(&runs, &report, threads, study_wall_s, &bench)?;
    print!("{}", b.text());
    // Each stage over its own sweep's wall time (the runner's planning and selection between
    // stages are in neither).
    let mut by_stage = BTreeMap::new();
    if per_stage.len() > 1 {
        for ((name, _), (rep, times)) in stages.iter().zip(&per_stage) {
            let s = Breakdown::compute(times, rep, threads, rep.wall_s, &bench)?;
            println!(
                "  {name} stage: {} runs, {} training images in {:.1} s = {:.0} img/s, \
                 ratio {:.3} (evaluation {:.1}% of its slot time)",
                s.runs,
                s.train_images,
                s.study_wall_s,
                s.study_images_per_s,
                s.ratio,
                100.0
                    * s.parts
                        .iter()
                        .find(|p| p.name.starts_with("evaluation"))
                        .map_or(0.0, |p| p.share)
            );
            by_stage.insert(*name, s);
        }
    }
    if let Some(p) = &a.json {
        let mut v = serde_json::to_value(&b)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("run_times".into(), serde_json::to_value(&runs)?);
            o.insert("stages".into(), serde_json::to_value(&by_stage)?);
        }
        std::fs::write(p, serde_json::to_string_pretty(&v)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// Mean training img/s of `jobs` `bench-train` processes run at once (no sgemm timing).
fn bench_processes(
    (exe, sgemm_flag): (&std::path::Path, bool),
    strategy: &str,
    [c, h, w]: [usize; 3],
    batch: usize,
    steps: usize,
    (threads, jobs): (usize, usize),
) -> anyhow::Result<f64> {
    let mut children = Vec::new();
    for _ in 0..jobs {
        let mut cmd = Command::new(exe);
        cmd.args(["bench-train", "--strategy", strategy]);
        if sgemm_flag {
            cmd.args(["--sgemm-repeats", "0"]);
        }
        let child = cmd
            .arg("--input")
            .arg(format!("{c}x{h}x{w}"))
            .arg("--batch")
            .arg(batch.to_string())
            .arg("--steps")
            .arg(steps.to_string())
            .arg("--threads")
            .arg(threads.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting `clipbench bench-train`")?;
        children.push(child);
    }
    let mut sum = 0.0;
    for child in children {
        let out = child
            .wait_with_output()
            .context("waiting for bench-train")?;
        if !out.status.success() {
            bail!("bench-train --strategy {strategy} failed: {}", out.status);
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(line.trim())
            .with_context(|| format!("bench-train printed {line:?}"))?;
        let Some(r) = v["train_images_per_s"].as_f64() else {
            bail!("bench-train printed no train_images_per_s: {line:?}");
        };
        sum += r;
    }
    Ok(sum / jobs.max(1) as f64)
}
