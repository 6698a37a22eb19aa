//! The stable random generator: `clipbench_core::rng` (one SplitMix64 for the whole
//! workspace; why hand-written is said there), re-exported for the data crate's users.

pub use clipbench_core::rng::*;
