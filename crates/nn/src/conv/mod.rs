//! 2-D convolution, stride 1, zero padding, any kernel size (the model uses 3×3, padding 1):
//! x (B, C, H, W) ⊛ weight (O, C, KH, KW) + bias (O,) → (B, O, H + 2p − KH + 1, W + 2p − KW + 1).
//!
//! [`conv2d`] dispatches through [`NnDevice`] (fast CPU kernel on Cpu, see `cpu.rs`);
//! [`conv2d_generic`] is the public-op version (`generic.rs`) for any device. Tests hold the
//! two equal to each other, to a naive f64 convolution and to finite differences.

pub(crate) mod cpu;
mod generic;
mod im2col;

use crate::{NnDevice, NnError, Shape4, Tensor1, Tensor4};
use dfdx::tensor::{Merge, Tape};
use dfdx::tensor_ops::Device;

pub use generic::conv2d_generic;

/// Options of [`conv2d`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOpts {
    /// Zero padding on each side of H and W.
    pub padding: usize,
    /// Whether to compute dL/dx. `false` skips that work for a layer whose input needs no
    /// gradient (the first layer: x is data); x then receives no gradient from this op.
    pub input_grad: bool,
}

impl Default for Conv2dOpts {
    /// Padding 1 (a 3×3 kernel keeps H and W), input gradient on.
    fn default() -> Self {
        Self {
            padding: 1,
            input_grad: true,
        }
    }
}

impl Conv2dOpts {
    /// Same options without the input gradient (for the network's first layer).
    pub fn without_input_grad(self) -> Self {
        Self {
            input_grad: false,
            ..self
        }
    }
}

/// Convolution through the device's preferred kernel (see [`NnDevice`]).
///
/// The weight and bias may carry a different tape type than x (e.g. `NoneTape` for frozen
/// parameters); the output carries x's tape with all three merged in.
pub fn conv2d<D: NnDevice, T, R>(
    x: Tensor4<D, T>,
    weight: Tensor4<D, R>,
    bias: Tensor1<D, R>,
    opts: Conv2dOpts,
) -> Result<Tensor4<D, T>, NnError>
where
    T: Tape<f32, D> + Merge<R>,
    R: Tape<f32, D>,
{
    D::conv2d(x, weight, bias, opts)
}

const OP: &str = "conv2d";

/// Validated sizes of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geom {
    pub b: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub kh: usize,
    pub kw: usize,
    pub pad: usize,
    pub ho: usize,
    pub wo: usize,
}

impl Geom {
    pub(crate) fn new<D: Device<f32>, T, R>(
        x: &Tensor4<D, T>,
        weight: &Tensor4<D, R>,
        bias: &Tensor1<D, R>,
        pad: usize,
    ) -> Result<Self, NnError> {
        use dfdx::shapes::HasShape;
        let (b, c, h, w) = *x.shape();
        let (o, wc, kh, kw) = *weight.shape();
        let (bo,) = *bias.shape();
        if b == 0 || c == 0 || h == 0 || w == 0 {
            return Err(NnError::shape(
                OP,
                "input",
                "(B, C, H, W) with all dims >= 1",
                (b, c, h, w),
            ));
        }
        if o == 0 || wc != c || kh == 0 || kw == 0 {
            return Err(NnError::shape(
                OP,
                "weight",
                format!("(O >= 1, C = {c} from the input, KH >= 1, KW >= 1)"),
                (o, wc, kh, kw),
            ));
        }
        if bo != o {
            return Err(NnError::shape(
                OP,
                "bias",
                format!("({o},) to match the weight's O"),
                (bo,),
            ));
        }
        if h + 2 * pad < kh || w + 2 * pad < kw {
            return Err(NnError::shape(
                OP,
                "input",
                format!("H + 2*{pad} >= {kh} and W + 2*{pad} >= {kw} for a {kh}x{kw} kernel"),
                (b, c, h, w),
            ));
        }
        Ok(Self {
            b,
            c,
            h,
            w,
            o,
            kh,
            kw,
            pad,
            ho: h + 2 * pad - kh + 1,
            wo: w + 2 * pad - kw + 1,
        })
    }

    /// Length of one im2col column: C·KH·KW.
    pub(crate) fn k(&self) -> usize {
        self.c * self.kh * self.kw
    }

    pub(crate) fn in_plane(&self) -> usize {
        self.h * self.w
    }

    pub(crate) fn out_plane(&self) -> usize {
        self.ho * self.wo
    }

    pub(crate) fn out_shape(&self) -> Shape4 {
        (self.b, self.o, self.ho, self.wo)
    }
}

#[cfg(test)]
mod tests;
