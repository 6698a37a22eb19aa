//! The numbers behind every table: per run, per group (strategy × grid point), paired
//! against `none`, and per learning rate.
//!
//! Definitions (also stated in report.md):
//! - the headline accuracy is the test accuracy at each run's selected epoch (best validation
//!   accuracy, ties → earliest; `last` for runs without a validation split); the last epoch's
//!   accuracy is shown beside it. Nothing is ever chosen on test;
//! - accuracy statistics are over the runs that completed (diverged runs are counted in
//!   `n_diverged` with a Wilson interval on the rate, not averaged in: their last accuracy is
//!   from before the blow-up); paired comparisons say how many seeds they lost to it;
//! - paired p-values are Holm-adjusted over every comparison of the table (`p_holm`);
//! - time to target: training steps (and seconds) until a run's validation accuracy first
//!   reaches the study's target accuracy; ∞ for runs that never do or diverge; per group the
//!   median with an order-statistic interval;
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
use crate::stats::{
    self, describe, holm, median_ci, paired, seed_for, wilson, Describe, MedianCi, Paired,
};
use crate::study::{Study, BASELINE};

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Resamples of every bootstrap interval.
    pub bootstrap_samples: usize,
    /// A logged step is a spike when its gradient norm exceeds this × its run's median.
    pub spike_factor: f64,
    /// Validation accuracy that counts as "reached" for time to target; None = the study's
    /// `target_acc` (study.json), else [`DEFAULT_TARGET_SHARE`] of the best group's mean
    /// validation accuracy.
    pub target_acc: Option<f64>,
    /// Read and write each complete run's `metrics.cache` (a derived copy of its records
    /// that spares parsing the JSONL again; clipbench_metrics::cache).
    pub use_cache: bool,
}

/// The default target: this share of the best mean validation accuracy of any group.
pub const DEFAULT_TARGET_SHARE: f64 = 0.95;

impl Default for Options {
    fn default() -> Self {
        Options {
            bootstrap_samples: 10_000,
            spike_factor: 10.0,
            target_acc: None,
            use_cache: true,
        }
    }
}

/// The accuracy time to target is measured against, and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub acc: f64,
    /// "--target-acc", "study.json" or "95% of the best mean validation accuracy (<group>)".
    pub source: String,
}

/// Figures of one run computed from its step and epoch records.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunStats {
    /// Logged step records.
    pub n_steps: usize,
    pub grad_norm_median: f64,
    pub n_spikes: usize,
    /// Mean clip fraction over the logged steps, per layer.
    pub clip_fraction: BTreeMap<String, f64>,
    /// Training steps and seconds until the validation accuracy first reached the target
    /// (∞ when it never did, or the run diverged; seconds NaN without timing.jsonl).
    pub target_steps: f64,
    pub target_s: f64,
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
    /// n_diverged / n_runs and its Wilson 95% interval.
    pub divergence_rate: f64,
    pub divergence_lo: f64,
    pub divergence_hi: f64,
    /// Earliest divergence step among the group's runs.
    pub first_divergence_step: Option<u64>,
    /// Test accuracy at the selected epoch (completed runs): the headline.
    pub sel_acc: Describe,
    /// Test accuracy at the last epoch (completed runs).
    pub final_acc: Describe,
    /// Validation accuracy at the selected epoch (completed runs; NaN without a split).
    pub val_acc: Describe,
    /// Median selected epoch (0-based) of the completed runs.
    pub selected_epoch_median: f64,
    pub final_test_loss: f64,
    pub grad_norm_median: f64,
    pub grad_norm_max: f64,
    pub spike_share: f64,
    pub theta0: BTreeMap<String, f64>,
    pub theta_final_mean: BTreeMap<String, f64>,
    pub theta_final_std: BTreeMap<String, f64>,
    pub theta_max_abs_change: BTreeMap<String, f64>,
    pub clip_fraction: BTreeMap<String, f64>,
    /// Projections of `direct` θ onto θ_min, summed over the group's runs, per layer.
    pub theta_projected: BTreeMap<String, u64>,
    /// Steps and training seconds to the target validation accuracy.
    pub target_steps: MedianCi,
    pub target_s: MedianCi,
    /// Runs that reached the target.
    pub n_reached: usize,
    /// Mean training seconds per run, evaluation excluded (runs that did not record it apart
    /// are left out: [`crate::study::Run::train_s`]).
    pub train_wall_s: f64,
}

/// A strategy against `none` at the same grid point, on the test accuracy at the selected
/// epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedRow {
    pub group: usize,
    pub strategy: String,
    pub grid: String,
    /// The shared seeds (both runs completed).
    pub seeds: Vec<u64>,
    /// Seeds with a run of either side that are not a pair: one of the two diverged, or is
    /// missing.
    pub pairs_lost: usize,
    pub stats: Paired,
    /// Holm-adjusted p over every comparison of the table.
    pub p_holm: f64,
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
    pub divergence_lo: f64,
    pub divergence_hi: f64,
    /// Test accuracy at the selected epoch, completed runs.
    pub sel_acc: Describe,
}

