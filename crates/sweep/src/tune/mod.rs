//! The tuning stage of a study (`[tune]`, see [`space`] for the format).
//!
//! Every strategy gets the same budget of trials: seeded quasi-random points ([`sampler`])
//! of its space, and where strategies share a key they share its coordinates, so their
//! trials are the same points there. Each trial runs on every tuning seed; the trial with
//! the best mean validation accuracy (at each run's selected epoch) wins ([`select`]), never
//! a test figure. The final stage then runs the study's seeds at each strategy's winner.
//!
//! Layout: `<study>/tuning/runs/<run-id>/` (the tuning runs, a study of their own that
//! `clipbench report <study>/tuning` can analyse), `<study>/tuning/trials.csv` and
//! `<study>/tuning/selected.json` (written once every tuning run is complete).

pub mod sampler;
pub mod select;
pub mod space;

use std::collections::{BTreeMap, BTreeSet};

use clipbench_clip::Strategy;
use clipbench_train::RunConfig;
use serde::Serialize;
use serde_json::Value as Json;

use crate::grid::{self, Axis};
use crate::plan::{base_config, Ctx, Setting, Variant};
use crate::source::{keys, Seg};
pub use space::{Dist, TuneSpec};

pub const TUNING_DIR: &str = "tuning";

/// Settings the tuning stage itself controls or the study fixes for every run.
const NOT_TUNED: [(&str, &str); 4] = [
    ("epochs", "set the tuning runs' length with tune.epochs"),
    (
        "train_limit",
        "set the tuning runs' size with tune.train_limit",
    ),
    (
        "validation",
        "the validation split is the same for every run",
    ),
    (
        "split_seed",
        "the validation split is the same for every run",
    ),
];

/// One strategy's tuned keys, in dimension order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StrategySpace {
    pub strategy: Option<Strategy>,
    /// (dotted key, distribution, the sampler dimension it takes its coordinate from).
    #[serde(skip)]
    pub keys: Vec<(String, Dist, usize)>,
    /// The same, as text: key → "log [lo, hi]".
    pub described: BTreeMap<String, String>,
}

pub(crate) fn space_path(strategy: Option<&str>, key: &str) -> Vec<Seg> {
    let mut p = vec![Seg::Key("tune".into()), Seg::Key("space".into())];
    if let Some(s) = strategy {
        p.push(Seg::Key(s.into()));
    }
    p.push(Seg::Key(key.into()));
    p
}

/// Checks `[tune]` and returns each strategy entry's space (None when it has problems).
pub(crate) fn check(cx: &mut Ctx<'_>, t: &TuneSpec, axes: &[Axis]) -> Option<Vec<StrategySpace>> {
    let spec = cx.spec;
    let before = cx.problems.len();
    let at = |k: &str| keys(&format!("tune.{k}"));
    if t.budget == 0 {
        cx.at(&at("budget"), "expected at least 1 trial per strategy");
    }
    if t.seeds.is_empty() {
        cx.at(&at("seeds"), "empty list: give at least one tuning seed");
    }
    let finals: BTreeSet<u64> = spec.seeds.iter().copied().collect();
    let mut seen = BTreeSet::new();
    for (i, s) in t.seeds.iter().enumerate() {
        let here = vec![
            Seg::Key("tune".into()),
            Seg::Key("seeds".into()),
            Seg::Index(i),
        ];
        if finals.contains(s) {
            cx.at(
                &here,
                format!(
                    "tuning seed {s} is also a final seed: tuning and final seeds must be \
                     disjoint, or the final runs re-measure the runs that chose them"
                ),
            );
        }
        if !seen.insert(*s) {
            cx.at(&here, format!("duplicate seed {s}"));
        }
    }
    if t.epochs == Some(0) {
        cx.at(&at("epochs"), "expected >= 1");
    }
    if t.train_limit == Some(0) {
        cx.at(&at("train_limit"), "expected >= 1");
    }
    if !axes.is_empty() {
        cx.at(
            &keys("grid"),
            "a study with [tune] selects one setting per strategy and cannot also have a \
             [grid]: tune the key, or make the grid a study of its own",
        );
    }
    if spec.validation == Some(0) {
        cx.at(
            &keys("validation"),
            "[tune] selects on validation accuracy: hold out validation images (validation > 0)",
        );
    }
    // Shared entries and per-strategy tables.
    let mut shared: BTreeMap<String, Dist> = BTreeMap::new();
    let mut own: BTreeMap<Strategy, BTreeMap<String, Dist>> = BTreeMap::new();
    for (k, v) in &t.space {
        if let Ok(s) = k.parse::<Strategy>() {
            if !spec.strategies.iter().any(|e| e.strategy == s) {
                cx.at(
                    &space_path(None, k),
                    format!("strategy {s} is not in this study's `strategies`"),
                );
                continue;
            }
            let Some(table) = v.as_table() else {
                cx.at(
                    &space_path(None, k),
                    "expected a table of settings, e.g. [tune.space.pact]",
                );
                continue;
            };
            for (key, d) in table {
                match Dist::parse(d) {
                    Ok(d) => {
                        own.entry(s).or_default().insert(key.clone(), d);
                    }
                    Err(m) => cx.at(&space_path(Some(k), key), m),
                }
            }
        } else {
            match Dist::parse(v) {
                Ok(d) => {
                    shared.insert(k.clone(), d);
                }
                Err(m) => cx.at(&space_path(None, k), m),
            }
        }
    }
    // One sampler dimension per distinct key, in key order.
    let all: BTreeSet<&String> = shared
        .keys()
        .chain(own.values().flat_map(|m| m.keys()))
        .collect();
    let dim: BTreeMap<&String, usize> = all.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    if dim.len() > sampler::PRIMES.len() {
        cx.at(
            &keys("tune.space"),
            format!("at most {} tuned keys", sampler::PRIMES.len()),
        );
    }
    let mut spaces = Vec::new();
    for e in &spec.strategies {
        let base = serde_json::to_value(base_config(spec, e, 0)).unwrap_or(Json::Null);
        let mine = own.get(&e.strategy);
        let mut sp = StrategySpace {
            strategy: Some(e.strategy),
            ..Default::default()
        };
        for k in &all {
            let (d, strat) = match mine.and_then(|m| m.get(*k)) {
                Some(d) => (d, Some(e.strategy.name())),
                None => match shared.get(*k) {
                    Some(d) => (d, None),
                    None => continue,
                },
            };
            let path = space_path(strat, k);
            if let Some((_, why)) = NOT_TUNED.iter().find(|(n, _)| n == k) {
                cx.at(&path, format!("`{k}` cannot be tuned: {why}"));
                continue;
            }
            if let Err(m) = grid::check_key(&base, k) {
                cx.at(&path, m);
                continue;
            }
            // Every value the distribution can give must fit the setting.
            let probes: Vec<toml::Value> = match d {
                Dist::Choice(v) => v.clone(),
                _ => vec![d.at(0.0), d.at(0.5)],
            };
            let probed = probes.iter().try_for_each(|v| probe(&base, k, d, v));
            if let Err(m) = probed {
                cx.at(&path, m);
            } else {
                sp.described.insert((*k).clone(), d.describe());
                sp.keys.push(((*k).clone(), d.clone(), dim[k]));
            }
        }
        if sp.keys.is_empty() && cx.problems.len() == before {
            cx.at(
                &keys("tune.space"),
                format!(
                    "strategy {} has nothing to tune: give [tune.space] a key for every \
                     strategy (the budget is the same for all)",
                    e.strategy
                ),
            );
        }
        spaces.push(sp);
    }
    (cx.problems.len() == before).then_some(spaces)
}

