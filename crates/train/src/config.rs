//! The resolved configuration of one run: `clipbench_core::config` (**contract**; the run id
//! is a hash of its JSON), re-exported where the training code has always found it.

pub use clipbench_core::config::{ConfigErrors, ConfigProblem, DeviceKind, RunConfig, Selection};
