//! The power/planning table: seeds needed per effect size (a plan, not a post-hoc claim).

use crate::aggregate::Aggregate;
use crate::tables::text::TextTable;

pub(super) fn power_text(agg: &Aggregate) -> TextTable {
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
