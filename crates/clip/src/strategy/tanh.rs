//! `tanh-fixed` / `tanh-learnable`: y = θ·tanh(x/θ), the seed's smooth clip.
//!
//! u = x/θ; ∂y/∂x = sech²(u); ∂y/∂θ = tanh(u) − u·sech²(u). The two strategies share this
//! math and differ only in whether the optimizer trains θ.

use dfdx::prelude::*;

use super::{ClipFn, Eval};
use crate::fastmath;
use crate::layer::Shape4;

#[derive(Clone, Copy, Debug, Default)]
pub struct TanhClip;

impl ClipFn for TanhClip {
    const MONOTONE: bool = true;

    fn eval64(&self, x: f64, t: f64) -> Eval<f64> {
        let u = x / t;
        let th = u.tanh();
        // sech²(u) = 4e/(1+e)² with e = e^(−2|u|): no 1 − tanh² cancellation for large |u|.
        let e = (-2.0 * u.abs()).exp();
        let sech2 = 4.0 * e / ((1.0 + e) * (1.0 + e));
        // tanh(u) − u·sech²(u) cancels to (2/3)u³ near 0: use the series there.
        let dydt = if u.abs() < 1e-3 {
            let u2 = u * u;
            u * u2 * (2.0 / 3.0 - u2 * (8.0 / 15.0 - u2 * (34.0 / 105.0)))
        } else {
            th - u * sech2
        };
        Eval {
            y: t * th,
            dydx: sech2,
            dydt,
        }
    }
    #[inline(always)]
    fn forward(&self, x: f32, t: f32) -> f32 {
        // x·(1/θ): the reciprocal is loop-invariant and hoisted, a division per element is not.
        t * fastmath::tanh(x * (1.0 / t))
    }
    #[inline(always)]
    fn backward(&self, x: f32, y: f32, t: f32) -> (f32, f32) {
        // tanh(u) = y/θ from the forward output: no exp or division per element here.
        let inv = 1.0 / t;
        let u = x * inv;
        let th = y * inv;
        let sech2 = 1.0 - th * th;
        // For |u| > 7.9 tanh rounds to ±1 and sech² to 0: the true values are < 5e-7.
        (sech2, th - u * sech2)
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
        (x / t.with_empty_tape()).tanh() * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms_at_one() {
        // torch (float64): t = 1; y = t*torch.tanh(x/t) at x = 1
        let e = TanhClip.eval64(1.0, 1.0);
        let th1 = 1f64.tanh();
        assert!((e.y - th1).abs() < 1e-15);
        assert!((e.dydx - (1.0 - th1 * th1)).abs() < 1e-15);
        assert!((e.dydt - (th1 - (1.0 - th1 * th1))).abs() < 1e-15);
        assert!((e.dydt - 0.341_620_8).abs() < 1e-6);
    }

    #[test]
    fn small_u_series_joins_the_direct_form() {
        for u in [9.9e-4, 1.01e-3] {
            let e = TanhClip.eval64(u, 1.0);
            let direct = u.tanh() - u * (1.0 - u.tanh().powi(2));
            assert!(((e.dydt - direct) / direct).abs() < 1e-9, "u={u}");
        }
    }

    #[test]
    fn saturates_to_theta_at_extremes() {
        let e = TanhClip.eval64(1e4, 1e-3);
        assert_eq!(e.y, 1e-3);
        assert_eq!(e.dydx, 0.0);
        assert_eq!(e.dydt, 1.0);
        assert_eq!(TanhClip.forward(1e4, 1e-3), 1e-3);
        assert_eq!(TanhClip.backward(-1e4, -1e-3, 1e-3), (0.0, -1.0));
    }
}
