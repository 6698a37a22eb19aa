//! The numbers behind every table: per run, per group (strategy × grid point), paired
//! against `none`, and per learning rate.
//!
//! Definitions (also stated in report.md):
//! - accuracy statistics are over the runs that completed (diverged runs are counted in
//!   `n_diverged`, not averaged in: their last accuracy is from before the blow-up);
//! - `grad_norm_median`: median of the global gradient norm over the logged steps of all runs
//!   of the group; `grad_norm_max`: max of the runs' `max_grad_norm` (every step, not only the
//!   logged ones);
//! - a gradient spike is a logged step whose global norm exceeds `spike_factor` (default 10)
//!   times its run's median logged norm; `spike_share` = spikes / logged steps, pooled;
//! - clip fraction: the mean over a run's logged steps, then over the group's runs;
//! - θ: the runs' `final_theta` (completed runs), and the largest |θ_final − θ0| of any run.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

use crate::error::{AnalysisError, Result};
use crate::frame::{f64s, indices};
use crate::logs::{clip_col, Logs};
use crate::stats::{self, describe, paired, seed_for, Describe, Paired};
use crate::study::{Study, BASELINE};

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Resamples of every bootstrap interval.
    pub bootstrap_samples: usize,
    /// A logged step is a spike when its gradient norm exceeds this × its run's median.
    pub spike_factor: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bootstrap_samples: 10_000,
            spike_factor: 10.0,
        }
    }
}

/// Figures of one run computed from its step records.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunStats {
    /// Logged step records.
    pub n_steps: usize,
    pub grad_norm_median: f64,
    pub n_spikes: usize,
    /// Mean clip fraction over the logged steps, per layer.
    pub clip_fraction: BTreeMap<String, f64>,
}

/// One strategy at one grid point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupRow {
    pub group: usize,
    pub strategy: String,
    /// "lr=0.003" or "" without a grid.
    pub grid: String,
    pub n_runs: usize,
    pub n_diverged: usize,
    /// Earliest divergence step among the group's runs.
    pub first_divergence_step: Option<u64>,
    pub final_acc: Describe,
    pub best_acc: Describe,
    pub final_test_loss: f64,
    pub grad_norm_median: f64,
    pub grad_norm_max: f64,
    pub spike_share: f64,
    pub theta0: BTreeMap<String, f64>,
    pub theta_final_mean: BTreeMap<String, f64>,
    pub theta_final_std: BTreeMap<String, f64>,
    pub theta_max_abs_change: BTreeMap<String, f64>,
    pub clip_fraction: BTreeMap<String, f64>,
    pub train_wall_s: f64,
}

/// A strategy against `none` at the same grid point, on final test accuracy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedRow {
    pub group: usize,
    pub strategy: String,
    pub grid: String,
    /// The shared seeds (both runs completed).
    pub seeds: Vec<u64>,
    pub stats: Paired,
}

/// Accuracy and divergence of one strategy at one learning rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LrRow {
    pub group: usize,
    pub strategy: String,
    /// The other grid keys' values ("" when lr is the only one).
    pub rest: String,
    pub lr: f64,
    pub n_runs: usize,
    pub n_diverged: usize,
    pub divergence_rate: f64,
    pub final_acc: Describe,
}

/// The largest stable learning rates of one strategy (per value of the other grid keys).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StableLr {
    pub strategy: String,
    pub rest: String,
    /// Largest lr at which no run diverged.
    pub no_divergence: Option<f64>,
    /// Largest lr at which no run diverged and the mean final accuracy is within 90% of the
    /// strategy's best mean accuracy over the lrs (it still learns).
    pub learns: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregate {
    pub options_bootstrap_samples: usize,
    pub options_spike_factor: f64,
    /// Per run, in `study.runs` order.
    pub runs: Vec<RunStats>,
    pub groups: Vec<GroupRow>,
    pub paired: Vec<PairedRow>,
    pub lr: Vec<LrRow>,
    pub stable_lr: Vec<StableLr>,
    /// Seeds the paired t-test needs (α = 0.05, power 0.8) for effect sizes d_z.
    pub power: Vec<(f64, Option<usize>)>,
}

/// Effect sizes (Cohen's d_z) of the power table.
pub const POWER_EFFECTS: [f64; 6] = [0.2, 0.5, 0.8, 1.0, 1.5, 2.0];

pub fn aggregate(study: &Study, logs: &Logs, opts: &Options) -> Result<Aggregate> {
    let runs = run_stats(study, logs, opts)?;
    let pooled_median = pooled_grad_norm_median(study, logs)?;
    let groups: Vec<GroupRow> = study
        .groups
        .iter()
        .enumerate()
        .map(|(g, _)| group_row(study, &runs, pooled_median[g], g, opts))
        .collect();
    let paired = paired_rows(study, opts);
    let (lr, stable_lr) = lr_rows(study, opts);
    let power = POWER_EFFECTS
        .iter()
        .map(|&d| (d, stats::seeds_needed(d, 0.05, 0.8)))
        .collect();
    Ok(Aggregate {
        options_bootstrap_samples: opts.bootstrap_samples,
        options_spike_factor: opts.spike_factor,
        runs,
        groups,
        paired,
        lr,
        stable_lr,
        power,
    })
}

