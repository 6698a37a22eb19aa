//! Which flattened columns `steps.parquet` has: one per layer of each per-layer object of the
//! step records. Parquet needs the schema before the first row group, so the columns are the
//! union of every run's layout (its first step record's layers, clipbench_metrics::Layout)
//! and the study's clip layers; a run without a column has nulls there.

use std::collections::{BTreeMap, BTreeSet};

pub use clipbench_metrics::Field as StepField;
use clipbench_metrics::RunRecords;

use crate::study::Study;

/// The flattened columns of a study's step table, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepColumns {
    /// Weight layers (`grad_norm_by_layer` keys).
    pub weight_layers: Vec<String>,
    /// Clip layers (`theta`, `theta_grad`, `clip_fraction`, `theta_projected` keys).
    pub clip_layers: Vec<String>,
    /// Per-channel θ: (clip layer, number of channels) → `theta_<layer>_c<i>` columns.
    pub channels: Vec<(String, usize)>,
}

impl StepColumns {
    /// (field, layer, column name) of every per-layer column, in column order.
    pub fn layer_columns(&self) -> Vec<(StepField, String, String)> {
        let mut v: Vec<(StepField, String, String)> = self
            .weight_layers
            .iter()
            .map(|l| {
                (
                    StepField::GradNorm,
                    l.clone(),
                    StepField::GradNorm.column(l),
                )
            })
            .collect();
        for f in &StepField::ALL[1..] {
            for l in &self.clip_layers {
                v.push((*f, l.clone(), f.column(l)));
            }
        }
        v
    }

    /// `theta_<layer>_c<i>` for channel `i` of a per-channel layer.
    pub fn channel_column(layer: &str, i: usize) -> String {
        format!("theta_{layer}_c{i}")
    }

    /// The columns of `study` whose runs' records are `records`.
    pub fn of(study: &Study, records: &[RunRecords]) -> StepColumns {
        let mut weight = BTreeSet::new();
        let mut clip: BTreeSet<String> = study.layers.iter().cloned().collect();
        let mut channels: BTreeMap<String, usize> = Default::default();
        for r in records {
            weight.extend(r.layout.weight_layers.iter().cloned());
            clip.extend(r.layout.clip_layers.iter().cloned());
            for (layer, n) in &r.layout.channels {
                let e = channels.entry(layer.clone()).or_default();
                *e = (*e).max(*n);
            }
        }
        StepColumns {
            weight_layers: weight.into_iter().collect(),
            clip_layers: clip.into_iter().collect(),
            channels: channels.into_iter().collect(),
        }
    }
}
