//! clipbench sweeps: a study file (experiments/*.toml) → a validated [`RunPlan`] → runs,
//! on this machine ([`local`]: a pool of worker processes, resumable, locked) or on a Slurm
//! cluster ([`slurm`]: one job array over the incomplete runs).
//!
//! - [`spec`]: the study file's typed form; [`source`]: its text and key spans (errors name
//!   file, line, column and key); [`grid`]: grids over numeric settings; [`plan`]: validation.
//! - [`tune`]: the tuning stage of a study (`[tune]`): seeded quasi-random trials with one
//!   budget for every strategy, selection on validation accuracy, the final stage after it.
//! - [`layout`]: where a study's files live; [`lock`]: OS file locks; [`worker`]: one run in
//!   its own process; [`report`]: outcomes and the one-line summary; [`progress`], [`signal`].
//! - [`throughput`]: `clipbench bench-study`'s reduced study and where its wall time went.
//! - [`status`]: every run's state from a results directory alone (and what counts as failed);
//!   [`slurm_state`]: the array tasks' states from sacct / squeue.

pub mod error;
pub mod grid;
pub mod layout;
pub mod local;
pub mod lock;
pub mod plan;
pub mod progress;
pub mod report;
pub mod signal;
pub mod slurm;
pub mod slurm_state;
pub mod source;
pub mod spec;
pub mod status;
pub mod throughput;
pub mod tune;
pub mod worker;

pub use error::{Problem, SweepError};
pub use plan::{PlannedRun, RunPlan, Stage, StudyPlan, TunedStudy};
