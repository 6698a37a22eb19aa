//! Convolution, 2×2 max-pooling and linear layers for clipbench, built on dfdx 0.13's public
//! API (dfdx compiles its own conv2d/pool2d out on stable Rust).
//!
//! Every op exists twice:
//! - a device-generic version composed from public dfdx ops ([`conv2d_generic`],
//!   [`max_pool2d_generic`]) that runs with autograd on Cpu and Cuda;
//! - a fast CPU kernel registered on the tape as a custom op (im2col + `gemm`, rayon over
//!   fixed chunks of images so results are bit-identical for any thread count).
//!
//! [`NnDevice`] picks the implementation per device; [`conv2d`] and [`max_pool2d`] dispatch
//! through it. Shapes are runtime (`usize`) NCHW; parameters are plain leaf tensors (see
//! [`init`]), and gradients land in dfdx's [`Gradients`](dfdx::tensor::Gradients) under the
//! parameters' ids.

pub mod conv;
mod conv_clip_pool;
mod device;
mod error;
pub mod flops;
pub mod init;
mod linear;
pub mod model;
pub mod pool;
mod raw;
mod scratch;
mod simd;
#[cfg(test)]
mod testutil;

pub use conv::{conv2d, conv2d_generic, Conv2dOpts};
pub use conv_clip_pool::conv_clip_pool;
pub use device::{gemm_path, NnDevice};
pub use error::NnError;
pub use linear::linear;
pub use pool::{clip_max_pool2d, clip_then_pool, max_pool2d, max_pool2d_generic, ClipPoolOutput};

use dfdx::tensor::{NoneTape, Tensor};

/// A runtime NCHW shape: (batch, channels, height, width); also (O, C, KH, KW) for weights.
pub type Shape4 = (usize, usize, usize, usize);
/// A rank-4 f32 tensor with runtime dimensions.
pub type Tensor4<D, T = NoneTape> = Tensor<Shape4, f32, D, T>;
/// A rank-2 f32 tensor with runtime dimensions.
pub type Tensor2<D, T = NoneTape> = Tensor<(usize, usize), f32, D, T>;
/// A rank-1 f32 tensor with a runtime length.
pub type Tensor1<D, T = NoneTape> = Tensor<(usize,), f32, D, T>;
