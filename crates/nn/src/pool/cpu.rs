//! Fast CPU 2×2/stride-2 max pooling as a custom tape op: the forward records which of the
//! four window elements won (first maximum in row-major window order, NaN wins, like
//! PyTorch), the backward scatters dL/dy to it. Planes are split into fixed-size tasks; each
//! gradient element has one writer, so results do not depend on the thread count.

use crate::scratch::with_scratch;
use crate::simd::dispatch;
use crate::{raw, NnError, Tensor4};
use dfdx::tensor::{Cpu, CpuError, PutTape, SplitTape, Tape, TensorFromVec};
use dfdx::tensor_ops::ReshapeTo;
use rayon::prelude::*;

const OP: &str = "max_pool2d (cpu)";

/// (B·C) planes per parallel task.
const PLANES_PER_TASK: usize = 16;

/// The CPU kernel behind [`NnDevice::max_pool2d`](crate::NnDevice::max_pool2d) for [`Cpu`].
pub(crate) fn max_pool2d<T: Tape<f32, Cpu>>(
    x: Tensor4<Cpu, T>,
) -> Result<Tensor4<Cpu, T>, NnError> {
    let (b, c, h, w) = super::check_input(OP, &x)?;
    let err = |e| NnError::device(OP, e);
    let (x, mut tape) = x.try_contiguous().map_err(err)?.split_tape();
    let xs = raw::cpu_data(&x).ok_or_else(|| err(CpuError::WrongNumElements))?;
    let (out, arg) = forward(xs, h, w);
    let out = x
        .device()
        .try_tensor_from_vec(out, (b, c, h / 2, w / 2))
        .map_err(err)?;
    if T::OWNS_TAPE {
        let x_ghost = x.ghost();
        let out_ghost = out.ghost();
        drop(x); // backward needs only x's id and the argmax, not its data
        tape.add_backward_op(move |grads| {
            // Take dy out so dx can be borrowed mutably; put it back afterwards.
            let dy: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
            let result = grads
                .get_or_alloc_mut(&x_ghost)
                .and_then(|dx| backward(dx, &dy, &arg, h, w));
            **grads.get_or_alloc_mut(&out_ghost)? = dy;
            result
        });
    }
    Ok(out.put_tape(tape))
}

/// Pools every (h × w) plane of `x`; returns the maxima and each window's winner (0..4,
/// row-major within the window).
pub(crate) fn forward(x: &[f32], h: usize, w: usize) -> (Vec<f32>, Vec<u8>) {
    let (ho, wo) = (h / 2, w / 2);
    let n_out = x.len() / (h * w) * ho * wo;
    let mut out = vec![0.0f32; n_out];
    let mut arg = vec![0u8; n_out];
    out.par_chunks_mut(PLANES_PER_TASK * ho * wo)
        .zip(arg.par_chunks_mut(PLANES_PER_TASK * ho * wo))
        .zip(x.par_chunks(PLANES_PER_TASK * h * w))
        .for_each(|((out, arg), x)| {
            // Row pairs: the pairs' maxima of every row, then the rows' maxima pairwise. One
            // plane's pair buffers serve every plane of the task (pass 1 writes all of them
            // before pass 2 reads), the maxima in the thread's reused scratch.
            let mut pair_right = vec![0u8; h * wo];
            with_scratch(h * wo, |pair_max| {
                pool_planes(x, out, arg, w, pair_max, &mut pair_right)
            });
        });
    (out, arg)
}

dispatch! {
    /// Pools consecutive planes of width `w` (x: planes × H × w; out and arg: the planes
    /// pooled), with one plane's pair buffers (H × w/2 each) as scratch.
    pub(crate) fn pool_planes(
        x: &[f32],
        out: &mut [f32],
        arg: &mut [u8],
        w: usize,
        pair_max: &mut [f32],
        pair_right: &mut [u8],
    ) {
        let plane_in = 2 * pair_max.len();
        let plane_out = plane_in / 4;
        let planes = x
            .chunks(plane_in)
            .zip(out.chunks_mut(plane_out))
            .zip(arg.chunks_mut(plane_out));
        for ((x, out), arg) in planes {
            pool_plane::<WIDE>(x, out, arg, w, (&mut *pair_max, &mut *pair_right));
        }
    }
}

