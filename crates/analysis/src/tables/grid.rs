//! The per-grid-key value columns shared by the machine-readable tables whose rows are groups.

use crate::study::Study;
use crate::tables::{Col, Table};

/// One numeric column per grid key (named by its dotted key), for the rows' groups: lets
/// scripts select a grid point without parsing the "grid" label.
pub(super) fn push_grid_values(t: &mut Table, study: &Study, groups: &[usize]) {
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
