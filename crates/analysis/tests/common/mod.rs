//! Helpers shared by the integration tests: fixture copies and an independent reading of the
//! run files (serde_json::Value only, none of the crate's types) to check the tables against.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies fixture `name` into a fresh temporary directory (tests write tables there).
pub fn copy_fixture(
    name: &str,
) -> Result<(tempfile::TempDir, PathBuf), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dst = tmp.path().join(name);
    copy_dir(&fixture(name), &dst)?;
    Ok((tmp, dst))
}

fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let to = dst.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else if e
            .path()
            .extension()
            .is_some_and(|x| x == "json" || x == "jsonl")
        {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}

/// A run as the test reads it.
#[derive(Debug, Clone)]
pub struct RawRun {
    pub strategy: String,
    pub seed: u64,
    pub lr: f64,
    pub status: String,
    pub final_acc: Option<f64>,
    pub max_grad_norm: f64,
    pub final_theta: BTreeMap<String, f64>,
    pub grad_norms: Vec<f64>,
    pub clip_fraction: BTreeMap<String, Vec<f64>>,
}

pub fn read_runs(study: &Path) -> Result<Vec<RawRun>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(study.join("runs"))? {
        let dir = e?.path();
        let Ok(s) = std::fs::read_to_string(dir.join("summary.json")) else {
            continue;
        };
        let s: serde_json::Value = serde_json::from_str(&s)?;
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json"))?)?;
        let mut grad_norms = Vec::new();
        let mut clip_fraction: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for line in std::fs::read_to_string(dir.join("metrics.jsonl"))?.lines() {
            let v: serde_json::Value = serde_json::from_str(line)?;
            if v["kind"] == "step" {
                grad_norms.push(v["grad_norm"].as_f64().ok_or("grad_norm")?);
                for (k, x) in v["clip_fraction"].as_object().ok_or("clip_fraction")? {
                    clip_fraction
                        .entry(k.clone())
                        .or_default()
                        .push(x.as_f64().ok_or("cf")?);
                }
            }
        }
        out.push(RawRun {
            strategy: s["strategy"].as_str().ok_or("strategy")?.to_string(),
            seed: s["seed"].as_u64().ok_or("seed")?,
            lr: m["config"]["optimizer"]["lr"].as_f64().ok_or("lr")?,
            status: s["status"].as_str().ok_or("status")?.to_string(),
            final_acc: s["final_test_acc"].as_f64(),
            max_grad_norm: s["max_grad_norm"].as_f64().ok_or("max_grad_norm")?,
            final_theta: s["final_theta"]
                .as_object()
                .ok_or("final_theta")?
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect(),
            grad_norms,
            clip_fraction,
        });
    }
    Ok(out)
}

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

pub fn sd(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
}

pub fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A CSV file as rows of column name → cell (handles quoted cells).
pub fn read_csv(path: &Path) -> Result<Vec<BTreeMap<String, String>>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header = split_csv(lines.next().ok_or("empty csv")?);
    Ok(lines
        .map(|l| header.iter().cloned().zip(split_csv(l)).collect())
        .collect())
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(s) = out.last_mut() {
                    s.push('"');
                }
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => {
                if let Some(s) = out.last_mut() {
                    s.push(c);
                }
            }
        }
    }
    out
}

pub fn num(row: &BTreeMap<String, String>, col: &str) -> f64 {
    row.get(col)
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol
}
