//! The study file as a whole: its typed form, its name, and the study-level checks that need
//! no run config (strategy and seed lists, report settings), plus the grid's axes.

use std::collections::BTreeSet;

use clipbench_clip::Strategy;
use clipbench_train::schedule::Schedule;

use super::{axes, Ctx, StudySettings};
use crate::error::{Problem, SweepError};
use crate::grid::Axis;
use crate::source::{keys, Seg, Source};
use crate::spec::StudySpec;

/// What every stage shares: the parsed spec, its name and grid.
#[derive(Debug)]
pub(super) struct Parsed {
    pub spec: StudySpec,
    pub study: Option<String>,
    pub axes: Vec<Axis>,
}

/// The typed study, with the problems of its study-level values added to `problems` (a
/// TOML or schema error stops here: nothing else can be checked without the typed form).
pub(super) fn parse(src: &Source, problems: &mut Vec<Problem>) -> Result<Parsed, SweepError> {
    let spec: StudySpec = toml::from_str(&src.text).map_err(|e| src.toml_error(&e))?;
    let mut cx = Ctx {
        src,
        spec: &spec,
        problems: Vec::new(),
    };
    let study = study_name(src, &spec).map_err(|p| cx.push(p)).ok();
    check_lists(&mut cx);
    check_report_settings(&mut cx);
    check_schedule(&mut cx);
    let axes = axes::check_grid(&mut cx);
    problems.extend(cx.problems);
    Ok(Parsed { spec, study, axes })
}

pub(super) fn settings_of(spec: &StudySpec, study: &str, src: &Source) -> StudySettings {
    StudySettings {
        study: study.to_string(),
        file: src.path.clone(),
        target_acc: spec.target_acc,
        stability_study: spec.stability_study.clone(),
    }
}

/// A study name becomes a directory under the results directory: nothing that could climb
/// out of it or hide.
fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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
    if usable_name(&name) {
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

/// `target_acc` and `stability_study`, which only the report reads.
fn check_report_settings(cx: &mut Ctx<'_>) {
    let spec = cx.spec;
    if let Some(t) = spec.target_acc {
        if !(t.is_finite() && t > 0.0 && t <= 1.0) {
            cx.at(
                &keys("target_acc"),
                format!("expected a validation accuracy in (0, 1], got {t}"),
            );
        }
    }
    if let Some(s) = &spec.stability_study {
        if !usable_name(s) {
            cx.at(
                &keys("stability_study"),
                format!("expected the name of a study (letters, digits, '-', '_', '.'), got {s:?}"),
            );
        }
    }
}

/// serde ignores every other key of an internally tagged unit variant, so `kind =
/// "constant"` with `gamma = 0.5` parsed and dropped the gamma: no key but `kind` here.
fn check_schedule(cx: &mut Ctx<'_>) {
    if cx.spec.schedule != Schedule::Constant {
        return;
    }
    for key in cx.src.keys_under(&keys("schedule")) {
        if key != "kind" {
            cx.at(
                &[Seg::Key("schedule".into()), Seg::Key(key.clone())],
                format!(
                    "unknown field `{key}`: the constant schedule takes no settings (kind = \"step\" \
                     takes every_epochs and gamma, kind = \"cosine\" min_lr)"
                ),
            );
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
