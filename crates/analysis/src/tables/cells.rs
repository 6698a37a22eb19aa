//! Composite text-table cells (counts with intervals, medians with intervals) that more
//! than one Markdown/LaTeX table shows.

use crate::tables::fmt::pct;

/// "0/3 (0–56%)" or "2/5 (40%; 12–77%)": count of runs, rate and its Wilson 95% interval.
pub(super) fn diverged_cell(k: usize, n: usize, lo: f64, hi: f64) -> String {
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
pub(super) fn median_cell(m: &crate::stats::MedianCi) -> String {
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
