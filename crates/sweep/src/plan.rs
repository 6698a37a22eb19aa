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

/// Which stage of a study a run belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// A tuning trial (`[tune]`), under `<study>/tuning/runs/`.
    Tune,
    /// The study's runs proper, under `<study>/runs/`.
    Final,
}

/// One planned run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedRun {
    pub stage: Stage,
    pub run_id: String,
    pub strategy: Strategy,
    pub seed: u64,
    /// The tuning trial this run belongs to (tune stage), or whose settings it uses (final
    /// stage of a tuned study).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial: Option<usize>,
    /// The grid values or tuned settings of this run (dotted key → value).
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
    /// What the analysis reads from `study.json`.
    pub settings: StudySettings,
}

/// `<results>/<study>/study.json` (**contract**, read by `clipbench report`): the study-level
/// settings the analysis needs, which no single run records.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StudySettings {
    pub study: String,
    /// The study file, as given to `clipbench run`.
    pub file: PathBuf,
    pub target_acc: Option<f64>,
    pub stability_study: Option<String>,
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
pub(crate) fn base_config(spec: &StudySpec, e: &StrategyEntry, seed: u64) -> RunConfig {
    let input = spec.model.input.unwrap_or(spec.dataset.shape());
    let mut model = ModelConfig::new(input, e.strategy);
    if let Some(w) = spec.model.widths {
        model.widths = w;
    }
    let d = spec.model.clip;
    model.clip.theta0 = e.clip.theta0.or(d.theta0).unwrap_or(model.clip.theta0);
    model.clip.beta = e.clip.beta.or(d.beta).unwrap_or(model.clip.beta);
    model.clip.per_channel = e.clip.per_channel.or(d.per_channel).unwrap_or(false);
    model.clip.theta_param = e
        .clip
        .theta_param
        .or(d.theta_param)
        .or(spec.theta_param)
        .unwrap_or_default();
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
        validation: Some(
            spec.validation
                .unwrap_or_else(|| spec.dataset.default_validation()),
        ),
        split_seed: spec.split_seed.unwrap_or(0),
        selection: spec.selection.unwrap_or_default(),
    }
}

pub(crate) struct Ctx<'a> {
    pub src: &'a Source,
    pub spec: &'a StudySpec,
    pub problems: Vec<Problem>,
}