/// One value `d` can give for `key`, checked as a grid value is: the setting's shape, then
/// the run config's type (a `choice` of 32.5 for `batch_size` is an error, not 33).
fn probe(base: &Json, key: &str, d: &Dist, v: &toml::Value) -> Result<(), String> {
    let shaped = d.shaped(grid::get(base, key).unwrap_or(&Json::Null), v);
    let j = grid::convert(base, key, &shaped)?;
    serde_json::from_value::<RunConfig>(grid::apply(base, key, &j))
        .map(|_| ())
        .map_err(|e| format!("value {shaped} does not fit `{key}`: {e}"))
}

/// Each strategy entry's trials: the sampled settings, plus the tuning stage's own
/// epochs / train_limit.
pub(crate) fn trial_variants(
    cx: &mut Ctx<'_>,
    t: &TuneSpec,
    spaces: &[StrategySpace],
) -> Vec<Vec<Variant>> {
    let spec = cx.spec;
    let seed = t.seed.unwrap_or(0);
    let mut fixed = Vec::new();
    if let Some(e) = t.epochs {
        fixed.push(Setting {
            key: "epochs".into(),
            value: Json::from(e),
            origin: keys("tune.epochs"),
        });
    }
    if let Some(n) = t.train_limit {
        fixed.push(Setting {
            key: "train_limit".into(),
            value: Json::from(n),
            origin: keys("tune.train_limit"),
        });
    }
    spaces
        .iter()
        .zip(&spec.strategies)
        .map(|(sp, e)| {
            let base = serde_json::to_value(base_config(spec, e, 0)).unwrap_or(Json::Null);
            (0..t.budget)
                .map(|i| {
                    let mut v = Variant {
                        trial: Some(i),
                        settings: fixed.clone(),
                        params: BTreeMap::new(),
                    };
                    for (k, d, dim) in &sp.keys {
                        let u = sampler::coordinate(seed, *dim, i as u64);
                        let shaped = d.shaped(grid::get(&base, k).unwrap_or(&Json::Null), &d.at(u));
                        // check() probed this distribution: convert cannot fail here.
                        let Ok(value) = grid::convert(&base, k, &shaped) else {
                            continue;
                        };
                        v.settings.push(Setting {
                            key: k.clone(),
                            value: value.clone(),
                            origin: keys("tune.space"),
                        });
                        v.params.insert(k.clone(), value);
                    }
                    v
                })
                .collect()
        })
        .collect()
}
