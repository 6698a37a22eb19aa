//! Whole-study throughput (`clipbench bench-study`): a reduced copy of a study, and where its
//! wall time went beyond the training steps, from what the runs record (summary.json's
//! `load_wall_s`, `train_wall_s`, `eval_wall_s`, `run_wall_s`; sweep.json's per-run worker
//! wall time) and what the caller timed (the `clipbench run` process).
//!
//! The parts are worker-slot seconds: `jobs` slots for the whole wall time of the study, so
//! they add up to jobs × wall, and each part's share is the share of the machine it took.

use std::collections::BTreeMap;
use std::path::Path;

use clipbench_train::out::read_manifest;
use clipbench_train::records::Summary;
use serde::Serialize;

use crate::error::{Problem, SweepError};
use crate::layout::report_file;
use crate::report::{Outcome, SweepReport};

/// How [`reduce_study`] cuts a study down. None keeps the study's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reduction {
    /// The reduced study's name (its results directory).
    pub name: String,
    /// Keep the first N strategies.
    pub strategies: Option<usize>,
    pub seeds: Option<Vec<u64>>,
    pub epochs: Option<u32>,
    pub train_limit: Option<usize>,
    /// Keep the study's `[tune]` stage (measure the whole study, tuning included).
    pub keep_tuning: bool,
}

/// The study file `text` (TOML) with the reduction applied and, unless `keep_tuning`, its
/// `[tune]` stage dropped (the runs take the study's base settings), so it runs as one plain
/// stage. `file` names the source in errors.
pub fn reduce_study(text: &str, file: &Path, r: &Reduction) -> Result<String, SweepError> {
    let bad = |message: String| SweepError::Spec {
        file: file.to_path_buf(),
        problems: vec![Problem::new(None, None, message)],
    };
    let mut t: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.message().to_string()))?;
    t.insert("name".into(), toml::Value::String(r.name.clone()));
    if !r.keep_tuning {
        t.remove("tune");
    }
    // The analysis' link to another study means nothing for a throughput measurement.
    t.remove("stability_study");
    if let Some(n) = r.strategies {
        let Some(toml::Value::Array(list)) = t.get_mut("strategies") else {
            return Err(bad("expected a `strategies` list to cut down".into()));
        };
        let dropped: Vec<String> = list
            .iter()
            .skip(n.max(1))
            .filter_map(|v| match v {
                toml::Value::String(s) => Some(s.clone()),
                toml::Value::Table(t) => t.get("strategy")?.as_str().map(String::from),
                _ => None,
            })
            .collect();
        list.truncate(n.max(1));
        // A kept tuning stage's per-strategy spaces of the dropped strategies would name
        // strategies the study no longer has.
        if let Some(space) = t
            .get_mut("tune")
            .and_then(|v| v.get_mut("space"))
            .and_then(toml::Value::as_table_mut)
        {
            for name in &dropped {
                space.remove(name);
            }
        }
    }
    if let Some(seeds) = &r.seeds {
        let seeds = seeds
            .iter()
            .map(|&s| i64::try_from(s).map(toml::Value::Integer))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("seeds must fit in a TOML integer".into()))?;
        t.insert("seeds".into(), toml::Value::Array(seeds));
    }
    if let Some(e) = r.epochs {
        t.insert("epochs".into(), toml::Value::Integer(i64::from(e)));
    }
    if let Some(n) = r.train_limit {
        let n = i64::try_from(n).map_err(|_| bad("train_limit too large".into()))?;
        t.insert("train_limit".into(), toml::Value::Integer(n));
    }
    toml::to_string(&t).map_err(|e| bad(format!("writing the reduced study: {e}")))
}

/// One run's recorded times (seconds) and training images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunTimes {
    pub run_id: String,
    pub strategy: String,
    /// Training images the run stepped through: its training split × epochs completed.
    pub train_images: u64,
    /// From the worker's start to the runner noticing its exit (sweep.json).
    pub worker_wall_s: f64,
    /// None for a run written by a binary that did not record it (then it is part of the
    /// worker-process time).
    pub load_wall_s: Option<f64>,
    pub train_wall_s: f64,
    pub eval_wall_s: f64,
    pub run_wall_s: f64,
}