/// The largest stable learning rates of one strategy (per value of the other grid keys).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StableLr {
    pub strategy: String,
    pub rest: String,
    /// Largest lr at which no run diverged.
    pub no_divergence: Option<f64>,
    /// Largest lr at which no run diverged and the mean accuracy is within 90% of the
    /// strategy's best mean accuracy over the lrs (it still learns).
    pub learns: Option<f64>,
    /// The accuracy at `learns`: mean and std over the seeds.
    pub learns_acc: Option<Describe>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregate {
    pub options_bootstrap_samples: usize,
    pub options_spike_factor: f64,
    pub target: Target,
    /// Per run, in `study.runs` order.
    pub runs: Vec<RunStats>,
    pub groups: Vec<GroupRow>,
    pub paired: Vec<PairedRow>,
    pub lr: Vec<LrRow>,
    pub stable_lr: Vec<StableLr>,
    /// Seeds the paired t-test needs (α = 0.05, power 0.8) for effect sizes d_z: a planning
    /// table, not a post-hoc power of the observed effects.
    pub power: Vec<(f64, Option<usize>)>,
}

/// Effect sizes (Cohen's d_z) of the power table.
pub const POWER_EFFECTS: [f64; 6] = [0.2, 0.5, 0.8, 1.0, 1.5, 2.0];

