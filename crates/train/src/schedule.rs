//! Learning-rate schedules: `clipbench_core::config::Schedule` (the `[schedule]` table and
//! its formulas), re-exported for the training loop.

pub use clipbench_core::config::Schedule;
