//! `manifest.json`: what produced a run — config, code revision, toolchain, data, machine
//! (**contract**, README "Run directory and metrics"). `clipbench-train` writes it first,
//! atomically; the analysis reads it with the config as plain JSON (`Manifest<Value>`), so
//! that a schema 1 run's config, which lacks later fields, is read as it was written.

use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::dataset::{ChannelStats, FileReport, SplitInfo};
use crate::strategy::Strategy;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest<C = RunConfig> {
    pub schema_version: u32,
    pub run_id: String,
    pub config: C,
    pub strategy: String,
    pub seed: u64,
    /// The git revision the binary was built from (None when not built from a checkout;
    /// before this was baked in at build time, the working directory's at run time).
    #[serde(default)]
    pub git_revision: Option<String>,
    /// Whether the built source tree (crates/, benches/, Cargo.toml, Cargo.lock) had
    /// uncommitted changes.
    #[serde(default)]
    pub git_dirty: Option<bool>,
    #[serde(default)]
    pub cargo_lock_sha256: Option<String>,
    #[serde(default)]
    pub rustc: Option<String>,
    #[serde(default)]
    pub dfdx: Option<String>,
    #[serde(default)]
    pub clipbench: Option<String>,
    #[serde(default)]
    pub dataset: Option<String>,
    /// SHA-256 of each decompressed data file (for synthetic data: of the generated arrays).
    #[serde(default)]
    pub data_files: Vec<FileReport>,
    /// Per-channel mean and std of the training images (after the split and train_limit).
    #[serde(default)]
    pub normalization: Option<ChannelStats>,
    /// Training images (after the validation split and train_limit).
    #[serde(default)]
    pub train_images: Option<usize>,
    /// Schema 2 on.
    #[serde(default)]
    pub validation_images: Option<usize>,
    #[serde(default)]
    pub test_images: Option<usize>,
    /// Which training images are the validation split (seed and fingerprint); schema 2 on.
    #[serde(default)]
    pub split: Option<SplitInfo>,
    /// `direct` or `softplus` (also in `config.model.clip.theta_param`); schema 2 on.
    #[serde(default)]
    pub theta_param: Option<String>,
    /// What the report may say about the strategy (the registry's, as this run's binary had
    /// it); schema 2 on.
    #[serde(default)]
    pub strategy_properties: Option<StrategyProperties>,
    #[serde(default)]
    pub cpu_model: Option<String>,
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub kernels: Option<String>,
    /// Seconds since the Unix epoch, UTC.
    #[serde(default)]
    pub started_unix_s: Option<u64>,
}

impl<C> Manifest<C> {
    /// The θ parametrisation (schema 1 runs: `softplus`, the only one then).
    pub fn theta_param(&self) -> &str {
        match &self.theta_param {
            Some(p) => p,
            None if self.schema_version < 2 => "softplus",
            None => "direct",
        }
    }
}

/// The registry's properties of a strategy, as a manifest records them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyProperties {
    /// The optimizer trains θ.
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

impl StrategyProperties {
    pub fn of(s: Strategy) -> Self {
        let i = s.info();
        StrategyProperties {
            learnable: i.learnable,
            has_threshold: i.has_threshold,
            identity_below_threshold: i.identity_below_threshold,
            theta_gradient_zero: i.theta_gradient_zero,
            relu_equivalent: i.relu_equivalent,
            monotone: i.monotone,
        }
    }
}
