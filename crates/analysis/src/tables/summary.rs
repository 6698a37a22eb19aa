//! The per-group summary table: every number at full precision (CSV, Parquet) and the
//! paper-ready version (mean ± std, best per column and grid point in bold).

use crate::aggregate::{Aggregate, GroupRow};
use crate::study::Study;
use crate::tables::cells::{diverged_cell, median_cell};
use crate::tables::fmt::{fixed, pct, pct_interval, pct_pm, sig};
use crate::tables::grid::push_grid_values;
use crate::tables::text::TextTable;
use crate::tables::{Col, Table};

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

pub(super) fn summary_text(study: &Study, rows: &[GroupRow]) -> TextTable {
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
