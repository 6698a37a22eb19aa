//! `softsign-learnable`: y = θ·softsign(x/θ) = θx/(θ + |x|), a smooth clip with a learnable θ
//! and polynomial instead of exponential saturation.
//!
//! With d = θ + |x|: ∂y/∂x = θ²/d², ∂y/∂θ = x|x|/d². Like θ·tanh(x/θ) it has slope 1 at 0
//! and tends to ±θ, but its slope decays like θ²/x² rather than e^(−2x/θ), so activations far
//! above θ still pass gradient (at x = 3θ: 1/16 against tanh's 0.0099), and it needs no
//! transcendental function. It asks whether the tanh clip's fast saturation is what helps
//! or hurts. Softsign: Turian, Bergstra & Bengio (2009); Glorot & Bengio (2010).

use dfdx::prelude::*;

use super::{ClipFn, Eval};
use crate::layer::Shape4;

#[derive(Clone, Copy, Debug, Default)]
pub struct SoftsignClip;

impl ClipFn for SoftsignClip {
    const MONOTONE: bool = true;

    fn eval64(&self, x: f64, t: f64) -> Eval<f64> {
        let a = x.abs();
        let d = t + a;
        // Each factor is a ratio of non-negative terms: no cancellation anywhere.
        let q = t / d;
        Eval {
            y: x * q,
            dydx: q * q,
            dydt: (x / d) * (a / d),
        }
    }
    #[inline(always)]
    fn forward(&self, x: f32, t: f32) -> f32 {
        t * x / (t + x.abs())
    }
    #[inline(always)]
    fn backward(&self, x: f32, _y: f32, t: f32) -> (f32, f32) {
        // From x, not from y: 1 − |y|/θ would cancel where |x| ≫ θ.
        let inv = 1.0 / (t + x.abs());
        let q = t * inv;
        (q * q, (x * inv) * (x.abs() * inv))
    }
    #[inline(always)]
    fn saturated(&self, x: f32, t: f32) -> bool {
        // Beyond |x| = θ the slope is below 1/4 and y above θ/2.
        x.abs() > t
    }
    fn composed<D: Device<f32>, T: Tape<f32, D>>(
        &self,
        x: Tensor<Shape4, f32, D, T>,
        t: Tensor<Shape4, f32, D, T>,
    ) -> Tensor<Shape4, f32, D, T> {
        (x.with_empty_tape() * t.with_empty_tape()) / (x.abs() + t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        // θ = 2, x = 3: d = 5, y = 6/5, ∂y/∂x = 4/25, ∂y/∂θ = 9/25.
        let e = SoftsignClip.eval64(3.0, 2.0);
        assert!((e.y - 1.2).abs() < 1e-15);
        assert!((e.dydx - 0.16).abs() < 1e-15);
        assert!((e.dydt - 0.36).abs() < 1e-15);
        // Odd in x: ∂y/∂θ changes sign with x.
        let n = SoftsignClip.eval64(-3.0, 2.0);
        assert_eq!((n.y, n.dydx, n.dydt), (-e.y, e.dydx, -e.dydt));
        assert_eq!(SoftsignClip.eval64(0.0, 1.0).dydx, 1.0);
    }

    #[test]
    fn far_above_theta_still_passes_gradient() {
        // x = 1e4, θ = 1e-3: ∂y/∂x = 1e-14 (not 0), ∂y/∂θ → 1.
        let e = SoftsignClip.eval64(1e4, 1e-3);
        assert!((e.dydx / 1e-14 - 1.0).abs() < 1e-6);
        assert!((e.dydt - 1.0).abs() < 1e-6);
        let (dx, dt) = SoftsignClip.backward(1e4, SoftsignClip.forward(1e4, 1e-3), 1e-3);
        assert!(dx > 0.0 && (f64::from(dx) / 1e-14 - 1.0).abs() < 1e-5);
        assert!((dt - 1.0).abs() < 1e-6);
    }

    #[test]
    fn derivatives_match_central_differences() {
        for (x, t) in [(0.3, 1.0), (2.5, 0.7), (-4.0, 3.0), (50.0, 2.0)] {
            let e = SoftsignClip.eval64(x, t);
            let h = 1e-6;
            let fx = |x| SoftsignClip.eval64(x, t).y;
            let ft = |t| SoftsignClip.eval64(x, t).y;
            let dx = (fx(x + h) - fx(x - h)) / (2.0 * h);
            let dt = (ft(t + h) - ft(t - h)) / (2.0 * h);
            assert!(
                (dx - e.dydx).abs() < 1e-8,
                "x={x} θ={t}: {dx} vs {}",
                e.dydx
            );
            assert!(
                (dt - e.dydt).abs() < 1e-8,
                "x={x} θ={t}: {dt} vs {}",
                e.dydt
            );
        }
    }
}
