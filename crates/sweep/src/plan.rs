//! A study file → a validated [`RunPlan`]: every run's resolved `RunConfig`, run id and
//! directory, checked before anything trains. All problems are reported at once, each with
//! file, line, column and key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clipbench_clip::Strategy;
use clipbench_data::DatasetName;
use clipbench_nn::model::ModelConfig;
use clipbench_train::RunConfig;
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::{Problem, SweepError};
use crate::grid::{self, Axis};
use crate::source::{keys, Seg, Source};
use crate::spec::{StrategyEntry, StudySpec};

/// One planned run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedRun {
    pub run_id: String,
    pub strategy: Strategy,
    pub seed: u64,
    /// The grid values of this run (dotted key → value).
    pub params: BTreeMap<String, Json>,
    /// `<results>/<study>/runs/<run-id>`.
    pub dir: PathBuf,
    pub config: RunConfig,
}

/// A study's runs, in order: seed, then strategy, then grid combination.
#[derive(Clone, Debug, PartialEq)]
pub struct RunPlan {
    pub study: String,
    pub file: PathBuf,
    /// `<results>/<study>`.
    pub root: PathBuf,
    pub dataset: DatasetName,
    pub threads: usize,
    pub runs: Vec<PlannedRun>,
}

impl RunPlan {
    /// Reads, parses and validates `file`; runs go under `<results>/<study>/runs/`.
    pub fn load(file: &Path, results: &Path) -> Result<RunPlan, SweepError> {
        let src = Source::read(file)?;
        plan(&src, results)
    }

    /// As [`RunPlan::load`], from text (tests).
    pub fn from_text(file: &Path, text: &str, results: &Path) -> Result<RunPlan, SweepError> {
        let src = Source::from_bytes(file, text.as_bytes().to_vec())?;
        plan(&src, results)
    }
}

fn study_name(src: &Source, spec: &StudySpec) -> Result<String, Problem> {
    let (name, explicit) = match &spec.name {
        Some(n) => (n.clone(), true),
        None => (
            src.path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            false,
        ),
    };
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name)
    } else if explicit {
        Err(src.problem_at_path(
            &keys("name"),
            format!("expected letters, digits, '-', '_' or '.', got {name:?}"),
        ))
    } else {
        Err(Problem::new(
            None,
            Some("name".into()),
            format!("the file name gives the study name {name:?}, which is not usable as a directory name: set `name = \"...\"`"),
        ))
    }
}

/// The run config of one strategy entry before grid values (as JSON: grids edit it).
fn base_config(spec: &StudySpec, e: &StrategyEntry, seed: u64) -> RunConfig {
    let input = spec.model.input.unwrap_or(spec.dataset.shape());
    let mut model = ModelConfig::new(input, e.strategy);
    if let Some(w) = spec.model.widths {
        model.widths = w;
    }
    let d = spec.model.clip;
    model.clip.theta0 = e.clip.theta0.or(d.theta0).unwrap_or(model.clip.theta0);
    model.clip.beta = e.clip.beta.or(d.beta).unwrap_or(model.clip.beta);
    model.clip.per_channel = e.clip.per_channel.or(d.per_channel).unwrap_or(false);
    RunConfig {
        dataset: spec.dataset,
        model,
        optimizer: spec.optimizer,
        schedule: spec.schedule,
        epochs: spec.epochs,
        batch_size: spec.batch_size.unwrap_or(64),
        log_every: spec.log_every.unwrap_or(50),
        seed,
        threads: spec.threads.unwrap_or(1),
        train_limit: spec.train_limit,
        test_limit: spec.test_limit,
        device: spec.device,
    }
}

/// The key a validation message is about (messages start with their key, or name θ0 / β).
fn problem_key(msg: &str) -> Option<String> {
    let m = msg.strip_prefix("invalid model config: ").unwrap_or(msg);
    if m.contains("θ0") {
        return Some("model.clip.theta0".into());
    }
    if m.starts_with("β") {
        return Some("model.clip.beta".into());
    }
    let end = m.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '/'))?;
    let key = m[..end].split('/').next()?;
    (!key.is_empty() && (m[end..].starts_with(':') || m[end..].starts_with(" =")))
        .then(|| key.to_string())
}

struct Ctx<'a> {
    src: &'a Source,
    spec: &'a StudySpec,
    problems: Vec<Problem>,
}

