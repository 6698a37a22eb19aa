//! A study directory (`results/<study>/`): its complete runs with their manifests and
//! summaries, the incomplete ones it skipped, and the grid the runs span.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{AnalysisError, Result};
use clipbench_core::manifest::Manifest as CoreManifest;
use clipbench_core::records::{
    RunStatus, Summary, MANIFEST, METRICS, OLDEST_SCHEMA, SCHEMA_VERSION, SUMMARY, TIMING,
};
use serde::Deserialize;

/// A manifest as the analysis reads it: the config as plain JSON (a schema 1 run's config is
/// read as written; grid detection walks its leaves).
pub type Manifest = CoreManifest<serde_json::Value>;

/// The strategy everything is compared against.
pub const BASELINE: &str = "none";

/// Registry order (`clipbench_core::strategy::REGISTRY`); names this build does not know sort
/// after, by name.
pub fn strategy_rank(s: &str) -> (usize, String) {
    clipbench_core::strategy::rank_by_name(s)
}

/// One complete run.
#[derive(Clone, Debug)]
pub struct Run {
    pub dir: PathBuf,
    pub run_id: String,
    pub strategy: String,
    pub seed: u64,
    pub summary: Summary,
    pub manifest: Manifest,
    /// Index into [`Study::groups`].
    pub group: usize,
    /// θ0 per clip layer from the config (`model.clip.theta0`), named like `final_theta`.
    pub theta0: BTreeMap<String, f64>,
    /// Training seconds of each finished epoch (timing.jsonl; empty when it is missing).
    pub epoch_train_s: Vec<f64>,
}

impl Run {
    pub fn diverged(&self) -> bool {
        self.summary.status == RunStatus::Diverged
    }

    pub fn metrics_path(&self) -> PathBuf {
        self.dir.join(METRICS)
    }

    /// Seconds of training, evaluation excluded: the summary's `train_wall_s` where the summary
    /// records evaluation apart (`eval_wall_s`); for older runs, whose `train_wall_s` includes
    /// evaluation, the sum of timing.jsonl's per-epoch training seconds when it covers every
    /// finished epoch of a run that did not diverge (a diverged run's last, partial epoch has
    /// no timing line); else NaN (unknown), never the total with evaluation in it.
    pub fn train_s(&self) -> f64 {
        if let Some(t) = self.summary.training_wall_s() {
            return t;
        }
        let n = self.summary.epochs_completed as usize;
        if !self.diverged() && n > 0 && self.epoch_train_s.len() == n {
            self.epoch_train_s.iter().sum()
        } else {
            f64::NAN
        }
    }

    /// Seconds of evaluation (NaN for runs that did not record it).
    pub fn eval_s(&self) -> f64 {
        self.summary.eval_wall_s.unwrap_or(f64::NAN)
    }

    /// `optimizer.lr` of the run's config.
    pub fn lr(&self) -> Option<f64> {
        config_leaf(&self.manifest.config, "optimizer.lr").and_then(|v| v.as_f64())
    }
}

/// A strategy at one grid point: the unit every table row and figure line is about.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub strategy: String,
    /// Values of the study's grid keys at this point (empty without a grid).
    pub grid: Vec<(String, serde_json::Value)>,
    /// Index of the grid point (groups of one point share it); 0 without a grid.
    pub point: usize,
}

impl Group {
    /// "tanh-learnable" or "tanh-learnable @ lr=0.003".
    pub fn label(&self) -> String {
        if self.grid.is_empty() {
            self.strategy.clone()
        } else {
            format!("{} @ {}", self.strategy, grid_label(&self.grid))
        }
    }
}

