//! Times reading every `runs/*/metrics.jsonl` of a study three ways: parsed by the scanner,
//! parsed by serde_json alone (the scanner off), and from the caches (written first).
//!
//!   cargo run --release -p clipbench-metrics --example read_runs -- results/<study>

use std::time::Instant;

use rayon::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let study = std::env::args()
        .nth(1)
        .ok_or("usage: read_runs STUDY_DIR")?;
    let mut files: Vec<_> = std::fs::read_dir(std::path::Path::new(&study).join("runs"))?
        .filter_map(|e| e.ok().map(|e| e.path().join("metrics.jsonl")))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let bytes: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let time =
        |name: &str, f: &(dyn Fn(&std::path::Path) -> clipbench_metrics::Result<usize> + Sync)| {
            let t = Instant::now();
            let rows: clipbench_metrics::Result<Vec<usize>> =
                files.par_iter().map(|p| f(p)).collect();
            let s = t.elapsed().as_secs_f64();
            match rows {
                Ok(r) => println!(
                    "{name}: {} step records in {s:.2} s ({:.0} MB/s of JSONL)",
                    r.iter().sum::<usize>(),
                    bytes as f64 / 1e6 / s
                ),
                Err(e) => println!("{name}: {e}"),
            }
        };
    time("scanner", &|p| {
        Ok(clipbench_metrics::parse_run(p)?.steps.len())
    });
    time("cache write", &|p| {
        let l = clipbench_metrics::load_run(p, true, true)?;
        Ok(l.records.steps.len())
    });
    time("cache read", &|p| {
        let l = clipbench_metrics::load_run(p, true, true)?;
        assert!(matches!(l.source, clipbench_metrics::Source::Cache));
        Ok(l.records.steps.len())
    });
    Ok(())
}
