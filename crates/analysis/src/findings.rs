//! The report's findings: plain-language statements computed from the aggregate and from the
//! strategies' declared properties (written by the training side into every manifest), never
//! from a list of strategy names. A strategy whose runs carry no properties (schema 1) gets
//! only the sentences that need none.

use crate::aggregate::{Aggregate, GroupRow};
use crate::stats::BCA_MIN_N;
use crate::study::{config_leaf, Study, BASELINE};
use crate::tables::fmt::{fixed, lr, p_value, pct, pct_pm, pp, sig};
use clipbench_core::manifest::StrategyProperties;

/// |θ_final − θ0| below this counts as "θ did not move".
pub const THETA_STILL: f64 = 1e-4;
/// A clip fraction below this counts as "almost never clips".
pub const RARELY_CLIPS: f64 = 1e-3;
/// Significance level of every test the findings call significant (on Holm-adjusted p).
pub const ALPHA: f64 = 0.05;

/// "= 0.031" or "< 0.001": a p-value after "p".
pub fn p_is(p: f64) -> String {
    let v = p_value(p);
    if v.starts_with('<') {
        v
    } else {
        format!("= {v}")
    }
}

fn at(r: &GroupRow) -> String {
    if r.grid.is_empty() {
        String::new()
    } else {
        format!(" at {}", r.grid)
    }
}

/// The properties of a group's strategy, from its runs' manifests.
pub fn properties(study: &Study, g: usize) -> Option<StrategyProperties> {
    study
        .runs_of(g)
        .find_map(|r| r.manifest.strategy_properties)
}

