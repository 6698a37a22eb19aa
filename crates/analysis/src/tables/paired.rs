//! The paired comparison of each strategy against the baseline over shared seeds.

use crate::aggregate::Aggregate;
use crate::study::Study;
use crate::tables::fmt::{fixed, p_value, pp, signed};
use crate::tables::grid::push_grid_values;
use crate::tables::text::TextTable;
use crate::tables::{Col, Table};

pub(super) fn paired_table(study: &Study, agg: &Aggregate) -> Table {
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

pub(super) fn paired_text(study: &Study, agg: &Aggregate) -> TextTable {
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
