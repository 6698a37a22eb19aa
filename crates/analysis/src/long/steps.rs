//! `steps.parquet`, streamed: metrics.jsonl blocks parsed in parallel into columns (never one
//! struct per row), one Parquet row group per batch of blocks, written to a temporary file
//! that replaces the table only when complete.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use serde::Deserialize;

use super::columns::{StepColumns, StepField};
use crate::error::{AnalysisError, Result};
use crate::logs::{Block, Blocks, Pairs, BLOCK, BLOCKS_PER_THREAD};
use crate::study::Study;

/// Every field of a step record (README "Run directory and metrics"); other kinds are skipped.
#[derive(Deserialize)]
struct StepLine<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    step: Option<i64>,
    epoch: Option<i64>,
    loss: Option<f64>,
    lr: Option<f64>,
    grad_norm: Option<f64>,
    #[serde(borrow, default)]
    grad_norm_by_layer: Option<Pairs<'a>>,
    #[serde(borrow, default)]
    theta: Option<Pairs<'a>>,
    #[serde(borrow, default)]
    theta_grad: Option<Pairs<'a>>,
    #[serde(borrow, default)]
    clip_fraction: Option<Pairs<'a>>,
    #[serde(borrow, default)]
    theta_projected: Option<Pairs<'a>>,
    #[serde(default)]
    theta_channels: Option<BTreeMap<String, Vec<Option<f64>>>>,
}

impl<'a> StepLine<'a> {
    fn object(&self, f: StepField) -> Option<&Pairs<'a>> {
        match f {
            StepField::GradNorm => self.grad_norm_by_layer.as_ref(),
            StepField::Theta => self.theta.as_ref(),
            StepField::ThetaGrad => self.theta_grad.as_ref(),
            StepField::ClipFraction => self.clip_fraction.as_ref(),
            StepField::ThetaProjected => self.theta_projected.as_ref(),
        }
    }
}

/// Columns of a batch; NaN marks a missing value (null in the table).
struct Cols {
    run: Vec<usize>,
    step: Vec<i64>,
    epoch: Vec<i64>,
    loss: Vec<f64>,
    lr: Vec<f64>,
    grad_norm: Vec<f64>,
    /// One per [`StepColumns::layer_columns`] entry, then one per channel column.
    layers: Vec<Vec<f64>>,
}

impl Cols {
    fn new(n_layer_cols: usize) -> Cols {
        Cols {
            run: Vec::new(),
            step: Vec::new(),
            epoch: Vec::new(),
            loss: Vec::new(),
            lr: Vec::new(),
            grad_norm: Vec::new(),
            layers: vec![Vec::new(); n_layer_cols],
        }
    }

    fn append(&mut self, mut o: Cols) {
        self.run.append(&mut o.run);
        self.step.append(&mut o.step);
        self.epoch.append(&mut o.epoch);
        self.loss.append(&mut o.loss);
        self.lr.append(&mut o.lr);
        self.grad_norm.append(&mut o.grad_norm);
        for (a, b) in self.layers.iter_mut().zip(&mut o.layers) {
            a.append(b);
        }
    }
}

/// The flattened columns as (field or channel, name).
struct Spec {
    layer_cols: Vec<(StepField, String, String)>,
    channel_cols: Vec<(String, usize, String)>,
}

impl Spec {
    fn new(c: &StepColumns) -> Spec {
        Spec {
            layer_cols: c.layer_columns(),
            channel_cols: c
                .channels
                .iter()
                .flat_map(|(l, n)| {
                    (0..*n).map(move |i| (l.clone(), i, StepColumns::channel_column(l, i)))
                })
                .collect(),
        }
    }

    fn len(&self) -> usize {
        self.layer_cols.len() + self.channel_cols.len()
    }
}