impl Ctx<'_> {
    fn push(&mut self, p: Problem) {
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    fn at(&mut self, path: &[Seg], msg: impl Into<String>) {
        let p = self.src.problem_at_path(path, msg);
        self.push(p);
    }

    /// Where the value of `key` for strategy entry `si` and grid choice `combo` comes from.
    fn origin(&self, key: &str, si: usize, axes: &[Axis], combo: &[usize]) -> Vec<Seg> {
        if let Some((ai, _)) = axes.iter().enumerate().find(|(_, a)| a.key == key) {
            return vec![
                Seg::Key("grid".into()),
                Seg::Key(key.into()),
                Seg::Index(combo[ai]),
            ];
        }
        if let Some(field) = key.strip_prefix("model.clip.") {
            let entry = vec![
                Seg::Key("strategies".into()),
                Seg::Index(si),
                Seg::Key(field.into()),
            ];
            if self.src.has(&entry) {
                return entry;
            }
        }
        keys(key)
    }
}

fn plan(src: &Source, results: &Path) -> Result<RunPlan, SweepError> {
    let spec: StudySpec = toml::from_str(&src.text).map_err(|e| src.toml_error(&e))?;
    let mut cx = Ctx {
        src,
        spec: &spec,
        problems: Vec::new(),
    };
    let study = study_name(src, &spec).map_err(|p| cx.push(p)).ok();
    check_lists(&mut cx);
    let axes = check_grid(&mut cx);
    let mut runs = Vec::new();
    let mut ids = BTreeMap::<String, usize>::new();
    let combos = grid::combinations(&axes);
    for &seed in &spec.seeds {
        for (si, entry) in spec.strategies.iter().enumerate() {
            let base = base_config(&spec, entry, seed);
            let base_json = serde_json::to_value(&base).unwrap_or(Json::Null);
            for combo in &combos {
                let mut json = base_json.clone();
                let mut params = BTreeMap::new();
                for (axis, &vi) in axes.iter().zip(combo) {
                    json = grid::apply(&json, &axis.key, &axis.values[vi]);
                    params.insert(axis.key.clone(), axis.values[vi].clone());
                }
                // Without a grid the base is the config; with one, a non-finite base value
                // (inf, nan: JSON has none) fails the round trip and validate() names it.
                let cfg: RunConfig = if axes.is_empty() {
                    base.clone()
                } else {
                    serde_json::from_value(json).unwrap_or_else(|_| base.clone())
                };
                if let Err(e) = cfg.validate() {
                    let text = e.to_string();
                    let text = text.strip_prefix("invalid run config: ").unwrap_or(&text);
                    for msg in text.split("; ") {
                        let p = match problem_key(msg) {
                            Some(k) => {
                                let path = cx.origin(&k, si, &axes, combo);
                                // Messages start with their key: say it once.
                                let msg = match msg.strip_prefix(&format!("{k}: ")) {
                                    Some(rest) if path == keys(&k) => rest,
                                    _ => msg,
                                };
                                let mut p = src.problem_at_path(&path, msg);
                                if !src.has(&path) {
                                    p.key = Some(k);
                                }
                                p
                            }
                            None => Problem::new(None, None, msg),
                        };
                        cx.push(p);
                    }
                    continue;
                }
                let run_id = cfg.run_id();
                if let Some(prev) = ids.insert(run_id.clone(), runs.len()) {
                    cx.push(Problem::new(
                        None,
                        None,
                        format!("runs {prev} and {} are the same run {run_id}: remove the duplicate seed, strategy or grid value", runs.len()),
                    ));
                }
                runs.push(PlannedRun {
                    run_id,
                    strategy: entry.strategy,
                    seed,
                    params,
                    dir: PathBuf::new(),
                    config: cfg,
                });
            }
        }
    }
    if runs.is_empty() && cx.problems.is_empty() {
        cx.push(Problem::new(None, None, "the study plans no runs"));
    }
    match (study, cx.problems.is_empty()) {
        (Some(study), true) => {
            let root = results.join(&study);
            for r in &mut runs {
                r.dir = root.join("runs").join(&r.run_id);
            }
            Ok(RunPlan {
                study,
                file: src.path.clone(),
                root,
                dataset: spec.dataset,
                threads: spec.threads.unwrap_or(1),
                runs,
            })
        }
        _ => {
            let mut problems = cx.problems;
            // In file order; problems without a place last (stable: found order otherwise).
            problems.sort_by_key(|p| p.at.unwrap_or((usize::MAX, 0)));
            Err(SweepError::Spec {
                file: src.path.clone(),
                problems,
            })
        }
    }
}

