//! A synthetic study in the real run-directory format (manifest.json from the `tiny`
//! fixture, metrics.jsonl as the trainer writes it, summary.json), of any size: the scale
//! test and `examples/synthetic_study.rs` (which `just bench-analysis` runs) write it.

use std::io::Write;
use std::path::Path;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

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
) -> Result<(), Box<dyn std::error::Error>> {
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

/// Writes `records` step records over 100 runs (5 strategies × 20 seeds) under `root/runs/`,
/// two runs at a time.
pub fn write_study(root: &Path, records: u64) -> Result<()> {
    let runs = 100u64;
    let per_run = records / runs;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny/runs");
    let first = std::fs::read_dir(&manifest)?
        .next()
        .ok_or("the tiny fixture has no runs")??
        .path()
        .join("manifest.json");
    let template: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(first)?)?;
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..2u64)
            .map(|k| {
                let template = &template;
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
    })
}
