//! clipbench-core: what every clipbench crate shares, with neither dfdx nor polars, so that
//! the training side and the analysis read and write the same types.
//!
//! - [`strategy`]: the strategy registry (names, properties, colours);
//! - [`theta`]: θ's parametrisations and θ_min;
//! - [`dataset`]: data set names and the data records a manifest keeps;
//! - [`config`]: the run config (**contract**) and its validation into typed problems;
//! - [`records`]: metrics.jsonl records, timing records and summary.json (schema versions);
//! - [`manifest`]: the manifest.json record;
//! - [`rng`]: the one random generator whose streams must never change;
//! - [`atomic`]: the one atomic file writer.

pub mod atomic;
pub mod config;
pub mod dataset;
mod error;
pub mod manifest;
pub mod records;
pub mod rng;
pub mod stable64;
pub mod strategy;
pub mod theta;

pub use config::{ConfigErrors, ConfigProblem, RunConfig};
pub use dataset::DatasetName;
pub use error::CoreError;
pub use strategy::{Strategy, StrategyInfo, REGISTRY};
pub use theta::{ThetaParam, THETA_MIN};
