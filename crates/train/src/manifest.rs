//! `manifest.json` (the type is `clipbench_core::manifest::Manifest`): what the training side
//! reads off the machine and the build to fill it.

use std::process::Command;

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
