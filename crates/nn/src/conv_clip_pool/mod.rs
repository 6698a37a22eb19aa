//! conv2d → relu → clip → 2×2 max-pool, the model's repeated block, as one op.
//!
//! [`conv_clip_pool`] dispatches through [`NnDevice`]: the default composes [`conv2d`] and
//! [`clip_max_pool2d`]; Cpu runs the fused kernel of `cpu.rs`, which gives the same bits
//! (tests.rs holds it to the composition, value for value and gradient for gradient).
//!
//! [`conv2d`]: crate::conv2d
//! [`clip_max_pool2d`]: crate::clip_max_pool2d

pub(crate) mod cpu;
#[cfg(test)]
mod tests;

use clipbench_clip::{ClipDevice, ClipLayer};
use dfdx::tensor::{Merge, Tape};

use crate::{ClipPoolOutput, Conv2dOpts, NnDevice, Tensor1, Tensor4};

/// relu(conv2d(x, weight, bias)) → `layer`'s clip → 2×2/stride-2 max-pool, through the
/// device's preferred kernel; `want_stats` asks for the clip count over the unpooled
/// activations, as [`clip_max_pool2d`](crate::clip_max_pool2d) does.
pub fn conv_clip_pool<D, T, R>(
    x: Tensor4<D, T>,
    weight: Tensor4<D, R>,
    bias: Tensor1<D, R>,
    opts: Conv2dOpts,
    layer: &ClipLayer<D>,
    want_stats: bool,
) -> ClipPoolOutput<D, T>
where
    D: NnDevice + ClipDevice,
    T: Tape<f32, D> + Merge<R>,
    R: Tape<f32, D>,
{
    D::conv_clip_pool(x, weight, bias, opts, layer, want_stats)
}