impl Ctx<'_> {
    pub fn push(&mut self, p: Problem) {
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    pub fn at(&mut self, path: &[Seg], msg: impl Into<String>) {
        let p = self.src.problem_at_path(path, msg);
        self.push(p);
    }

    /// Where the base value of `key` for strategy entry `si` comes from.
    fn origin(&self, key: &str, si: usize) -> Vec<Seg> {
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

/// One setting a run takes from somewhere other than its strategy's base config: a grid
/// value, a tuned value, a tuning override. `origin` is where the study file says it.
#[derive(Clone, Debug)]
pub(crate) struct Setting {
    pub key: String,
    pub value: Json,
    pub origin: Vec<Seg>,
}

impl Ctx<'_> {
    /// The resolved config of strategy entry `si` with `seed` and `settings` applied in
    /// order; None (with the problems recorded) when it does not validate.
    pub(crate) fn resolve(
        &mut self,
        si: usize,
        seed: u64,
        settings: &[Setting],
    ) -> Option<RunConfig> {
        let spec = self.spec;
        let base = base_config(spec, &spec.strategies[si], seed);
        let cfg: RunConfig = if settings.is_empty() {
            base
        } else {
            let mut json = serde_json::to_value(&base).unwrap_or(Json::Null);
            for st in settings {
                json = grid::apply(&json, &st.key, &st.value);
            }
            match serde_json::from_value(json) {
                Ok(c) => c,
                Err(e) => {
                    let at = settings
                        .last()
                        .map(|s| s.origin.clone())
                        .unwrap_or_default();
                    self.at(&at, format!("does not fit the run config: {e}"));
                    return None;
                }
            }
        };
        let problems = cfg.problems();
        if !problems.is_empty() {
            for pr in problems {
                let k = pr.key;
                let path = settings
                    .iter()
                    .rev()
                    .find(|s| s.key == k)
                    .map(|s| s.origin.clone())
                    .unwrap_or_else(|| self.origin(&k, si));
                let mut p = self.src.problem_at_path(&path, &pr.message);
                if !self.src.has(&path) || path != keys(&k) {
                    // The place is a grid value, a tuned value or a strategy entry, or the
                    // key has no place in the file (a default): name the key too.
                    p = self
                        .src
                        .problem_at_path(&path, format!("{k}: {}", pr.message));
                    if !self.src.has(&path) {
                        p.key = Some(k);
                    }
                }
                self.push(p);
            }
            return None;
        }
        Some(cfg)
    }
}

/// Runs of one stage, in order: seed, then strategy, then variant. `variants[si]` lists the
/// settings of each run of strategy entry `si` per seed (a grid combination or a trial),
/// with its trial index and the params it shows.
struct StageRuns<'a> {
    stage: Stage,
    seeds: &'a [u64],
    variants: Vec<Vec<Variant>>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Variant {
    pub trial: Option<usize>,
    pub settings: Vec<Setting>,
    pub params: BTreeMap<String, Json>,
}

fn stage_runs(cx: &mut Ctx<'_>, st: &StageRuns<'_>) -> Vec<PlannedRun> {
    let spec = cx.spec;
    let mut runs = Vec::new();
    let mut ids = BTreeMap::<String, usize>::new();
    for &seed in st.seeds {
        for (si, entry) in spec.strategies.iter().enumerate() {
            for v in st.variants.get(si).into_iter().flatten() {
                let Some(cfg) = cx.resolve(si, seed, &v.settings) else {
                    continue;
                };
                let run_id = cfg.run_id();
                if let Some(prev) = ids.insert(run_id.clone(), runs.len()) {
                    let msg = match st.stage {
                        Stage::Final => format!("runs {prev} and {} are the same run {run_id}: remove the duplicate seed, strategy or grid value", runs.len()),
                        Stage::Tune => format!(
                            "two trials of {} draw the same settings (run {run_id}): the budget \
                             is larger than a space of `choice` keys only; add a continuous key \
                             or lower tune.budget",
                            entry.strategy
                        ),
                    };
                    cx.push(Problem::new(
                        None,
                        Some("tune".into()).filter(|_| st.stage == Stage::Tune),
                        msg,
                    ));
                }
                runs.push(PlannedRun {
                    stage: st.stage,
                    run_id,
                    strategy: entry.strategy,
                    seed,
                    trial: v.trial,
                    params: v.params.clone(),
                    dir: PathBuf::new(),
                    config: cfg,
                });
            }
        }
    }
    runs
}

/// The grid's combinations as variants (one empty variant without a grid).
fn grid_variants(axes: &[Axis]) -> Vec<Variant> {
    grid::combinations(axes)
        .into_iter()
        .map(|combo| {
            let mut v = Variant::default();
            for (axis, &vi) in axes.iter().zip(&combo) {
                v.settings.push(Setting {
                    key: axis.key.clone(),
                    value: axis.values[vi].clone(),
                    origin: vec![
                        Seg::Key("grid".into()),
                        Seg::Key(axis.key.clone()),
                        Seg::Index(vi),
                    ],
                });
                v.params.insert(axis.key.clone(), axis.values[vi].clone());
            }
            v
        })
        .collect()
}

fn finish(cx: Ctx<'_>) -> Result<(), SweepError> {
    if cx.problems.is_empty() {
        return Ok(());
    }
    let mut problems = cx.problems;
    // In file order; problems without a place last (stable: found order otherwise).
    problems.sort_by_key(|p| p.at.unwrap_or((usize::MAX, 0)));
    Err(SweepError::Spec {
        file: cx.src.path.clone(),
        problems,
    })
}

fn place(runs: &mut [PlannedRun], root: &Path) {
    for r in runs {
        r.dir = root.join("runs").join(&r.run_id);
    }
}

/// What every stage shares: the parsed spec, its name and grid.
#[derive(Debug)]
struct Parsed {
    spec: StudySpec,
    study: Option<String>,
    axes: Vec<Axis>,
}

fn parse(src: &Source, problems: &mut Vec<Problem>) -> Result<Parsed, SweepError> {
    let spec: StudySpec = toml::from_str(&src.text).map_err(|e| src.toml_error(&e))?;
    let mut cx = Ctx {
        src,
        spec: &spec,
        problems: Vec::new(),
    };
    let study = study_name(src, &spec).map_err(|p| cx.push(p)).ok();
    check_lists(&mut cx);
    if let Some(t) = spec.target_acc {
        if !(t.is_finite() && t > 0.0 && t <= 1.0) {
            cx.at(
                &keys("target_acc"),
                format!("expected a validation accuracy in (0, 1], got {t}"),
            );
        }
    }
    if let Some(s) = &spec.stability_study {
        let ok = !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            cx.at(
                &keys("stability_study"),
                format!("expected the name of a study (letters, digits, '-', '_', '.'), got {s:?}"),
            );
        }
    }
    let axes = check_grid(&mut cx);
    problems.extend(cx.problems);
    Ok(Parsed { spec, study, axes })
}

