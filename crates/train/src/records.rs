//! The records of a run's files: `clipbench_core::records` (**contract**; the analysis reads
//! the same types), re-exported for the writers here.

pub use clipbench_core::records::*;
