//! `steps.parquet`, streamed from the runs' records (already read by [`crate::logs`]): one
//! Parquet row group per batch of runs, written to a temporary file that replaces the table
//! only when complete.

use std::path::Path;

use clipbench_metrics::RunRecords;
use polars::prelude::*;

use super::columns::{StepColumns, StepField};
use crate::error::{AnalysisError, Result};
use crate::study::Study;

/// Rows per row group (at least one run's worth): large enough for fast columnar writing,
/// small enough that a batch's frame stays a fraction of the records in memory.
const ROWS_PER_GROUP: usize = 1 << 20;

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
}

fn nullable(name: &str, v: Vec<f64>) -> Column {
    Float64Chunked::from_iter_options(
        name.into(),
        v.into_iter().map(|x| (!x.is_nan()).then_some(x)),
    )
    .into_column()
}

/// The step records of `runs` (indices into `records`) as a frame: run columns, then the
/// record's scalars, then the flattened layers (null where a run does not log one).
fn frame(study: &Study, spec: &Spec, records: &[RunRecords], runs: &[usize]) -> Result<DataFrame> {
    let run_of_row: Vec<usize> = runs
        .iter()
        .flat_map(|&r| std::iter::repeat_n(r, records[r].steps.len()))
        .collect();
    let ints = |f: fn(&RunRecords) -> &[i64]| -> Vec<i64> {
        runs.iter()
            .flat_map(|&r| f(&records[r]).iter().copied())
            .collect()
    };
    let col = |f: &dyn Fn(&RunRecords) -> Option<&[f64]>| -> Vec<f64> {
        let mut v = Vec::with_capacity(run_of_row.len());
        for &r in runs {
            match f(&records[r]) {
                Some(c) => v.extend_from_slice(c),
                None => v.extend(std::iter::repeat_n(f64::NAN, records[r].steps.len())),
            }
        }
        v
    };
    let mut cols = super::run_columns(study, &run_of_row);
    cols.push(Column::new("step".into(), ints(|r| &r.steps.step)));
    cols.push(Column::new("epoch".into(), ints(|r| &r.steps.epoch)));
    cols.push(nullable("loss", col(&|r| Some(&r.steps.loss))));
    cols.push(nullable("lr", col(&|r| Some(&r.steps.lr))));
    cols.push(nullable("grad_norm", col(&|r| Some(&r.steps.grad_norm))));
    for (f, layer, name) in &spec.layer_cols {
        let values = col(&|r| r.layer(*f, layer));
        if *f == StepField::ThetaProjected {
            // A count: integers, null where the record has no entry for the layer.
            let v: Vec<Option<i64>> = values
                .into_iter()
                .map(|x| (!x.is_nan()).then_some(x as i64))
                .collect();
            cols.push(Column::new(name.as_str().into(), v));
        } else {
            cols.push(nullable(name, values));
        }
    }
    for (layer, i, name) in &spec.channel_cols {
        cols.push(nullable(name, col(&|r| r.channel(layer, *i))));
    }
    DataFrame::new_infer_height(cols).map_err(|e| AnalysisError::polars("steps.parquet", e))
}

/// Writes every step record of `records` (the runs of `study`, in order) to `path`
/// (atomically).
pub(super) fn write(study: &Study, records: &[RunRecords], path: &Path) -> Result<()> {
    let spec = Spec::new(&StepColumns::of(study, records));
    let schema = frame(study, &spec, records, &[])?.schema().as_ref().clone();
    let tmp = crate::atomic::tmp_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| AnalysisError::io(&tmp, e))?;
        let pl = |e| AnalysisError::polars(format!("writing {}", path.display()), e);
        // Snappy: 3× faster to write than polars' default zstd here (10M records: 2.3 s
        // against 7.7 s in examples/parquet_speed.rs), for a table of ~20% more bytes.
        let mut writer = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Snappy)
            .batched(&schema)
            .map_err(pl)?;
        let mut batch = Vec::new();
        let mut rows = 0;
        for (i, r) in records.iter().enumerate() {
            batch.push(i);
            rows += r.steps.len();
            if rows >= ROWS_PER_GROUP || i + 1 == records.len() {
                if rows > 0 {
                    writer
                        .write_batch(&frame(study, &spec, records, &batch)?)
                        .map_err(pl)?;
                }
                batch.clear();
                rows = 0;
            }
        }
        writer.finish().map_err(pl)?;
        crate::atomic::commit(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