fn settings_of(spec: &StudySpec, study: &str, src: &Source) -> StudySettings {
    StudySettings {
        study: study.to_string(),
        file: src.path.clone(),
        target_acc: spec.target_acc,
        stability_study: spec.stability_study.clone(),
    }
}

/// The one-stage plan of a study without `[tune]`.
fn plan(src: &Source, results: &Path) -> Result<RunPlan, SweepError> {
    let mut problems = Vec::new();
    let p = parse(src, &mut problems)?;
    if p.spec.tune.is_some() {
        return Err(SweepError::spec(
            &src.path,
            src.problem_at_path(
                &keys("tune"),
                "this study tunes first: plan it with StudyPlan (clipbench run does)",
            ),
        ));
    }
    final_plan(src, &p, &[], results, problems)
}

/// The final stage: every strategy with its overrides (tuned settings) and the grid.
fn final_plan(
    src: &Source,
    p: &Parsed,
    overrides: &[Variant],
    results: &Path,
    problems: Vec<Problem>,
) -> Result<RunPlan, SweepError> {
    let spec = &p.spec;
    let mut cx = Ctx {
        src,
        spec,
        problems,
    };
    let grid = grid_variants(&p.axes);
    let variants = (0..spec.strategies.len())
        .map(|si| {
            grid.iter()
                .map(|g| match overrides.get(si) {
                    Some(o) => Variant {
                        trial: o.trial,
                        settings: o.settings.iter().chain(&g.settings).cloned().collect(),
                        params: o
                            .params
                            .iter()
                            .chain(&g.params)
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    },
                    None => g.clone(),
                })
                .collect()
        })
        .collect();
    let mut runs = stage_runs(
        &mut cx,
        &StageRuns {
            stage: Stage::Final,
            seeds: &spec.seeds,
            variants,
        },
    );
    if runs.is_empty() && cx.problems.is_empty() {
        cx.push(Problem::new(None, None, "the study plans no runs"));
    }
    let study = p.study.clone();
    finish(cx)?;
    let study = study.unwrap_or_default();
    let root = results.join(&study);
    place(&mut runs, &root);
    Ok(RunPlan {
        settings: settings_of(spec, &study, src),
        study,
        file: src.path.clone(),
        root,
        dataset: spec.dataset,
        threads: spec.threads.unwrap_or(1),
        runs,
    })
}

/// A study file: one stage, or tuning then the final stage.
#[derive(Debug)]
pub enum StudyPlan {
    Plain(RunPlan),
    Tuned(Box<TunedStudy>),
}

impl StudyPlan {
    pub fn load(file: &Path, results: &Path) -> Result<StudyPlan, SweepError> {
        study_plan(Source::read(file)?, results)
    }

    pub fn from_text(file: &Path, text: &str, results: &Path) -> Result<StudyPlan, SweepError> {
        study_plan(Source::from_bytes(file, text.as_bytes().to_vec())?, results)
    }
}

