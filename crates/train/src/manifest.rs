//! `manifest.json`: what produced a run — config, code revision, toolchain, data, machine.

use std::process::Command;

use clipbench_clip::Strategy;
use clipbench_data::{ChannelStats, FileReport, SplitInfo};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::RunConfig;
use crate::records::SCHEMA_VERSION;

/// The lock file this binary was built with, so the manifest names exact dependency versions.
const CARGO_LOCK: &[u8] = include_bytes!("../../../Cargo.lock");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub run_id: String,
    pub config: RunConfig,
    pub strategy: String,
    pub seed: u64,
    /// `git rev-parse HEAD` in the working directory at run time (None outside a checkout).
    pub git_revision: Option<String>,
    pub git_dirty: Option<bool>,
    pub cargo_lock_sha256: String,
    pub rustc: String,
    pub dfdx: String,
    pub clipbench: String,
    pub dataset: String,
    /// SHA-256 of each decompressed data file (for synthetic data: of the generated arrays).
    pub data_files: Vec<FileReport>,
    /// Per-channel mean and std of the training images (after the split and train_limit).
    pub normalization: ChannelStats,
    /// Training images (after the validation split and train_limit).
    pub train_images: usize,
    pub validation_images: usize,
    pub test_images: usize,
    /// Which training images are the validation split (seed and fingerprint).
    pub split: SplitInfo,
    /// `direct` or `softplus` (also in `config.model.clip.theta_param`).
    pub theta_param: String,
    /// What the report may say about the strategy: the analysis reads these instead of
    /// keeping its own list.
    pub strategy_properties: StrategyProperties,
    pub cpu_model: String,
    pub threads: usize,
    pub device: String,
    pub kernels: String,
    /// Seconds since the Unix epoch, UTC.
    pub started_unix_s: u64,
}

/// The declared properties of a strategy (see `clipbench_clip::Strategy`; each is tested
/// against the f64 reference there).
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
        StrategyProperties {
            learnable: s.learnable(),
            has_threshold: s.has_threshold(),
            identity_below_threshold: s.identity_below_threshold(),
            theta_gradient_zero: s.theta_gradient_zero(),
            relu_equivalent: s.relu_equivalent(),
            monotone: s.monotone(),
        }
    }
}

pub struct MachineInfo;

impl MachineInfo {
    pub fn cpu_model() -> String {
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string())
    }

    pub fn git() -> (Option<String>, Option<bool>) {
        let rev = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let dirty = rev.as_ref().and_then(|_| {
            Command::new("git")
                .args(["status", "--porcelain", "--untracked-files=no"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| !o.stdout.is_empty())
        });
        (rev, dirty)
    }

    pub fn cargo_lock_sha256() -> String {
        Sha256::digest(CARGO_LOCK)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

pub fn rustc_version() -> String {
    option_env!("CLIPBENCH_RUSTC_VERSION")
        .unwrap_or("unknown")
        .to_string()
}

pub fn schema_version() -> u32 {
    SCHEMA_VERSION
}
