//! Activation-clipping strategies for clipbench.
//!
//! - [`strategy`]: the strategies (one file each), each with an f64 reference (value, ∂y/∂x,
//!   ∂y/∂θ) and an f32 element kernel;
//! - [`kernel`]: fused, vectorised, deterministic CPU loops over slices;
//! - [`ClipLayer`]: relu → clip with θ ≥ θ_min, trained directly or through softplus
//!   ([`threshold`]),
//!   fused on Cpu ([`fused`]) and composed from public dfdx ops elsewhere ([`composed`]);
//! - [`cpu`]: a layer's kernels over slices, for ops that fuse the clip into more work;
//! - [`curves`]: the function shapes through the real training kernel.

pub mod composed;
pub mod cpu;
pub mod curves;
mod error;
pub mod fastmath;
pub mod fused;
pub mod kernel;
mod layer;
pub mod raw;
pub mod strategy;
pub mod threshold;

pub use error::ClipError;
pub use layer::{Act, ClipDevice, ClipLayer, ClipOutput, ClipParams, ClipStats, Shape4};
pub use strategy::{ClipFn, Eval, Strategy, StrategyKernels};
pub use threshold::ThetaParam;