fn pl_err(what: &str) -> impl Fn(PolarsError) -> AnalysisError + '_ {
    move |e| AnalysisError::polars(what, e)
}

/// Per-run step statistics, one polars group-by over all step records.
fn run_stats(study: &Study, logs: &Logs, opts: &Options) -> Result<Vec<RunStats>> {
    let run_median = col("grad_norm")
        .median()
        .over([col("run")])
        .map_err(pl_err("median gradient norm per run"))?;
    let mut aggs = vec![
        len().alias("n_steps"),
        col("grad_norm").median().alias("grad_norm_median"),
        col("spike").cast(DataType::Float64).sum().alias("n_spikes"),
    ];
    for l in &study.layers {
        aggs.push(col(clip_col(l)).mean().alias(clip_col(l)));
    }
    let df = logs
        .steps
        .clone()
        .lazy()
        .with_column(
            col("grad_norm")
                .gt(run_median * lit(opts.spike_factor))
                .alias("spike"),
        )
        .group_by([col("run")])
        .agg(aggs)
        .collect()
        .map_err(pl_err("per-run step statistics"))?;
    let run = indices(&df, "run")?;
    let n_steps = indices(&df, "n_steps")?;
    let median = f64s(&df, "grad_norm_median")?;
    let spikes = f64s(&df, "n_spikes")?;
    let clip: Vec<(String, Vec<f64>)> = study
        .layers
        .iter()
        .map(|l| Ok((l.clone(), f64s(&df, &clip_col(l))?)))
        .collect::<Result<_>>()?;
    let mut out: Vec<RunStats> = (0..study.runs.len())
        .map(|_| RunStats {
            n_steps: 0,
            grad_norm_median: f64::NAN,
            n_spikes: 0,
            clip_fraction: BTreeMap::new(),
        })
        .collect();
    for (i, &r) in run.iter().enumerate() {
        if let Some(s) = out.get_mut(r) {
            s.n_steps = n_steps[i];
            s.grad_norm_median = median[i];
            s.n_spikes = spikes[i] as usize;
            for (l, v) in &clip {
                s.clip_fraction.insert(l.clone(), v[i]);
            }
        }
    }
    Ok(out)
}

/// Median of the logged gradient norms of all runs of each group.
fn pooled_grad_norm_median(study: &Study, logs: &Logs) -> Result<Vec<f64>> {
    let df = logs
        .steps
        .clone()
        .lazy()
        .group_by([col("group")])
        .agg([col("grad_norm").median().alias("m")])
        .collect()
        .map_err(pl_err("median gradient norm per group"))?;
    let mut out = vec![f64::NAN; study.groups.len()];
    for (g, m) in indices(&df, "group")?.into_iter().zip(f64s(&df, "m")?) {
        if let Some(o) = out.get_mut(g) {
            *o = m;
        }
    }
    Ok(out)
}

fn finite(xs: impl Iterator<Item = Option<f64>>) -> Vec<f64> {
    xs.flatten().filter(|x| x.is_finite()).collect()
}

fn group_row(
    study: &Study,
    stats: &[RunStats],
    pooled_median: f64,
    g: usize,
    opts: &Options,
) -> GroupRow {
    let group = &study.groups[g];
    let label = group.label();
    let members: Vec<usize> = (0..study.runs.len())
        .filter(|&i| study.runs[i].group == g)
        .collect();
    let runs = || members.iter().map(|&i| &study.runs[i]);
    let done = || runs().filter(|r| !r.diverged());
    let final_acc = finite(done().map(|r| r.summary.final_test_acc));
    let best_acc = finite(done().map(|r| r.summary.best_test_acc));
    let test_loss = finite(done().map(|r| r.summary.final_test_loss));
    let (steps, spikes) = members.iter().fold((0, 0), |(a, b), &i| {
        (a + stats[i].n_steps, b + stats[i].n_spikes)
    });
    let mut theta_final_mean = BTreeMap::new();
    let mut theta_final_std = BTreeMap::new();
    let mut theta_max_abs_change = BTreeMap::new();
    let mut clip_fraction = BTreeMap::new();
    let theta0 = runs().next().map(|r| r.theta0.clone()).unwrap_or_default();
    for l in &study.layers {
        let finals = finite(done().map(|r| r.summary.final_theta(l)));
        if !finals.is_empty() {
            theta_final_mean.insert(l.clone(), stats::mean(&finals));
            theta_final_std.insert(l.clone(), stats::std_dev(&finals));
            let change = runs()
                .filter_map(|r| Some((r.summary.final_theta(l)? - r.theta0.get(l)?).abs()))
                .fold(f64::NAN, f64::max);
            theta_max_abs_change.insert(l.clone(), change);
        }
        let cf = finite(
            members
                .iter()
                .map(|&i| stats[i].clip_fraction.get(l).copied()),
        );
        clip_fraction.insert(l.clone(), stats::mean(&cf));
    }
    GroupRow {
        group: g,
        strategy: group.strategy.clone(),
        grid: crate::study::grid_label(&group.grid),
        n_runs: members.len(),
        n_diverged: runs().filter(|r| r.diverged()).count(),
        first_divergence_step: runs().filter_map(|r| r.summary.diverged_at_step).min(),
        final_acc: describe(
            &final_acc,
            opts.bootstrap_samples,
            seed_for(&format!("final_acc {label}")),
        ),
        best_acc: describe(
            &best_acc,
            opts.bootstrap_samples,
            seed_for(&format!("best_acc {label}")),
        ),
        final_test_loss: stats::mean(&test_loss),
        grad_norm_median: pooled_median,
        grad_norm_max: runs()
            .map(|r| r.summary.max_grad_norm)
            .fold(f64::NAN, f64::max),
        spike_share: if steps == 0 {
            f64::NAN
        } else {
            spikes as f64 / steps as f64
        },
        theta0,
        theta_final_mean,
        theta_final_std,
        theta_max_abs_change,
        clip_fraction,
        train_wall_s: stats::mean(&finite(runs().map(|r| Some(r.summary.train_wall_s)))),
    }
}

