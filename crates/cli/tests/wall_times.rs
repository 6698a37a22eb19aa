//! Training and evaluation wall time apart: `summary.json`'s `train_wall_s` is the training
//! loops only (the sum of timing.jsonl's per-epoch `train_wall_s`), `eval_wall_s` the
//! evaluation, `run_wall_s` the whole; the analysis uses the training-only time, and for a run
//! written before the split (no `eval_wall_s`, its `train_wall_s` including evaluation) it
//! falls back to timing.jsonl rather than the total.
#![cfg(feature = "analysis")]

use std::collections::BTreeMap;
use std::path::Path;

mod bin_common;
use bin_common::clipbench;

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

const STUDY: &str = r#"name = "wall"
dataset = "synthetic"
strategies = ["none", "tanh-learnable"]
seeds = [1]
epochs = 2
batch_size = 32
log_every = 2
train_limit = 128
test_limit = 64
validation = 64

[model]
input = [1, 28, 28]

[optimizer]
kind = "sgd"
lr = 0.01
"#;

/// (train, eval) seconds summed over timing.jsonl's lines, in file order.
fn timing_sums(run: &Path) -> Res<(f64, f64)> {
    let (mut t, mut e) = (0.0, 0.0);
    for line in std::fs::read_to_string(run.join("timing.jsonl"))?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        t += v["train_wall_s"].as_f64().ok_or("train_wall_s")?;
        e += v["eval_wall_s"].as_f64().ok_or("eval_wall_s")?;
    }
    Ok((t, e))
}

/// runs.csv's (train_wall_s, eval_wall_s) cells by run id.
fn runs_csv(root: &Path) -> Res<BTreeMap<String, (String, String)>> {
    let text = std::fs::read_to_string(root.join("tables/runs.csv"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty runs.csv")?.split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).ok_or(format!("no {n}"));
    let (id, t, e) = (col("run_id")?, col("train_wall_s")?, col("eval_wall_s")?);
    let mut m = BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        m.insert(f[id].to_string(), (f[t].to_string(), f[e].to_string()));
    }
    Ok(m)
}

#[test]
fn summaries_record_training_and_evaluation_time_apart() -> Res {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::write(dir.join("study.toml"), STUDY)?;
    clipbench(dir, &["run", "study.toml", "--jobs", "2"])?;
    let root = dir.join("results/wall");
    let mut runs: Vec<_> = std::fs::read_dir(root.join("runs"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    runs.sort();
    assert_eq!(runs.len(), 2);
    for run in &runs {
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("summary.json"))?)?;
        let (t, e) = timing_sums(run)?;
        let train = s["train_wall_s"].as_f64().ok_or("train_wall_s")?;
        let eval = s["eval_wall_s"].as_f64().ok_or("eval_wall_s")?;
        let whole = s["run_wall_s"].as_f64().ok_or("run_wall_s")?;
        assert_eq!(
            train,
            t,
            "{}: training time is the epochs' training loops",
            run.display()
        );
        assert_eq!(
            eval,
            e,
            "{}: evaluation time is the epochs' evaluations",
            run.display()
        );
        assert!(eval > 0.0 && train > 0.0, "{train} {eval}");
        assert!(whole >= train + eval, "{whole} < {train} + {eval}");
    }

    clipbench(dir, &["aggregate", "results/wall"])?;
    let csv = runs_csv(&root)?;
    for run in &runs {
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("summary.json"))?)?;
        let id = s["run_id"].as_str().ok_or("run_id")?;
        let (t, e) = &csv[id];
        assert_eq!(t.parse::<f64>()?, s["train_wall_s"].as_f64().ok_or("t")?);
        assert_eq!(e.parse::<f64>()?, s["eval_wall_s"].as_f64().ok_or("e")?);
    }

    // A run written before the split: no eval_wall_s, and a train_wall_s that included
    // evaluation (made large here so that using it would show).
    let old = &runs[0];
    let path = old.join("summary.json");
    let mut s: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    let o = s.as_object_mut().ok_or("summary")?;
    o.remove("eval_wall_s");
    o.remove("run_wall_s");
    o.insert("train_wall_s".into(), 1000.0.into());
    let id = o["run_id"].as_str().ok_or("run_id")?.to_string();
    std::fs::write(&path, serde_json::to_vec(&s)?)?;
    clipbench(dir, &["report", "results/wall", "--no-shapes"])?;
    let (t, e) = &runs_csv(&root)?[&id];
    assert_eq!(
        t.parse::<f64>()?,
        timing_sums(old)?.0,
        "timing.jsonl, not the total"
    );
    assert_eq!(e, "", "unknown evaluation time is empty, not 0");
    let report = std::fs::read_to_string(root.join("report.md"))?;
    let line = report
        .lines()
        .find(|l| l.contains("Evaluation time per run"))
        .ok_or("no evaluation time in the report")?;
    assert!(line.contains("1 of 2 runs left out"), "{line}");
    Ok(())
}
