//! Timing of the analysis at scale (ignored by default: it writes 4.6 GB and takes a minute):
//!
//!   cargo test --release -p clipbench-analysis --test scale -- --ignored --nocapture
//!
//! Writes a synthetic study of `CLIPBENCH_SCALE_RECORDS` step records (default 10M) in the
//! real metrics.jsonl format over 100 runs (5 strategies × 20 seeds) to a temporary directory
//! (`CLIPBENCH_SCALE_DIR` to choose where; `CLIPBENCH_SCALE_KEEP=1` keeps it), then times
//! loading and aggregating it, then writing the long tables (steps.parquet, epochs.parquet).
//! Measured (README "Analysis", 2 shared cores): 10M records read in 30 s (154 MB/s),
//! aggregated in 1.2 s, per-step curves 5.5 s, 2.1 GB peak memory; the long tables 48.6 s
//! (streamed: no higher peak). A
//! build without the release profile gets the same numbers with
//! `CARGO_PROFILE_DEV_OPT_LEVEL=3` (dependencies are at opt-level 3 already).

mod common;

use std::io::Write;
use std::time::Instant;

use clipbench_analysis::figures::StepCurves;
use clipbench_analysis::{aggregate, logs, Options, Study};
use common::*;
use polars::prelude::SerReader;

const STRATEGIES: [&str; 5] = [
    "none",
    "hard-clamp",
    "tanh-learnable",
    "pact",
    "seed-softplus",
];

fn write_run(
    dir: &std::path::Path,
    template: &serde_json::Value,
    strategy: &str,
    seed: u64,
    steps: u64,
) -> TestResult {
    std::fs::create_dir_all(dir)?;
    let run_id = format!("{strategy}-s{seed}-scale");
    let mut m = template.clone();
    m["run_id"] = run_id.clone().into();
    m["strategy"] = strategy.into();
    m["seed"] = seed.into();
    m["config"]["seed"] = seed.into();
    m["config"]["model"]["clip"]["strategy"] = strategy.into();
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&m)?)?;
    let mut w = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(dir.join("metrics.jsonl"))?,
    );
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut max_norm = 0f64;
    for step in 1..=steps {
        let epoch = (step - 1) / 1000;
        let loss = 2.3 * (-(step as f64) / 20_000.0).exp() + 0.1 * rnd();
        let g = 0.5 + rnd() * if rnd() < 0.001 { 40.0 } else { 1.0 };
        max_norm = max_norm.max(g);
        let (t1, t2) = (1.0 + step as f64 * 1e-6, 2.0 - step as f64 * 1e-6);
        writeln!(
            w,
            "{{\"kind\":\"step\",\"step\":{step},\"epoch\":{epoch},\"loss\":{loss},\"lr\":0.001,\"grad_norm\":{g},\
             \"grad_norm_by_layer\":{{\"clip1\":{},\"clip2\":{},\"conv1\":{},\"conv2\":{},\"fc\":{}}},\
             \"theta\":{{\"clip1\":{t1},\"clip2\":{t2}}},\"theta_grad\":{{\"clip1\":{},\"clip2\":{}}},\
             \"clip_fraction\":{{\"clip1\":{},\"clip2\":{}}}}}",
            g * 1e-3, g * 2e-3, g * 0.1, g * 0.3, g * 0.9, rnd() - 0.5, rnd() - 0.5, rnd() * 0.1, rnd() * 0.05
        )?;
        if step % 1000 == 0 {
            writeln!(
                w,
                "{{\"kind\":\"epoch\",\"epoch\":{epoch},\"step\":{step},\"train_loss\":{loss},\"train_acc\":{},\"test_loss\":{loss},\"test_acc\":{}}}",
                0.5 + rnd() * 0.3,
                0.5 + rnd() * 0.3
            )?;
        }
    }
    w.flush()?;
    let summary = serde_json::json!({
        "schema_version": 1, "run_id": run_id, "status": "completed", "strategy": strategy,
        "seed": seed, "epochs_completed": steps / 1000, "steps": steps,
        "final_test_acc": 0.6 + rnd() * 0.1, "best_test_acc": 0.7, "final_test_loss": 1.0,
        "final_train_loss": 1.0, "diverged_at_step": null,
        "final_theta": {"clip1": 1.1, "clip2": 1.9}, "max_grad_norm": max_norm, "train_wall_s": 1.0
    });
    std::fs::write(dir.join("summary.json"), serde_json::to_vec(&summary)?)?;
    Ok(())
}

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
    let template: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        std::fs::read_dir(fixture("tiny").join("runs"))?
            .next()
            .ok_or("fixture")??
            .path()
            .join("manifest.json"),
    )?)?;
    let t = Instant::now();
    std::thread::scope(|s| -> TestResult {
        let handles: Vec<_> = (0..2u64)
            .map(|k| {
                let (root, template) = (&root, &template);
                s.spawn(move || -> Result<(), String> {
                    for i in (k..runs).step_by(2) {
                        let strategy = STRATEGIES[(i % 5) as usize];
                        let seed = i / 5 + 1;
                        write_run(
                            &root.join(format!("runs/{strategy}-s{seed}")),
                            template,
                            strategy,
                            seed,
                            per_run,
                        )
                        .map_err(|e| e.to_string())?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "writer panicked")??;
        }
        Ok(())
    })?;
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

    let t0 = Instant::now();
    let study = Study::load(&root)?;
    let t1 = Instant::now();
    let logs = logs::load(&study)?;
    let t2 = Instant::now();
    let agg = aggregate(&study, &logs, &Options::default())?;
    let t3 = Instant::now();
    let curves = StepCurves::compute(&study, &logs)?;
    let t4 = Instant::now();
    // The long tables stream the records again, batch by batch (bounded memory).
    let long = clipbench_analysis::long::write_long_tables(&study, &logs, &root.join("tables"))?;
    let t5 = Instant::now();
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
    println!(
        "study (manifests, summaries): {:.2} s; metrics.jsonl → polars: {:.2} s ({:.0} MB/s); \
         aggregate: {:.2} s; per-step curves: {:.2} s; total {:.2} s; then steps.parquet + \
         epochs.parquet: {:.2} s ({:.0} MB)",
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        bytes as f64 / 1e6 / (t2 - t1).as_secs_f64(),
        (t3 - t2).as_secs_f64(),
        (t4 - t3).as_secs_f64(),
        (t4 - t0).as_secs_f64(),
        (t5 - t4).as_secs_f64(),
        steps_bytes as f64 / 1e6
    );
    Ok(())
}
