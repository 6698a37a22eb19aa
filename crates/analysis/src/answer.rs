//! "The answer": the report's opening, the seed's question answered from the numbers —
//! which strategies beat `none` on accuracy at convergence (paired, Holm-adjusted, effect in
//! percentage points with its interval), and which widen the range of learning rates that
//! still train (from this study's lr grid, or from its `stability_study`). Every sentence is
//! computed; a strategy is named in a group only because its numbers put it there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::aggregate::{lr_rows, Aggregate, LrRow, Options, StableLr, LR_KEY};
use crate::error::Result;
use crate::findings::ALPHA;
use crate::study::{strategy_rank, Study, BASELINE};
use crate::tables::fmt::{lr, pct, pp};

/// The stability evidence: an lr grid's rows and, per strategy, each seed's largest lr that
/// still learns.
#[derive(Clone, Debug)]
pub struct Stability {
    /// The study the evidence comes from.
    pub study: String,
    pub rows: Vec<StableLr>,
    /// strategy → (seed → largest lr at which that seed's run completed and reached 90% of
    /// the strategy's best mean accuracy; None when no lr did).
    pub per_seed: BTreeMap<String, BTreeMap<u64, Option<f64>>>,
    pub lrs: Vec<f64>,
    pub optimizer: String,
    /// (strategy, lr, mean accuracy of the completed runs), in strategy order.
    pub acc_at: Vec<(String, f64, f64)>,
}

impl Stability {
    /// From a study with an `optimizer.lr` grid (None without one, or with other grid keys).
    pub fn from_study(study: &Study, opts: &Options) -> Option<Stability> {
        if study.grid_keys.iter().any(|k| k != LR_KEY) || study.grid_keys.is_empty() {
            return None;
        }
        let (rows, stable) = lr_rows(study, opts);
        if rows.is_empty() {
            return None;
        }
        let mut per_seed: BTreeMap<String, BTreeMap<u64, Option<f64>>> = BTreeMap::new();
        for s in &stable {
            let mine: Vec<&LrRow> = rows.iter().filter(|r| r.strategy == s.strategy).collect();
            let best = mine
                .iter()
                .filter(|r| r.n_diverged == 0)
                .map(|r| r.sel_acc.mean)
                .filter(|m| m.is_finite())
                .fold(f64::NAN, f64::max);
            let seeds = per_seed.entry(s.strategy.clone()).or_default();
            for r in &mine {
                for run in study.runs_of(r.group) {
                    let learns = !run.diverged()
                        && run
                            .summary
                            .test_acc_at_selected
                            .is_some_and(|a| a >= 0.9 * best);
                    let e = seeds.entry(run.seed).or_insert(None);
                    if learns {
                        *e = Some(e.map_or(r.lr, |x: f64| x.max(r.lr)));
                    }
                }
            }
        }
        let lrs: BTreeSet<u64> = rows.iter().map(|r| r.lr.to_bits()).collect();
        let mut lrs: Vec<f64> = lrs.into_iter().map(f64::from_bits).collect();
        lrs.sort_by(f64::total_cmp);
        let optimizer = crate::report::config_text(study, "optimizer.kind");
        let mut acc_at: Vec<(String, f64, f64)> = rows
            .iter()
            .filter(|r| r.rest.is_empty())
            .map(|r| (r.strategy.clone(), r.lr, r.sel_acc.mean))
            .collect();
        acc_at.sort_by_key(|a| strategy_rank(&a.0));
        Some(Stability {
            study: study.name.clone(),
            rows: stable,
            per_seed,
            lrs,
            optimizer,
            acc_at,
        })
    }

    /// The study named `name` beside `root` (in the same results directory), if it has runs.
    pub fn sibling(root: &Path, name: &str, opts: &Options) -> Result<Option<Stability>> {
        let Some(dir) = root.parent().map(|p| p.join(name)) else {
            return Ok(None);
        };
        if !dir.join("runs").is_dir() {
            return Ok(None);
        }
        let study = Study::load(&dir)?;
        Ok(Stability::from_study(&study, opts))
    }
}