pub fn aggregate(study: &Study, logs: &Logs, opts: &Options) -> Result<Aggregate> {
    let target = target(study, opts);
    let mut runs = run_stats(study, logs, opts)?;
    time_to_target(study, logs, target.acc, &mut runs)?;
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
        target,
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
            target_steps: f64::INFINITY,
            target_s: f64::INFINITY,
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

/// The target accuracy: the option, the study's `target_acc`, or the default share of the
/// best group's mean validation accuracy at the selected epoch.
fn target(study: &Study, opts: &Options) -> Target {
    if let Some(acc) = opts.target_acc {
        return Target {
            acc,
            source: "--target-acc".into(),
        };
    }
    if let Some(acc) = study.settings.target_acc {
        return Target {
            acc,
            source: "the study's target_acc".into(),
        };
    }
    let best = study
        .groups
        .iter()
        .enumerate()
        .filter_map(|(g, group)| {
            let v = finite(
                study
                    .runs_of(g)
                    .filter(|r| !r.diverged())
                    .map(|r| r.summary.val_acc_at_selected),
            );
            (!v.is_empty()).then(|| (stats::mean(&v), group.label()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((m, label)) => Target {
            acc: DEFAULT_TARGET_SHARE * m,
            source: format!(
                "{}% of the best mean validation accuracy ({label}: {:.2}%)",
                100.0 * DEFAULT_TARGET_SHARE,
                100.0 * m
            ),
        },
        None => Target {
            acc: f64::NAN,
            source: "none: no run has a validation split".into(),
        },
    }
}

/// Steps and seconds until each run's validation accuracy first reaches `target`.
fn time_to_target(study: &Study, logs: &Logs, target: f64, out: &mut [RunStats]) -> Result<()> {
    let df = &logs.epochs;
    let run = indices(df, "run")?;
    let epoch = indices(df, "epoch")?;
    let step = f64s(df, "step")?;
    let val = f64s(df, "val_acc")?;
    // Epoch records are in file order per run: the first that reaches the target counts.
    let mut done = vec![false; out.len()];
    for i in 0..run.len() {
        let r = run[i];
        let reached = val[i] >= target; // false for NaN (no validation split)
        if r >= out.len() || done[r] || !reached {
            continue;
        }
        done[r] = true;
        if study.runs[r].diverged() {
            continue;
        }
        out[r].target_steps = step[i];
        out[r].target_s = study.runs[r]
            .epoch_train_s
            .get(..=epoch[i])
            .map_or(f64::NAN, |t| t.iter().sum());
    }
    Ok(())
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
    let sel_acc = finite(done().map(|r| r.summary.test_acc_at_selected));
    let final_acc = finite(done().map(|r| r.summary.final_test_acc));
    let val_acc = finite(done().map(|r| r.summary.val_acc_at_selected));
    let sel_epoch: Vec<f64> = done()
        .filter_map(|r| r.summary.selected_epoch.map(f64::from))
        .collect();
    let test_loss = finite(done().map(|r| r.summary.final_test_loss));
    let (steps, spikes) = members.iter().fold((0, 0), |(a, b), &i| {
        (a + stats[i].n_steps, b + stats[i].n_spikes)
    });
    let mut theta_final_mean = BTreeMap::new();
    let mut theta_final_std = BTreeMap::new();
    let mut theta_max_abs_change = BTreeMap::new();
    let mut clip_fraction = BTreeMap::new();
    let mut theta_projected = BTreeMap::new();
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
        let proj: Vec<u64> = runs()
            .filter_map(|r| r.summary.theta_projected.get(l).copied())
            .collect();
        if !proj.is_empty() {
            theta_projected.insert(l.clone(), proj.iter().sum());
        }
    }
    let n_runs = members.len();
    let n_diverged = runs().filter(|r| r.diverged()).count();
    let (divergence_lo, divergence_hi) = wilson(n_diverged, n_runs, stats::LEVEL);
    let target_steps: Vec<f64> = members.iter().map(|&i| stats[i].target_steps).collect();
    let target_s: Vec<f64> = members.iter().map(|&i| stats[i].target_s).collect();
    let d = |xs: &[f64], what: &str| {
        describe(
            xs,
            opts.bootstrap_samples,
            seed_for(&format!("{what} {label}")),
        )
    };
    GroupRow {
        group: g,
        strategy: group.strategy.clone(),
        grid: crate::study::grid_label(&group.grid),
        n_runs,
        n_diverged,
        divergence_rate: n_diverged as f64 / n_runs.max(1) as f64,
        divergence_lo,
        divergence_hi,
        first_divergence_step: runs().filter_map(|r| r.summary.diverged_at_step).min(),
        sel_acc: d(&sel_acc, "sel_acc"),
        final_acc: d(&final_acc, "final_acc"),
        val_acc: d(&val_acc, "val_acc"),
        selected_epoch_median: if sel_epoch.is_empty() {
            f64::NAN
        } else {
            stats::median(&sel_epoch)
        },
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
        theta_projected,
        n_reached: target_steps.iter().filter(|s| s.is_finite()).count(),
        target_steps: median_ci(&target_steps, stats::LEVEL),
        target_s: median_ci(&target_s, stats::LEVEL),
        train_wall_s: stats::mean(&finite(runs().map(|r| Some(r.train_s())))),
    }
}

/// Completed runs' headline accuracy by seed.
fn acc_by_seed(study: &Study, g: usize) -> BTreeMap<u64, f64> {
    study
        .runs_of(g)
        .filter(|r| !r.diverged())
        .filter_map(|r| {
            Some((
                r.seed,
                r.summary.test_acc_at_selected.filter(|a| a.is_finite())?,
            ))
        })
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
        let any: std::collections::BTreeSet<u64> = study
            .runs_of(g)
            .chain(study.runs_of(base))
            .map(|r| r.seed)
            .collect();
        let xa: Vec<f64> = seeds.iter().map(|s| a[s]).collect();
        let xb: Vec<f64> = seeds.iter().map(|s| b[s]).collect();
        let label = group.label();
        out.push(PairedRow {
            group: g,
            strategy: group.strategy.clone(),
            grid: crate::study::grid_label(&group.grid),
            pairs_lost: any.len() - seeds.len(),
            seeds,
            stats: paired(
                &xa,
                &xb,
                opts.bootstrap_samples,
                seed_for(&format!("paired {label}")),
            ),
            p_holm: f64::NAN,
        });
    }
    let adjusted = holm(&out.iter().map(|r| r.stats.p_value).collect::<Vec<_>>());
    for (r, p) in out.iter_mut().zip(adjusted) {
        r.p_holm = p;
    }
    out
}

pub const LR_KEY: &str = "optimizer.lr";

/// Per learning rate rows and the largest stable learning rates (empty without an lr grid).
pub fn lr_rows(study: &Study, opts: &Options) -> (Vec<LrRow>, Vec<StableLr>) {
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
                .map(|r| r.summary.test_acc_at_selected),
        );
        let (divergence_lo, divergence_hi) = wilson(n_diverged, runs.len(), stats::LEVEL);
        rows.push(LrRow {
            group: g,
            strategy: group.strategy.clone(),
            rest: crate::study::grid_label(&rest),
            lr,
            n_runs: runs.len(),
            n_diverged,
            divergence_rate: n_diverged as f64 / runs.len().max(1) as f64,
            divergence_lo,
            divergence_hi,
            sel_acc: describe(
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
            .map(|r| r.sel_acc.mean)
            .filter(|m| m.is_finite())
            .fold(f64::NAN, f64::max);
        let no_div = mine
            .iter()
            .filter(|r| r.n_diverged == 0)
            .map(|r| r.lr)
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
        let learns_row = mine
            .iter()
            .filter(|r| r.n_diverged == 0 && r.sel_acc.mean >= 0.9 * best)
            .max_by(|a, b| a.lr.total_cmp(&b.lr));
        stable.push(StableLr {
            strategy,
            rest,
            no_divergence: no_div,
            learns: learns_row.map(|r| r.lr),
            learns_acc: learns_row.map(|r| r.sel_acc),
        });
    }
    (rows, stable)
}
