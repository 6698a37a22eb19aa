//! Device-generic 2×2 max pooling from public dfdx ops: reshape to (B, C, H/2, 2, W/2, 2) and
//! `max` over the two window axes.

use crate::{NnError, Tensor4};
use dfdx::shapes::Axes2;
use dfdx::tensor::Tape;
use dfdx::tensor_ops::{Device, MaxTo, ReshapeTo};

const OP: &str = "max_pool2d_generic";

/// [`max_pool2d`](super::max_pool2d) composed from public dfdx ops, for any device. On ties
/// every maximal element receives the full gradient (dfdx's `max` backward).
pub fn max_pool2d_generic<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor4<D, T>,
) -> Result<Tensor4<D, T>, NnError> {
    let (b, c, h, w) = super::check_input(OP, &x)?;
    let err = |e| NnError::device(OP, e);
    x.try_reshape_like(&(b, c, h / 2, 2usize, w / 2, 2usize))
        .map_err(err)?
        .try_max::<(usize, usize, usize, usize), Axes2<3, 5>>()
        .map_err(err)
}