fn spread(v: &BTreeMap<u64, Option<f64>>) -> String {
    let got: Vec<f64> = v.values().flatten().copied().collect();
    let missing = v.values().filter(|x| x.is_none()).count();
    let lo = got.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = got.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = if got.is_empty() {
        "no seed learns at any lr".to_string()
    } else if lo == hi {
        format!("each seed: {}", lr(lo))
    } else {
        format!("seeds {}–{}", lr(lo), lr(hi))
    };
    if missing > 0 && !got.is_empty() {
        s.push_str(&format!(", {missing} seed(s) at no lr"));
    }
    s
}

fn names(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One paragraph of the answer: a lead sentence and the list under it, in the report's inline
/// marks (`` `name` ``, `**bold**`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub lead: String,
    pub items: Vec<String>,
}

impl Part {
    fn lead(lead: String) -> Part {
        Part {
            lead,
            items: Vec::new(),
        }
    }
}

/// Adds an item to the list of the last paragraph (every item follows a lead).
fn item(out: &mut [Part], text: String) {
    if let Some(p) = out.last_mut() {
        p.items.push(text);
    }
}

/// The answer's paragraphs, or nothing when the study holds neither a comparison with `none`
/// at one grid point nor stability evidence.
pub fn answer(study: &Study, agg: &Aggregate, stability: Option<&Stability>) -> Vec<Part> {
    let mut out = Vec::new();
    accuracy(study, agg, &mut out);
    if let Some(st) = stability {
        stable(st, &mut out);
    } else if study.settings.stability_study.is_some() {
        out.push(Part::lead(format!(
            "**Stability across learning rates:** no results of `{}` beside this study yet \
             (`clipbench run experiments/{}.toml`, then `clipbench report` again).",
            study.settings.stability_study.as_deref().unwrap_or(""),
            study.settings.stability_study.as_deref().unwrap_or("")
        )));
    }
    out
}

fn accuracy(study: &Study, agg: &Aggregate, out: &mut Vec<Part>) {
    if study.n_points() != 1 || agg.paired.is_empty() {
        return;
    }
    let n_seeds = agg.paired.iter().map(|p| p.stats.n).max().unwrap_or(0);
    let m = agg.paired.iter().filter(|p| p.p_holm.is_finite()).count();
    let mut rows: Vec<_> = agg.paired.iter().collect();
    rows.sort_by(|a, b| b.stats.diff.mean.total_cmp(&a.stats.diff.mean));
    let effect = |p: &crate::aggregate::PairedRow| {
        format!(
            "`{}` {} pp [{}, {}], adjusted p {}",
            p.strategy,
            pp(p.stats.diff.mean, 2),
            pp(p.stats.diff.t_lo, 2),
            pp(p.stats.diff.t_hi, 2),
            crate::findings::p_is(p.p_holm)
        )
    };
    let better: Vec<String> = rows
        .iter()
        .filter(|p| p.p_holm < ALPHA && p.stats.diff.mean > 0.0)
        .map(|p| effect(p))
        .collect();
    let worse: Vec<String> = rows
        .iter()
        .filter(|p| p.p_holm < ALPHA && p.stats.diff.mean < 0.0)
        .map(|p| effect(p))
        .collect();
    let same: Vec<String> = rows
        .iter()
        .filter(|p| p.p_holm >= ALPHA || p.p_holm.is_nan())
        .map(|p| effect(p))
        .collect();
    let base = agg
        .groups
        .iter()
        .find(|g| g.strategy == BASELINE)
        .map(|g| pct(g.sel_acc.mean, 2))
        .unwrap_or_else(|| "–".into());
    out.push(Part::lead(format!(
        "**Accuracy at convergence** (test accuracy at each run's validation-selected epoch; \
         each strategy minus `none` ({base}%) on the same seed, up to {n_seeds} seeds; mean Δ \
         with its 95% t-interval; p Holm-adjusted over {m} comparisons, α = {ALPHA}):"
    )));
    item(
        out,
        if better.is_empty() {
            "Beat `none`: no strategy.".to_string()
        } else {
            format!("Beat `none`: {}.", better.join("; "))
        },
    );
    if !worse.is_empty() {
        item(out, format!("Worse than `none`: {}.", worse.join("; ")));
    }
    if !same.is_empty() {
        item(
            out,
            format!(
                "Not distinguishable from `none` at this number of seeds: {}.",
                same.join("; ")
            ),
        );
    }
}

