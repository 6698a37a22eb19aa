//! The fused CPU op: per task of [`IMAGES_PER_TASK`] images, each image's convolution is
//! computed into the thread's scratch, pooled and clipped there (as `clip_pool.rs` does: the
//! pool runs first, the clip on the window maxima, valid for a monotone clip), and only the
//! pooled results reach memory. The backward rebuilds each image's conv-output gradient in
//! scratch from the pooled one and hands it to the conv's backward.
//!
//! What this saves against conv2d then clip_max_pool2d (measured: see the README's
//! bench-train figures): writing and re-reading the full-size conv output and its gradient
//! (4 MB each for the first layer of a 64-image 3×32×32 batch), dfdx's serial zeroing of that
//! gradient, and three of a block's six parallel regions (each a wake-up of the workers):
//! the forward is one instead of three, the backward two instead of three.
//!
//! Same bits as the composition: every element goes through the same kernels in the same
//! order (per-image gemms; the pool's tournament; the clip forward is elementwise; the clip
//! backward, whose θ sums depend on the chunking, still runs over the whole pooled buffer;
//! the conv-output gradient is written with the bits that the pool's `+=` into dfdx's zeroed
//! buffer gave).

use std::mem::MaybeUninit;

use clipbench_clip::cpu::CpuKernels;
use clipbench_clip::{ClipLayer, ClipStats};
use dfdx::tensor::{Cpu, CpuError, Merge, PutTape, SplitTape, Tape, TensorFromVec};
use dfdx::tensor_ops::ReshapeTo;
use rayon::prelude::*;

use crate::conv::cpu::IMAGES_PER_TASK;
use crate::conv::cpu::{accumulate_image, add_into, param_and_input_grads, OutGrad};
use crate::conv::Geom;
use crate::pool::cpu::{pool_planes, unpool_into};
use crate::pool::{clip_then_pool, ClipPoolOutput};
use crate::scratch::with_scratch;
use crate::{raw, Conv2dOpts, NnError, Tensor1, Tensor4};

const OP: &str = "conv_clip_pool (cpu)";

/// The CPU kernel behind [`NnDevice::conv_clip_pool`](crate::NnDevice::conv_clip_pool) for
/// [`Cpu`]. A clip that is not monotone cannot pool first: it runs unfused.
pub(crate) fn conv_clip_pool<T, R>(
    x: Tensor4<Cpu, T>,
    weight: Tensor4<Cpu, R>,
    bias: Tensor1<Cpu, R>,
    opts: Conv2dOpts,
    layer: &ClipLayer<Cpu>,
    want_stats: bool,
) -> ClipPoolOutput<Cpu, T>
where
    T: Tape<f32, Cpu> + Merge<R>,
    R: Tape<f32, Cpu>,
{
    let kernels = layer.cpu_kernels();
    if !kernels.commutes_with_max() {
        let y = crate::conv::cpu::conv2d(x, weight, bias, opts)?;
        return clip_then_pool(layer, y, want_stats);
    }
    let g = Geom::new(&x, &weight, &bias, opts.padding)?;
    if !g.ho.is_multiple_of(2) || !g.wo.is_multiple_of(2) {
        return Err(NnError::OddPoolInput {
            op: OP,
            height: g.ho,
            width: g.wo,
        });
    }
    layer.check_shape(&g.out_shape())?;
    let err = |e| NnError::device(OP, e);
    let (x, tx) = x.try_contiguous().map_err(err)?.split_tape();
    let (weight, tw) = weight.try_contiguous().map_err(err)?.split_tape();
    let (bias, tb) = bias.try_contiguous().map_err(err)?.split_tape();
    let mut tape = tx.merge(tw).merge(tb);
    let fwd = match (
        raw::cpu_data(&x),
        raw::cpu_data(&weight),
        raw::cpu_data(&bias),
    ) {
        (Some(xs), Some(ws), Some(bs)) => {
            forward(&g, (xs, ws, bs), &kernels, want_stats).map_err(err)?
        }
        // `try_contiguous` above makes this unreachable; report rather than panic.
        _ => return Err(err(CpuError::WrongNumElements)),
    };
    let stats = want_stats.then(|| ClipStats {
        saturated: fwd.saturated,
        total: (g.b * g.o * g.out_plane()) as u64,
    });
    let out = x
        .device()
        .try_tensor_from_vec(fwd.y, (g.b, g.o, g.ho / 2, g.wo / 2))
        .map_err(err)?;
    if T::OWNS_TAPE {
        let out_id = out.clone();
        let bias_ghost = bias.ghost();
        let target = layer.theta_grad_target();
        let (xmax, arg) = (fwd.xmax, fwd.arg);
        let input_grad = opts.input_grad;
        tape.add_backward_op(move |grads| {
            let bad = CpuError::WrongNumElements;
            let ys = raw::cpu_data(&out_id).ok_or(bad)?;
            let dy: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_id)?);
            let mut dmax = vec![0f32; dy.len()];
            let pooled_plane = (g.ho / 2) * (g.wo / 2);
            let dtheta = kernels.backward(&xmax, ys, &dy, &mut dmax, pooled_plane);
            **grads.get_or_alloc_mut(&out_id)? = dy;
            if dmax.len() != arg.len() || dmax.len() != g.b * g.o * pooled_plane {
                return Err(bad);
            }
            let img_pooled = g.o * pooled_plane;
            // The bits of the composition's dfdx-allocated (zeroed) gradient after the pool's
            // backward.
            let conv_grad = |n: usize, buf: &mut [f32]| {
                let window = n * img_pooled..(n + 1) * img_pooled;
                unpool_into(buf, &dmax[window.clone()], &arg[window], g.wo);
            };
            let xs = raw::cpu_data(&x).ok_or(bad)?;
            let ws = raw::cpu_data(&weight).ok_or(bad)?;
            let dx = match input_grad {
                true => Some(&mut ***grads.get_or_alloc_mut(&x)?),
                false => None,
            };
            let (dw, db) = param_and_input_grads(&g, xs, ws, OutGrad::PerImage(&conv_grad), dx)?;
            add_into(grads.get_or_alloc_mut(&weight)?, &dw)?;
            add_into(grads.get_or_alloc_mut(&bias_ghost)?, &db)?;
            match &target {
                Some(t) => t.add(grads, &dtheta),
                None => Ok(()),
            }
        });
    }
    Ok((out.put_tape(tape), stats))
}

