//! Device-generic convolution from public dfdx ops only (runs with autograd on Cpu and Cuda):
//! zero-pad by `concat_along`, KH·KW shifted slices stacked into im2col columns, one
//! `matmul` with the permuted weight, a broadcast bias, and a permute back to NCHW.

use super::{Conv2dOpts, Geom};
use crate::{NnError, Tensor1, Tensor2, Tensor4};
use dfdx::shapes::{Axes4, Axes5, Axis};
use dfdx::tensor::{Merge, NoneTape, PutTape, SplitTape, Tape};
use dfdx::tensor_ops::{
    BroadcastTo, Device, PermuteTo, ReshapeTo, TryAdd, TryConcatAlong, TryMatMul, TryMul, TryStack,
};

const OP: &str = "conv2d_generic";

/// [`conv2d`](super::conv2d) composed from public dfdx ops, for any device.
///
/// The output is a permuted (strided) view of the matmul result; call `contiguous()` if a
/// later op needs dense storage.
pub fn conv2d_generic<D, T, R>(
    x: Tensor4<D, T>,
    weight: Tensor4<D, R>,
    bias: Tensor1<D, R>,
    opts: Conv2dOpts,
) -> Result<Tensor4<D, T>, NnError>
where
    D: Device<f32>,
    T: Tape<f32, D> + Merge<R>,
    R: Tape<f32, D>,
{
    let g = Geom::new(&x, &weight, &bias, opts.padding)?;
    let err = |e| NnError::device(OP, e);
    let cols: Tensor2<D, T> = if opts.input_grad {
        im2col(x, &g)?
    } else {
        // Build the columns without a tape so no backward op reaches x, then hand the
        // accumulated tape (earlier ops' gradients) to the columns.
        let (x, tape) = x.split_tape();
        let (cols, _) = im2col::<D, NoneTape>(x, &g)?.split_tape();
        cols.put_tape(tape)
    };
    let n = g.b * g.ho * g.wo;
    // Row index of the weight matrix = (kh·KW + kw)·C + c, matching the column order of
    // `im2col` (shift-major, then channel).
    let wmat = weight
        .try_permute::<_, Axes4<2, 3, 1, 0>>()
        .map_err(err)?
        .try_reshape_like(&(g.k(), g.o))
        .map_err(err)?;
    let y = cols.try_matmul(wmat).map_err(err)?;
    let b = bias
        .try_broadcast_like::<_, Axis<0>>(&(n, g.o))
        .map_err(err)?;
    let y = y.try_add(b).map_err(err)?;
    y.try_reshape_like(&(g.b, g.ho, g.wo, g.o))
        .map_err(err)?
        .try_permute::<_, Axes4<0, 3, 1, 2>>()
        .map_err(err)
}

/// im2col: (B, C, H, W) → (B·Ho·Wo, KH·KW·C), column (kh·KW + kw)·C + c.
fn im2col<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor4<D, T>,
    g: &Geom,
) -> Result<Tensor2<D, T>, NnError> {
    let err = |e| NnError::device(OP, e);
    let dev = x.device().clone();
    let p = g.pad;
    let padded = if p == 0 {
        x
    } else {
        let zh = dev.try_zeros_like(&(g.b, g.c, p, g.w)).map_err(err)?;
        let x = (zh.clone().retaped::<T>(), x)
            .try_concat_along(Axis::<2>)
            .map_err(err)?;
        let x = (x, zh).try_concat_along(Axis::<2>).map_err(err)?;
        let zw = dev
            .try_zeros_like(&(g.b, g.c, g.h + 2 * p, p))
            .map_err(err)?;
        let x = (zw.clone().retaped::<T>(), x)
            .try_concat_along(Axis::<3>)
            .map_err(err)?;
        (x, zw).try_concat_along(Axis::<3>).map_err(err)?
    };
    let (padded, tape) = padded.split_tape();
    let mut tape = Some(tape);
    let mut shifts = Vec::with_capacity(g.kh * g.kw);
    for kh in 0..g.kh {
        for kw in 0..g.kw {
            // The first shift carries the tape so far; the rest start empty and are merged
            // by `stack`.
            let src = match tape.take() {
                Some(t) => padded.clone().put_tape(t),
                None => padded.retaped::<T>(),
            };
            // dfdx 0.13's Cpu slice backward ASSIGNS the output gradient into the input
            // gradient instead of adding it (Cuda adds), so overlapping slices of one tensor
            // lose gradient. Slicing a fresh copy per shift (x·1, whose backward adds) keeps
            // every contribution; without a tape there is nothing to protect.
            let src = if T::OWNS_TAPE {
                src.try_mul(1.0).map_err(err)?
            } else {
                src
            };
            shifts.push(
                src.try_slice((.., .., kh..kh + g.ho, kw..kw + g.wo))
                    .map_err(err)?,
            );
        }
    }
    // (S, B, C, Ho, Wo) → (B, Ho, Wo, S, C) → (B·Ho·Wo, S·C).
    shifts
        .try_stack()
        .map_err(err)?
        .try_permute::<_, Axes5<1, 3, 4, 0, 2>>()
        .map_err(err)?
        .try_reshape_like(&(g.b * g.ho * g.wo, g.k()))
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use dfdx::prelude::*;

    /// Documents the dfdx 0.13 behaviour the shifted-copy workaround above exists for: on
    /// Cpu, two overlapping slices of one tensor give the overlap a gradient of 1, not 2. If
    /// this test fails after a dfdx upgrade, the `x·1` copies in `im2col` can go.
    #[test]
    fn dfdx_cpu_slice_backward_overwrites_overlapping_gradients() {
        let dev = Cpu::default();
        let x = dev.tensor_from_vec(vec![1.0f32, 2.0, 3.0], (3usize,));
        let xt = x.leaky_trace();
        let a = xt.with_empty_tape().slice((0..2,));
        let b = xt.slice((1..3,));
        let g = (a.sum::<Rank0, _>() + b.sum::<Rank0, _>()).backward();
        assert_eq!(g.get(&x).as_vec(), vec![1.0, 1.0, 1.0]); // true gradient: [1, 2, 1]
    }
}
