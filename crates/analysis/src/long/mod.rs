//! The long tables `tables/steps.parquet` and `tables/epochs.parquet`: every step and epoch
//! record of every complete run, one row each, for pandas / polars users (README "Analysis"
//! documents the columns). Nested per-layer objects are flattened into one column per layer
//! (`grad_norm_conv1`, `theta_clip1`, ...) so that a data frame has flat, typed columns.
//!
//! The step table can be large (10M records in the scale test), so it is streamed from the
//! records [`crate::logs`] read: each batch of runs becomes a polars frame and a Parquet row
//! group, and only that batch's frame is in memory beside the records.

mod columns;
mod stamp;
mod steps;

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{AnalysisError, Result};
use crate::frame;
use crate::logs::Logs;
use crate::study::{value_text, Study};

pub use columns::{StepColumns, StepField};

pub const STEPS_FILE: &str = "steps.parquet";
pub const EPOCHS_FILE: &str = "epochs.parquet";

/// Writes `dir/steps.parquet` and `dir/epochs.parquet` atomically; returns their paths.
pub fn write_long_tables(study: &Study, logs: &Logs, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))?;
    let steps = dir.join(STEPS_FILE);
    // The step table is a pure function of the runs; at 10M records writing it is most of an
    // `aggregate`, so an unchanged one is kept (stamp.rs says what "unchanged" covers).
    let stamp = stamp::Stamp::of(study, &logs.keys);
    if !stamp.matches(&steps) {
        steps::write(study, &logs.records, &steps)?;
        stamp.record(&steps)?;
    }
    let epochs = dir.join(EPOCHS_FILE);
    let mut df = epochs_frame(study, logs)?;
    crate::tables::write_parquet(&mut df, &epochs)?;
    Ok(vec![steps, epochs])
}

/// The columns that say which run a row belongs to: `run_id`, `strategy`, `seed`, `status`
/// (`completed` | `diverged`) and one column per grid key (named by its dotted key: f64 when
/// every value is a number, else the value as text), for rows of the runs `run_of_row`.
pub(crate) fn run_columns(study: &Study, run_of_row: &[usize]) -> Vec<Column> {
    let runs = &study.runs;
    let text = |f: fn(&crate::study::Run) -> &str| -> Vec<&str> {
        run_of_row.iter().map(|&r| f(&runs[r])).collect()
    };
    let mut cols = vec![
        Column::new("run_id".into(), text(|r| r.run_id.as_str())),
        Column::new("strategy".into(), text(|r| r.strategy.as_str())),
        Column::new(
            "seed".into(),
            run_of_row
                .iter()
                .map(|&r| runs[r].seed)
                .collect::<Vec<u64>>(),
        ),
        Column::new(
            "status".into(),
            text(|r| {
                if r.diverged() {
                    "diverged"
                } else {
                    "completed"
                }
            }),
        ),
    ];
    for key in &study.grid_keys {
        let value = |r: usize| {
            study.groups[runs[r].group]
                .grid
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or(serde_json::Value::Null)
        };
        let numeric = study
            .groups
            .iter()
            .flat_map(|g| g.grid.iter().filter(|(k, _)| k == key))
            .all(|(_, v)| v.is_number());
        let col = if numeric {
            let v: Vec<Option<f64>> = run_of_row.iter().map(|&r| value(r).as_f64()).collect();
            Column::new(key.as_str().into(), v)
        } else {
            let v: Vec<String> = run_of_row.iter().map(|&r| value_text(&value(r))).collect();
            Column::new(key.as_str().into(), v)
        };
        cols.push(col);
    }
    cols
}

/// The epoch records (already in memory: one row per run and epoch) with the run columns.
fn epochs_frame(study: &Study, logs: &Logs) -> Result<DataFrame> {
    let runs = frame::indices(&logs.epochs, "run")?;
    if let Some(bad) = runs.iter().find(|&&r| r >= study.runs.len()) {
        return Err(AnalysisError::Invalid {
            path: study.root.clone(),
            message: format!("epoch record of run index {bad}, which the study does not have"),
        });
    }
    let mut cols = run_columns(study, &runs);
    for c in logs.epochs.columns() {
        if !matches!(c.name().as_str(), "run" | "group") {
            cols.push(c.clone());
        }
    }
    DataFrame::new_infer_height(cols).map_err(|e| AnalysisError::polars("epochs.parquet", e))
}
