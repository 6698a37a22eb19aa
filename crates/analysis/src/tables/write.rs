//! Builds every table from an [`Aggregate`] and writes `tables/`.

use std::path::{Path, PathBuf};

use crate::aggregate::{Aggregate, GroupRow};
use crate::error::{AnalysisError, Result};
use crate::study::Study;
use crate::tables::fmt::{fixed, lr, p_value, pct, pct_interval, pct_pm, pp, sig, signed};
use crate::tables::text::TextTable;
use crate::tables::{write_parquet, Col, Table};

/// The Markdown tables (the report embeds them) and the files written.
#[derive(Clone, Debug, Default)]
pub struct TableFiles {
    pub summary_md: String,
    pub paired_md: Option<String>,
    pub lr_md: Option<String>,
    pub stable_lr_md: Option<String>,
    pub power_md: String,
    pub written: Vec<PathBuf>,
}

fn write(path: &Path, text: &str, written: &mut Vec<PathBuf>) -> Result<()> {
    crate::atomic::write(path, text.as_bytes())?;
    written.push(path.to_path_buf());
    Ok(())
}

/// Writes `dir/summary.{csv,parquet,md,tex}`, `runs.csv`, `paired.*`, `lr.*`, `power.md`.
pub fn write_tables(study: &Study, agg: &Aggregate, dir: &Path) -> Result<TableFiles> {
    std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))?;
    let mut files = TableFiles::default();
    let w = &mut files.written;

    let summary = summary_table(study, agg);
    write(&dir.join("summary.csv"), &summary.to_csv(), w)?;
    let path = dir.join("summary.parquet");
    write_parquet(&mut summary.to_frame()?, &path)?;
    w.push(path);
    let text = summary_text(study, &agg.groups);
    files.summary_md = text.markdown();
    write(&dir.join("summary.md"), &files.summary_md, w)?;
    let caption = format!(
        "Study {}: test accuracy at the validation-selected epoch and at the last epoch \
         (mean ± std over seeds, completed runs), divergences (Wilson 95% interval), steps \
         to the target validation accuracy, gradient norms, θ and clip fraction per strategy. \
         Bold: best per column.",
        study.name
    );
    write(
        &dir.join("summary.tex"),
        &text.latex(&caption, &format!("tab:{}-summary", study.name)),
        w,
    )?;

    write(&dir.join("runs.csv"), &runs_table(study, agg).to_csv(), w)?;

    if !agg.paired.is_empty() {
        write(
            &dir.join("paired.csv"),
            &paired_table(study, agg).to_csv(),
            w,
        )?;
        let t = paired_text(study, agg);
        let md = t.markdown();
        write(&dir.join("paired.md"), &md, w)?;
        let caption = format!(
            "Study {}: each strategy against none over shared seeds (test accuracy at the \
             selected epoch, percentage points): mean difference, 95% t and BCa intervals, \
             paired t-test p-value raw and Holm-adjusted over the table, share of seeds \
             improved, d_z, and seeds lost to divergence.",
            study.name
        );
        write(
            &dir.join("paired.tex"),
            &t.latex(&caption, &format!("tab:{}-paired", study.name)),
            w,
        )?;
        files.paired_md = Some(md);
    }
    if !agg.lr.is_empty() {
        write(&dir.join("lr.csv"), &lr_table(agg).to_csv(), w)?;
        let t = lr_text(agg);
        let md = t.markdown();
        write(&dir.join("lr.md"), &md, w)?;
        let caption = format!(
            "Study {}: divergence rate (Wilson 95% interval) and test accuracy at the \
             selected epoch (completed runs) per learning rate.",
            study.name
        );
        write(
            &dir.join("lr.tex"),
            &t.latex(&caption, &format!("tab:{}-lr", study.name)),
            w,
        )?;
        let s = stable_text(agg);
        let smd = s.markdown();
        write(&dir.join("stable_lr.md"), &smd, w)?;
        write(
            &dir.join("stable_lr.tex"),
            &s.latex(
                &format!(
                    "Study {}: the largest stable learning rate per strategy.",
                    study.name
                ),
                &format!("tab:{}-stable-lr", study.name),
            ),
            w,
        )?;
        files.lr_md = Some(md);
        files.stable_lr_md = Some(smd);
    }
    files.power_md = power_text(agg).markdown();
    write(&dir.join("power.md"), &files.power_md, w)?;
    Ok(files)
}

