//! [`NnDevice`]: which implementation of each op a device uses. Cpu gets the fast custom
//! kernels; Cuda (whose storage dfdx keeps crate-private, so no custom kernels) gets the
//! versions composed from public ops.

use crate::conv::{self, Conv2dOpts};
use crate::conv_clip_pool;
use crate::pool::{self, ClipPoolOutput};
use crate::{NnError, Tensor1, Tensor4};
use clipbench_clip::{ClipDevice, ClipLayer};
use dfdx::tensor::{Cpu, Merge, Tape};
use dfdx::tensor_ops::Device;

/// The matmul kernel family `gemm` picks on this CPU at run time (it dispatches on CPU
/// features, and the families round differently: FMA or not, vector width), for manifests.
pub fn gemm_path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return "x86-v4 (AVX-512)";
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return "x86-v3 (AVX2+FMA)";
        }
        "portable"
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "portable"
    }
}

/// A dfdx device with a conv2d and a 2×2 max-pool implementation.
pub trait NnDevice: Device<f32> {
    /// Which kernels this device uses, for run manifests and bench ids.
    const KERNELS: &'static str;

    /// Images per chunk when evaluation runs the conv and pool layers of a large batch
    /// ([`SimpleCnn::features`](crate::model::SimpleCnn::features)); None: the whole batch at
    /// once. Only where a chunk's per-image results are the bits of the whole batch's (the
    /// CPU kernels work image by image).
    const EVAL_CHUNK: Option<usize> = None;

    /// [`Self::KERNELS`] with the matmul path chosen at run time, if any.
    fn kernel_path() -> String {
        Self::KERNELS.to_string()
    }

    /// See [`conv2d`](crate::conv2d).
    fn conv2d<T, R>(
        x: Tensor4<Self, T>,
        weight: Tensor4<Self, R>,
        bias: Tensor1<Self, R>,
        opts: Conv2dOpts,
    ) -> Result<Tensor4<Self, T>, NnError>
    where
        T: Tape<f32, Self> + Merge<R>,
        R: Tape<f32, Self>;

    /// See [`max_pool2d`](crate::max_pool2d).
    fn max_pool2d<T: Tape<f32, Self>>(x: Tensor4<Self, T>) -> Result<Tensor4<Self, T>, NnError>;

    /// See [`clip_max_pool2d`](crate::clip_max_pool2d); unfused unless a device has better.
    fn clip_max_pool2d<T: Tape<f32, Self>>(
        layer: &ClipLayer<Self>,
        x: Tensor4<Self, T>,
        want_stats: bool,
    ) -> ClipPoolOutput<Self, T>
    where
        Self: ClipDevice,
    {
        pool::clip_then_pool(layer, x, want_stats)
    }

    /// See [`conv_clip_pool`](crate::conv_clip_pool); the composition of [`Self::conv2d`] and
    /// [`Self::clip_max_pool2d`] unless a device has better.
    fn conv_clip_pool<T, R>(
        x: Tensor4<Self, T>,
        weight: Tensor4<Self, R>,
        bias: Tensor1<Self, R>,
        opts: Conv2dOpts,
        layer: &ClipLayer<Self>,
        want_stats: bool,
    ) -> ClipPoolOutput<Self, T>
    where
        Self: ClipDevice,
        T: Tape<f32, Self> + Merge<R>,
        R: Tape<f32, Self>,
    {
        let y = Self::conv2d(x, weight, bias, opts)?;
        Self::clip_max_pool2d(layer, y, want_stats)
    }
}

impl NnDevice for Cpu {
    const KERNELS: &'static str = "cpu-im2col-gemm";
    /// 64 images keep a chunk's activations near the caches (the first conv's output: 3.2 MB
    /// for 1×28×28, against 25 MB for a 500-image evaluation batch): forward-only throughput
    /// 1.3-1.5× (bench-train --batch 64 vs 500, forward_images_per_s).
    const EVAL_CHUNK: Option<usize> = Some(64);

    fn kernel_path() -> String {
        format!("{} [gemm {}]", Self::KERNELS, gemm_path())
    }

    fn conv2d<T, R>(
        x: Tensor4<Self, T>,
        weight: Tensor4<Self, R>,
        bias: Tensor1<Self, R>,
        opts: Conv2dOpts,
    ) -> Result<Tensor4<Self, T>, NnError>
    where
        T: Tape<f32, Self> + Merge<R>,
        R: Tape<f32, Self>,
    {
        conv::cpu::conv2d(x, weight, bias, opts)
    }

    fn max_pool2d<T: Tape<f32, Self>>(x: Tensor4<Self, T>) -> Result<Tensor4<Self, T>, NnError> {
        pool::cpu::max_pool2d(x)
    }

    fn clip_max_pool2d<T: Tape<f32, Self>>(
        layer: &ClipLayer<Self>,
        x: Tensor4<Self, T>,
        want_stats: bool,
    ) -> ClipPoolOutput<Self, T> {
        pool::clip_max_pool2d_cpu(layer, x, want_stats)
    }

    fn conv_clip_pool<T, R>(
        x: Tensor4<Self, T>,
        weight: Tensor4<Self, R>,
        bias: Tensor1<Self, R>,
        opts: Conv2dOpts,
        layer: &ClipLayer<Self>,
        want_stats: bool,
    ) -> ClipPoolOutput<Self, T>
    where
        T: Tape<f32, Self> + Merge<R>,
        R: Tape<f32, Self>,
    {
        conv_clip_pool::cpu::conv_clip_pool(x, weight, bias, opts, layer, want_stats)
    }
}

#[cfg(feature = "cuda")]
impl NnDevice for dfdx::tensor::Cuda {
    const KERNELS: &'static str = "generic-public-ops";

    fn conv2d<T, R>(
        x: Tensor4<Self, T>,
        weight: Tensor4<Self, R>,
        bias: Tensor1<Self, R>,
        opts: Conv2dOpts,
    ) -> Result<Tensor4<Self, T>, NnError>
    where
        T: Tape<f32, Self> + Merge<R>,
        R: Tape<f32, Self>,
    {
        conv::conv2d_generic(x, weight, bias, opts)
    }

    fn max_pool2d<T: Tape<f32, Self>>(x: Tensor4<Self, T>) -> Result<Tensor4<Self, T>, NnError> {
        pool::max_pool2d_generic(x)
    }
}
