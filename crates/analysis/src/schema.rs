//! The run-directory JSON files this crate reads (README "Run directory and metrics",
//! **contract** schema_version 2, and version 1 runs of earlier clipbench releases), mirrored
//! here because the analysis must not link the training crates; metrics.jsonl lines are read
//! by `logs`. Unknown fields are ignored (additions are compatible); a schema_version outside
//! 1..=2 is an error.
//!
//! A version 1 run has no validation split: it is read as `selection = "last"` (its reported
//! epoch is its last), and its best test accuracy — a selection on test — is ignored.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{AnalysisError, Result};

/// The metrics schema this crate reads (and every older one back to [`OLDEST_SCHEMA`]).
pub const SCHEMA_VERSION: u32 = 2;
pub const OLDEST_SCHEMA: u32 = 1;

pub const MANIFEST: &str = "manifest.json";
pub const METRICS: &str = "metrics.jsonl";
pub const SUMMARY: &str = "summary.json";
pub const TIMING: &str = "timing.jsonl";

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
    /// `best-val` or `last` (version 1 runs: `last`).
    #[serde(default = "last")]
    pub selection: String,
    #[serde(default)]
    pub selected_epoch: Option<u32>,
    #[serde(default)]
    pub val_acc_at_selected: Option<f64>,
    /// The headline: test accuracy at the validation-selected epoch.
    #[serde(default)]
    pub test_acc_at_selected: Option<f64>,
    pub final_test_acc: Option<f64>,
    pub final_test_loss: Option<f64>,
    #[serde(default)]
    pub final_val_acc: Option<f64>,
    pub final_train_loss: Option<f64>,
    pub diverged_at_step: Option<u64>,
    #[serde(default)]
    pub final_theta: BTreeMap<String, Nullable>,
    #[serde(default)]
    pub theta_projected: BTreeMap<String, u64>,
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

fn last() -> String {
    "last".into()
}

impl Summary {
    /// Fills what a version 1 summary lacks: its reported epoch is its last.
    fn upgrade(mut self) -> Self {
        if self.schema_version < 2 && self.test_acc_at_selected.is_none() {
            self.selected_epoch = self.epochs_completed.checked_sub(1);
            self.test_acc_at_selected = self.final_test_acc;
        }
        self
    }

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
    pub validation_images: Option<u64>,
    #[serde(default)]
    pub test_images: Option<u64>,
    /// The validation split's seed and fingerprint (version 2).
    #[serde(default)]
    pub split: Option<serde_json::Value>,
    /// `direct` or `softplus` (version 2; version 1 runs trained ρ: softplus).
    #[serde(default)]
    pub theta_param: Option<String>,
    /// What the report may say about the strategy (version 2).
    #[serde(default)]
    pub strategy_properties: Option<StrategyProperties>,
    #[serde(default)]
    pub cpu_model: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub kernels: Option<String>,
    #[serde(default)]
    pub started_unix_s: Option<u64>,
}

/// The declared properties of a strategy, as the training side wrote them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct StrategyProperties {
    pub learnable: bool,
    pub has_threshold: bool,
    /// f(x) = x for 0 ≤ x < θ: exactly ReLU where it does not clip.
    pub identity_below_threshold: bool,
    /// ∂y/∂θ ≡ 0 by construction.
    pub theta_gradient_zero: bool,
    /// relu → f is relu(x) in exact arithmetic.
    pub relu_equivalent: bool,
    pub monotone: bool,
}

impl Manifest {
    /// The θ parametrisation (version 1 runs: `softplus`, the only one then).
    pub fn theta_param(&self) -> &str {
        match &self.theta_param {
            Some(p) => p,
            None if self.schema_version < 2 => "softplus",
            None => "direct",
        }
    }
}

/// Summaries are upgraded to the current meaning on read.
pub fn read_summary(path: &Path, bytes: &[u8]) -> Result<Summary> {
    parse_versioned::<Summary>(path, bytes).map(Summary::upgrade)
}

/// Reads a JSON file whose `schema_version` must be one this crate reads.
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
        Some(v) if (u64::from(OLDEST_SCHEMA)..=u64::from(SCHEMA_VERSION)).contains(&v) => {}
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
