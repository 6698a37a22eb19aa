//! `seed-softplus`: the seed's `SoftplusClipping`, kept verbatim to show it is ReLU.
//!
//! s = θ·softplus(x/θ) − θ·ln(1 + e^{−|x/θ|}); y = sign(x)·min(|x|, s).
//! Since softplus(u) = max(u, 0) + ln(1 + e^{−|u|}), s = max(x, 0) exactly, so y = relu(x)
//! and ∂y/∂θ = 0. Autograd through the verbatim formula yields round-off instead of 0, which
//! Adam rescales into real steps; the kernel returns the exact derivatives (1[x > 0], 0) so
//! that θ stays put, while the value is computed by the seed's formula as written.

use dfdx::prelude::*;

use super::{stable64, ClipFn, Eval};
use crate::fastmath;
use crate::layer::Shape4;

#[derive(Clone, Copy, Debug, Default)]
pub struct SeedSoftplus;

impl ClipFn for SeedSoftplus {
    const MONOTONE: bool = true;

    fn eval64(&self, x: f64, t: f64) -> Eval<f64> {
        let u = x / t;
        let s = t * stable64::softplus(u) - t * (-u.abs()).exp().ln_1p();
        let y = if x == 0.0 {
            0.0
        } else {
            x.signum() * x.abs().min(s)
        };
        Eval {
            y,
            dydx: if x > 0.0 { 1.0 } else { 0.0 },
            dydt: 0.0,
        }
    }
    #[inline(always)]
    fn forward(&self, x: f32, t: f32) -> f32 {
        let u = x * (1.0 / t);
        let l = fastmath::log1p_unit(fastmath::exp(-u.abs()));
        let sp = (if u > 0.0 { u } else { 0.0 }) + l;
        let s = t * sp - t * l;
        let m = if x.abs() < s { x.abs() } else { s };
        // sign(x)·m; at x = 0, m = min(0, s) = 0 already.
        if x < 0.0 {
            -m
        } else {
            m
        }
    }
    #[inline(always)]
    fn backward(&self, x: f32, _y: f32, _t: f32) -> (f32, f32) {
        (if x > 0.0 { 1.0 } else { 0.0 }, 0.0)
    }
    #[inline(always)]
    fn saturated(&self, _x: f32, _t: f32) -> bool {
        false
    }
    fn composed<D: Device<f32>, T: Tape<f32, D>>(
        &self,
        x: Tensor<Shape4, f32, D, T>,
        t: Tensor<Shape4, f32, D, T>,
    ) -> Tensor<Shape4, f32, D, T> {
        // The seed's formula with a stable softplus: s = θ·sp(u) − θ·ln(1 + e^−|u|).
        let u = x.with_empty_tape() / t.with_empty_tape();
        let l = (u.with_empty_tape().abs().negate().exp() + 1.0).ln();
        let sp = u.relu() + l.with_empty_tape();
        let s = t.with_empty_tape() * sp - t * l;
        let pos = x.with_empty_tape().relu().minimum(s.with_empty_tape());
        let neg = x.negate().relu().minimum(s);
        pos - neg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_relu_in_f64_and_f32() {
        for t in [1e-3, 0.5, 1.0, 2.0, 10.0] {
            for x in [-1e4, -3.0, -1e-6, 0.0, 1e-6, 0.7, 3.0, 1e4] {
                let e = SeedSoftplus.eval64(x, t);
                assert!(
                    (e.y - x.max(0.0)).abs() <= 1e-12 * x.abs().max(1.0),
                    "x={x} t={t}"
                );
                assert_eq!(e.dydt, 0.0);
                let y32 = SeedSoftplus.forward(x as f32, t as f32);
                let relu = (x as f32).max(0.0);
                assert!(
                    (y32 - relu).abs() <= 2e-7 * relu.max(1.0),
                    "x={x} t={t} y={y32}"
                );
            }
        }
    }
}