/// "lr=0.003, beta=5": the last component of each dotted key.
pub fn grid_label(grid: &[(String, serde_json::Value)]) -> String {
    grid.iter()
        .map(|(k, v)| format!("{}={}", short_key(k), value_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn short_key(k: &str) -> &str {
    k.rsplit('.').next().unwrap_or(k)
}

pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => format!("{f}"),
            _ => n.to_string(),
        },
        serde_json::Value::Array(a) => {
            format!(
                "[{}]",
                a.iter().map(value_text).collect::<Vec<_>>().join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// A run directory left out, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    pub dir: PathBuf,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct Study {
    pub root: PathBuf,
    pub name: String,
    /// Sorted by group, then seed.
    pub runs: Vec<Run>,
    pub groups: Vec<Group>,
    pub skipped: Vec<Skipped>,
    /// Dotted config keys that take more than one value within some strategy (e.g.
    /// `optimizer.lr` in lr-stability); seeds are not grid keys.
    pub grid_keys: Vec<String>,
    /// Clip layers (`clip1`, `clip2`) seen in any summary's final θ or θ0.
    pub layers: Vec<String>,
    /// Study-level settings the runner recorded in `study.json` (defaults without one).
    pub settings: StudySettings,
    /// The tuning stage's selection (`tuning/selected.json`), for a study with `[tune]`.
    pub tuning: Option<crate::tuning::Tuning>,
}

/// `<study>/study.json`, written by `clipbench run`: what the analysis needs from the study
/// file (**contract**; unknown fields are ignored).
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
pub struct StudySettings {
    /// Validation accuracy that counts as "reached" for time to target.
    #[serde(default)]
    pub target_acc: Option<f64>,
    /// A sibling study (same results directory) with an lr grid: the stability half of this
    /// study's answer.
    #[serde(default)]
    pub stability_study: Option<String>,
}

pub const STUDY_FILE: &str = "study.json";

impl StudySettings {
    /// Reads `root/study.json`; a missing file gives the defaults, a bad one is an error.
    pub fn load(root: &Path) -> Result<StudySettings> {
        let path = root.join(STUDY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| AnalysisError::Json {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StudySettings::default()),
            Err(e) => Err(AnalysisError::io(&path, e)),
        }
    }
}

impl Study {
    /// Reads `root/runs/*/`. Runs without a parseable summary.json are skipped and listed;
    /// a complete run with a missing or bad manifest, a missing metrics.jsonl or an unknown
    /// schema_version is an error naming the file.
    pub fn load(root: &Path) -> Result<Study> {
        let runs_dir = root.join("runs");
        if !runs_dir.is_dir() {
            return Err(AnalysisError::NotAStudy {
                path: root.to_path_buf(),
                runs: runs_dir,
            });
        }
        let entries = std::fs::read_dir(&runs_dir).map_err(|e| AnalysisError::io(&runs_dir, e))?;
        let mut dirs: Vec<PathBuf> = Vec::new();
        for e in entries {
            let e = e.map_err(|e| AnalysisError::io(&runs_dir, e))?;
            if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
        dirs.sort();
        let mut loaded = Vec::new();
        let mut skipped = Vec::new();
        for dir in dirs {
            match load_run(&dir)? {
                Ok(run) => loaded.push(run),
                Err(reason) => skipped.push(Skipped { dir, reason }),
            }
        }
        if loaded.is_empty() {
            let list: String = skipped
                .iter()
                .map(|s| format!("\n  skipped {}: {}", s.dir.display(), s.reason))
                .collect();
            return Err(AnalysisError::NoRuns {
                path: runs_dir,
                skipped: list,
            });
        }
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| root.display().to_string());
        let mut study = Self::assemble(root.to_path_buf(), name, loaded, skipped);
        study.settings = StudySettings::load(root)?;
        study.tuning = crate::tuning::Tuning::load(root)?;
        Ok(study)
    }

    fn assemble(
        root: PathBuf,
        name: String,
        loaded: Vec<LoadedRun>,
        skipped: Vec<Skipped>,
    ) -> Study {
        let flat: Vec<BTreeMap<String, serde_json::Value>> = loaded
            .iter()
            .map(|r| {
                let mut m = BTreeMap::new();
                flatten("", &r.manifest.config, &mut m);
                m
            })
            .collect();
        let grid_keys = grid_keys(&loaded, &flat);
        // Groups: (strategy, grid values), ordered by strategy rank then grid values.
        let mut points: Vec<Vec<(String, serde_json::Value)>> = Vec::new();
        let mut keys: Vec<((usize, String), usize)> = Vec::new();
        for (r, f) in loaded.iter().zip(&flat) {
            let g: Vec<(String, serde_json::Value)> = grid_keys
                .iter()
                .map(|k| {
                    (
                        k.clone(),
                        f.get(k).cloned().unwrap_or(serde_json::Value::Null),
                    )
                })
                .collect();
            let p = match points.iter().position(|p| *p == g) {
                Some(p) => p,
                None => {
                    points.push(g);
                    points.len() - 1
                }
            };
            keys.push((strategy_rank(&r.summary.strategy), p));
        }
        // Grid points in numeric order of their values.
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| cmp_grid(&points[a], &points[b]));
        let rank_of_point: Vec<usize> = {
            let mut v = vec![0; points.len()];
            for (rank, &p) in order.iter().enumerate() {
                v[p] = rank;
            }
            v
        };
        let mut group_keys: Vec<((usize, String), usize)> = keys
            .iter()
            .map(|(s, p)| (s.clone(), rank_of_point[*p]))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        group_keys.sort();
        let groups: Vec<Group> = group_keys
            .iter()
            .map(|((_, s), point)| Group {
                strategy: s.clone(),
                grid: points[order[*point]].clone(),
                point: *point,
            })
            .collect();
        let mut runs: Vec<Run> = loaded
            .into_iter()
            .zip(keys)
            .map(|(r, (s, p))| {
                let group = group_keys
                    .iter()
                    .position(|k| *k == (s.clone(), rank_of_point[p]))
                    .unwrap_or(0);
                let theta0 = theta0(&r.manifest.config);
                Run {
                    run_id: r.summary.run_id.clone(),
                    strategy: r.summary.strategy.clone(),
                    seed: r.summary.seed,
                    dir: r.dir,
                    summary: r.summary,
                    manifest: r.manifest,
                    group,
                    theta0,
                    epoch_train_s: r.epoch_train_s,
                }
            })
            .collect();
        runs.sort_by(|a, b| (a.group, a.seed, &a.run_id).cmp(&(b.group, b.seed, &b.run_id)));
        let mut layers = BTreeSet::new();
        for r in &runs {
            layers.extend(r.summary.final_theta.keys().cloned());
            layers.extend(r.theta0.keys().cloned());
        }
        Study {
            root,
            name,
            runs,
            groups,
            skipped,
            grid_keys,
            layers: layers.into_iter().collect(),
            settings: StudySettings::default(),
            tuning: None,
        }
    }

    /// Runs of group `g`, by seed.
    pub fn runs_of(&self, g: usize) -> impl Iterator<Item = &Run> {
        self.runs.iter().filter(move |r| r.group == g)
    }

    /// Number of grid points (1 without a grid).
    pub fn n_points(&self) -> usize {
        self.groups.iter().map(|g| g.point + 1).max().unwrap_or(1)
    }
}

struct LoadedRun {
    dir: PathBuf,
    summary: Summary,
    manifest: Manifest,
    epoch_train_s: Vec<f64>,
}

/// `train_wall_s` of each epoch from timing.jsonl; empty when the file is missing (it is
/// wall-clock data, never needed for a result), an error naming the line when it is bad.
fn epoch_train_s(dir: &Path) -> Result<Vec<f64>> {
    #[derive(serde::Deserialize)]
    struct Timing {
        train_wall_s: f64,
    }
    let path = dir.join(TIMING);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AnalysisError::io(&path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<Timing>(l)
                .map(|t| t.train_wall_s)
                .map_err(|e| AnalysisError::JsonLine {
                    path: path.clone(),
                    line: i + 1,
                    message: e.to_string(),
                })
        })
        .collect()
}

/// Ok(Ok(run)) for a complete run, Ok(Err(reason)) for one to skip, Err for bad input.
fn load_run(dir: &Path) -> Result<Result<LoadedRun, String>> {
    let summary_path = dir.join(SUMMARY);
    let bytes = match std::fs::read(&summary_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Err("incomplete: no summary.json".into()))
        }
        Err(e) => return Err(AnalysisError::io(&summary_path, e)),
    };
    let summary: Summary =
        match parse_versioned::<Summary>(&summary_path, &bytes).map(Summary::upgrade) {
            Ok(s) => s,
            Err(e @ AnalysisError::Schema { .. }) => return Err(e),
            Err(e) => return Ok(Err(format!("incomplete: {e}"))),
        };
    let manifest_path = dir.join(MANIFEST);
    let manifest: Manifest = read_versioned(&manifest_path)?;
    if manifest.run_id != summary.run_id || manifest.strategy != summary.strategy {
        return Err(AnalysisError::Invalid {
            path: summary_path,
            message: format!(
                "run {} ({}) does not match its manifest.json: run {} ({})",
                summary.run_id, summary.strategy, manifest.run_id, manifest.strategy
            ),
        });
    }
    let metrics = dir.join(METRICS);
    if !metrics.is_file() {
        return Err(AnalysisError::Invalid {
            path: metrics,
            message: "missing (the run's summary.json says it is complete)".into(),
        });
    }
    Ok(Ok(LoadedRun {
        dir: dir.to_path_buf(),
        summary,
        manifest,
        epoch_train_s: epoch_train_s(dir)?,
    }))
}