/// One plane, in two passes that LLVM vectorises (the one-pass tournament of four did not
/// vectorise, and was ~40% of a training step): (1) each horizontal pair of the plane, over
/// the whole plane at once (`x` is a flat run of pairs, as w is even); (2) per window, the
/// upper row's pair winner against the lower row's. The same tournament as before, in the
/// same order (upper pair, lower pair, then upper against lower), so the same winners.
#[inline(always)]
fn pool_plane<const WIDE: bool>(
    x: &[f32],
    out: &mut [f32],
    arg: &mut [u8],
    w: usize,
    scratch: (&mut [f32], &mut [u8]),
) {
    let wo = w / 2;
    let (pm, pr) = scratch;
    for ((m, r), p) in pm.iter_mut().zip(pr.iter_mut()).zip(x.chunks_exact(2)) {
        let right = right_wins(p[0], p[1]);
        *m = if right { p[1] } else { p[0] };
        *r = u8::from(right);
    }
    let rows = out
        .chunks_exact_mut(wo)
        .zip(arg.chunks_exact_mut(wo))
        .zip(pm.chunks_exact(2 * wo).zip(pr.chunks_exact(2 * wo)));
    for ((out, arg), (m, r)) in rows {
        let (upper, lower) = m.split_at(wo);
        let (upper_r, lower_r) = r.split_at(wo);
        vertical::<WIDE>(upper, lower, (upper_r, lower_r), out, arg);
    }
}

/// Pass 2 of [`pool_plane`] on one row of windows. For baseline x86-64 LLVM keeps the loop
/// scalar (f32 compares feeding u8 selects), so that runs it with SSE2, 4 windows at a time,
/// in `raw::pool_vertical_sse2`. Compiled for AVX2 or AVX-512 (`WIDE`), LLVM vectorises the
/// plain loop itself, 8 or 16 windows at a time with a scalar rest: faster than SSE2 on rows
/// of a multiple of 8 windows (3×32×32's 16 and 8: bench-train forward +6-8%), slower on
/// others (1×28×28's 14 and 7: −11%), which keep SSE2 (3 alternating pairs each).
#[inline(always)]
fn vertical<const WIDE: bool>(
    upper: &[f32],
    lower: &[f32],
    rights: (&[u8], &[u8]),
    out: &mut [f32],
    arg: &mut [u8],
) {
    #[cfg(target_arch = "x86_64")]
    if (!WIDE || !out.len().is_multiple_of(8)) && out.len() >= 4 {
        raw::pool_vertical_sse2(upper, lower, rights, out, arg);
        return;
    }
    vertical_scalar(upper, lower, rights, out, arg);
}

/// The portable pass 2 (and the reference the SSE2 version is tested against).
#[inline(always)]
pub(crate) fn vertical_scalar(
    upper: &[f32],
    lower: &[f32],
    (upper_r, lower_r): (&[u8], &[u8]),
    out: &mut [f32],
    arg: &mut [u8],
) {
    let windows = out
        .iter_mut()
        .zip(arg.iter_mut())
        .zip(upper.iter().zip(lower))
        .zip(upper_r.iter().zip(lower_r));
    for (((o, a), (&u, &l)), (&ur, &lr)) in windows {
        let take_lower = right_wins(u, l);
        *o = if take_lower { l } else { u };
        *a = if take_lower { 2 + lr } else { ur };
    }
}

/// The right candidate wins only if strictly greater (so the first maximum is kept) or if it
/// is the first NaN (so NaN propagates). Non-short-circuit `|`/`&` keep it branch-free.
#[inline(always)]
fn right_wins(left: f32, right: f32) -> bool {
    (right > left) | (right.is_nan() & !left.is_nan())
}

