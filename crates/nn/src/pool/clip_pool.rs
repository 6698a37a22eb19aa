//! relu → clip → 2×2 max-pool as one op. Every built-in strategy is non-decreasing after relu
//! ([`ClipFn::MONOTONE`](clipbench_clip::ClipFn::MONOTONE)), so the max of the clipped window
//! is the clip of the window's max: the CPU op pools the raw activations first and runs the
//! clip's forward and backward on a quarter of the elements, and never stores the full-size
//! clipped tensor or its gradient. The gradient goes to the window's largest raw activation;
//! pooling the clipped values would pick the first of the tied saturated ones instead, and
//! both carry the same derivatives (see the tests), except exactly at a kink (x = θ), where
//! either one-sided derivative is a valid subgradient. Values agree to the kernel's rounding
//! (`clipbench-clip`'s tests/monotone.rs). A strategy that is not monotone runs unfused:
//! clip every element, then pool.

use clipbench_clip::{ClipDevice, ClipLayer, ClipStats};
use dfdx::tensor::{Cpu, CpuError, PutTape, SplitTape, Tape, TensorFromVec};
use dfdx::tensor_ops::ReshapeTo;

use super::cpu;
use crate::{raw, NnDevice, NnError, Tensor4};

const OP: &str = "clip_max_pool2d (cpu)";

/// Pooled activations and, when asked for, the clip count over the unpooled ones.
pub type ClipPoolOutput<D, T> = Result<(Tensor4<D, T>, Option<ClipStats>), NnError>;

/// relu → clip (per `layer`) → 2×2/stride-2 max-pool, through the device's preferred kernel
/// (see [`NnDevice::clip_max_pool2d`]). `want_stats` asks for the clip count of the unpooled
/// activations (a separate pass on Cpu, so only when logging).
pub fn clip_max_pool2d<D, T>(
    layer: &ClipLayer<D>,
    x: Tensor4<D, T>,
    want_stats: bool,
) -> ClipPoolOutput<D, T>
where
    D: NnDevice + ClipDevice,
    T: Tape<f32, D>,
{
    D::clip_max_pool2d(layer, x, want_stats)
}

/// The clip layer on every element, then the pool.
pub fn clip_then_pool<D, T>(
    layer: &ClipLayer<D>,
    x: Tensor4<D, T>,
    want_stats: bool,
) -> ClipPoolOutput<D, T>
where
    D: NnDevice + ClipDevice,
    T: Tape<f32, D>,
{
    let (y, stats) = layer.forward(x, want_stats)?;
    Ok((D::max_pool2d(y)?, stats))
}

/// The CPU kernel behind [`NnDevice::clip_max_pool2d`] for [`Cpu`].
pub(crate) fn clip_max_pool2d_cpu<T: Tape<f32, Cpu>>(
    layer: &ClipLayer<Cpu>,
    x: Tensor4<Cpu, T>,
    want_stats: bool,
) -> ClipPoolOutput<Cpu, T> {
    let kernels = layer.cpu_kernels();
    if !kernels.commutes_with_max() {
        return clip_then_pool(layer, x, want_stats);
    }
    let (b, c, h, w) = super::check_input(OP, &x)?;
    layer.check_shape(&(b, c, h, w))?;
    let err = |e| NnError::device(OP, e);
    let (x, mut tape) = x.try_contiguous().map_err(err)?.split_tape();
    let xs = raw::cpu_data(&x).ok_or_else(|| err(CpuError::WrongNumElements))?;
    let stats = want_stats.then(|| ClipStats {
        saturated: kernels.count_saturated(xs, h * w),
        total: xs.len() as u64,
    });
    let (xmax, arg) = cpu::forward(xs, h, w);
    let plane_out = (h / 2) * (w / 2);
    let mut y = vec![0f32; xmax.len()];
    kernels.forward(&xmax, &mut y, plane_out);
    let out = x
        .device()
        .try_tensor_from_vec(y, (b, c, h / 2, w / 2))
        .map_err(err)?;
    if T::OWNS_TAPE {
        let x_ghost = x.ghost();
        let out_id = out.clone();
        let target = layer.theta_grad_target();
        drop(x); // backward needs x's id, the window maxima and the argmax, not x's data
        tape.add_backward_op(move |grads| {
            let ys = raw::cpu_data(&out_id).ok_or(CpuError::WrongNumElements)?;
            // Take dy out so dx can be borrowed mutably; put it back afterwards.
            let dy: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_id)?);
            let mut dmax = vec![0f32; dy.len()];
            let dtheta = kernels.backward(&xmax, ys, &dy, &mut dmax, plane_out);
            let result = grads
                .get_or_alloc_mut(&x_ghost)
                .and_then(|dx| cpu::backward(dx, &dmax, &arg, h, w));
            **grads.get_or_alloc_mut(&out_id)? = dy;
            result?;
            match &target {
                Some(t) => t.add(grads, &dtheta),
                None => Ok(()),
            }
        });
    }
    Ok((out.put_tape(tape), stats))
}