/// Reads a JSON file whose `schema_version` must be one this crate reads.
fn read_versioned<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| AnalysisError::io(path, e))?;
    parse_versioned(path, &bytes)
}

fn parse_versioned<T: for<'de> Deserialize<'de>>(path: &Path, bytes: &[u8]) -> Result<T> {
    let json_err = |e: serde_json::Error| AnalysisError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(json_err)?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if (u64::from(OLDEST_SCHEMA)..=u64::from(SCHEMA_VERSION)).contains(&v) => {}
        Some(found) => {
            return Err(AnalysisError::Schema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            })
        }
        None => {
            return Err(AnalysisError::Json {
                path: path.to_path_buf(),
                message: "no integer \"schema_version\"".into(),
            })
        }
    }
    serde_json::from_value(value).map_err(json_err)
}

/// Dotted paths of the config's leaves; arrays are leaves (θ0 = [1, 2] is one value).
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

pub fn config_leaf<'a>(
    config: &'a serde_json::Value,
    dotted: &str,
) -> Option<&'a serde_json::Value> {
    dotted.split('.').try_fold(config, |v, k| v.get(k))
}

/// Keys (other than seed and strategy) with more than one value among one strategy's runs.
fn grid_keys(loaded: &[LoadedRun], flat: &[BTreeMap<String, serde_json::Value>]) -> Vec<String> {
    let mut by_strategy: BTreeMap<&str, Vec<&BTreeMap<String, serde_json::Value>>> =
        BTreeMap::new();
    for (r, f) in loaded.iter().zip(flat) {
        by_strategy
            .entry(r.summary.strategy.as_str())
            .or_default()
            .push(f);
    }
    let mut keys = BTreeSet::new();
    for configs in by_strategy.values() {
        let all: BTreeSet<&String> = configs.iter().flat_map(|c| c.keys()).collect();
        for k in all {
            if k == "seed" || k == "model.clip.strategy" {
                continue;
            }
            let first = configs[0].get(k);
            if configs.iter().any(|c| c.get(k) != first) {
                keys.insert(k.clone());
            }
        }
    }
    keys.into_iter().collect()
}

fn cmp_grid(
    a: &[(String, serde_json::Value)],
    b: &[(String, serde_json::Value)],
) -> std::cmp::Ordering {
    for ((_, x), (_, y)) in a.iter().zip(b) {
        let o = match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => value_text(x).cmp(&value_text(y)),
        };
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// `model.clip.theta0 = [t1, t2]` → {clip1: t1, clip2: t2}.
fn theta0(config: &serde_json::Value) -> BTreeMap<String, f64> {
    config_leaf(config, "model.clip.theta0")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_f64().map(|t| (format!("clip{}", i + 1), t)))
                .collect()
        })
        .unwrap_or_default()
}
