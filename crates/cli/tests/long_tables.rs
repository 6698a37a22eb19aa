//! `tables/steps.parquet` and `tables/epochs.parquet` through the binary, on a small synthetic
//! study (a learning-rate grid, a per-channel θ, a divergence at lr 1e30): read back with
//! polars, every row and every value compared with the runs' metrics.jsonl as serde_json
//! reads it (not the analysis crate's parser).
#![cfg(feature = "analysis")]

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

mod bin_common;
use bin_common::clipbench;

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

const STUDY: &str = r#"name = "long"
dataset = "synthetic"
strategies = ["none", { name = "pact", theta0 = [10.0, 10.0] }, { name = "tanh-learnable", per_channel = true }]
seeds = [1, 2]
epochs = 2
batch_size = 32
log_every = 1
threads = 1
train_limit = 128
test_limit = 64
validation = 64

[model]
input = [1, 28, 28]

[optimizer]
kind = "sgd"
lr = 0.05

[grid]
"optimizer.lr" = [0.05, 1e30]
"#;

/// Every column of `df` as optional f64 (strings: None), by name.
fn numbers(df: &DataFrame) -> Res<BTreeMap<String, Vec<Option<f64>>>> {
    let mut m = BTreeMap::new();
    for c in df.columns() {
        let s = c.as_materialized_series();
        if s.dtype() == &DataType::String {
            continue;
        }
        let f = s.cast(&DataType::Float64)?;
        m.insert(c.name().to_string(), f.f64()?.iter().collect());
    }
    Ok(m)
}

fn strings(df: &DataFrame, name: &str) -> Res<Vec<String>> {
    Ok(df
        .column(name)?
        .as_materialized_series()
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect())
}

/// The flattened columns of one JSON record: `key` for numbers, `key_layer` for per-layer
/// objects, `theta_layer_cI` for per-channel θ (the documented naming).
fn flatten(v: &serde_json::Value) -> BTreeMap<String, Option<f64>> {
    let mut m = BTreeMap::new();
    for (k, x) in v.as_object().into_iter().flatten() {
        match x {
            serde_json::Value::Object(o) if k == "theta_channels" => {
                for (layer, list) in o {
                    for (i, y) in list.as_array().into_iter().flatten().enumerate() {
                        m.insert(format!("theta_{layer}_c{i}"), y.as_f64());
                    }
                }
            }
            serde_json::Value::Object(o) => {
                let prefix = if k == "grad_norm_by_layer" {
                    "grad_norm"
                } else {
                    k
                };
                for (layer, y) in o {
                    m.insert(format!("{prefix}_{layer}"), y.as_f64());
                }
            }
            serde_json::Value::String(_) => {}
            other => {
                m.insert(k.clone(), other.as_f64());
            }
        }
    }
    m
}

/// Compares every flattened field of `records` (key → JSON) with the table's row for it;
/// every other value of the row must be null (a column the record does not have).
fn check_table(
    path: &Path,
    key_col: &str,
    records: &BTreeMap<(String, i64), serde_json::Value>,
    meta: &BTreeMap<String, (String, u64, f64, String)>,
) -> Res {
    let df = ParquetReader::new(std::fs::File::open(path)?).finish()?;
    assert_eq!(df.height(), records.len(), "{}: rows", path.display());
    let ids = strings(&df, "run_id")?;
    let strategies = strings(&df, "strategy")?;
    let status = strings(&df, "status")?;
    let nums = numbers(&df)?;
    let run_cols = ["seed", "optimizer.lr"];
    for (i, id) in ids.iter().enumerate() {
        let k = nums[key_col][i].ok_or("key column is null")? as i64;
        let rec = records
            .get(&(id.clone(), k))
            .ok_or_else(|| format!("{}: row {i} ({id}, {k}) is no record", path.display()))?;
        let want = flatten(rec);
        let (strategy, seed, lr, st) = &meta[id];
        assert_eq!(&strategies[i], strategy);
        assert_eq!(&status[i], st);
        assert_eq!(nums["seed"][i], Some(*seed as f64));
        assert_eq!(nums["optimizer.lr"][i], Some(*lr));
        for (col, v) in &nums {
            if run_cols.contains(&col.as_str()) {
                continue;
            }
            let expect = want.get(col).copied().flatten();
            assert_eq!(
                v[i],
                expect,
                "{}: {id} {key_col} {k}: {col}",
                path.display()
            );
        }
        for col in want.keys() {
            assert!(
                nums.contains_key(col),
                "{}: no column {col}",
                path.display()
            );
        }
    }
    Ok(())
}

#[test]
fn long_tables_hold_every_step_and_epoch_record() -> Res {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::write(dir.join("study.toml"), STUDY)?;
    clipbench(dir, &["run", "study.toml", "--jobs", "2"])?;
    let root = dir.join("results/long");
    clipbench(dir, &["aggregate", "results/long"])?;

    let mut steps = BTreeMap::new();
    let mut epochs = BTreeMap::new();
    let mut meta = BTreeMap::new();
    let mut diverged = 0;
    for e in std::fs::read_dir(root.join("runs"))? {
        let run = e?.path();
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("summary.json"))?)?;
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("manifest.json"))?)?;
        let id = s["run_id"].as_str().ok_or("run_id")?.to_string();
        let status = s["status"].as_str().ok_or("status")?.to_string();
        diverged += usize::from(status == "diverged");
        meta.insert(
            id.clone(),
            (
                s["strategy"].as_str().ok_or("strategy")?.to_string(),
                s["seed"].as_u64().ok_or("seed")?,
                m["config"]["optimizer"]["lr"].as_f64().ok_or("lr")?,
                status,
            ),
        );
        for line in std::fs::read_to_string(run.join("metrics.jsonl"))?.lines() {
            let v: serde_json::Value = serde_json::from_str(line)?;
            match v["kind"].as_str() {
                Some("step") => {
                    steps.insert((id.clone(), v["step"].as_i64().ok_or("step")?), v);
                }
                Some("epoch") => {
                    epochs.insert((id.clone(), v["epoch"].as_i64().ok_or("epoch")?), v);
                }
                _ => {}
            }
        }
    }
    assert_eq!(meta.len(), 12);
    assert!(
        diverged > 0,
        "the large lr diverges somewhere: its runs stay in the tables"
    );
    assert!(steps.len() > 12 * 4, "{} step records", steps.len());
    let tables = root.join("tables");
    check_table(&tables.join("steps.parquet"), "step", &steps, &meta)?;
    check_table(&tables.join("epochs.parquet"), "epoch", &epochs, &meta)?;

    // Flat, typed columns a pandas user can select by name.
    let df = ParquetReader::new(std::fs::File::open(tables.join("steps.parquet"))?).finish()?;
    for (col, ty) in [
        ("run_id", DataType::String),
        ("seed", DataType::UInt64),
        ("step", DataType::Int64),
        ("loss", DataType::Float64),
        ("grad_norm_conv1", DataType::Float64),
        ("theta_clip1", DataType::Float64),
        ("theta_grad_clip2", DataType::Float64),
        ("clip_fraction_clip1", DataType::Float64),
        ("theta_projected_clip1", DataType::Int64),
        ("theta_clip1_c0", DataType::Float64),
        ("optimizer.lr", DataType::Float64),
    ] {
        assert_eq!(df.column(col)?.dtype(), &ty, "{col}");
    }
    Ok(())
}