/// The runs a sweep trained (sweep.json under `root`), with their summaries and manifests.
/// Runs complete before the sweep and failed runs are errors: the breakdown would not add up.
pub fn collect_runs(root: &Path) -> Result<(SweepReport, Vec<RunTimes>), SweepError> {
    let path = report_file(root);
    let report = SweepReport::load(&path)?.ok_or_else(|| SweepError::BadFile {
        path: path.clone(),
        message: "no sweep report: run the study first".into(),
    })?;
    let mut runs = Vec::new();
    for r in &report.runs {
        let dir = root.join("runs").join(&r.run_id);
        let missing = |what: &str| SweepError::Run {
            run_id: r.run_id.clone(),
            message: format!("{what} (bench-study needs runs trained by this sweep)"),
        };
        if !matches!(r.outcome, Outcome::Completed | Outcome::Diverged) {
            return Err(missing(&format!("outcome {:?}", r.outcome)));
        }
        let sp = dir.join(clipbench_train::out::SUMMARY);
        let text = std::fs::read_to_string(&sp).map_err(|e| SweepError::io(&sp, e))?;
        let s: Summary = serde_json::from_str(&text).map_err(|e| SweepError::BadFile {
            path: sp.clone(),
            message: e.to_string(),
        })?;
        let m = read_manifest(&dir)?;
        let per_epoch = m.train_images.ok_or_else(|| missing("no train_images"))? as u64;
        runs.push(RunTimes {
            run_id: r.run_id.clone(),
            strategy: s.strategy.clone(),
            train_images: per_epoch * u64::from(s.epochs_completed),
            worker_wall_s: r.wall_s.ok_or_else(|| missing("no wall_s in sweep.json"))?,
            load_wall_s: s.load_wall_s,
            train_wall_s: s.train_wall_s,
            eval_wall_s: s.eval_wall_s.ok_or_else(|| missing("no eval_wall_s"))?,
            run_wall_s: s.run_wall_s.ok_or_else(|| missing("no run_wall_s"))?,
        });
    }
    Ok((report, runs))
}

/// Several stages' sweeps (a study's tuning and final stages, in the order they ran) as one:
/// the runs in order, the runner's wall times added, the most jobs any stage had.
pub fn merge_stages(stages: &[(SweepReport, Vec<RunTimes>)]) -> (SweepReport, Vec<RunTimes>) {
    let mut report = SweepReport {
        study: String::new(),
        backend: String::new(),
        jobs: 0,
        wall_s: 0.0,
        interrupted: false,
        runs: Vec::new(),
    };
    let mut runs = Vec::new();
    for (r, t) in stages {
        if report.study.is_empty() {
            (report.study, report.backend) = (r.study.clone(), r.backend.clone());
        }
        report.jobs = report.jobs.max(r.jobs);
        report.wall_s += r.wall_s;
        report.interrupted |= r.interrupted;
        report.runs.extend(r.runs.iter().cloned());
        runs.extend(t.iter().cloned());
    }
    (report, runs)
}

/// One part of the study's worker-slot time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Part {
    pub name: &'static str,
    /// Worker-slot seconds.
    pub slot_s: f64,
    /// slot_s / (jobs × study wall).
    pub share: f64,
}

/// Where a study's wall time went, and its training images/s against bench-train's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Breakdown {
    pub runs: usize,
    pub jobs: usize,
    pub threads_per_run: usize,
    pub train_images: u64,
    /// The `clipbench run` process, start to exit.
    pub study_wall_s: f64,
    pub study_images_per_s: f64,
    /// bench-train's img/s per process, by strategy (as measured by the caller).
    pub bench_images_per_s_by_strategy: BTreeMap<String, f64>,
    /// The study's training images at bench-train speed, `jobs` processes at once: the
    /// denominator of the ratio.
    pub bench_images_per_s: f64,
    /// study_images_per_s / bench_images_per_s (the issue's goal: ≥ 0.85).
    pub ratio: f64,
    /// The runs' training steps at bench-train speed over their recorded training time
    /// (below 1: the steps themselves ran slower in the study than in bench-train).
    pub step_speed_vs_bench: f64,
    pub parts: Vec<Part>,
    /// False when some run did not record `load_wall_s` (its loading is then counted in the
    /// worker-process part).
    pub load_recorded: bool,
}

