//! `pact`: y = clamp(x, 0, α) with a learnable α (Choi et al. 2018, PACT).
//!
//! PACT's gradient: ∂y/∂α = 1[x ≥ α]; ∂y/∂x = 1[0 < x < α] (0 at the kinks, like ReLU).

use dfdx::prelude::*;

use super::{ClipFn, Eval};
use crate::layer::Shape4;

#[derive(Clone, Copy, Debug, Default)]
pub struct Pact;

impl ClipFn for Pact {
    const MONOTONE: bool = true;

    fn eval64(&self, x: f64, a: f64) -> Eval<f64> {
        let top = x >= a;
        Eval {
            y: if top { a } else { x.max(0.0) },
            dydx: if x > 0.0 && !top { 1.0 } else { 0.0 },
            dydt: if top { 1.0 } else { 0.0 },
        }
    }
    #[inline(always)]
    fn forward(&self, x: f32, a: f32) -> f32 {
        let r = if x > 0.0 { x } else { 0.0 };
        if x >= a {
            a
        } else {
            r
        }
    }
    #[inline(always)]
    fn backward(&self, x: f32, _y: f32, a: f32) -> (f32, f32) {
        let top = x >= a;
        // `&`, not `&&`: no short-circuit branch, so the loop vectorises.
        (
            if (x > 0.0) & !top { 1.0 } else { 0.0 },
            if top { 1.0 } else { 0.0 },
        )
    }
    #[inline(always)]
    fn saturated(&self, x: f32, a: f32) -> bool {
        x >= a
    }
    fn composed<D: Device<f32>, T: Tape<f32, D>>(
        &self,
        x: Tensor<Shape4, f32, D, T>,
        t: Tensor<Shape4, f32, D, T>,
    ) -> Tensor<Shape4, f32, D, T> {
        x.relu().minimum(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_to_zero_alpha_with_pact_gradient() {
        // torch: y = torch.where(x >= a, a, torch.relu(x))
        let cases = [
            (-3.0, 10.0, 0.0, 0.0, 0.0),
            (4.0, 10.0, 4.0, 1.0, 0.0),
            (10.0, 10.0, 10.0, 0.0, 1.0),
            (12.0, 10.0, 10.0, 0.0, 1.0),
            (0.0, 1.0, 0.0, 0.0, 0.0),
        ];
        for (x, a, y, dx, da) in cases {
            assert_eq!(
                Pact.eval64(x, a),
                Eval {
                    y,
                    dydx: dx,
                    dydt: da
                },
                "x={x} a={a}"
            );
            assert_eq!(Pact.forward(x as f32, a as f32), y as f32);
            assert_eq!(
                Pact.backward(x as f32, y as f32, a as f32),
                (dx as f32, da as f32)
            );
        }
    }
}
