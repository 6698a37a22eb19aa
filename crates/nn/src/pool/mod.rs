//! 2×2, stride-2 max pooling: (B, C, H, W) → (B, C, H/2, W/2); H and W must be even (an odd
//! size is an error, never a silent crop).
//!
//! [`max_pool2d`] dispatches through [`NnDevice`]; [`max_pool2d_generic`] is the public-op
//! version. They differ only on ties (the CPU kernel sends the gradient to the first maximum
//! in row-major window order, like PyTorch; dfdx's `max` sends it to every tied element) and
//! NaN (the CPU kernel propagates it, like PyTorch; dfdx's `max` skips it).

mod clip_pool;
pub(crate) mod cpu;
mod generic;

use crate::{NnDevice, NnError, Tensor4};
use dfdx::shapes::HasShape;
use dfdx::tensor::Tape;
use dfdx::tensor_ops::Device;

pub(crate) use clip_pool::clip_max_pool2d_cpu;
pub use clip_pool::{clip_max_pool2d, clip_then_pool, ClipPoolOutput};
pub use generic::max_pool2d_generic;

/// Max pooling through the device's preferred kernel (see [`NnDevice`]).
pub fn max_pool2d<D: NnDevice, T: Tape<f32, D>>(
    x: Tensor4<D, T>,
) -> Result<Tensor4<D, T>, NnError> {
    D::max_pool2d(x)
}

/// Validated input sizes (B, C, H, W) of a 2×2/stride-2 pool.
pub(crate) fn check_input<D: Device<f32>, T>(
    op: &'static str,
    x: &Tensor4<D, T>,
) -> Result<(usize, usize, usize, usize), NnError> {
    let (b, c, h, w) = *x.shape();
    if b == 0 || c == 0 || h == 0 || w == 0 {
        return Err(NnError::shape(
            op,
            "input",
            "(B, C, H, W) with all dims >= 1",
            (b, c, h, w),
        ));
    }
    if h % 2 != 0 || w % 2 != 0 {
        return Err(NnError::OddPoolInput {
            op,
            height: h,
            width: w,
        });
    }
    Ok((b, c, h, w))
}

#[cfg(test)]
mod tests;
