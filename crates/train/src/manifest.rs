//! `manifest.json` (the type is `clipbench_core::manifest::Manifest`): what the training side
//! reads off the machine and the build to fill it.

use sha2::{Digest, Sha256};

use crate::records::SCHEMA_VERSION;

/// The lock file this binary was built with, so the manifest names exact dependency versions.
const CARGO_LOCK: &[u8] = include_bytes!("../../../Cargo.lock");

pub use clipbench_core::manifest::{Manifest, StrategyProperties};

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

    /// The git revision of the source tree this binary was built from and whether that tree
    /// (crates/, benches/, Cargo.toml, Cargo.lock) had uncommitted changes, both read at build
    /// time (`build.rs`); None when it was not built from a git checkout.
    pub fn git() -> (Option<String>, Option<bool>) {
        let rev = Some(env!("CLIPBENCH_GIT_REVISION")).filter(|r| !r.is_empty());
        let dirty = match env!("CLIPBENCH_GIT_DIRTY") {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        (rev.map(str::to_string), dirty)
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
