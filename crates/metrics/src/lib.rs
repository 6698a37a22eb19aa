//! clipbench-metrics: a run's `metrics.jsonl` (README "Run directory and metrics") as typed
//! columns, for the analysis and anything else that reads runs. No polars, no dfdx.
//!
//! Reading is built for studies of millions of records:
//! - a scanner reads the lines the trainer writes in one pass, without allocating, and hands
//!   anything unusual to serde_json, which stays the arbiter of what a line means and of
//!   every error message (the `differential` tests hold the two to the same results);
//! - a file is cut into blocks at line ends, parsed in parallel;
//! - a complete run's columns are kept in a derived cache beside its JSONL
//!   ([`cache`]), so a study is parsed once, not at every `aggregate`, `plot` or `report`.
//!
//! ```no_run
//! # fn main() -> Result<(), clipbench_metrics::MetricsError> {
//! let run = std::path::Path::new("results/smoke/runs/none-s1-abc");
//! let loaded = clipbench_metrics::load_run(&run.join("metrics.jsonl"), true, true)?;
//! println!("{} step records", loaded.records.steps.len());
//! # Ok(()) }
//! ```

mod blocks;
pub mod cache;
#[cfg(test)]
mod differential;
pub mod error;
mod line;
mod read;
pub mod records;
mod scan;

use std::path::Path;

pub use error::{MetricsError, Result};
pub use read::parse_run;
pub use records::{EpochRecords, Field, Layout, RunRecords, StepRecords, EPOCH_VALUES};

/// Where a run's records came from.
#[derive(Debug)]
pub enum Source {
    /// Its cache.
    Cache,
    /// Its JSONL; the cache was written.
    ParsedCached,
    /// Its JSONL, not cached: the run is incomplete or the cache was turned off.
    Parsed,
    /// Its JSONL; writing the cache failed (a read-only results directory): the message.
    ParsedCacheFailed(String),
}

#[derive(Debug)]
pub struct Loaded {
    pub records: RunRecords,
    pub source: Source,
    /// The JSONL's cache key, taken before it was read: what derived outputs (the analysis's
    /// steps.parquet stamp) can record of it without reading it again.
    pub key: cache::Key,
}

/// The records of the run whose metrics file is `jsonl`. `complete`: the run has finished
/// (its JSONL will not change), so its cache may be written; `use_cache`: whether to read and
/// write the cache at all.
pub fn load_run(jsonl: &Path, complete: bool, use_cache: bool) -> Result<Loaded> {
    let key = cache::Key::of(jsonl).map_err(|e| MetricsError::io(jsonl, e))?;
    if !use_cache {
        return Ok(Loaded {
            records: parse_run(jsonl)?,
            source: Source::Parsed,
            key,
        });
    }
    let path = cache::cache_path(jsonl);
    if let Some(records) = cache::read(&path, &key) {
        return Ok(Loaded {
            records,
            source: Source::Cache,
            key,
        });
    }
    let records = parse_run(jsonl)?;
    let source = if !complete {
        Source::Parsed
    } else {
        match cache::write(&path, &key, &records) {
            Ok(()) => Source::ParsedCached,
            Err(e) => Source::ParsedCacheFailed(format!("{}: {e}", path.display())),
        }
    };
    Ok(Loaded {
        records,
        source,
        key,
    })
}