/// λ of the L2 on θ the group's runs used (0 when none).
fn theta_lambda(study: &Study, g: usize) -> f64 {
    let Some(r) = study.runs_of(g).next() else {
        return 0.0;
    };
    let get = |k: &str| config_leaf(&r.manifest.config, k);
    if get("optimizer.theta_weight_decay").and_then(|v| v.as_bool()) == Some(true) {
        return get("optimizer.weight_decay")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
    }
    get("optimizer.theta_decay")
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

pub fn findings(study: &Study, agg: &Aggregate) -> Vec<String> {
    let mut out = Vec::new();
    let sealed = evaluated_no_test(study);
    if sealed {
        out.push(
            "These runs evaluated no test split (`evaluate_test = false`: a tuning stage, \
             whose choices are made on validation), so nothing below ranks or compares test \
             accuracy; each trial's validation accuracy is in `trials.csv`."
                .to_string(),
        );
    }
    ranking(study, agg, &mut out);
    if !sealed {
        paired(agg, &mut out);
    }
    theta(study, agg, &mut out);
    clipping(study, agg, &mut out);
    divergence(study, agg, &mut out);
    spikes(agg, &mut out);
    target(agg, &mut out);
    lr_stability(agg, &mut out);
    caveats(study, agg, sealed, &mut out);
    out
}

/// True when no run of the study has a test figure (its runs were tuning trials).
fn evaluated_no_test(study: &Study) -> bool {
    !study.runs.is_empty()
        && study
            .runs
            .iter()
            .all(|r| r.summary.test_acc_at_selected.is_none() && r.summary.final_test_acc.is_none())
}

fn names(rows: &[&GroupRow], m: f64) -> String {
    let v: Vec<String> = rows
        .iter()
        .filter(|r| r.sel_acc.mean == m)
        .map(|r| format!("`{}`", r.strategy))
        .collect();
    if v.len() > 1 {
        format!("{} (tied)", v.join(", "))
    } else {
        v.join("")
    }
}

fn ranking(study: &Study, agg: &Aggregate, out: &mut Vec<String>) {
    for p in 0..study.n_points() {
        let mut rows: Vec<&GroupRow> = agg
            .groups
            .iter()
            .filter(|r| study.groups[r.group].point == p && r.sel_acc.mean.is_finite())
            .collect();
        rows.sort_by(|a, b| b.sel_acc.mean.total_cmp(&a.sel_acc.mean));
        let (Some(best), Some(worst)) = (rows.first(), rows.last()) else {
            continue;
        };
        let order: Vec<String> = rows
            .iter()
            .map(|r| format!("`{}` {}", r.strategy, pct(r.sel_acc.mean, 2)))
            .collect();
        out.push(format!(
            "Highest mean test accuracy at the selected epoch{}: {} with {}% (n = {}); lowest: {} \
             with {}%. Order: {}. (Means only: the paired comparisons below say which \
             differences hold up.)",
            at(best),
            names(&rows, best.sel_acc.mean),
            pct_pm(best.sel_acc.mean, best.sel_acc.std, 2),
            best.sel_acc.n,
            names(&rows, worst.sel_acc.mean),
            pct_pm(worst.sel_acc.mean, worst.sel_acc.std, 2),
            order.join(" ≥ ")
        ));
    }
}

fn paired(agg: &Aggregate, out: &mut Vec<String>) {
    let m = agg
        .paired
        .iter()
        .filter(|p| p.stats.p_value.is_finite())
        .count();
    for pr in &agg.paired {
        let st = &pr.stats;
        let grid = if pr.grid.is_empty() {
            String::new()
        } else {
            format!(" at {}", pr.grid)
        };
        let lost = if pr.pairs_lost > 0 {
            format!(
                " ({} seed(s) lost to divergence or a missing run)",
                pr.pairs_lost
            )
        } else {
            String::new()
        };
        if st.n == 0 {
            out.push(format!(
                "`{}`{grid}: no seed on which both it and `{BASELINE}` completed; no paired \
                 comparison{lost}.",
                pr.strategy
            ));
            continue;
        }
        if st.diff.mean == 0.0 && (st.n == 1 || st.diff.std == 0.0) {
            out.push(format!(
                "`{}`{grid} reached exactly the test accuracy of `{BASELINE}` on all {} shared \
                 seeds (Δ = 0){lost}.",
                pr.strategy, st.n
            ));
            continue;
        }
        let wins = (st.prob_improvement * st.n as f64).round() as usize;
        let verdict = if !st.p_value.is_finite() {
            "too few seeds for a test".to_string()
        } else if pr.p_holm < ALPHA {
            format!(
                "significant at α = {ALPHA} after Holm's correction for {m} comparisons \
                 (paired t, p {}, adjusted p {})",
                p_is(st.p_value),
                p_is(pr.p_holm)
            )
        } else {
            format!(
                "not significant after Holm's correction for {m} comparisons (paired t, p {}, \
                 adjusted p {})",
                p_is(st.p_value),
                p_is(pr.p_holm)
            )
        };
        out.push(format!(
            "`{}`{grid} vs `{BASELINE}`: Δ = {} pp (95% t-interval {} to {}), better on {wins} \
             of {} seeds — {verdict}{lost}.",
            pr.strategy,
            pp(st.diff.mean, 2),
            pp(st.diff.t_lo, 2),
            pp(st.diff.t_hi, 2),
            st.n
        ));
    }
}

fn theta(study: &Study, agg: &Aggregate, out: &mut Vec<String>) {
    for r in &agg.groups {
        let props = properties(study, r.group);
        let learnable = props.map(|p| p.learnable);
        if learnable != Some(true) || r.theta_max_abs_change.is_empty() {
            continue;
        }
        let p = props.unwrap_or(StrategyProperties {
            learnable: true,
            has_threshold: true,
            identity_below_threshold: false,
            theta_gradient_zero: false,
            relu_equivalent: false,
            monotone: false,
        });
        let max_change = r.theta_max_abs_change.values().copied().fold(0.0, f64::max);
        let clips_rarely = r
            .clip_fraction
            .values()
            .all(|v| v.is_finite() && *v < RARELY_CLIPS);
        if max_change < THETA_STILL {
            let why = if p.theta_gradient_zero && theta_lambda(study, r.group) == 0.0 {
                " — its ∂y/∂θ is 0 by construction and no L2 acts on θ, so nothing moves it"
                    .to_string()
            } else if p.identity_below_threshold && clips_rarely {
                format!(
                    " — it almost never clips (< {}% of activations), and below θ its ∂y/∂θ is \
                     0; θ0 = {} sits above the activations",
                    pct(RARELY_CLIPS, 1),
                    r.theta0
                        .values()
                        .map(|t| format!("{t}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                String::new()
            };
            out.push(format!(
                "`{}`{} learned nothing: θ moved by < {:e} in every layer and run (largest |Δθ| = \
                 {}){why}.",
                r.strategy,
                at(r),
                THETA_STILL,
                sig(max_change, 2)
            ));
        } else {
            let moves: Vec<String> = r
                .theta_final_mean
                .iter()
                .map(|(l, m)| {
                    let t0 = r.theta0.get(l).copied().unwrap_or(f64::NAN);
                    format!("{l} {} → {}", sig(t0, 3), fixed(*m, 4))
                })
                .collect();
            let proj: u64 = r.theta_projected.values().sum();
            let proj = if proj > 0 {
                format!("; the projection onto θ_min acted {proj} times")
            } else {
                String::new()
            };
            out.push(format!(
                "`{}`{} trained its θ: {} (mean final θ; largest |Δθ| of a run {}){proj}.",
                r.strategy,
                at(r),
                moves.join(", "),
                sig(max_change, 2)
            ));
        }
    }
}

fn clipping(study: &Study, agg: &Aggregate, out: &mut Vec<String>) {
    for r in &agg.groups {
        let props = properties(study, r.group);
        // Strategies without a clip region (none, and functions ≡ relu) have nothing to say.
        if props.is_some_and(|p| !p.has_threshold || p.relu_equivalent) || r.strategy == BASELINE {
            continue;
        }
        let cf: Vec<(String, f64)> = r
            .clip_fraction
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(l, v)| (l.clone(), *v))
            .collect();
        if cf.is_empty() {
            continue;
        }
        let shares = cf
            .iter()
            .map(|(l, v)| format!("{l} {}%", pct(*v, 3)))
            .collect::<Vec<_>>()
            .join(", ");
        if cf.iter().all(|(_, v)| *v < RARELY_CLIPS) {
            let what = match props {
                Some(p) if p.identity_below_threshold => {
                    "its threshold sits above the activations, and below θ it is the identity, \
                     so the layer acts as plain ReLU"
                }
                Some(_) => {
                    "it is a smooth clip, so it still changes every activation below θ: the \
                     layer is not plain ReLU"
                }
                None => "its threshold sits above almost every activation",
            };
            out.push(format!(
                "`{}`{} almost never reaches its saturated region (< {}% of activations in every \
                 layer: {shares}): {what}.",
                r.strategy,
                at(r),
                pct(RARELY_CLIPS, 1)
            ));
        } else if let Some((l, v)) = cf.iter().find(|(_, v)| *v > 0.2) {
            out.push(format!(
                "`{}`{} clips heavily: {}% of {l}'s activations are in the saturated region on \
                 average.",
                r.strategy,
                at(r),
                pct(*v, 1)
            ));
        }
    }
}

fn divergence(study: &Study, agg: &Aggregate, out: &mut Vec<String>) {
    let diverged: Vec<&GroupRow> = agg.groups.iter().filter(|r| r.n_diverged > 0).collect();
    if diverged.is_empty() {
        out.push(format!(
            "No run diverged (all {} runs finished with finite losses and gradients).",
            study.runs.len()
        ));
        return;
    }
    for r in diverged {
        out.push(format!(
            "{} of {} `{}` runs{} diverged (non-finite loss or gradient; rate {}%, 95% Wilson \
             interval {}–{}%), the first at step {}.",
            r.n_diverged,
            r.n_runs,
            r.strategy,
            at(r),
            pct(r.divergence_rate, 0),
            pct(r.divergence_lo, 0),
            pct(r.divergence_hi, 0),
            r.first_divergence_step
                .map_or("?".into(), |s| s.to_string())
        ));
    }
}

fn spikes(agg: &Aggregate, out: &mut Vec<String>) {
    let spiky = agg
        .groups
        .iter()
        .filter(|r| r.spike_share.is_finite() && r.spike_share > 0.0)
        .max_by(|a, b| a.spike_share.total_cmp(&b.spike_share));
    match spiky {
        None => out.push(format!(
            "No logged step had a gradient spike (weight-gradient norm > {}× its run's median) \
             in any run.",
            agg.options_spike_factor
        )),
        Some(r) => out.push(format!(
            "Most gradient spikes (> {}× the run's median norm): `{}`{} with {}% of logged \
             steps; largest norm seen in that group {}.",
            agg.options_spike_factor,
            r.strategy,
            at(r),
            pct(r.spike_share, 2),
            sig(r.grad_norm_max, 3)
        )),
    }
}

fn target(agg: &Aggregate, out: &mut Vec<String>) {
    if !agg.target.acc.is_finite() {
        return;
    }
    let mut rows: Vec<&GroupRow> = agg.groups.iter().filter(|r| r.n_runs > 0).collect();
    rows.sort_by(|a, b| a.target_steps.median.total_cmp(&b.target_steps.median));
    let parts: Vec<String> = rows
        .iter()
        .map(|r| {
            let m = r.target_steps.median;
            format!(
                "`{}`{} {} ({}/{} runs)",
                r.strategy,
                at(r),
                if m.is_finite() {
                    format!("{m:.0}")
                } else {
                    "never (median)".into()
                },
                r.n_reached,
                r.n_runs
            )
        })
        .collect();
    out.push(format!(
        "Median training steps to a validation accuracy of {}% ({}): {}.",
        pct(agg.target.acc, 2),
        agg.target.source,
        parts.join(", ")
    ));
}

fn lr_stability(agg: &Aggregate, out: &mut Vec<String>) {
    if agg.stable_lr.is_empty() {
        return;
    }
    let parts: Vec<String> = agg
        .stable_lr
        .iter()
        .map(|s| {
            let rest = if s.rest.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.rest)
            };
            format!(
                "`{}`{rest} {}",
                s.strategy,
                s.no_divergence.map_or("none".into(), lr)
            )
        })
        .collect();
    out.push(format!(
        "Largest learning rate without any divergence: {}.",
        parts.join(", ")
    ));
    let best = agg
        .stable_lr
        .iter()
        .filter_map(|s| s.learns.map(|l| (l, s)))
        .fold(None::<(f64, Vec<&str>)>, |acc, (l, s)| match acc {
            Some((b, mut v)) if l == b => {
                v.push(&s.strategy);
                Some((b, v))
            }
            Some((b, v)) if l < b => Some((b, v)),
            _ => Some((l, vec![&s.strategy])),
        });
    if let Some((l, names)) = best {
        out.push(format!(
            "Still learning at the largest learning rate (no divergence, ≥ 90% of its best \
             accuracy): {} (up to lr = {}).",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            lr(l)
        ));
    }
}

fn caveats(study: &Study, agg: &Aggregate, sealed: bool, out: &mut Vec<String>) {
    let n_min = agg.groups.iter().map(|r| r.sel_acc.n).min().unwrap_or(0);
    if n_min < BCA_MIN_N && !sealed {
        out.push(format!(
            "Some strategies have only {n_min} completed seed(s): intervals are t-intervals \
             (no bootstrap below {BCA_MIN_N} values) and differences smaller than the intervals \
             are not resolved; the seeds table says how many a given effect needs."
        ));
    }
    let v1 = study
        .runs
        .iter()
        .filter(|r| r.summary.schema_version < 2)
        .count();
    if v1 > 0 {
        out.push(format!(
            "{v1} run(s) were made by an older clipbench (metrics schema 1): no validation \
             split, θ trained through softplus; their reported epoch is their last."
        ));
    }
    if !study.skipped.is_empty() {
        out.push(format!(
            "{} incomplete run directories were skipped (listed under Setup).",
            study.skipped.len()
        ));
    }
}