/// One numeric column per grid key (named by its dotted key), for the rows' groups: lets
/// scripts select a grid point without parsing the "grid" label.
fn push_grid_values(t: &mut Table, study: &Study, groups: &[usize]) {
    for key in &study.grid_keys {
        let vals = groups
            .iter()
            .map(|&g| {
                study.groups[g]
                    .grid
                    .iter()
                    .find(|(k, _)| k == key)
                    .and_then(|(_, v)| v.as_f64())
                    .unwrap_or(f64::NAN)
            })
            .collect();
        t.push(key.clone(), Col::F64(vals));
    }
}

/// Every number of the per-group rows at full precision.
pub fn summary_table(study: &Study, agg: &Aggregate) -> Table {
    let g = &agg.groups;
    let f = |get: &dyn Fn(&GroupRow) -> f64| Col::F64(g.iter().map(get).collect());
    let mut t = Table::default();
    t.push(
        "strategy",
        Col::Str(g.iter().map(|r| r.strategy.clone()).collect()),
    );
    t.push("grid", Col::Str(g.iter().map(|r| r.grid.clone()).collect()));
    push_grid_values(
        &mut t,
        study,
        &g.iter().map(|r| r.group).collect::<Vec<_>>(),
    );
    t.push(
        "n_runs",
        Col::Int(g.iter().map(|r| Some(r.n_runs as i64)).collect()),
    );
    t.push(
        "n_diverged",
        Col::Int(g.iter().map(|r| Some(r.n_diverged as i64)).collect()),
    );
    t.push("divergence_rate", f(&|r| r.divergence_rate));
    t.push("divergence_rate_ci95_lo", f(&|r| r.divergence_lo));
    t.push("divergence_rate_ci95_hi", f(&|r| r.divergence_hi));
    t.push(
        "first_divergence_step",
        Col::Int(
            g.iter()
                .map(|r| r.first_divergence_step.map(|s| s as i64))
                .collect(),
        ),
    );
    type Pick = fn(&GroupRow) -> crate::stats::Describe;
    for (name, pick) in [
        ("test_acc_at_selected", (|r: &GroupRow| r.sel_acc) as Pick),
        ("final_test_acc", |r: &GroupRow| r.final_acc),
        ("val_acc_at_selected", |r: &GroupRow| r.val_acc),
    ] {
        t.push(
            format!("{name}_n"),
            Col::Int(g.iter().map(|r| Some(pick(r).n as i64)).collect()),
        );
        t.push(format!("{name}_mean"), f(&|r| pick(r).mean));
        t.push(format!("{name}_std"), f(&|r| pick(r).std));
        t.push(format!("{name}_ci95_t_lo"), f(&|r| pick(r).t_lo));
        t.push(format!("{name}_ci95_t_hi"), f(&|r| pick(r).t_hi));
        t.push(format!("{name}_ci95_bca_lo"), f(&|r| pick(r).boot_lo));
        t.push(format!("{name}_ci95_bca_hi"), f(&|r| pick(r).boot_hi));
    }
    t.push("selected_epoch_median", f(&|r| r.selected_epoch_median));
    t.push("final_test_loss_mean", f(&|r| r.final_test_loss));
    t.push("target_val_acc", f(&|_| agg.target.acc));
    t.push(
        "n_reached_target",
        Col::Int(g.iter().map(|r| Some(r.n_reached as i64)).collect()),
    );
    for (name, pick) in [
        (
            "steps_to_target",
            (|r: &GroupRow| r.target_steps) as fn(&GroupRow) -> crate::stats::MedianCi,
        ),
        ("train_s_to_target", |r: &GroupRow| r.target_s),
    ] {
        t.push(format!("{name}_median"), f(&|r| pick(r).median));
        t.push(format!("{name}_ci_lo"), f(&|r| pick(r).lo));
        t.push(format!("{name}_ci_hi"), f(&|r| pick(r).hi));
        t.push(format!("{name}_ci_coverage"), f(&|r| pick(r).coverage));
    }
    t.push("grad_norm_median", f(&|r| r.grad_norm_median));
    t.push("grad_norm_max", f(&|r| r.grad_norm_max));
    t.push("spike_share", f(&|r| r.spike_share));
    for l in &study.layers {
        let get =
            |m: &std::collections::BTreeMap<String, f64>| m.get(l).copied().unwrap_or(f64::NAN);
        t.push(format!("theta0_{l}"), f(&|r| get(&r.theta0)));
        t.push(
            format!("theta_final_mean_{l}"),
            f(&|r| get(&r.theta_final_mean)),
        );
        t.push(
            format!("theta_final_std_{l}"),
            f(&|r| get(&r.theta_final_std)),
        );
        t.push(
            format!("theta_max_abs_change_{l}"),
            f(&|r| get(&r.theta_max_abs_change)),
        );
        t.push(
            format!("clip_fraction_mean_{l}"),
            f(&|r| get(&r.clip_fraction)),
        );
        t.push(
            format!("theta_projected_{l}"),
            Col::Int(
                g.iter()
                    .map(|r| r.theta_projected.get(l).map(|&v| v as i64))
                    .collect(),
            ),
        );
    }
    t.push("train_wall_s_mean", f(&|r| r.train_wall_s));
    t
}

