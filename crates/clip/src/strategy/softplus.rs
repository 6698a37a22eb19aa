//! `softplus-learnable`: the smooth clamp y = x − sp_β(x − θ) + sp_β(−x − θ),
//! sp_β(z) = ln(1 + e^{βz})/β, with a learnable θ.
//!
//! Computed in the equivalent cancellation-free form
//! y = clamp(x, −θ, θ) − L(x − θ) + L(−x − θ), L(z) = ln(1 + e^{−β|z|})/β,
//! which stays exact for |x| = 1e4 (the naive form subtracts two numbers of size |x|).
//! ∂y/∂x = σ(β(θ − x)) − σ(−β(x + θ)) (= 1 − σ(β(x−θ)) − σ(β(−x−θ)) without cancellation),
//! ∂y/∂θ = σ(β(x − θ)) − σ(−β(x + θ)).

use dfdx::prelude::*;

use super::{stable64, ClipFn, Eval};
use crate::fastmath;
use crate::layer::Shape4;

#[derive(Clone, Copy, Debug)]
pub struct SoftplusClamp {
    beta: f32,
    inv_beta: f32,
    beta64: f64,
}

impl SoftplusClamp {
    pub fn new(beta: f32) -> Self {
        SoftplusClamp {
            beta,
            inv_beta: 1.0 / beta,
            beta64: beta as f64,
        }
    }

    /// A version whose f64 reference uses β at full precision.
    pub fn new64(beta: f64) -> Self {
        SoftplusClamp {
            beta64: beta,
            ..Self::new(beta as f32)
        }
    }
}

impl ClipFn for SoftplusClamp {
    const MONOTONE: bool = true;

    fn eval64(&self, x: f64, t: f64) -> Eval<f64> {
        let b = self.beta64;
        let l = |z: f64| (-b * z.abs()).exp().ln_1p() / b;
        let s_lo = stable64::sigmoid(-b * (x + t));
        Eval {
            y: x.clamp(-t, t) - l(x - t) + l(-x - t),
            dydx: stable64::sigmoid(b * (t - x)) - s_lo,
            dydt: stable64::sigmoid(b * (x - t)) - s_lo,
        }
    }
    #[inline(always)]
    fn forward(&self, x: f32, t: f32) -> f32 {
        let e_hi = fastmath::exp(-self.beta * (x - t).abs());
        let e_lo = fastmath::exp(-self.beta * (x + t).abs());
        let c = if x < -t { -t } else { x };
        let c = if c > t { t } else { c };
        c + (fastmath::log1p_unit(e_lo) - fastmath::log1p_unit(e_hi)) * self.inv_beta
    }
    #[inline(always)]
    fn backward(&self, x: f32, _y: f32, t: f32) -> (f32, f32) {
        let (s_hi, s_hi_mirror) = fastmath::sigmoid_pair(self.beta * (x - t));
        let (s_lo, _) = fastmath::sigmoid_pair(-self.beta * (x + t));
        (s_hi_mirror - s_lo, s_hi - s_lo)
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
        // clamp(x, −θ, θ) − L(x − θ) + L(−x − θ), L(z) = ln(1 + e^(−β|z|))/β: the
        // cancellation-free form of the f64 reference.
        let beta = self.beta;
        let tail = |z: Tensor<Shape4, f32, D, T>| ((z.abs() * -beta).exp() + 1.0).ln() / beta;
        let c = x
            .with_empty_tape()
            .maximum(t.with_empty_tape().negate())
            .minimum(t.with_empty_tape());
        let hi = tail(x.with_empty_tape() - t.with_empty_tape());
        let lo = tail(x.negate() - t);
        c - hi + lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: f64, t: f64, b: f64) -> f64 {
        let sp = |z: f64| (b * z).exp().ln_1p() / b;
        x - sp(x - t) + sp(-x - t)
    }

    #[test]
    fn matches_the_naive_formula_where_that_is_exact() {
        for (x, t, b) in [
            (0.3, 1.0, 1.0),
            (1.0, 1.0, 1.0),
            (-2.5, 0.5, 4.0),
            (0.0, 2.0, 1.0),
        ] {
            let e = SoftplusClamp::new64(b).eval64(x, t);
            assert!((e.y - naive(x, t, b)).abs() < 1e-14, "x={x} t={t} b={b}");
        }
    }

    #[test]
    fn design_card_numbers_for_beta_one() {
        // DESIGN.md: θ = 1, β = 1 gives f(θ) = 0.43 and slope 0.46 at 0.
        let k = SoftplusClamp::new64(1.0);
        assert!((k.eval64(1.0, 1.0).y - 0.4338).abs() < 1e-4);
        assert!((k.eval64(0.0, 1.0).dydx - 0.4621).abs() < 1e-4);
    }

    #[test]
    fn stays_exact_for_huge_inputs() {
        let k = SoftplusClamp::new64(1.0);
        let e = k.eval64(1e4, 1e-3);
        // y = θ − ln2 + ln(1 + e^{−2θ}) → θ − L(~1e4) + L(~1e4) = θ exactly at this size.
        assert!((e.y - 1e-3).abs() < 1e-15, "{e:?}");
        assert_eq!(e.dydx, 0.0);
        assert_eq!(e.dydt, 1.0);
        assert!((k.forward(1e4, 1e-3) - 1e-3).abs() < 1e-9);
    }
}