impl Breakdown {
    /// `bench` maps each run's strategy to bench-train's img/s per process at the study's
    /// threads per run, measured with `jobs` processes at once.
    pub fn compute(
        runs: &[RunTimes],
        report: &SweepReport,
        threads_per_run: usize,
        study_wall_s: f64,
        bench: &BTreeMap<String, f64>,
    ) -> Result<Breakdown, SweepError> {
        let jobs = report.jobs.max(1);
        let sum = |f: &dyn Fn(&RunTimes) -> f64| runs.iter().map(f).sum::<f64>();
        let train_images: u64 = runs.iter().map(|r| r.train_images).sum();
        let mut ideal_slot_s = 0.0;
        for r in runs {
            let rate = bench.get(&r.strategy).copied().filter(|v| *v > 0.0);
            let rate = rate.ok_or_else(|| SweepError::Run {
                run_id: r.run_id.clone(),
                message: format!("no bench-train figure for strategy {}", r.strategy),
            })?;
            ideal_slot_s += r.train_images as f64 / rate;
        }
        let slots = jobs as f64 * study_wall_s;
        let train = sum(&|r| r.train_wall_s);
        let eval = sum(&|r| r.eval_wall_s);
        let logging = sum(&|r| r.run_wall_s - r.train_wall_s - r.eval_wall_s);
        let load = sum(&|r| r.load_wall_s.unwrap_or(0.0));
        let process = sum(&|r| r.worker_wall_s - r.run_wall_s - r.load_wall_s.unwrap_or(0.0));
        let gaps = jobs as f64 * report.wall_s - sum(&|r| r.worker_wall_s);
        let runner = jobs as f64 * (study_wall_s - report.wall_s);
        let part = |name, slot_s: f64| Part {
            name,
            slot_s,
            share: slot_s / slots.max(1e-12),
        };
        let study_images_per_s = train_images as f64 / study_wall_s.max(1e-12);
        let bench_images_per_s = train_images as f64 / (ideal_slot_s / jobs as f64).max(1e-12);
        Ok(Breakdown {
            runs: runs.len(),
            jobs,
            threads_per_run,
            train_images,
            study_wall_s,
            study_images_per_s,
            bench_images_per_s_by_strategy: bench.clone(),
            bench_images_per_s,
            ratio: study_images_per_s / bench_images_per_s.max(1e-12),
            step_speed_vs_bench: ideal_slot_s / train.max(1e-12),
            load_recorded: runs.iter().all(|r| r.load_wall_s.is_some()),
            parts: vec![
                part("training steps", train),
                part("evaluation (validation + test)", eval),
                part("epoch records and flushes", logging),
                part("data loading + normalisation", load),
                part("worker process: start, setup, exit", process),
                part("scheduling gaps (idle worker slots)", gaps),
                part("runner process: start, plan, exit", runner),
            ],
        })
    }