/// dx[winner of each window] += dy.
pub(crate) fn backward(
    dx: &mut [f32],
    dy: &[f32],
    arg: &[u8],
    h: usize,
    w: usize,
) -> Result<(), CpuError> {
    let (ho, wo) = (h / 2, w / 2);
    if dy.len() != arg.len()
        || dx.len() / (h * w) * ho * wo != dy.len()
        || !dx.len().is_multiple_of(h * w)
    {
        return Err(CpuError::WrongNumElements);
    }
    dx.par_chunks_mut(PLANES_PER_TASK * h * w)
        .zip(dy.par_chunks(PLANES_PER_TASK * ho * wo))
        .zip(arg.par_chunks(PLANES_PER_TASK * ho * wo))
        .for_each(|((dx, dy), arg)| unpool_add(dx, dy, arg, w));
    Ok(())
}

/// Every row of windows of whole planes of width `w`: (upper input row, lower input row, the
/// pooled row, its winners).
#[inline(always)]
fn window_rows<'a>(
    dx: &'a mut [f32],
    dy: &'a [f32],
    arg: &'a [u8],
    w: usize,
) -> impl Iterator<Item = (&'a mut [f32], &'a mut [f32], &'a [f32], &'a [u8])> {
    let wo = w / 2;
    dx.chunks_exact_mut(2 * w)
        .zip(dy.chunks_exact(wo))
        .zip(arg.chunks_exact(wo))
        .map(move |((pair, dy), arg)| {
            let (top, bottom) = pair.split_at_mut(w);
            (top, bottom, dy, arg)
        })
}

dispatch! {
    /// dx = 0 + (dy at each window's winner, 0 elsewhere) over whole planes of width `w`: the
    /// bits `unpool_add` gives on a zeroed `dx` (0 + −0 is +0 in both), in one pass that writes
    /// `dx` without reading it.
    pub(crate) fn unpool_into(dx: &mut [f32], dy: &[f32], arg: &[u8], w: usize) {
        for (top, bottom, dy, arg) in window_rows(dx, dy, arg, w) {
            // LLVM keeps this loop scalar at every level (u8 compares feeding interleaved f32
            // stores), so the wide levels run 8 windows at a time in `raw::unpool_row_avx2`.
            #[cfg(target_arch = "x86_64")]
            let done = match WIDE {
                // SAFETY: WIDE is true only in the copies compiled for AVX2 and AVX-512, which
                // `dispatch!` runs only where `simd::level()` found them.
                true => unsafe { raw::unpool_row_avx2(top, bottom, dy, arg) },
                false => 0,
            };
            #[cfg(not(target_arch = "x86_64"))]
            let done = 0;
            for c in done..dy.len() {
                let (g, a) = (dy[c], u32::from(arg[c]));
                let pick = |k: u32| 0.0 + if a == k { g } else { 0.0 };
                top[2 * c] = pick(0);
                top[2 * c + 1] = pick(1);
                bottom[2 * c] = pick(2);
                bottom[2 * c + 1] = pick(3);
            }
        }
    }
}

dispatch! {
    /// dx[winner of each window] += dy over whole planes of width `w` (dx: planes × H × w;
    /// dy and arg: the same planes pooled).
    pub(crate) fn unpool_add(dx: &mut [f32], dy: &[f32], arg: &[u8], w: usize) {
        for (top, bottom, dy, arg) in window_rows(dx, dy, arg, w) {
            let windows = top
                .chunks_exact_mut(2)
                .zip(bottom.chunks_exact_mut(2))
                .zip(dy.iter().zip(arg));
            // Every window element gets `g` or 0 (branch-free, vectorisable).
            for ((t, b), (&g, &a)) in windows {
                let pick = |k: u8| if a == k { g } else { 0.0 };
                t[0] += pick(0);
                t[1] += pick(1);
                b[0] += pick(2);
                b[1] += pick(3);
            }
        }
    }
}