fn study_plan(src: Source, results: &Path) -> Result<StudyPlan, SweepError> {
    let mut problems = Vec::new();
    let p = parse(&src, &mut problems)?;
    let Some(tune) = p.spec.tune.clone() else {
        return final_plan(&src, &p, &[], results, problems).map(StudyPlan::Plain);
    };
    let mut cx = Ctx {
        src: &src,
        spec: &p.spec,
        problems,
    };
    let space = crate::tune::check(&mut cx, &tune, &p.axes);
    let trials = space
        .as_ref()
        .map(|s| crate::tune::trial_variants(&mut cx, &tune, s))
        .unwrap_or_default();
    // The final stage's base configs must be valid too (the tuned values replace some keys).
    for si in 0..p.spec.strategies.len() {
        for &seed in &p.spec.seeds {
            cx.resolve(si, seed, &[]);
        }
    }
    let mut runs = stage_runs(
        &mut cx,
        &StageRuns {
            stage: Stage::Tune,
            seeds: &tune.seeds,
            variants: trials.clone(),
        },
    );
    let problems = cx.problems;
    if !problems.is_empty() {
        finish(Ctx {
            src: &src,
            spec: &p.spec,
            problems,
        })?;
    }
    let study = p.study.clone().unwrap_or_default();
    let root = results.join(&study);
    let tune_root = root.join(crate::tune::TUNING_DIR);
    place(&mut runs, &tune_root);
    let settings = settings_of(&p.spec, &study, &src);
    let tune_plan = RunPlan {
        // The tuning runs are a study of their own for the analysis, with no target or
        // companion study of the final stage's.
        settings: StudySettings {
            target_acc: None,
            stability_study: None,
            ..settings.clone()
        },
        study: format!("{study}-tuning"),
        file: src.path.clone(),
        root: tune_root,
        dataset: p.spec.dataset,
        threads: p.spec.threads.unwrap_or(1),
        runs,
    };
    Ok(StudyPlan::Tuned(Box::new(TunedStudy {
        study,
        root,
        results: results.to_path_buf(),
        settings,
        space: space.unwrap_or_default(),
        trials,
        tune: tune_plan,
        tune_spec: tune,
        parsed: p,
        src,
    })))
}

/// A study with `[tune]`: the tuning runs, and the final stage once they are done.
#[derive(Debug)]
pub struct TunedStudy {
    pub study: String,
    /// `<results>/<study>`.
    pub root: PathBuf,
    results: PathBuf,
    pub settings: StudySettings,
    /// Per strategy entry: the tuned keys and their distributions.
    pub space: Vec<crate::tune::StrategySpace>,
    /// Per strategy entry: the trials (settings per trial).
    pub(crate) trials: Vec<Vec<Variant>>,
    /// The tuning runs, under `<study>/tuning/runs/`.
    pub tune: RunPlan,
    pub tune_spec: crate::tune::TuneSpec,
    parsed: Parsed,
    src: Source,
}

impl TunedStudy {
    pub fn strategies(&self) -> Vec<Strategy> {
        self.parsed
            .spec
            .strategies
            .iter()
            .map(|e| e.strategy)
            .collect()
    }

    pub fn final_seeds(&self) -> &[u64] {
        &self.parsed.spec.seeds
    }

    /// Trial `t` of strategy entry `si`: its settings as (key, value).
    pub fn trial_settings(&self, si: usize, t: usize) -> BTreeMap<String, Json> {
        self.trials
            .get(si)
            .and_then(|v| v.get(t))
            .map(|v| v.params.clone())
            .unwrap_or_default()
    }

    /// The final stage with strategy entry `si` at its selected trial `selected[si]`.
    pub fn final_plan(&self, selected: &[usize]) -> Result<RunPlan, SweepError> {
        // The trial's tuned values only: its epochs / train_limit belong to the tuning stage.
        let overrides: Vec<Variant> = selected
            .iter()
            .enumerate()
            .map(|(si, &t)| {
                let mut v = self.trials[si][t].clone();
                v.settings.retain(|s| v.params.contains_key(&s.key));
                v
            })
            .collect();
        final_plan(
            &self.src,
            &self.parsed,
            &overrides,
            &self.results,
            Vec::new(),
        )
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