fn summary_text(study: &Study, rows: &[GroupRow]) -> TextTable {
    let has_grid = !study.grid_keys.is_empty();
    let mut header: Vec<(String, String, bool)> =
        vec![("Strategy".into(), "Strategy".into(), false)];
    if has_grid {
        header.push(("Grid".into(), "Grid".into(), false));
    }
    for (md, tex, num) in [
        ("Runs", "Runs", true),
        ("Diverged", "Div.", true),
        ("Test acc @ sel. (%)", "Test acc @ sel. (\\%)", true),
        ("95% CI (t)", "95\\% CI ($t$)", true),
        ("95% CI (BCa)", "95\\% CI (BCa)", true),
        ("Last-epoch acc (%)", "Last-epoch acc (\\%)", true),
        ("Steps to target", "Steps to target", true),
        ("‖g‖ median", "$\\|g\\|$ med.", true),
        ("‖g‖ max", "$\\|g\\|$ max", true),
        ("Spikes (%)", "Spikes (\\%)", true),
    ] {
        header.push((md.into(), tex.into(), num));
    }
    for l in &study.layers {
        header.push((format!("θ {l}"), format!("$\\theta$ {l}"), true));
    }
    for l in &study.layers {
        header.push((
            format!("Clipped {l} (%)"),
            format!("Clipped {l} (\\%)"),
            true,
        ));
    }
    let hdr: Vec<(&str, &str, bool)> = header
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), *c))
        .collect();
    let mut t = TextTable::new(&hdr);
    let c0 = if has_grid { 2 } else { 1 };
    for r in rows {
        let mut row = vec![r.strategy.clone()];
        if has_grid {
            row.push(r.grid.clone());
        }
        row.push(r.n_runs.to_string());
        row.push(diverged_cell(
            r.n_diverged,
            r.n_runs,
            r.divergence_lo,
            r.divergence_hi,
        ));
        row.push(pct_pm(r.sel_acc.mean, r.sel_acc.std, 2));
        row.push(pct_interval(r.sel_acc.t_lo, r.sel_acc.t_hi, 2));
        row.push(pct_interval(r.sel_acc.boot_lo, r.sel_acc.boot_hi, 2));
        row.push(pct_pm(r.final_acc.mean, r.final_acc.std, 2));
        row.push(median_cell(&r.target_steps));
        row.push(sig(r.grad_norm_median, 3));
        row.push(sig(r.grad_norm_max, 3));
        row.push(pct(r.spike_share, 2));
        for l in &study.layers {
            row.push(
                r.theta_final_mean
                    .get(l)
                    .map_or("–".into(), |&v| fixed(v, 4)),
            );
        }
        for l in &study.layers {
            row.push(r.clip_fraction.get(l).map_or("–".into(), |&v| pct(v, 2)));
        }
        t.push(row);
    }
    // Best per column within each grid point, on the values as displayed.
    let n_points = rows
        .iter()
        .map(|r| study.groups[r.group].point + 1)
        .max()
        .unwrap_or(1);
    let round = |x: f64, scale: f64| (x * scale).round() / scale;
    for p in 0..n_points {
        let idx: Vec<usize> = (0..rows.len())
            .filter(|&i| study.groups[rows[i].group].point == p)
            .collect();
        if let Some(&first) = idx.first() {
            if first > 0 {
                t.breaks.push(first);
            }
        }
        t.bold_best(c0 + 1, &idx, |i| Some(rows[i].n_diverged as f64), false);
        t.bold_best(
            c0 + 2,
            &idx,
            |i| Some(round(rows[i].sel_acc.mean, 1e4)),
            true,
        );
        t.bold_best(
            c0 + 5,
            &idx,
            |i| Some(round(rows[i].final_acc.mean, 1e4)),
            true,
        );
        t.bold_best(c0 + 6, &idx, |i| Some(rows[i].target_steps.median), false);
        t.bold_best(
            c0 + 9,
            &idx,
            |i| Some(round(rows[i].spike_share, 1e4)),
            false,
        );
    }
    t
}