/// Non-empty strategy and seed lists without duplicates.
fn check_lists(cx: &mut Ctx<'_>) {
    let spec = cx.spec;
    if spec.strategies.is_empty() {
        cx.at(
            &keys("strategies"),
            format!("empty list: name at least one of {}", Strategy::names()),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, e) in spec.strategies.iter().enumerate() {
        if !seen.insert(e.strategy) {
            cx.at(
                &[Seg::Key("strategies".into()), Seg::Index(i)],
                format!(
                    "duplicate strategy {}: list each strategy once (sweep its settings with [grid])",
                    e.strategy
                ),
            );
        }
    }
    if spec.seeds.is_empty() {
        cx.at(
            &keys("seeds"),
            "empty list: give at least one seed, e.g. seeds = [1, 2, 3]",
        );
    }
    let mut seen = BTreeSet::new();
    for (i, s) in spec.seeds.iter().enumerate() {
        if !seen.insert(*s) {
            cx.at(
                &[Seg::Key("seeds".into()), Seg::Index(i)],
                format!("duplicate seed {s}"),
            );
        }
    }
}

/// Grid keys and values checked against the first strategy's config; returns the valid axes.
fn check_grid(cx: &mut Ctx<'_>) -> Vec<Axis> {
    let spec = cx.spec;
    let Some(first) = spec.strategies.first() else {
        return Vec::new();
    };
    let base = serde_json::to_value(base_config(spec, first, 0)).unwrap_or(Json::Null);
    let mut axes = Vec::new();
    for (key, values) in &spec.grid {
        let here = vec![Seg::Key("grid".into()), Seg::Key(key.clone())];
        if let Err(m) = grid::check_key(&base, key) {
            cx.at(&here, m);
            continue;
        }
        if values.is_empty() {
            cx.at(&here, "empty list: give at least one value");
            continue;
        }
        if let Some(field) = key.strip_prefix("model.clip.") {
            for (si, e) in spec.strategies.iter().enumerate() {
                let entry = vec![
                    Seg::Key("strategies".into()),
                    Seg::Index(si),
                    Seg::Key(field.into()),
                ];
                if cx.src.has(&entry) {
                    cx.at(
                        &entry,
                        format!(
                            "strategy {} sets {field}, which [grid] also sweeps (\"{key}\"): keep one",
                            e.strategy
                        ),
                    );
                }
            }
        }
        let mut ok = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let mut at = here.clone();
            at.push(Seg::Index(i));
            let j = match grid::convert(&base, key, v) {
                Ok(j) => j,
                Err(m) => {
                    cx.at(&at, m);
                    continue;
                }
            };
            if let Err(e) = serde_json::from_value::<RunConfig>(grid::apply(&base, key, &j)) {
                cx.at(&at, format!("value {v} does not fit `{key}`: {e}"));
                continue;
            }
            if ok.contains(&j) {
                cx.at(&at, format!("duplicate value {v}"));
                continue;
            }
            ok.push(j);
        }
        if ok.len() == values.len() {
            axes.push(Axis {
                key: key.clone(),
                values: ok,
            });
        }
    }
    axes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_name_their_key() {
        assert_eq!(
            problem_key("optimizer.lr: expected a finite value > 0, got -1").as_deref(),
            Some("optimizer.lr")
        );
        assert_eq!(
            problem_key("epochs: expected >= 1, got 0").as_deref(),
            Some("epochs")
        );
        assert_eq!(
            problem_key("train_limit/test_limit: expected >= 1 when given").as_deref(),
            Some("train_limit")
        );
        assert_eq!(
            problem_key("invalid model config: threshold θ0 = -1 for pact: expected").as_deref(),
            Some("model.clip.theta0")
        );
        assert_eq!(
            problem_key("model.input = [1, 28, 28]: data set cifar10 has").as_deref(),
            Some("model.input")
        );
        assert_eq!(problem_key("something else entirely"), None);
    }
}
