//! Every figure of a study into `figures/`: per grid point the per-step figures and the final
//! accuracy; the paired differences against `none`; the lr sweep when the study has an lr
//! grid; the function shapes when given.

use std::path::{Path, PathBuf};

use crate::aggregate::Aggregate;
use crate::error::Result;
use crate::figures::strategies::FinalAccRow;
use crate::figures::{
    self, file_tag, CurveSet, DiffRow, Format, ShapeCurve, Smoothing, StepCurves, StepMarks,
};
use crate::findings::ALPHA;
use crate::logs::Logs;
use crate::study::{grid_label, Study};

/// The paired-difference figure's file stem under `figures/` (the report places it beside
/// the paired table).
pub const PAIRED_DIFF: &str = "paired_diff";

/// A figure written, with what it shows (the report's caption).
#[derive(Clone, Debug, PartialEq)]
pub struct FigureFile {
    /// First file written (the PNG when PNG is among the formats).
    pub path: PathBuf,
    /// The SVG written with it, when SVG is among the formats (report.html inlines it).
    pub svg: Option<PathBuf>,
    pub caption: String,
}

/// Draws every figure under `dir`. `shapes`: the curves of the function-shape figure.
pub fn plot_study(
    study: &Study,
    logs: &Logs,
    agg: &Aggregate,
    shapes: Option<&[ShapeCurve]>,
    dir: &Path,
    formats: &[Format],
) -> Result<Vec<FigureFile>> {
    figures::ensure_dir(dir)?;
    let curves = StepCurves::compute(study, logs)?;
    let mut out = Vec::new();
    let mut add = |paths: Vec<PathBuf>, caption: String| {
        let svg = paths
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "svg"))
            .cloned();
        if let Some(p) = paths.into_iter().next() {
            out.push(FigureFile {
                path: p,
                svg,
                caption,
            });
        }
    };
    let n_seeds = study
        .runs
        .iter()
        .map(|r| r.seed)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    for p in 0..study.n_points() {
        let groups: Vec<usize> = (0..study.groups.len())
            .filter(|&g| study.groups[g].point == p)
            .collect();
        let Some(&g0) = groups.first() else { continue };
        let label = grid_label(&study.groups[g0].grid);
        let (suffix, at) = if label.is_empty() {
            (String::new(), String::new())
        } else {
            (format!("-{}", file_tag(&label)), format!(" at {label}"))
        };
        let pick = |v: &[CurveSet]| -> Vec<CurveSet> {
            v.iter()
                .filter(|c| groups.contains(&c.group))
                .cloned()
                .collect()
        };
        // Smoothing from the longest loss curve; epoch ends from the per-epoch records.
        let longest = |v: &[CurveSet]| -> Vec<f64> {
            v.iter()
                .map(|c| &c.x)
                .max_by_key(|x| x.len())
                .cloned()
                .unwrap_or_default()
        };
        let (epochs, every) = figures::style::epoch_marks(&longest(&pick(&curves.test_acc)));
        let marks = StepMarks {
            smoothing: Smoothing::for_points(&longest(&pick(&curves.loss))),
            epochs,
        };
        let raw_marks = StepMarks {
            smoothing: Smoothing::for_points(&[]),
            ..marks.clone()
        };
        let epoch_words = match (marks.epochs.is_empty(), every) {
            (true, _) => String::new(),
            (false, 1) => " Thin grey verticals: ends of epochs.".to_string(),
            (false, k) => format!(" Thin grey verticals: the end of every {k}th epoch."),
        };
        let smooth_words = marks.smoothing.describe();
        let title = |what: &str| {
            format!(
                "{what}: {}{at} (mean, 95% CI over {n_seeds} seeds)",
                study.name
            )
        };
        add(
            figures::loss_vs_step(
                &pick(&curves.loss),
                &title("Training loss"),
                &marks,
                &dir.join(format!("loss{suffix}")),
                formats,
            )?,
            format!(
                "Training loss (of the batch at each logged step) vs step{at}: mean over seeds \
                 per strategy, {}, both {smooth_words}.{epoch_words}",
                {
                    let c = pick(&curves.loss);
                    figures::band_words(
                        c.len(),
                        c.iter().any(|c| c.strategy == crate::study::BASELINE),
                    )
                }
            ),
        );
        add(
            figures::test_acc_vs_step(
                &pick(&curves.test_acc),
                &title("Test accuracy"),
                &dir.join(format!("test_acc{suffix}")),
                formats,
            )?,
            format!("Test accuracy after each epoch vs step{at}."),
        );
        add(
            figures::grad_norm_vs_step(
                &pick(&curves.grad_norm),
                &format!("Weight-gradient norm: {}{at} (geometric mean, 95% CI)", study.name),
                &marks,
                &dir.join(format!("grad_norm{suffix}")),
                formats,
            )?,
            format!("Gradient norm of the network weights (before the update) vs step, log scale{at}: geometric mean over seeds, {} (of ln(norm)), both {smooth_words} (of ln(norm)).{epoch_words}", {
                let c = pick(&curves.grad_norm);
                figures::band_words(c.len(), c.iter().any(|c| c.strategy == crate::study::BASELINE))
            }),
        );
        let theta: Vec<(String, Vec<(String, CurveSet)>)> = curves
            .theta
            .iter()
            .map(|(l, v)| {
                let labeled = pick(v)
                    .into_iter()
                    .map(|c| {
                        let t0: Vec<String> = study
                            .runs_of(c.group)
                            .next()
                            .map(|r| r.theta0.values().map(|t| format!("{t}")).collect())
                            .unwrap_or_default();
                        (format!("{} (θ0 {})", c.strategy, t0.join(", ")), c)
                    })
                    .collect::<Vec<_>>();
                (l.clone(), labeled)
            })
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if !theta.is_empty() {
            add(
                figures::theta_vs_step(&theta, &title("θ − θ0 per clip layer"), &raw_marks, &dir.join(format!("theta{suffix}")), formats)?,
                format!("Change of θ (PACT: α) from its initial value θ0, per clip layer, vs step{at}, for the strategies that train θ: mean over seeds, {}, not smoothed (θ moves by small optimizer steps, not batch noise).{epoch_words}", figures::band_words(theta.iter().map(|(_, v)| v.len()).max().unwrap_or(0), false)),
            );
        }
        let rows: Vec<FinalAccRow> = agg
            .groups
            .iter()
            .filter(|r| groups.contains(&r.group))
            .map(|r| FinalAccRow {
                strategy: r.strategy.clone(),
                seeds: study
                    .runs_of(r.group)
                    .filter(|run| !run.diverged())
                    .filter_map(|run| run.summary.test_acc_at_selected)
                    .collect(),
                n_diverged: r.n_diverged,
                mean: r.sel_acc.mean,
                lo: r.sel_acc.t_lo,
                hi: r.sel_acc.t_hi,
            })
            .collect();
        add(
            figures::final_accuracy(
                &rows,
                &format!("Test accuracy at the selected epoch: {}{at}", study.name),
                figures::DotLabels {
                    x_desc: "test accuracy at the selected epoch (%)",
                    legend: "dots: seeds (completed runs) · square and bar: mean and 95% t-interval",
                },
                &dir.join(format!("acc_selected{suffix}")),
                formats,
            )?,
            format!("Test accuracy at each run's validation-selected epoch, per strategy{at}: every completed seed (circles), mean and 95% t-interval (bar)."),
        );
    }
    if !agg.paired.is_empty() {
        let m = agg.paired.len();
        let rows: Vec<DiffRow> = agg
            .paired
            .iter()
            .map(|r| DiffRow {
                label: if r.grid.is_empty() {
                    r.strategy.clone()
                } else {
                    format!("{} ({})", r.strategy, r.grid)
                },
                strategy: r.strategy.clone(),
                mean: r.stats.diff.mean,
                lo: r.stats.diff.t_lo,
                hi: r.stats.diff.t_hi,
                n_pairs: r.stats.n,
                significant: r.p_holm < ALPHA,
            })
            .collect();
        add(
            figures::paired_diff(
                &rows,
                &format!("Paired difference vs none: {}", study.name),
                ALPHA,
                &dir.join(PAIRED_DIFF),
                formats,
            )?,
            format!(
                "Test accuracy at the selected epoch minus none's on the same seed, per \
                 strategy (percentage points): mean over the n shared seeds with its 95% \
                 t-interval (as in tables/paired). Filled stars: significant at α = {ALPHA} \
                 after Holm's correction over the {m} comparisons; open circles: not \
                 significant; dashed line: no difference."
            ),
        );
    }
    if let Some(t) = &study.tuning {
        let mut names: Vec<&String> = t.selected.keys().collect();
        names.sort_by_key(|s| crate::study::strategy_rank(s));
        let rows: Vec<FinalAccRow> = names
            .iter()
            .map(|s| FinalAccRow {
                strategy: (*s).clone(),
                seeds: t.trials_of(s).map(|x| x.val_acc_mean).collect(),
                n_diverged: t.trials_of(s).filter(|x| x.n_diverged > 0).count(),
                mean: t.selected[*s].val_acc_mean,
                lo: f64::NAN,
                hi: f64::NAN,
            })
            .collect();
        add(
            figures::final_accuracy(
                &rows,
                &format!("Tuning: validation accuracy of every trial, {}", study.name),
                figures::DotLabels {
                    x_desc: "mean validation accuracy over the tuning seeds (%)",
                    legend: "dots: the trials of each strategy · square: the selected trial · (k div.): trials with a diverged run",
                },
                &dir.join("tuning"),
                formats,
            )?,
            format!(
                "Sensitivity to tuning: every one of the {} trials per strategy (mean validation accuracy over the tuning seeds; a diverged run counts 0) and the selected trial (square).",
                t.budget
            ),
        );
    }
    if !agg.lr.is_empty() {
        let mut rests: Vec<String> = Vec::new();
        for r in &agg.lr {
            if !rests.contains(&r.rest) {
                rests.push(r.rest.clone());
            }
        }
        for rest in rests {
            let rows: Vec<_> = agg.lr.iter().filter(|r| r.rest == rest).cloned().collect();
            let (suffix, at) = if rest.is_empty() {
                (String::new(), String::new())
            } else {
                (format!("-{}", file_tag(&rest)), format!(" at {rest}"))
            };
            add(
                figures::lr_sweep(&rows, &format!("Learning-rate sweep: {}{at}", study.name), &dir.join(format!("lr{suffix}")), formats)?,
                format!("Test accuracy at the selected epoch (completed runs, 95% t-interval) and share of diverged runs vs learning rate{at}."),
            );
        }
    }
    if let Some(shapes) = shapes.filter(|s| !s.is_empty()) {
        let t = shapes[0].threshold;
        add(
            figures::function_shapes(
                shapes,
                &format!("Strategy shapes and derivatives at θ = {t} (f32 training kernels)"),
                &dir.join("shapes"),
                formats,
            )?,
            format!("Each strategy's y = f(x; θ), ∂y/∂x and ∂y/∂θ at θ = {t} (PACT: α = {t}), from `clipbench curves`."),
        );
    }
    Ok(out)
}
