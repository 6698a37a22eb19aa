//! The run-directory JSON files this crate reads (README "Run directory and metrics",
//! **contract** schema_version 1), mirrored here because the analysis must not link the
//! training crates; metrics.jsonl lines are read by `logs`.
//! Unknown fields are ignored (additions are compatible); a different schema_version is an
//! error.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{AnalysisError, Result};

/// The metrics schema this crate reads.
pub const SCHEMA_VERSION: u32 = 1;

pub const MANIFEST: &str = "manifest.json";
pub const METRICS: &str = "metrics.jsonl";
pub const SUMMARY: &str = "summary.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    Diverged,
}

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub run_id: String,
    pub status: RunStatus,
    pub strategy: String,
    pub seed: u64,
    pub epochs_completed: u32,
    pub steps: u64,
    pub final_test_acc: Option<f64>,
    pub best_test_acc: Option<f64>,
    pub final_test_loss: Option<f64>,
    pub final_train_loss: Option<f64>,
    pub diverged_at_step: Option<u64>,
    #[serde(default)]
    pub final_theta: BTreeMap<String, Nullable>,
    /// +inf when the file says null: the writer writes a non-finite number as null, and a
    /// maximum of norms is non-finite only when a gradient blew up.
    #[serde(deserialize_with = "null_as_infinity")]
    pub max_grad_norm: f64,
    pub train_wall_s: f64,
}

/// A number the writer may have written as null (non-finite); null reads as NaN.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(from = "Option<f64>")]
pub struct Nullable(pub f64);

impl From<Option<f64>> for Nullable {
    fn from(v: Option<f64>) -> Self {
        Nullable(v.unwrap_or(f64::NAN))
    }
}

fn null_as_infinity<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

impl Summary {
    /// Final θ of a clip layer (NaN when it was not finite).
    pub fn final_theta(&self, layer: &str) -> Option<f64> {
        self.final_theta.get(layer).map(|v| v.0)
    }
}

/// The parts of `manifest.json` the report uses; `config` is kept whole (grid detection).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub run_id: String,
    pub config: serde_json::Value,
    pub strategy: String,
    pub seed: u64,
    #[serde(default)]
    pub git_revision: Option<String>,
    #[serde(default)]
    pub git_dirty: Option<bool>,
    #[serde(default)]
    pub rustc: Option<String>,
    #[serde(default)]
    pub dfdx: Option<String>,
    #[serde(default)]
    pub clipbench: Option<String>,
    #[serde(default)]
    pub dataset: Option<String>,
    #[serde(default)]
    pub train_images: Option<u64>,
    #[serde(default)]
    pub test_images: Option<u64>,
    #[serde(default)]
    pub cpu_model: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub kernels: Option<String>,
    #[serde(default)]
    pub started_unix_s: Option<u64>,
}

/// Reads a JSON file whose `schema_version` must be [`SCHEMA_VERSION`].
pub fn read_versioned<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| AnalysisError::io(path, e))?;
    parse_versioned(path, &bytes)
}

pub fn parse_versioned<T: for<'de> Deserialize<'de>>(path: &Path, bytes: &[u8]) -> Result<T> {
    let json_err = |e: serde_json::Error| AnalysisError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(json_err)?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(found) => {
            return Err(AnalysisError::Schema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            })
        }
        None => {
            return Err(AnalysisError::Json {
                path: path.to_path_buf(),
                message: "no integer \"schema_version\"".into(),
            })
        }
    }
    serde_json::from_value(value).map_err(json_err)
}