/// "0/3 (0–56%)" or "2/5 (40%; 12–77%)": count of runs, rate and its Wilson 95% interval.
fn diverged_cell(k: usize, n: usize, lo: f64, hi: f64) -> String {
    if k == 0 {
        format!("0/{n} (0–{}%)", pct(hi, 0))
    } else {
        format!(
            "{k}/{n} ({}%; {}–{}%)",
            pct(k as f64 / n.max(1) as f64, 0),
            pct(lo, 0),
            pct(hi, 0)
        )
    }
}

/// "940 [600, ∞]": a median with its order-statistic interval; ∞ = not reached.
fn median_cell(m: &crate::stats::MedianCi) -> String {
    let v = |x: f64| {
        if x.is_infinite() {
            "∞".to_string()
        } else if x.is_nan() {
            "–".to_string()
        } else {
            format!("{x:.0}")
        }
    };
    if m.n == 0 {
        return "–".into();
    }
    format!("{} [{}, {}]", v(m.median), v(m.lo), v(m.hi))
}

fn runs_table(study: &Study, agg: &Aggregate) -> Table {
    let runs = &study.runs;
    let mut t = Table::default();
    t.push(
        "run_id",
        Col::Str(runs.iter().map(|r| r.run_id.clone()).collect()),
    );
    t.push(
        "strategy",
        Col::Str(runs.iter().map(|r| r.strategy.clone()).collect()),
    );
    t.push(
        "grid",
        Col::Str(
            runs.iter()
                .map(|r| crate::study::grid_label(&study.groups[r.group].grid))
                .collect(),
        ),
    );
    t.push(
        "seed",
        Col::Int(runs.iter().map(|r| Some(r.seed as i64)).collect()),
    );
    t.push(
        "status",
        Col::Str(
            runs.iter()
                .map(|r| {
                    if r.diverged() {
                        "diverged"
                    } else {
                        "completed"
                    }
                    .into()
                })
                .collect(),
        ),
    );
    t.push(
        "steps",
        Col::Int(runs.iter().map(|r| Some(r.summary.steps as i64)).collect()),
    );
    t.push(
        "diverged_at_step",
        Col::Int(
            runs.iter()
                .map(|r| r.summary.diverged_at_step.map(|s| s as i64))
                .collect(),
        ),
    );
    let o = |x: Option<f64>| x.unwrap_or(f64::NAN);
    t.push(
        "selection",
        Col::Str(runs.iter().map(|r| r.summary.selection.clone()).collect()),
    );
    t.push(
        "selected_epoch",
        Col::Int(
            runs.iter()
                .map(|r| r.summary.selected_epoch.map(i64::from))
                .collect(),
        ),
    );
    t.push(
        "val_acc_at_selected",
        Col::F64(
            runs.iter()
                .map(|r| o(r.summary.val_acc_at_selected))
                .collect(),
        ),
    );
    t.push(
        "test_acc_at_selected",
        Col::F64(
            runs.iter()
                .map(|r| o(r.summary.test_acc_at_selected))
                .collect(),
        ),
    );
    t.push(
        "final_test_acc",
        Col::F64(runs.iter().map(|r| o(r.summary.final_test_acc)).collect()),
    );
    t.push(
        "steps_to_target",
        Col::F64(agg.runs.iter().map(|s| s.target_steps).collect()),
    );
    t.push(
        "train_s_to_target",
        Col::F64(agg.runs.iter().map(|s| s.target_s).collect()),
    );
    t.push(
        "theta_param",
        Col::Str(
            runs.iter()
                .map(|r| r.manifest.theta_param().to_string())
                .collect(),
        ),
    );
    t.push(
        "final_test_loss",
        Col::F64(runs.iter().map(|r| o(r.summary.final_test_loss)).collect()),
    );
    t.push(
        "max_grad_norm",
        Col::F64(runs.iter().map(|r| r.summary.max_grad_norm).collect()),
    );
    t.push(
        "logged_steps",
        Col::Int(agg.runs.iter().map(|s| Some(s.n_steps as i64)).collect()),
    );
    t.push(
        "grad_norm_median",
        Col::F64(agg.runs.iter().map(|s| s.grad_norm_median).collect()),
    );
    t.push(
        "grad_spikes",
        Col::Int(agg.runs.iter().map(|s| Some(s.n_spikes as i64)).collect()),
    );
    for l in &study.layers {
        t.push(
            format!("theta0_{l}"),
            Col::F64(runs.iter().map(|r| o(r.theta0.get(l).copied())).collect()),
        );
        t.push(
            format!("theta_final_{l}"),
            Col::F64(runs.iter().map(|r| o(r.summary.final_theta(l))).collect()),
        );
        t.push(
            format!("clip_fraction_mean_{l}"),
            Col::F64(
                agg.runs
                    .iter()
                    .map(|s| o(s.clip_fraction.get(l).copied()))
                    .collect(),
            ),
        );
    }
    t.push(
        "train_wall_s",
        Col::F64(runs.iter().map(|r| r.summary.train_wall_s).collect()),
    );
    t
}

