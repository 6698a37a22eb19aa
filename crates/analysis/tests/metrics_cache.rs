//! The per-run metrics cache: a second analysis reads it instead of the JSONL and gets the
//! same frames and tables byte for byte; a torn, stale or unwritable cache is never used and
//! never an error; `use_cache: false` neither reads nor writes one.

mod common;

use std::path::{Path, PathBuf};

use clipbench_analysis::{Analysis, Options};
use common::*;

fn caches(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("metrics.cache"))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn same(a: &Analysis, b: &Analysis) -> bool {
    a.logs.steps.equals_missing(&b.logs.steps) && a.logs.epochs.equals_missing(&b.logs.epochs)
}

/// Appends a step record to a metrics file: its last step's, one step later, with `loss`.
fn append_step(jsonl: &Path, loss: f64) -> TestResult {
    let text = std::fs::read_to_string(jsonl)?;
    let last_step = text
        .lines()
        .rfind(|l| l.contains("\"kind\":\"step\""))
        .ok_or("no step record")?;
    let mut extra: serde_json::Value = serde_json::from_str(last_step)?;
    extra["step"] = (extra["step"].as_u64().ok_or("step")? + 1).into();
    extra["loss"] = loss.into();
    std::fs::write(jsonl, format!("{text}{extra}\n"))?;
    Ok(())
}

/// Every table file with its bytes.
type TableBytes = Vec<(PathBuf, Vec<u8>)>;

fn tables(a: &Analysis) -> Result<TableBytes, Box<dyn std::error::Error>> {
    let files = a.write_tables()?;
    let mut v = Vec::new();
    for f in files.written {
        let bytes = std::fs::read(&f)?;
        v.push((f, bytes));
    }
    Ok(v)
}

#[test]
fn second_analysis_reads_the_caches_and_gets_the_same_tables() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let n = std::fs::read_dir(root.join("runs"))?.count();
    let cold = Analysis::load(&root, &Options::default())?;
    assert_eq!((cold.logs.stats.parsed, cold.logs.stats.from_cache), (n, 0));
    assert_eq!(caches(&root).len(), n, "every complete run cached");
    let cold_tables = tables(&cold)?;
    let warm = Analysis::load(&root, &Options::default())?;
    assert_eq!((warm.logs.stats.parsed, warm.logs.stats.from_cache), (0, n));
    assert!(same(&cold, &warm));
    assert_eq!(tables(&warm)?, cold_tables, "tables from the caches differ");
    Ok(())
}

#[test]
fn torn_stale_and_unwritable_caches_fall_back_to_the_jsonl() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let fresh = Analysis::load(&root, &Options::default())?;
    let runs = caches(&root);
    // Torn: half a cache.
    let bytes = std::fs::read(&runs[0])?;
    std::fs::write(&runs[0], &bytes[..bytes.len() / 2])?;
    // Stale: its JSONL gained a record after the cache was written.
    append_step(&runs[1].with_file_name("metrics.jsonl"), 123.25)?;
    // Unwritable: a directory where the cache would go.
    std::fs::remove_file(&runs[2])?;
    std::fs::create_dir(&runs[2])?;
    std::fs::write(runs[2].join("keep"), b"x")?;

    let a = Analysis::load(&root, &Options::default())?;
    assert_eq!(a.logs.stats.parsed, 3, "{:?}", a.logs.stats);
    assert_eq!(a.logs.stats.cache_failed.len(), 1, "{:?}", a.logs.stats);
    assert!(a.logs.stats.cache_failed[0].contains("metrics.cache"));
    assert_eq!(
        a.logs.steps.height(),
        fresh.logs.steps.height() + 1,
        "the appended record is read"
    );
    let losses = a.logs.steps.column("loss")?.f64()?.clone();
    assert!(losses.iter().any(|v| v == Some(123.25)));
    // The torn cache was rewritten whole: the next analysis reads it.
    let b = Analysis::load(&root, &Options::default())?;
    assert_eq!(
        b.logs.stats.parsed, 1,
        "only the unwritable run is parsed again"
    );
    assert!(same(&a, &b));
    Ok(())
}

#[test]
fn without_the_cache_nothing_is_read_or_written() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let off = Options {
        use_cache: false,
        ..Options::default()
    };
    let a = Analysis::load(&root, &off)?;
    assert!(caches(&root).is_empty());
    let with = Analysis::load(&root, &Options::default())?;
    // A cache edited behind the key's back is believed by a cached load (the last value
    // before the closing magic is the last epoch's test accuracy); --no-cache must not read it.
    let c = &caches(&root)[0];
    let mut bytes = std::fs::read(c)?;
    let last = bytes.len() - 16 - 8;
    bytes[last..last + 8].copy_from_slice(&0.5f64.to_bits().to_le_bytes());
    std::fs::write(c, &bytes)?;
    let poisoned = Analysis::load(&root, &Options::default())?;
    assert!(!same(&a, &poisoned), "the edited cache was read");
    let b = Analysis::load(&root, &off)?;
    assert!(same(&a, &with) && same(&a, &b));
    Ok(())
}

/// steps.parquet is kept while its runs are unchanged, and written anew when a run's records,
/// or the table itself, change.
#[test]
fn unchanged_step_table_is_kept_and_a_changed_one_rewritten() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let table = root.join("tables/steps.parquet");
    let rows = |p: &Path| -> Result<usize, Box<dyn std::error::Error>> {
        use polars::prelude::SerReader;
        Ok(polars::prelude::ParquetReader::new(std::fs::File::open(p)?).num_rows()?)
    };
    let write = || -> Result<std::time::SystemTime, Box<dyn std::error::Error>> {
        Analysis::load(&root, &Options::default())?.write_tables()?;
        Ok(std::fs::metadata(&table)?.modified()?)
    };
    let first = write()?;
    let n = rows(&table)?;
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(write()?, first, "an unchanged table was rewritten");
    // A record more in one run: the table follows.
    append_step(&caches(&root)[0].with_file_name("metrics.jsonl"), 0.5)?;
    let second = write()?;
    assert_ne!(second, first);
    assert_eq!(rows(&table)?, n + 1);
    // A table damaged (or replaced) by hand is written again.
    std::fs::write(&table, b"not parquet")?;
    write()?;
    assert_eq!(rows(&table)?, n + 1);
    Ok(())
}
