//! A study with `[tune]`: the tuning stage planned up front, and the final stage once each
//! strategy's trial is selected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clipbench_clip::Strategy;
use serde_json::Value as Json;

use super::ctx::finish;
use super::parse::{parse, settings_of, Parsed};
use super::shadow;
use super::stage::{final_plan, place, plain_plan, stage_runs, threads_per_run, StageRuns};
use super::{Ctx, RunPlan, Stage, StudySettings, Variant};
use crate::error::SweepError;
use crate::source::Source;

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
        return plain_plan(&src, &p, results, problems).map(StudyPlan::Plain);
    };
    let mut cx = Ctx {
        src: &src,
        spec: &p.spec,
        problems,
    };
    let space = crate::tune::check(&mut cx, &tune, &p.axes);
    shadow::unused_shared_ranges(&mut cx, &tune);
    let sweeps = space
        .as_deref()
        .map(|s| shadow::tune_sweeps(&src, s))
        .unwrap_or_default();
    shadow::check(&mut cx, &sweeps);
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
    let st = StageRuns {
        stage: Stage::Tune,
        seeds: &tune.seeds,
        variants: trials.clone(),
    };
    let mut runs = stage_runs(&mut cx, &st);
    finish(cx)?;
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
        threads: threads_per_run(&runs, &p.spec),
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
