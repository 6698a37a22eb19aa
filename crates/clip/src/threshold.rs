//! θ's parametrisations and θ_min: the registry's (`clipbench_core::theta`), re-exported for
//! the layer and its kernels.

pub use clipbench_core::theta::*;
