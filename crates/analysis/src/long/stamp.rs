//! Whether `steps.parquet` is up to date: a stamp beside it (`.steps.parquet.stamp`) holds a
//! SHA-256 of everything the table is made of, and the size and modification time the table
//! had when written. The table is kept when both still match; otherwise it is written anew.
//!
//! What the hash covers: the table's format ([`FORMAT`]: bump it with any change to the
//! columns or their encoding), the study's clip layers and grid keys, and per run (in order)
//! its id, strategy, seed, status and grid values — the run columns — and its metrics.jsonl's
//! cache key (size, modification time, hash of its first and last 64 KiB: see
//! clipbench_metrics::cache), which stands for its records.

use std::path::{Path, PathBuf};

use clipbench_metrics::cache::Key;
use sha2::{Digest, Sha256};

use crate::error::{AnalysisError, Result};
use crate::study::Study;

/// Bump on any change to steps.parquet's columns, their order or encoding.
const FORMAT: &str = "steps.parquet 2 (snappy)";

pub(super) struct Stamp {
    hash: String,
}

fn stamp_path(table: &Path) -> PathBuf {
    table.with_file_name(".steps.parquet.stamp")
}

/// (size, modification time in ns) of a file.
fn identity(path: &Path) -> Option<(u64, u128)> {
    let m = std::fs::metadata(path).ok()?;
    let t = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some((m.len(), t.as_nanos()))
}

impl Stamp {
    /// `keys`: each run's metrics.jsonl key as the records were read (crate::logs).
    pub(super) fn of(study: &Study, keys: &[Key]) -> Stamp {
        let mut h = Sha256::new();
        let mut text = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        text(FORMAT);
        text(env!("CARGO_PKG_VERSION"));
        for l in study.layers.iter().chain(&study.grid_keys) {
            text(l);
        }
        for (run, key) in study.runs.iter().zip(keys) {
            text(&run.run_id);
            text(&run.strategy);
            text(&run.seed.to_string());
            text(if run.diverged() {
                "diverged"
            } else {
                "completed"
            });
            for (k, v) in &study.groups[run.group].grid {
                text(k);
                text(&v.to_string());
            }
            text(&format!("{:?}", key.bytes()));
        }
        let hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Stamp { hash }
    }

    /// The table exists as this stamp's run wrote it.
    pub(super) fn matches(&self, table: &Path) -> bool {
        let (Some((len, mtime)), Ok(stamp)) =
            (identity(table), std::fs::read_to_string(stamp_path(table)))
        else {
            return false;
        };
        stamp.trim() == format!("{} {len} {mtime}", self.hash)
    }

    /// Records that `table` was just written from this stamp's inputs.
    pub(super) fn record(&self, table: &Path) -> Result<()> {
        let (len, mtime) = identity(table).ok_or_else(|| AnalysisError::Invalid {
            path: table.to_path_buf(),
            message: "just written, but its size and time cannot be read".into(),
        })?;
        crate::atomic::write(
            &stamp_path(table),
            format!("{} {len} {mtime}\n", self.hash).as_bytes(),
        )
    }
}
