//! The learning-rate stability tables: divergence and accuracy per learning rate, and the
//! largest stable learning rate per strategy.

use crate::aggregate::Aggregate;
use crate::tables::cells::diverged_cell;
use crate::tables::fmt::{lr, pct_interval, pct_pm};
use crate::tables::text::TextTable;
use crate::tables::{Col, Table};

pub(super) fn lr_table(agg: &Aggregate) -> Table {
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

pub(super) fn lr_text(agg: &Aggregate) -> TextTable {
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

pub(super) fn stable_text(agg: &Aggregate) -> TextTable {
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
