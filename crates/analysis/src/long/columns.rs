//! Which flattened columns `steps.parquet` has: one per layer of each per-layer object of the
//! step records. Parquet needs the schema before the first row group, so the layers are read
//! from each run's first step record (every record of a run has the same layers, except
//! `theta_projected`, whose layers are clip layers); a later record with a layer outside that
//! set is an error naming its line, never a silently dropped value.

use std::collections::BTreeSet;
use std::io::BufRead;

use crate::error::{AnalysisError, Result};
use crate::study::Study;

/// A per-layer object of a step record (README "Run directory and metrics").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepField {
    GradNorm,
    Theta,
    ThetaGrad,
    ClipFraction,
    ThetaProjected,
}

impl StepField {
    /// The column name of `layer`'s value: `grad_norm_conv1`, `theta_clip1`, ...
    pub fn column(self, layer: &str) -> String {
        let prefix = match self {
            StepField::GradNorm => "grad_norm",
            StepField::Theta => "theta",
            StepField::ThetaGrad => "theta_grad",
            StepField::ClipFraction => "clip_fraction",
            StepField::ThetaProjected => "theta_projected",
        };
        format!("{prefix}_{layer}")
    }

    /// The record's key holding this object.
    pub fn key(self) -> &'static str {
        match self {
            StepField::GradNorm => "grad_norm_by_layer",
            StepField::Theta => "theta",
            StepField::ThetaGrad => "theta_grad",
            StepField::ClipFraction => "clip_fraction",
            StepField::ThetaProjected => "theta_projected",
        }
    }
}

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
        for f in [
            StepField::Theta,
            StepField::ThetaGrad,
            StepField::ClipFraction,
            StepField::ThetaProjected,
        ] {
            for l in &self.clip_layers {
                v.push((f, l.clone(), f.column(l)));
            }
        }
        v
    }

    /// `theta_<layer>_c<i>` for channel `i` of a per-channel layer.
    pub fn channel_column(layer: &str, i: usize) -> String {
        format!("theta_{layer}_c{i}")
    }

    /// The columns of `study`: its clip layers plus the layers of every run's first step
    /// record.
    pub fn of(study: &Study) -> Result<StepColumns> {
        let mut weight = BTreeSet::new();
        let mut clip: BTreeSet<String> = study.layers.iter().cloned().collect();
        let mut channels: std::collections::BTreeMap<String, usize> = Default::default();
        for run in &study.runs {
            let path = run.metrics_path();
            let Some((line_no, v)) = first_step(&path)? else {
                continue;
            };
            let keys = |k: &str| -> Vec<String> {
                v.get(k)
                    .and_then(|o| o.as_object())
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            };
            weight.extend(keys("grad_norm_by_layer"));
            for k in ["theta", "theta_grad", "clip_fraction"] {
                clip.extend(keys(k));
            }
            if let Some(o) = v.get("theta_channels").and_then(|o| o.as_object()) {
                for (layer, c) in o {
                    let n = c
                        .as_array()
                        .map(Vec::len)
                        .ok_or_else(|| AnalysisError::JsonLine {
                            path: path.clone(),
                            line: line_no,
                            message: format!("theta_channels.{layer}: expected a list of numbers"),
                        })?;
                    let e = channels.entry(layer.clone()).or_default();
                    *e = (*e).max(n);
                }
            }
        }
        Ok(StepColumns {
            weight_layers: weight.into_iter().collect(),
            clip_layers: clip.into_iter().collect(),
            channels: channels.into_iter().collect(),
        })
    }
}

/// The first step record of a metrics file and its 1-based line number (None without one).
fn first_step(path: &std::path::Path) -> Result<Option<(usize, serde_json::Value)>> {
    let file = std::fs::File::open(path).map_err(|e| AnalysisError::io(path, e))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| AnalysisError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| AnalysisError::JsonLine {
                path: path.to_path_buf(),
                line: i + 1,
                message: e.to_string(),
            })?;
        if v.get("kind").and_then(|k| k.as_str()) == Some("step") {
            return Ok(Some((i + 1, v)));
        }
    }
    Ok(None)
}