    /// The human-readable report (what `clipbench bench-study` prints).
    pub fn text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "study: {} runs, {} jobs x {} thread(s): {} training images in {:.1} s = {:.0} img/s\n",
            self.runs,
            self.jobs,
            self.threads_per_run,
            self.train_images,
            self.study_wall_s,
            self.study_images_per_s
        ));
        let per: Vec<String> = self
            .bench_images_per_s_by_strategy
            .iter()
            .map(|(k, v)| format!("{k} {v:.0}"))
            .collect();
        s.push_str(&format!(
            "bench-train, {} processes x {} thread(s) at once: {:.0} img/s for this mix \
             (per process: {})\n",
            self.jobs,
            self.threads_per_run,
            self.bench_images_per_s,
            per.join(", ")
        ));
        s.push_str(&format!(
            "ratio (study / bench-train): {:.3}   (the steps alone ran at {:.3} of bench-train \
             speed)\n",
            self.ratio, self.step_speed_vs_bench
        ));
        s.push_str(&format!(
            "where the time went ({} worker slots x {:.1} s = {:.1} slot-s):\n",
            self.jobs,
            self.study_wall_s,
            self.jobs as f64 * self.study_wall_s
        ));
        for p in &self.parts {
            s.push_str(&format!(
                "  {:<38} {:>9.2} s  {:>5.1}%\n",
                p.name,
                p.slot_s,
                100.0 * p.share
            ));
        }
        if !self.load_recorded {
            s.push_str(
                "  (the runs' binary records no load_wall_s: data loading is inside the \
                 worker-process part)\n",
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RunReport;

    const STUDY: &str = r#"
name = "main"
dataset = "fashion-mnist"
strategies = ["none", "hard-clamp", "tanh-fixed"]
seeds = [1, 2, 3]
epochs = 8
stability_study = "lr-stability"

[optimizer]
kind = "adam"
lr = 1e-3

[tune]
budget = 8
seeds = [1001]

[tune.space]
"optimizer.lr" = { log = [3e-4, 1e-2] }

[tune.space.hard-clamp]
"model.clip.theta0" = { log = [0.5, 8.0] }

[tune.space.tanh-fixed]
"model.clip.theta0" = { log = [0.5, 8.0] }
"#;

    type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

    /// STUDY reduced by `r`, parsed back.
    fn reduced(r: &Reduction) -> Res<toml::Table> {
        Ok(reduce_study(STUDY, Path::new("main.toml"), r)?.parse()?)
    }

    #[test]
    fn reduce_cuts_strategies_seeds_epochs_and_drops_tuning() -> Res {
        let t = reduced(&Reduction {
            name: "bench-study".into(),
            strategies: Some(2),
            seeds: Some(vec![7]),
            epochs: Some(1),
            train_limit: Some(100),
            keep_tuning: false,
        })?;
        assert_eq!(t["name"].as_str(), Some("bench-study"));
        assert_eq!(t["strategies"].as_array().map(Vec::len), Some(2));
        assert_eq!(t["seeds"].as_array().map(Vec::len), Some(1));
        assert_eq!(t["epochs"].as_integer(), Some(1));
        assert_eq!(t["train_limit"].as_integer(), Some(100));
        assert!(!t.contains_key("tune") && !t.contains_key("stability_study"));
        assert_eq!(t["optimizer"]["lr"].as_float(), Some(1e-3));
        // The whole study: only the name and the companion study change.
        let whole = Reduction {
            name: "bench-study".into(),
            keep_tuning: true,
            ..Reduction::default()
        };
        let t = reduced(&whole)?;
        assert_eq!(t["tune"]["budget"].as_integer(), Some(8));
        assert!(t["tune"]["space"].get("tanh-fixed").is_some());
        assert_eq!(t["strategies"].as_array().map(Vec::len), Some(3));
        assert_eq!(t["epochs"].as_integer(), Some(8));
        assert!(!t.contains_key("stability_study"));
        // Cutting strategies with the tuning stage kept drops the cut ones' spaces too.
        let t = reduced(&Reduction {
            strategies: Some(2),
            ..whole
        })?;
        let space = t["tune"]["space"].as_table().ok_or("no tune.space")?;
        assert!(space.get("tanh-fixed").is_none() && space.get("hard-clamp").is_some());
        assert!(space.get("optimizer.lr").is_some());
        Ok(())
    }

    #[test]
    fn stages_merge_in_order_with_their_walls_added() {
        let stage = |id: &str, jobs: usize, wall_s: f64| {
            let mut rep = RunReport::new(id, Outcome::Completed);
            rep.wall_s = Some(wall_s - 0.5);
            let report = SweepReport {
                study: format!("s-{id}"),
                backend: "local".into(),
                jobs,
                wall_s,
                interrupted: false,
                runs: vec![rep],
            };
            (report, vec![run(id, "none")])
        };
        let (report, runs) = merge_stages(&[stage("a", 2, 3.0), stage("b", 1, 4.5)]);
        assert_eq!(report.study, "s-a");
        assert_eq!((report.jobs, report.wall_s), (2, 7.5));
        let ids: Vec<_> = runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(report.runs.len(), 2);
    }

    #[test]
    fn reduce_reports_bad_toml() {
        let e = reduce_study("name = ", Path::new("x.toml"), &Reduction::default());
        assert!(matches!(e, Err(SweepError::Spec { .. })));
    }

    fn run(id: &str, strategy: &str) -> RunTimes {
        RunTimes {
            run_id: id.into(),
            strategy: strategy.into(),
            train_images: 1000,
            worker_wall_s: 10.0,
            load_wall_s: Some(0.5),
            train_wall_s: 7.0,
            eval_wall_s: 2.0,
            run_wall_s: 9.25,
        }
    }

    /// Two runs on two slots in 10.5 s of runner time (11 s of process time): the parts
    /// add up to 2 × 11 s, and the ratio compares 2000 images in 11 s with 2000 images at
    /// 200 img/s per process on 2 processes (5 s).
    #[test]
    fn parts_add_up_to_the_slots() -> Result<(), SweepError> {
        let runs = vec![run("a", "none"), run("b", "none")];
        let mut reps = Vec::new();
        for r in &runs {
            let mut rep = RunReport::new(&r.run_id, Outcome::Completed);
            rep.wall_s = Some(r.worker_wall_s);
            reps.push(rep);
        }
        let report = SweepReport {
            study: "s".into(),
            backend: "local".into(),
            jobs: 2,
            wall_s: 10.5,
            interrupted: false,
            runs: reps,
        };
        let bench = BTreeMap::from([("none".to_string(), 200.0)]);
        let b = Breakdown::compute(&runs, &report, 1, 11.0, &bench)?;
        let total: f64 = b.parts.iter().map(|p| p.slot_s).sum();
        assert!((total - 22.0).abs() < 1e-9, "{total}");
        let by = |n: &str| {
            b.parts
                .iter()
                .find(|p| p.name.starts_with(n))
                .map(|p| p.slot_s)
        };
        assert_eq!(by("training"), Some(14.0));
        assert_eq!(by("evaluation"), Some(4.0));
        assert_eq!(by("epoch records"), Some(0.5));
        assert_eq!(by("data loading"), Some(1.0));
        assert_eq!(by("worker process"), Some(0.5));
        assert_eq!(by("scheduling"), Some(1.0));
        assert_eq!(by("runner"), Some(1.0));
        assert!((b.bench_images_per_s - 400.0).abs() < 1e-9);
        assert!((b.ratio - (2000.0 / 11.0) / 400.0).abs() < 1e-12);
        assert!((b.step_speed_vs_bench - 10.0 / 14.0).abs() < 1e-12);
        let missing = Breakdown::compute(&runs, &report, 1, 11.0, &BTreeMap::new());
        assert!(missing.is_err());
        Ok(())
    }
}