/// The forward's results: the clipped output, what its backward needs (the window maxima of
/// the raw conv output and each window's winner) and the clip count over the unpooled
/// activations (0 unless asked for).
struct Forward {
    y: Vec<f32>,
    xmax: Vec<f32>,
    arg: Vec<u8>,
    saturated: u64,
}

fn forward(
    g: &Geom,
    (x, w, b): (&[f32], &[f32], &[f32]),
    kernels: &CpuKernels,
    want_stats: bool,
) -> Result<Forward, CpuError> {
    let (k, p) = (g.k(), g.out_plane());
    let (pooled_w, pooled_plane) = (g.wo / 2, (g.ho / 2) * (g.wo / 2));
    let img_in = g.c * g.in_plane();
    let img_pooled = g.o * pooled_plane;
    let n = g.b * img_pooled;
    let fits = b.len() == g.o && x.len() == g.b * img_in && w.len() == g.o * k;
    if !fits || n == 0 || !g.ho.is_multiple_of(2) || !g.wo.is_multiple_of(2) {
        return Err(CpuError::WrongNumElements);
    }
    let mut y: Vec<f32> = Vec::with_capacity(n);
    let mut xmax: Vec<f32> = Vec::with_capacity(n);
    let mut arg: Vec<u8> = Vec::with_capacity(n);
    let per_task = IMAGES_PER_TASK * img_pooled;
    let saturated = y.spare_capacity_mut()[..n]
        .par_chunks_mut(per_task)
        .zip(xmax.spare_capacity_mut()[..n].par_chunks_mut(per_task))
        .zip(arg.spare_capacity_mut()[..n].par_chunks_mut(per_task))
        .enumerate()
        .map(|(t, ((y, xmax), arg))| {
            // Zeroed here, in the task, rather than by one serial vec![0; n].
            let (y, xmax, arg) = (fill(y, 0.0), fill(xmax, 0.0), fill(arg, 0));
            let mut pair_right = vec![0u8; g.ho * pooled_w];
            with_scratch(k * p + g.o * p + g.ho * pooled_w, |buf| {
                let (cols, rest) = buf.split_at_mut(k * p);
                let (conv, pair_max) = rest.split_at_mut(g.o * p);
                let images = y
                    .chunks_mut(img_pooled)
                    .zip(xmax.chunks_mut(img_pooled))
                    .zip(arg.chunks_mut(img_pooled));
                let mut saturated = 0;
                for (j, ((y, xmax), arg)) in images.enumerate() {
                    let img = t * IMAGES_PER_TASK + j;
                    for (plane, &bo) in conv.chunks_mut(p).zip(b) {
                        plane.fill(bo);
                    }
                    accumulate_image(g, &x[img * img_in..(img + 1) * img_in], w, cols, conv);
                    if want_stats {
                        saturated += kernels.count_saturated(conv, p);
                    }
                    pool_planes(conv, xmax, arg, g.wo, pair_max, &mut pair_right);
                    kernels.forward(xmax, y, pooled_plane);
                }
                saturated
            })
        })
        .sum();
    // SAFETY: the tasks above initialised all n elements of each (their chunks cover 0..n).
    unsafe {
        y.set_len(n);
        xmax.set_len(n);
        arg.set_len(n);
    }
    Ok(Forward {
        y,
        xmax,
        arg,
        saturated,
    })
}

/// Writes `v` to every element and returns the slice as initialised.
fn fill<E: Copy>(s: &mut [MaybeUninit<E>], v: E) -> &mut [E] {
    for e in s.iter_mut() {
        e.write(v);
    }
    // SAFETY: every element was written just above, and MaybeUninit<E> has E's layout.
    unsafe { &mut *(std::ptr::from_mut(s) as *mut [E]) }
}
