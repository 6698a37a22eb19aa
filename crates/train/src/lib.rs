//! One clipbench training run: config → data → SimpleCNN → metrics files.
//!
//! - [`config::RunConfig`]: the resolved config (hashed into the run id);
//! - [`run::train_loop`]: the loop, optimizer ([`optim`]), schedule ([`schedule`]),
//!   divergence check, records ([`records`]) into sinks ([`sink`]);
//! - [`step::train_step`]: one step, shared by the loop and `bench-train`;
//! - [`out`]: the run directory (manifest, metrics.jsonl, timing.jsonl, summary.json) and
//!   `verify` (rerun and compare bytes).

pub mod bench;
pub mod config;
pub mod data;
pub mod device;
mod error;
pub mod malloc;
pub mod manifest;
pub mod optim;
pub mod out;
pub mod records;
pub mod run;
pub mod schedule;
pub mod sink;
pub mod step;
mod warm;

pub use config::RunConfig;
pub use error::TrainError;
