//! Values the study file gives that no run would use, because a more specific setting (a
//! strategy's own, a grid axis, a tuned key) replaces them in every run: rejected, since a
//! silently ignored value makes a different study from the one written.

use std::collections::{BTreeMap, BTreeSet};

use super::ctx::entry_path;
use super::Ctx;
use crate::grid::Axis;
use crate::source::{keys, path_text, Seg, Source};
use crate::spec::StudySpec;
use crate::tune::{space_path, StrategySpace, TuneSpec};

/// The clip settings a strategy entry, `[model.clip]` and the grid or tuning may all give.
const CLIP_FIELDS: [&str; 4] = ["theta0", "beta", "per_channel", "theta_param"];

/// Per strategy entry: the keys a grid or the tuning sets in every run of that entry, each
/// with where the file says so.
pub(super) type Sweeps = Vec<BTreeMap<String, Vec<Seg>>>;

pub(super) fn grid_sweeps(spec: &StudySpec, axes: &[Axis]) -> Sweeps {
    let all: BTreeMap<String, Vec<Seg>> = axes
        .iter()
        .map(|a| {
            (
                a.key.clone(),
                vec![Seg::Key("grid".into()), Seg::Key(a.key.clone())],
            )
        })
        .collect();
    vec![all; spec.strategies.len()]
}

pub(super) fn tune_sweeps(src: &Source, spaces: &[StrategySpace]) -> Sweeps {
    let of = |sp: &StrategySpace| {
        let own = sp.strategy.map(|s| s.name());
        sp.keys
            .iter()
            .map(|(k, _, _)| {
                let mine = space_path(own, k);
                let at = if src.has(&mine) {
                    mine
                } else {
                    space_path(None, k)
                };
                (k.clone(), at)
            })
            .collect()
    };
    spaces.iter().map(of).collect()
}

/// Every value of the file that `sweeps` or a more specific value replaces in every run.
pub(super) fn check(cx: &mut Ctx<'_>, sweeps: &Sweeps) {
    for si in 0..cx.spec.strategies.len() {
        for field in CLIP_FIELDS {
            swept_entry(cx, sweeps, si, field);
        }
    }
    // (where the file may give it, the config key it sets)
    let mut study_level: BTreeSet<(Vec<Seg>, String)> = CLIP_FIELDS
        .iter()
        .map(|f| (keys(&format!("model.clip.{f}")), format!("model.clip.{f}")))
        .collect();
    study_level.insert((keys("theta_param"), "model.clip.theta_param".into()));
    for key in sweeps.iter().flat_map(|s| s.keys()) {
        if cx.src.has(&keys(key)) && !required(cx.src, key) {
            study_level.insert((keys(key), key.clone()));
        }
    }
    for (at, key) in study_level {
        if cx.src.has(&at) {
            unused_study_value(cx, sweeps, &at, &key);
        }
    }
}

/// A strategy entry's own clip setting that a grid axis or a tuned key replaces.
fn swept_entry(cx: &mut Ctx<'_>, sweeps: &Sweeps, si: usize, field: &str) {
    let entry = entry_path(si, field);
    let key = format!("model.clip.{field}");
    let Some(by) = sweeps.get(si).and_then(|s| s.get(&key)) else {
        return;
    };
    if !cx.src.has(&entry) {
        return;
    }
    // `by` is the axis (`grid.KEY`) or the tuned key (`tune.space[.STRATEGY].KEY`).
    let table = by.split_last().map_or(&[][..], |(_, t)| t);
    let what = match table {
        [Seg::Key(k)] if k == "grid" => "[grid] also sweeps".to_string(),
        _ => format!("[{}] also tunes", path_text(table)),
    };
    let strategy = cx.spec.strategies[si].strategy;
    cx.at(
        &entry,
        format!("strategy {strategy} sets {field}, which {what} (\"{key}\"): keep one"),
    );
}

/// Where strategy entry `si` takes config key `key` from; None for a default.
fn supplier(src: &Source, sweeps: &Sweeps, si: usize, key: &str) -> Option<Vec<Seg>> {
    if let Some(at) = sweeps.get(si).and_then(|s| s.get(key)) {
        return Some(at.clone());
    }
    let field = key.strip_prefix("model.clip.");
    let candidates = [
        field.map(|f| entry_path(si, f)),
        Some(keys(key)),
        (key == "model.clip.theta_param").then(|| keys("theta_param")),
    ];
    candidates.into_iter().flatten().find(|p| src.has(p))
}

/// The study-level value at `at` (of config key `key`) when every strategy takes `key` from
/// somewhere else.
fn unused_study_value(cx: &mut Ctx<'_>, sweeps: &Sweeps, at: &[Seg], key: &str) {
    let n = cx.spec.strategies.len();
    let from: Vec<Vec<Seg>> = (0..n)
        .filter_map(|si| supplier(cx.src, sweeps, si, key))
        .collect();
    if n == 0 || from.len() < n || from.iter().any(|p| p == at) {
        return;
    }
    let names: BTreeSet<String> = from.iter().map(|p| path_text(p)).collect();
    let name = key.rsplit('.').next().unwrap_or(key);
    cx.at(
        at,
        format!(
            "no run would use this value: every strategy takes its {name} from {} instead: keep one",
            names.into_iter().collect::<Vec<_>>().join(", ")
        ),
    );
}

/// Whether the file format requires `key` (a study that sweeps it must still give it, as
/// `optimizer.lr` under a learning-rate grid). Asking serde keeps this in step with the schema.
fn required(src: &Source, key: &str) -> bool {
    let Ok(mut doc) = toml::from_str::<toml::Table>(&src.text) else {
        return false;
    };
    let mut path: Vec<&str> = key.split('.').collect();
    let Some(last) = path.pop() else {
        return false;
    };
    let mut table = &mut doc;
    for k in path {
        match table.get_mut(k) {
            Some(toml::Value::Table(t)) => table = t,
            _ => return false,
        }
    }
    table.remove(last).is_some() && toml::Value::Table(doc).try_into::<StudySpec>().is_err()
}

/// A `[tune.space]` range that every strategy replaces with its own range of the key.
pub(super) fn unused_shared_ranges(cx: &mut Ctx<'_>, t: &TuneSpec) {
    let spec = cx.spec;
    if spec.strategies.is_empty() {
        return;
    }
    // A key that names a strategy is that strategy's table, not a shared range.
    let shared = t
        .space
        .keys()
        .filter(|k| k.parse::<clipbench_clip::Strategy>().is_err());
    for key in shared {
        let own: Vec<Vec<Seg>> = spec
            .strategies
            .iter()
            .map(|e| space_path(Some(e.strategy.name()), key))
            .collect();
        if own.iter().all(|p| cx.src.has(p)) {
            let names: Vec<String> = own.iter().map(|p| path_text(p)).collect();
            cx.at(
                &space_path(None, key),
                format!(
                    "no strategy would use this range: every strategy gives its own ({}): keep one",
                    names.join(", ")
                ),
            );
        }
    }
}