fn paired_table(study: &Study, agg: &Aggregate) -> Table {
    let p = &agg.paired;
    let f =
        |get: &dyn Fn(&crate::aggregate::PairedRow) -> f64| Col::F64(p.iter().map(get).collect());
    let mut t = Table::default();
    t.push(
        "strategy",
        Col::Str(p.iter().map(|r| r.strategy.clone()).collect()),
    );
    t.push(
        "baseline",
        Col::Str(
            p.iter()
                .map(|_| crate::study::BASELINE.to_string())
                .collect(),
        ),
    );
    t.push("grid", Col::Str(p.iter().map(|r| r.grid.clone()).collect()));
    push_grid_values(
        &mut t,
        study,
        &p.iter().map(|r| r.group).collect::<Vec<_>>(),
    );
    t.push(
        "n_pairs",
        Col::Int(p.iter().map(|r| Some(r.stats.n as i64)).collect()),
    );
    t.push(
        "pairs_lost",
        Col::Int(p.iter().map(|r| Some(r.pairs_lost as i64)).collect()),
    );
    t.push(
        "seeds",
        Col::Str(
            p.iter()
                .map(|r| {
                    r.seeds
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect(),
        ),
    );
    t.push("diff_mean", f(&|r| r.stats.diff.mean));
    t.push("diff_std", f(&|r| r.stats.diff.std));
    t.push("diff_ci95_t_lo", f(&|r| r.stats.diff.t_lo));
    t.push("diff_ci95_t_hi", f(&|r| r.stats.diff.t_hi));
    t.push("diff_ci95_bca_lo", f(&|r| r.stats.diff.boot_lo));
    t.push("diff_ci95_bca_hi", f(&|r| r.stats.diff.boot_hi));
    t.push("p_value_paired_t", f(&|r| r.stats.p_value));
    t.push("p_holm", f(&|r| r.p_holm));
    t.push("prob_improvement", f(&|r| r.stats.prob_improvement));
    t.push("effect_size_dz", f(&|r| r.stats.effect_size));
    t
}

fn paired_text(study: &Study, agg: &Aggregate) -> TextTable {
    let has_grid = !study.grid_keys.is_empty();
    let mut hdr = vec![("Strategy", "Strategy", false)];
    if has_grid {
        hdr.push(("Grid", "Grid", false));
    }
    hdr.extend([
        ("Pairs (lost)", "Pairs (lost)", true),
        ("Δ acc (pp)", "$\\Delta$ acc (pp)", true),
        ("95% CI (t)", "95\\% CI ($t$)", true),
        ("95% CI (BCa)", "95\\% CI (BCa)", true),
        ("p (paired t)", "$p$ (paired $t$)", true),
        ("p (Holm)", "$p$ (Holm)", true),
        ("P(improve)", "P(improve)", true),
        ("d_z", "$d_z$", true),
    ]);
    let mut t = TextTable::new(&hdr);
    for r in &agg.paired {
        let s = &r.stats;
        let mut row = vec![r.strategy.clone()];
        if has_grid {
            row.push(r.grid.clone());
        }
        let interval = |lo: f64, hi: f64| {
            if lo.is_finite() && hi.is_finite() {
                format!("[{}, {}]", pp(lo, 2), pp(hi, 2))
            } else {
                "–".into()
            }
        };
        row.extend([
            format!("{} ({})", s.n, r.pairs_lost),
            pp(s.diff.mean, 2),
            interval(s.diff.t_lo, s.diff.t_hi),
            interval(s.diff.boot_lo, s.diff.boot_hi),
            p_value(s.p_value),
            p_value(r.p_holm),
            fixed(s.prob_improvement, 2),
            signed(s.effect_size, 2),
        ]);
        t.push(row);
    }
    t
}

fn lr_table(agg: &Aggregate) -> Table {
    let rows = &agg.lr;
    let mut t = Table::default();
    t.push(
        "strategy",
        Col::Str(rows.iter().map(|r| r.strategy.clone()).collect()),
    );
    t.push(
        "other_grid",
        Col::Str(rows.iter().map(|r| r.rest.clone()).collect()),
    );
    t.push("lr", Col::F64(rows.iter().map(|r| r.lr).collect()));
    t.push(
        "n_runs",
        Col::Int(rows.iter().map(|r| Some(r.n_runs as i64)).collect()),
    );
    t.push(
        "n_diverged",
        Col::Int(rows.iter().map(|r| Some(r.n_diverged as i64)).collect()),
    );
    let f =
        |get: &dyn Fn(&crate::aggregate::LrRow) -> f64| Col::F64(rows.iter().map(get).collect());
    t.push("divergence_rate", f(&|r| r.divergence_rate));
    t.push("divergence_rate_ci95_lo", f(&|r| r.divergence_lo));
    t.push("divergence_rate_ci95_hi", f(&|r| r.divergence_hi));
    t.push(
        "test_acc_at_selected_n",
        Col::Int(rows.iter().map(|r| Some(r.sel_acc.n as i64)).collect()),
    );
    t.push("test_acc_at_selected_mean", f(&|r| r.sel_acc.mean));
    t.push("test_acc_at_selected_std", f(&|r| r.sel_acc.std));
    t.push("test_acc_at_selected_ci95_t_lo", f(&|r| r.sel_acc.t_lo));
    t.push("test_acc_at_selected_ci95_t_hi", f(&|r| r.sel_acc.t_hi));
    t
}

fn lr_text(agg: &Aggregate) -> TextTable {
    let has_rest = agg.lr.iter().any(|r| !r.rest.is_empty());
    let mut hdr = vec![("Strategy", "Strategy", false)];
    if has_rest {
        hdr.push(("Other grid", "Other grid", false));
    }
    hdr.extend([
        ("lr", "lr", true),
        ("Runs", "Runs", true),
        ("Diverged", "Diverged", true),
        ("Test acc @ sel. (%)", "Test acc @ sel. (\\%)", true),
        ("95% CI (t)", "95\\% CI ($t$)", true),
    ]);
    let mut t = TextTable::new(&hdr);
    for r in &agg.lr {
        let mut row = vec![r.strategy.clone()];
        if has_rest {
            row.push(r.rest.clone());
        }
        row.extend([
            lr(r.lr),
            r.n_runs.to_string(),
            diverged_cell(r.n_diverged, r.n_runs, r.divergence_lo, r.divergence_hi),
            pct_pm(r.sel_acc.mean, r.sel_acc.std, 2),
            pct_interval(r.sel_acc.t_lo, r.sel_acc.t_hi, 2),
        ]);
        t.push(row);
    }
    t
}

fn stable_text(agg: &Aggregate) -> TextTable {
    let has_rest = agg.stable_lr.iter().any(|r| !r.rest.is_empty());
    let mut hdr = vec![("Strategy", "Strategy", false)];
    if has_rest {
        hdr.push(("Other grid", "Other grid", false));
    }
    hdr.extend([
        (
            "Largest lr without divergence",
            "Largest lr, no divergence",
            true,
        ),
        (
            "Largest lr that still learns (≥ 90% of best acc)",
            "Largest lr, $\\geq$ 90\\% of best acc",
            true,
        ),
        ("Acc there (%, mean ± std)", "Acc there (\\%)", true),
    ]);
    let mut t = TextTable::new(&hdr);
    for r in &agg.stable_lr {
        let mut row = vec![r.strategy.clone()];
        if has_rest {
            row.push(r.rest.clone());
        }
        row.push(r.no_divergence.map_or("none stable".into(), lr));
        row.push(r.learns.map_or("–".into(), lr));
        row.push(
            r.learns_acc
                .map_or("–".into(), |d| pct_pm(d.mean, d.std, 2)),
        );
        t.push(row);
    }
    let idx: Vec<usize> = (0..agg.stable_lr.len()).collect();
    t.bold_best(
        t.header.len() - 3,
        &idx,
        |i| agg.stable_lr[i].no_divergence,
        true,
    );
    t.bold_best(t.header.len() - 2, &idx, |i| agg.stable_lr[i].learns, true);
    t
}

fn power_text(agg: &Aggregate) -> TextTable {
    let mut t = TextTable::new(&[
        ("Effect size d_z = mean(diff) / sd(diff)", "$d_z$", true),
        (
            "Seeds needed (paired t, α = 0.05, power 0.8): planning, not post-hoc",
            "Seeds",
            true,
        ),
    ]);
    for (d, n) in &agg.power {
        t.push(vec![
            format!("{d}"),
            n.map_or("> 100000".into(), |n| n.to_string()),
        ]);
    }
    t
}
