//! The runs of one stage, in order (seed, then strategy, then variant), with unique run ids
//! and their directories; and the final stage of a study, plain or after tuning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::axes::grid_variants;
use super::ctx::finish;
use super::parse::{parse, settings_of, Parsed};
use super::shadow;
use super::{Ctx, PlannedRun, RunPlan, Setting, Stage};
use crate::error::{Problem, SweepError};
use crate::source::{keys, Source};
use crate::spec::StudySpec;

/// Runs of one stage, in order: seed, then strategy, then variant. `variants[si]` lists the
/// settings of each run of strategy entry `si` per seed (a grid combination or a trial),
/// with its trial index and the params it shows.
pub(super) struct StageRuns<'a> {
    pub stage: Stage,
    pub seeds: &'a [u64],
    pub variants: Vec<Vec<Variant>>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Variant {
    pub trial: Option<usize>,
    pub settings: Vec<Setting>,
    pub params: BTreeMap<String, Json>,
}

pub(super) fn stage_runs(cx: &mut Ctx<'_>, st: &StageRuns<'_>) -> Vec<PlannedRun> {
    let mut runs = Vec::new();
    // Run id → index in `runs`: two runs with one id would share a directory.
    let mut ids = BTreeMap::<String, usize>::new();
    let n = cx.spec.strategies.len();
    let order = st.seeds.iter().flat_map(|&seed| {
        (0..n).flat_map(move |si| {
            let variants = st.variants.get(si).into_iter().flatten();
            variants.map(move |v| (seed, si, v))
        })
    });
    for (seed, si, v) in order {
        if let Some(run) = planned_run(cx, st.stage, si, seed, v) {
            check_unique(cx, st.stage, &mut ids, &runs, &run);
            runs.push(run);
        }
    }
    runs
}

/// One run, without its directory yet; None when its config does not validate.
fn planned_run(
    cx: &mut Ctx<'_>,
    stage: Stage,
    si: usize,
    seed: u64,
    v: &Variant,
) -> Option<PlannedRun> {
    let mut config = cx.resolve(si, seed, &v.settings)?;
    // A trial is chosen on validation alone: its run never loads the test split (and
    // spends no time evaluating it).
    config.evaluate_test = stage == Stage::Final;
    Some(PlannedRun {
        stage,
        run_id: config.run_id(),
        strategy: cx.spec.strategies[si].strategy,
        seed,
        trial: v.trial,
        params: v.params.clone(),
        dir: PathBuf::new(),
        config,
    })
}

fn check_unique(
    cx: &mut Ctx<'_>,
    stage: Stage,
    ids: &mut BTreeMap<String, usize>,
    runs: &[PlannedRun],
    run: &PlannedRun,
) {
    let Some(prev) = ids.insert(run.run_id.clone(), runs.len()) else {
        return;
    };
    let run_id = &run.run_id;
    let msg = match stage {
        Stage::Final => format!("runs {prev} and {} are the same run {run_id}: remove the duplicate seed, strategy or grid value", runs.len()),
        Stage::Tune => format!(
            "two trials of {} draw the same settings (run {run_id}): the budget \
             is larger than a space of `choice` keys only; add a continuous key \
             or lower tune.budget",
            run.strategy
        ),
    };
    cx.push(Problem::new(
        None,
        Some("tune".into()).filter(|_| stage == Stage::Tune),
        msg,
    ));
}

/// Threads per run, for the local pool's size and Slurm's CPUs per task: the most any run
/// takes, since a grid or the tuning may set `threads` too.
pub(super) fn threads_per_run(runs: &[PlannedRun], spec: &StudySpec) -> usize {
    runs.iter()
        .map(|r| r.config.threads)
        .max()
        .unwrap_or(spec.threads.unwrap_or(1))
}

pub(super) fn place(runs: &mut [PlannedRun], root: &Path) {
    for r in runs {
        r.dir = root.join("runs").join(&r.run_id);
    }
}

/// The one-stage plan of a study without `[tune]`.
pub(super) fn plan(src: &Source, results: &Path) -> Result<RunPlan, SweepError> {
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
    plain_plan(src, &p, results, problems)
}

/// The final stage of a study without `[tune]`, once nothing it gives is left unused.
pub(super) fn plain_plan(
    src: &Source,
    p: &Parsed,
    results: &Path,
    problems: Vec<Problem>,
) -> Result<RunPlan, SweepError> {
    let mut cx = Ctx {
        src,
        spec: &p.spec,
        problems,
    };
    shadow::check(&mut cx, &shadow::grid_sweeps(&p.spec, &p.axes));
    final_plan(src, p, &[], results, cx.problems)
}

/// Each strategy entry's variants: every grid combination, after the entry's override
/// (tuned settings) when it has one.
fn final_variants(p: &Parsed, overrides: &[Variant]) -> Vec<Vec<Variant>> {
    let grid = grid_variants(&p.axes);
    (0..p.spec.strategies.len())
        .map(|si| match overrides.get(si) {
            Some(o) => grid.iter().map(|g| then(o, g)).collect(),
            None => grid.clone(),
        })
        .collect()
}

/// `first`'s settings and params, then `second`'s.
fn then(first: &Variant, second: &Variant) -> Variant {
    Variant {
        trial: first.trial,
        settings: first
            .settings
            .iter()
            .chain(&second.settings)
            .cloned()
            .collect(),
        params: first
            .params
            .iter()
            .chain(&second.params)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// The final stage: every strategy with its overrides (tuned settings) and the grid.
pub(super) fn final_plan(
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
    let st = StageRuns {
        stage: Stage::Final,
        seeds: &spec.seeds,
        variants: final_variants(p, overrides),
    };
    let mut runs = stage_runs(&mut cx, &st);
    if runs.is_empty() && cx.problems.is_empty() {
        cx.push(Problem::new(None, None, "the study plans no runs"));
    }
    finish(cx)?;
    let study = p.study.clone().unwrap_or_default();
    let root = results.join(&study);
    place(&mut runs, &root);
    Ok(RunPlan {
        settings: settings_of(spec, &study, src),
        study,
        file: src.path.clone(),
        root,
        dataset: spec.dataset,
        threads: threads_per_run(&runs, spec),
        runs,
    })
}