/// Completed runs' final accuracy by seed.
fn acc_by_seed(study: &Study, g: usize) -> BTreeMap<u64, f64> {
    study
        .runs_of(g)
        .filter(|r| !r.diverged())
        .filter_map(|r| Some((r.seed, r.summary.final_test_acc.filter(|a| a.is_finite())?)))
        .collect()
}

fn paired_rows(study: &Study, opts: &Options) -> Vec<PairedRow> {
    let mut out = Vec::new();
    for (g, group) in study.groups.iter().enumerate() {
        if group.strategy == BASELINE {
            continue;
        }
        let Some(base) = study
            .groups
            .iter()
            .position(|b| b.strategy == BASELINE && b.point == group.point)
        else {
            continue;
        };
        let a = acc_by_seed(study, g);
        let b = acc_by_seed(study, base);
        let seeds: Vec<u64> = a.keys().filter(|s| b.contains_key(s)).copied().collect();
        let xa: Vec<f64> = seeds.iter().map(|s| a[s]).collect();
        let xb: Vec<f64> = seeds.iter().map(|s| b[s]).collect();
        let label = group.label();
        out.push(PairedRow {
            group: g,
            strategy: group.strategy.clone(),
            grid: crate::study::grid_label(&group.grid),
            seeds,
            stats: paired(
                &xa,
                &xb,
                opts.bootstrap_samples,
                seed_for(&format!("paired {label}")),
            ),
        });
    }
    out
}

pub const LR_KEY: &str = "optimizer.lr";

fn lr_rows(study: &Study, opts: &Options) -> (Vec<LrRow>, Vec<StableLr>) {
    if !study.grid_keys.iter().any(|k| k == LR_KEY) {
        return (Vec::new(), Vec::new());
    }
    let mut rows = Vec::new();
    for (g, group) in study.groups.iter().enumerate() {
        let Some(lr) = group
            .grid
            .iter()
            .find(|(k, _)| k == LR_KEY)
            .and_then(|(_, v)| v.as_f64())
        else {
            continue;
        };
        let rest: Vec<(String, serde_json::Value)> = group
            .grid
            .iter()
            .filter(|(k, _)| k != LR_KEY)
            .cloned()
            .collect();
        let runs: Vec<_> = study.runs_of(g).collect();
        let n_diverged = runs.iter().filter(|r| r.diverged()).count();
        let acc = finite(
            runs.iter()
                .filter(|r| !r.diverged())
                .map(|r| r.summary.final_test_acc),
        );
        rows.push(LrRow {
            group: g,
            strategy: group.strategy.clone(),
            rest: crate::study::grid_label(&rest),
            lr,
            n_runs: runs.len(),
            n_diverged,
            divergence_rate: n_diverged as f64 / runs.len().max(1) as f64,
            final_acc: describe(
                &acc,
                opts.bootstrap_samples,
                seed_for(&format!("lr {}", group.label())),
            ),
        });
    }
    let mut stable: Vec<StableLr> = Vec::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in &rows {
        let k = (r.strategy.clone(), r.rest.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (strategy, rest) in keys {
        let mine: Vec<&LrRow> = rows
            .iter()
            .filter(|r| r.strategy == strategy && r.rest == rest)
            .collect();
        let best = mine
            .iter()
            .filter(|r| r.n_diverged == 0)
            .map(|r| r.final_acc.mean)
            .filter(|m| m.is_finite())
            .fold(f64::NAN, f64::max);
        let no_div = mine
            .iter()
            .filter(|r| r.n_diverged == 0)
            .map(|r| r.lr)
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
        let learns = mine
            .iter()
            .filter(|r| r.n_diverged == 0 && r.final_acc.mean >= 0.9 * best)
            .map(|r| r.lr)
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
        stable.push(StableLr {
            strategy,
            rest,
            no_divergence: no_div,
            learns,
        });
    }
    (rows, stable)
}