fn stable(st: &Stability, out: &mut Vec<Part>) {
    let base = st.rows.iter().find(|r| r.strategy == BASELINE);
    let mut rows: Vec<&StableLr> = st.rows.iter().collect();
    rows.sort_by_key(|r| strategy_rank(&r.strategy));
    out.push(Part::lead(format!(
        "**Stability across learning rates** (study `{}`: {}, lr ∈ {{{}}}; the largest lr at \
         which a strategy still learns — no run diverged and the mean accuracy is ≥ 90% of its \
         best — and, per seed, the largest lr at which that seed's run did):",
        st.study,
        st.optimizer,
        st.lrs.iter().map(|l| lr(*l)).collect::<Vec<_>>().join(", ")
    )));
    let cell = |r: &StableLr| {
        format!(
            "`{}` {} ({})",
            r.strategy,
            r.learns.map_or("none".into(), lr),
            st.per_seed.get(&r.strategy).map_or(String::new(), spread)
        )
    };
    let Some(base) = base else {
        item(
            out,
            format!(
                "{}.",
                rows.iter().map(|r| cell(r)).collect::<Vec<_>>().join("; ")
            ),
        );
        return;
    };
    let b = base.learns.unwrap_or(0.0);
    let pick = |f: &dyn Fn(f64) -> bool| -> Vec<String> {
        rows.iter()
            .filter(|r| r.strategy != BASELINE && f(r.learns.unwrap_or(0.0)))
            .map(|r| r.strategy.clone())
            .collect()
    };
    let (wider, narrower, same) = (pick(&|x| x > b), pick(&|x| x < b), pick(&|x| x == b));
    item(
        out,
        format!(
            "`none` still learns up to lr {} ({}).",
            base.learns.map_or("none".into(), lr),
            st.per_seed.get(BASELINE).map_or(String::new(), spread)
        ),
    );
    item(
        out,
        if wider.is_empty() {
            "Widen the range beyond `none`'s: no strategy.".to_string()
        } else {
            format!(
                "Widen the range beyond `none`'s: {}.",
                rows.iter()
                    .filter(|r| wider.contains(&r.strategy))
                    .map(|r| cell(r))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
    );
    if !narrower.is_empty() {
        item(
            out,
            format!(
                "Narrow it: {}.",
                rows.iter()
                    .filter(|r| narrower.contains(&r.strategy))
                    .map(|r| cell(r))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
    }
    if !same.is_empty() {
        item(out, format!("The same as `none`: {}.", names(&same)));
    }
    // Divergence is the other half of stability: where does each strategy stop being finite?
    let nd = |r: &StableLr| r.no_divergence.map_or("none".into(), lr);
    let never: Vec<String> = rows
        .iter()
        .filter(|r| r.no_divergence.is_some() && r.no_divergence == st.lrs.last().copied())
        .map(|r| r.strategy.clone())
        .collect();
    item(
        out,
        format!(
            "Largest lr without any diverged run: {}{}.",
            rows.iter()
                .map(|r| format!("`{}` {}", r.strategy, nd(r)))
                .collect::<Vec<_>>()
                .join(", "),
            if never.is_empty() {
                String::new()
            } else {
                format!(" ({} never diverge on this grid)", names(&never))
            }
        ),
    );
    // At the first lr where `none` no longer learns, what does each strategy still reach?
    if let Some(fail) = st
        .lrs
        .iter()
        .copied()
        .find(|&l| base.learns.is_some_and(|b| l > b))
    {
        let accs: Vec<String> = st
            .acc_at
            .iter()
            .filter(|(s, l, _)| *l == fail && !s.is_empty())
            .map(|(s, _, a)| (s, a))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(s, a)| format!("`{s}` {}%", pct(*a, 1)))
            .collect();
        if !accs.is_empty() {
            item(
                out,
                format!(
                    "At lr {}, the first where `none` no longer learns, mean accuracy of the \
                 completed runs: {}.",
                    lr(fail),
                    accs.join(", ")
                ),
            );
        }
    }
}
