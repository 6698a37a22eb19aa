//! Where metric records go: a JSONL file for runs, memory for tests.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::TrainError;

pub trait Sink<R> {
    fn write(&mut self, r: &R) -> Result<(), TrainError>;
    /// Push buffered records to durable storage (called at epoch ends and at the end).
    fn flush(&mut self) -> Result<(), TrainError>;
}

/// One JSON object per line.
pub struct JsonlSink {
    path: PathBuf,
    out: BufWriter<File>,
}

impl JsonlSink {
    pub fn create(path: &Path) -> Result<Self, TrainError> {
        let f = File::create(path).map_err(|e| TrainError::io(path, e))?;
        Ok(JsonlSink {
            path: path.to_path_buf(),
            out: BufWriter::new(f),
        })
    }
}

impl<R: Serialize> Sink<R> for JsonlSink {
    fn write(&mut self, r: &R) -> Result<(), TrainError> {
        serde_json::to_writer(&mut self.out, r).map_err(|e| TrainError::Json {
            path: self.path.clone(),
            source: e,
        })?;
        self.out
            .write_all(b"\n")
            .map_err(|e| TrainError::io(&self.path, e))
    }
    fn flush(&mut self) -> Result<(), TrainError> {
        self.out
            .flush()
            .map_err(|e| TrainError::io(&self.path, e))?;
        self.out
            .get_ref()
            .sync_data()
            .map_err(|e| TrainError::io(&self.path, e))
    }
}

/// Keeps records in memory (tests, bench-train).
#[derive(Debug, Default)]
pub struct MemorySink<R>(pub Vec<R>);

impl<R: Clone> Sink<R> for MemorySink<R> {
    fn write(&mut self, r: &R) -> Result<(), TrainError> {
        self.0.push(r.clone());
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TrainError> {
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically (`clipbench_core::atomic`: temp file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    Ok(clipbench_core::atomic::write_atomic(path, bytes)?)
}

/// Pretty JSON, atomically.
pub fn write_json_atomic<T: Serialize>(path: &Path, v: &T) -> Result<(), TrainError> {
    Ok(clipbench_core::atomic::write_json_atomic(path, v)?)
}
