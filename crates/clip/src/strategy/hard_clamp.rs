//! `hard-clamp`: y = clamp(x, −θ, θ) with a fixed θ.
//!
//! Derivatives follow PyTorch's `clamp` with tensor bounds: ∂y/∂x = 1[|x| ≤ θ],
//! ∂y/∂θ = sign(x)·1[|x| > θ] (the θ in `max=θ` gets the upper part, `min=−θ` the lower).

use dfdx::prelude::*;

use super::{ClipFn, Eval};
use crate::layer::Shape4;

#[derive(Clone, Copy, Debug, Default)]
pub struct HardClamp;

impl ClipFn for HardClamp {
    const MONOTONE: bool = true;

    fn eval64(&self, x: f64, t: f64) -> Eval<f64> {
        let inside = x.abs() <= t;
        Eval {
            y: x.clamp(-t, t),
            dydx: if inside { 1.0 } else { 0.0 },
            dydt: if inside { 0.0 } else { x.signum() },
        }
    }
    #[inline(always)]
    fn forward(&self, x: f32, t: f32) -> f32 {
        let lo = if x < -t { -t } else { x };
        if lo > t {
            t
        } else {
            lo
        }
    }
    #[inline(always)]
    fn backward(&self, x: f32, _y: f32, t: f32) -> (f32, f32) {
        // Separate selects, no else-if chain: LLVM turns these into vector blends.
        let up = if x > t { 1.0 } else { 0.0 };
        let down = if x < -t { 1.0 } else { 0.0 };
        (if x.abs() <= t { 1.0 } else { 0.0 }, up - down)
    }
    #[inline(always)]
    fn saturated(&self, x: f32, t: f32) -> bool {
        x.abs() > t
    }
    fn composed<D: Device<f32>, T: Tape<f32, D>>(
        &self,
        x: Tensor<Shape4, f32, D, T>,
        t: Tensor<Shape4, f32, D, T>,
    ) -> Tensor<Shape4, f32, D, T> {
        // clamp(x, −θ, θ) with θ on both bounds: its gradient gets both parts.
        x.maximum(t.with_empty_tape().negate()).minimum(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_symmetrically_and_routes_gradient_to_theta_outside() {
        // torch: y = x.clamp(-t, t); y.backward() → x.grad, t.grad
        let cases = [
            (0.5, 1.0, 0.5, 1.0, 0.0),
            (1.5, 1.0, 1.0, 0.0, 1.0),
            (-2.0, 1.0, -1.0, 0.0, -1.0),
            (1.0, 1.0, 1.0, 1.0, 0.0),
            (-1e4, 1e-3, -1e-3, 0.0, -1.0),
        ];
        for (x, t, y, dx, dt) in cases {
            assert_eq!(
                HardClamp.eval64(x, t),
                Eval {
                    y,
                    dydx: dx,
                    dydt: dt
                },
                "x={x} t={t}"
            );
            assert_eq!(HardClamp.forward(x as f32, t as f32), y as f32);
            assert_eq!(
                HardClamp.backward(x as f32, y as f32, t as f32),
                (dx as f32, dt as f32)
            );
        }
        assert!(HardClamp.saturated(1.5, 1.0) && !HardClamp.saturated(1.0, 1.0));
    }
}