fn parse_block(study: &Study, spec: &Spec, block: &Block) -> Result<Cols> {
    let run = &study.runs[block.run];
    let mut c = Cols::new(spec.len());
    for (k, line) in block.bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let bad = |message: String| AnalysisError::JsonLine {
            path: run.metrics_path(),
            line: block.first_line + k,
            message,
        };
        let l: StepLine = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
        if l.kind != "step" {
            continue; // epoch records come from the logs; diverged records end a run
        }
        let need = |v: Option<f64>, name: &str| {
            v.ok_or_else(|| bad(format!("step record without \"{name}\"")))
        };
        c.step.push(
            l.step
                .ok_or_else(|| bad("step record without \"step\"".into()))?,
        );
        c.epoch.push(
            l.epoch
                .ok_or_else(|| bad("step record without \"epoch\"".into()))?,
        );
        c.loss.push(need(l.loss, "loss")?);
        c.grad_norm.push(need(l.grad_norm, "grad_norm")?);
        c.lr.push(l.lr.unwrap_or(f64::NAN));
        c.run.push(block.run);
        for f in [
            StepField::GradNorm,
            StepField::Theta,
            StepField::ThetaGrad,
            StepField::ClipFraction,
            StepField::ThetaProjected,
        ] {
            // A layer this table has no column for would be dropped silently: refuse it.
            for (key, _) in l.object(f).map(|p| p.0.as_slice()).unwrap_or_default() {
                if !spec
                    .layer_cols
                    .iter()
                    .any(|(g, layer, _)| *g == f && layer == key)
                {
                    return Err(bad(format!(
                        "{}.{key}: a layer that the run's first step record does not have",
                        f.key()
                    )));
                }
            }
        }
        for (j, (f, layer, _)) in spec.layer_cols.iter().enumerate() {
            let v = l
                .object(*f)
                .and_then(|p| p.0.iter().find(|(k, _)| k == layer))
                .and_then(|(_, v)| *v);
            c.layers[j].push(v.unwrap_or(f64::NAN));
        }
        let off = spec.layer_cols.len();
        if let Some(ch) = &l.theta_channels {
            for (layer, v) in ch {
                let n = spec
                    .channel_cols
                    .iter()
                    .filter(|(l, _, _)| l == layer)
                    .count();
                if v.len() > n {
                    return Err(bad(format!(
                        "theta_channels.{layer}: {} channels, the run's first step record has {n}",
                        v.len()
                    )));
                }
            }
        }
        for (j, (layer, i, _)) in spec.channel_cols.iter().enumerate() {
            let v = l
                .theta_channels
                .as_ref()
                .and_then(|m| m.get(layer))
                .and_then(|v| v.get(*i).copied().flatten());
            c.layers[off + j].push(v.unwrap_or(f64::NAN));
        }
    }
    Ok(c)
}

fn nullable(name: &str, v: &[f64]) -> Column {
    Float64Chunked::from_iter_options(name.into(), v.iter().map(|&x| (!x.is_nan()).then_some(x)))
        .into_column()
}

/// A batch as a frame: run columns, then the record's scalars, then the flattened layers.
fn frame(study: &Study, spec: &Spec, c: &Cols) -> Result<DataFrame> {
    let mut cols = super::run_columns(study, &c.run);
    cols.push(Column::new("step".into(), c.step.clone()));
    cols.push(Column::new("epoch".into(), c.epoch.clone()));
    cols.push(nullable("loss", &c.loss));
    cols.push(nullable("lr", &c.lr));
    cols.push(nullable("grad_norm", &c.grad_norm));
    for (j, (f, _, name)) in spec.layer_cols.iter().enumerate() {
        if *f == StepField::ThetaProjected {
            // A count: integers, null where the record has no entry for the layer.
            let v: Vec<Option<i64>> = c.layers[j]
                .iter()
                .map(|&x| (!x.is_nan()).then_some(x as i64))
                .collect();
            cols.push(Column::new(name.as_str().into(), v));
        } else {
            cols.push(nullable(name, &c.layers[j]));
        }
    }
    let off = spec.layer_cols.len();
    for (j, (_, _, name)) in spec.channel_cols.iter().enumerate() {
        cols.push(nullable(name, &c.layers[off + j]));
    }
    DataFrame::new_infer_height(cols).map_err(|e| AnalysisError::polars("steps.parquet", e))
}

/// Streams every step record of `study` into `path` (atomically).
pub(super) fn write(study: &Study, path: &Path) -> Result<()> {
    let spec = Spec::new(&StepColumns::of(study)?);
    let schema = frame(study, &spec, &Cols::new(spec.len()))?
        .schema()
        .as_ref()
        .clone();
    let tmp = crate::atomic::tmp_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| AnalysisError::io(&tmp, e))?;
        let pl = |e| AnalysisError::polars(format!("writing {}", path.display()), e);
        let mut writer = ParquetWriter::new(file).batched(&schema).map_err(pl)?;
        let per_batch = BLOCKS_PER_THREAD * rayon::current_num_threads().max(1);
        let mut batch: Vec<Block> = Vec::new();
        let mut flush = |batch: &mut Vec<Block>| -> Result<()> {
            let parsed: Vec<Result<Cols>> = batch
                .par_iter()
                .map(|b| parse_block(study, &spec, b))
                .collect();
            batch.clear();
            let mut all = Cols::new(spec.len());
            for p in parsed {
                all.append(p?);
            }
            if !all.run.is_empty() {
                writer
                    .write_batch(&frame(study, &spec, &all)?)
                    .map_err(pl)?;
            }
            Ok(())
        };
        for (i, run) in study.runs.iter().enumerate() {
            let metrics = run.metrics_path();
            for b in Blocks::new(&metrics, i, BLOCK)? {
                batch.push(b?);
                if batch.len() >= per_batch {
                    flush(&mut batch)?;
                }
            }
        }
        flush(&mut batch)?;
        writer.finish().map_err(pl)?;
        crate::atomic::commit(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
