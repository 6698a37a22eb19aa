//! `metrics.jsonl` of every run into polars frames: step and epoch records.
//!
//! clipbench-metrics reads each run into typed columns (its fast scanner, serde_json for
//! anything unusual, every error naming the file and line) or takes them from the run's
//! `metrics.cache`; here they become the polars frames every aggregation and figure starts
//! from. polars' own NDJSON reader (Python polars' `scan_ndjson` over the same files, `just
//! bench-analysis`) was slower even against a cold parse, at 1M and 10M records (README
//! "Analysis"), and would have to find a bad line again to name it.

use clipbench_metrics::{Field, Loaded, RunRecords, Source, EPOCH_VALUES};
use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{AnalysisError, Result};
use crate::study::Study;

/// Step and epoch records of a study.
///
/// `steps`: run, group (u32), step, epoch (i64), loss, lr, grad_norm, `theta.<layer>`,
/// `clip_fraction.<layer>` (f64; θ is null for layers a strategy does not have).
/// `epochs`: run, group, epoch, step, train_loss, train_acc, val_loss, val_acc (null without a
/// validation split, and in schema 1 runs), test_loss, test_acc.
#[derive(Clone, Debug)]
pub struct Logs {
    pub steps: DataFrame,
    pub epochs: DataFrame,
    /// Every record of every run (index = the `run` column), every field: the long tables
    /// (`steps.parquet`) are written from these.
    pub records: Vec<RunRecords>,
    /// Each run's metrics.jsonl key (clipbench_metrics::cache::Key), as it was read.
    pub keys: Vec<clipbench_metrics::cache::Key>,
    pub stats: LoadStats,
}

pub fn theta_col(layer: &str) -> String {
    format!("theta.{layer}")
}

pub fn clip_col(layer: &str) -> String {
    format!("clip_fraction.{layer}")
}

/// How the runs' records were read (the CLI reports it; the cache saves the parsing).
#[derive(Clone, Debug, Default)]
pub struct LoadStats {
    /// Runs read from their `metrics.cache`.
    pub from_cache: usize,
    /// Runs parsed from their metrics.jsonl.
    pub parsed: usize,
    /// Caches that could not be written (e.g. a read-only results directory): the messages.
    pub cache_failed: Vec<String>,
}

/// Reads the step and epoch records of every run of `study`; `use_cache`: read and write
/// each complete run's `metrics.cache` (clipbench_metrics::cache).
pub fn load(study: &Study, use_cache: bool) -> Result<Logs> {
    // Runs in parallel; each run's blocks in parallel too (rayon shares the threads).
    let loaded: Vec<clipbench_metrics::Result<Loaded>> = study
        .runs
        .par_iter()
        .map(|run| clipbench_metrics::load_run(&run.metrics_path(), true, use_cache))
        .collect();
    let mut records = Vec::with_capacity(loaded.len());
    let mut keys = Vec::with_capacity(loaded.len());
    let mut stats = LoadStats::default();
    for l in loaded {
        let l = l?;
        match l.source {
            Source::Cache => stats.from_cache += 1,
            Source::Parsed | Source::ParsedCached => stats.parsed += 1,
            Source::ParsedCacheFailed(m) => {
                stats.parsed += 1;
                stats.cache_failed.push(m);
            }
        }
        records.push(l.records);
        keys.push(l.key);
    }
    let (steps, epochs) = frames(study, &records)?;
    Ok(Logs {
        steps,
        epochs,
        records,
        keys,
        stats,
    })
}

/// f64 column with NaN → null.
fn nullable(name: &str, v: Vec<f64>) -> Column {
    let ca = Float64Chunked::from_iter_options(
        name.into(),
        v.into_iter().map(|x| (!x.is_nan()).then_some(x)),
    );
    ca.into_column()
}

/// The `Logs` frames: every run's records, concatenated, with its run and group indices.
fn frames(study: &Study, records: &[RunRecords]) -> Result<(DataFrame, DataFrame)> {
    let index = |len: fn(&RunRecords) -> usize, of: &dyn Fn(usize) -> u32| -> Vec<u32> {
        let mut v = Vec::new();
        for (i, r) in records.iter().enumerate() {
            v.extend(std::iter::repeat_n(of(i), len(r)));
        }
        v
    };
    let ints = |col: fn(&RunRecords) -> &[i64]| -> Vec<i64> {
        records
            .iter()
            .flat_map(|r| col(r).iter().copied())
            .collect()
    };
    // A column a run does not log (θ of `none`) is all missing for its rows.
    let floats = |col: &dyn Fn(&RunRecords) -> Option<&[f64]>| -> Vec<f64> {
        let mut v = Vec::new();
        for r in records {
            match col(r) {
                Some(c) => v.extend_from_slice(c),
                None => v.extend(std::iter::repeat_n(f64::NAN, r.steps.len())),
            }
        }
        v
    };
    let run = |i: usize| i as u32;
    let group = |i: usize| study.runs[i].group as u32;
    let steps_of = |r: &RunRecords| r.steps.len();
    let epochs_of = |r: &RunRecords| r.epochs.len();
    let mut s = vec![
        Column::new("run".into(), index(steps_of, &run)),
        Column::new("group".into(), index(steps_of, &group)),
        Column::new("step".into(), ints(|r| &r.steps.step)),
        Column::new("epoch".into(), ints(|r| &r.steps.epoch)),
        Column::new("loss".into(), floats(&|r| Some(&r.steps.loss))),
        nullable("lr", floats(&|r| Some(&r.steps.lr))),
        Column::new("grad_norm".into(), floats(&|r| Some(&r.steps.grad_norm))),
    ];
    for l in &study.layers {
        s.push(nullable(
            &theta_col(l),
            floats(&|r| r.layer(Field::Theta, l)),
        ));
        s.push(nullable(
            &clip_col(l),
            floats(&|r| r.layer(Field::ClipFraction, l)),
        ));
    }
    let steps =
        DataFrame::new_infer_height(s).map_err(|e| AnalysisError::polars("step records", e))?;
    let mut e = vec![
        Column::new("run".into(), index(epochs_of, &run)),
        Column::new("group".into(), index(epochs_of, &group)),
        Column::new("epoch".into(), ints(|r| &r.epochs.epoch)),
        Column::new("step".into(), ints(|r| &r.epochs.step)),
    ];
    for (k, name) in EPOCH_VALUES.iter().enumerate() {
        let v: Vec<f64> = records
            .iter()
            .flat_map(|r| r.epochs.values[k].iter().copied())
            .collect();
        e.push(nullable(name, v));
    }
    let epochs =
        DataFrame::new_infer_height(e).map_err(|e| AnalysisError::polars("epoch records", e))?;
    Ok((steps, epochs))
}
