//! Timing of the analysis at scale (ignored by default: it writes 4.6 GB and takes a minute):
//!
//!   cargo test --release -p clipbench-analysis --test scale -- --ignored --nocapture
//!
//! Writes a synthetic study of `CLIPBENCH_SCALE_RECORDS` step records (default 10M) in the
//! real metrics.jsonl format over 100 runs (5 strategies × 20 seeds) to a temporary directory
//! (`CLIPBENCH_SCALE_DIR` to choose where; `CLIPBENCH_SCALE_KEEP=1` keeps it), then times
//! reading its records cold (parsing every JSONL, writing each run's metrics.cache) and warm
//! (from the caches), aggregating, the per-step curves, and the long tables (steps.parquet,
//! epochs.parquet). README "Analysis" has the figures. A build without the release profile
//! gets the same numbers with `CARGO_PROFILE_DEV_OPT_LEVEL=3` (dependencies are at
//! opt-level 3 already).

mod common;
#[path = "common/synthetic.rs"]
mod synthetic;

use std::time::Instant;

use clipbench_analysis::figures::StepCurves;
use clipbench_analysis::{aggregate, logs, Options, Study};
use common::*;
use polars::prelude::SerReader;

#[test]
#[ignore = "writes 4.6 GB and takes a minute; run by hand (see the module docs)"]
fn aggregate_ten_million_step_records() -> TestResult {
    let records: u64 = std::env::var("CLIPBENCH_SCALE_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let runs = 100u64;
    let per_run = records / runs;
    let base = std::env::var_os("CLIPBENCH_SCALE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::tempdir_in(base)?;
    let root = tmp.path().join("scale");
    let t = Instant::now();
    synthetic::write_study(&root, records)?;
    // Cold means "not parsed yet", not "still being written back to disk".
    let _ = std::process::Command::new("sync").status();
    let bytes: u64 = std::fs::read_dir(root.join("runs"))?
        .flatten()
        .filter_map(|e| std::fs::metadata(e.path().join("metrics.jsonl")).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "wrote {} step records ({:.2} GB of metrics.jsonl) in {:.1} s",
        per_run * runs,
        bytes as f64 / 1e9,
        t.elapsed().as_secs_f64()
    );

    // Cold: no metrics.cache yet (the first analysis parses every JSONL and writes them);
    // warm: the next analysis reads the caches.
    let t0 = Instant::now();
    let study = Study::load(&root)?;
    let t1 = Instant::now();
    let cold = logs::load(&study, true)?;
    let t2 = Instant::now();
    assert_eq!(cold.stats.parsed, runs as usize, "cold: every run parsed");
    drop(cold);
    let t3 = Instant::now();
    let logs = logs::load(&study, true)?;
    let t4 = Instant::now();
    assert_eq!(
        logs.stats.from_cache, runs as usize,
        "warm: every run from its cache"
    );
    let agg = aggregate(&study, &logs, &Options::default())?;
    let t5 = Instant::now();
    let curves = StepCurves::compute(&study, &logs)?;
    let t6 = Instant::now();
    let long = clipbench_analysis::long::write_long_tables(&study, &logs, &root.join("tables"))?;
    let t7 = Instant::now();
    let steps_bytes = std::fs::metadata(&long[0])?.len();
    let rows = polars::prelude::ParquetReader::new(std::fs::File::open(&long[0])?).num_rows()?;
    assert_eq!(rows as u64, per_run * runs, "steps.parquet rows");
    assert_eq!(logs.steps.height() as u64, per_run * runs);
    assert_eq!(agg.groups.len(), 5);
    assert!(agg
        .groups
        .iter()
        .all(|g| g.n_runs == 20 && g.spike_share > 0.0));
    assert_eq!(curves.loss.len(), 5);
    if std::env::var_os("CLIPBENCH_SCALE_KEEP").is_some() {
        println!("kept {}", tmp.keep().display());
    }
    let secs = |a: Instant, b: Instant| (b - a).as_secs_f64();
    println!(
        "study (manifests, summaries): {:.2} s; records cold (parse + write caches): {:.2} s \
         ({:.0} MB/s); warm (from the caches): {:.2} s; aggregate: {:.2} s; per-step curves: \
         {:.2} s; steps.parquet + epochs.parquet: {:.2} s ({:.0} MB); warm total (study, \
         records, aggregate, long tables): {:.2} s",
        secs(t0, t1),
        secs(t1, t2),
        bytes as f64 / 1e6 / secs(t1, t2),
        secs(t3, t4),
        secs(t4, t5),
        secs(t5, t6),
        secs(t6, t7),
        steps_bytes as f64 / 1e6,
        secs(t0, t1) + secs(t3, t5) + secs(t6, t7),
    );
    Ok(())
}
