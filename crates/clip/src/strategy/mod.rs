//! The clipping strategies' math: the f64 reference, the f32 training kernel and the composed
//! public-op form of each, behind one trait. Names and properties are the registry's
//! (`clipbench_core::strategy`).
//!
//! Adding a strategy = one file in this folder implementing [`ClipFn`], its registry entry in
//! `clipbench-core`, and its arm in [`StrategyKernels::dispatch`] (README "Adding a
//! strategy").

mod hard_clamp;
mod identity;
mod pact;
mod seed_softplus;
mod softplus;
mod softsign;
mod tanh;

pub use hard_clamp::HardClamp;
pub use identity::Identity;
pub use pact::Pact;
pub use seed_softplus::SeedSoftplus;
pub use softplus::SoftplusClamp;
pub use softsign::SoftsignClip;
pub use tanh::TanhClip;

use dfdx::prelude::*;

pub use clipbench_core::strategy::{lookup, Strategy, StrategyInfo, REGISTRY};

use crate::layer::Shape4;

/// Value and derivatives of y = f(x; θ) at one point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Eval<F> {
    pub y: F,
    pub dydx: F,
    pub dydt: F,
}

/// One clipping function y = f(x; θ), θ > 0.
///
/// `eval64` is the f64 reference (value and exact derivatives, stable for |x| ≤ 1e4 and
/// θ ≥ 1e-3); `forward`/`backward` are the f32 training kernel and must be branch-free enough
/// to vectorise (selects are fine). `saturated` defines the clip fraction that runs log.
pub trait ClipFn: Copy + Send + Sync + 'static {
    /// Whether f is non-decreasing in x on x ≥ 0 (after relu), for every θ, and its f32
    /// `forward` too up to its own rounding error. Then max-pooling commutes with relu → clip,
    /// and the CNN pools first and clips a quarter of the elements (see `clipbench-nn`'s
    /// fused clip-pool). A strategy that
    /// leaves it `false` is applied to every element before pooling: slower, never wrong.
    /// `tests/monotone.rs` checks the claim for every built-in strategy.
    const MONOTONE: bool = false;
    fn eval64(&self, x: f64, theta: f64) -> Eval<f64>;
    fn forward(&self, x: f32, theta: f32) -> f32;
    /// (∂y/∂x, ∂y/∂θ) at x, given y = forward(x, θ) (which some strategies reuse instead
    /// of recomputing transcendental functions).
    fn backward(&self, x: f32, y: f32, theta: f32) -> (f32, f32);
    fn saturated(&self, x: f32, theta: f32) -> bool;
    /// y from dfdx's public ops, for devices without custom kernels (CUDA), with gradients
    /// to x and θ by dfdx's own backward ops. `x` is after relu; `t` is θ broadcast to x's
    /// shape. The fused Cpu kernel is tested against it.
    fn composed<D: Device<f32>, T: Tape<f32, D>>(
        &self,
        x: Tensor<Shape4, f32, D, T>,
        t: Tensor<Shape4, f32, D, T>,
    ) -> Tensor<Shape4, f32, D, T>;
}

/// A strategy's kernels: the concrete [`ClipFn`] of each registered strategy (the registry
/// itself, names and properties, is `clipbench_core::strategy`).
pub trait StrategyKernels {
    /// Calls `k` with the concrete function of this strategy, so that kernels are
    /// monomorphised per strategy (no dynamic dispatch in the element loop).
    fn dispatch<R>(self, beta: f32, k: impl Dispatch<R>) -> R;
    /// The f64 reference at one point.
    fn eval64(self, x: f64, theta: f64, beta: f64) -> Eval<f64>;
}

impl StrategyKernels for Strategy {
    fn dispatch<R>(self, beta: f32, k: impl Dispatch<R>) -> R {
        // The one place a strategy's name meets its kernel: one arm per registry entry.
        match self {
            Strategy::None => k.call(Identity),
            Strategy::HardClamp => k.call(HardClamp),
            Strategy::TanhFixed | Strategy::TanhLearnable => k.call(TanhClip),
            Strategy::SoftplusLearnable => k.call(SoftplusClamp::new(beta)),
            Strategy::Pact => k.call(Pact),
            Strategy::SeedSoftplus => k.call(SeedSoftplus),
            Strategy::SoftsignLearnable => k.call(SoftsignClip),
        }
    }

    fn eval64(self, x: f64, theta: f64, beta: f64) -> Eval<f64> {
        struct Ref(f64, f64);
        impl Dispatch<Eval<f64>> for Ref {
            fn call<K: ClipFn>(self, k: K) -> Eval<f64> {
                k.eval64(self.0, self.1)
            }
        }
        match self {
            // β is f64 here so the reference is not limited by an f32 β.
            Strategy::SoftplusLearnable => SoftplusClamp::new64(beta).eval64(x, theta),
            _ => self.dispatch(beta as f32, Ref(x, theta)),
        }
    }
}

/// A generic callback over the concrete [`ClipFn`] of a strategy (see [`Strategy::dispatch`]).
pub trait Dispatch<R> {
    fn call<K: ClipFn>(self, k: K) -> R;
}

pub(crate) use clipbench_core::stable64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_properties_hold_for_the_f64_reference() {
        // Checked on a grid of x and θ; a property declared true must hold everywhere on it,
        // one declared false must fail somewhere (so the declarations are tight).
        for s in Strategy::ALL {
            let (mut ident, mut zero, mut relu) = (true, true, true);
            for theta in [0.01, 0.5, 1.0, 3.0, 10.0] {
                for i in 0..=400 {
                    let x = -12.0 + 0.06 * i as f64;
                    let e = s.eval64(x.max(0.0), theta, 1.0);
                    let r = x.max(0.0);
                    if (0.0..theta).contains(&r) && (e.y - r).abs() > 1e-12 * (1.0 + r) {
                        ident = false;
                    }
                    zero &= e.dydt == 0.0;
                    relu &= (e.y - r).abs() <= 1e-12 * (1.0 + r);
                }
            }
            assert_eq!(ident, s.identity_below_threshold(), "{s}: identity below θ");
            assert_eq!(zero, s.theta_gradient_zero(), "{s}: ∂y/∂θ ≡ 0");
            assert_eq!(relu, s.relu_equivalent(), "{s}: ≡ relu");
        }
    }

    #[test]
    fn the_registry_declares_each_kernels_monotonicity() {
        struct Mono;
        impl Dispatch<bool> for Mono {
            fn call<K: ClipFn>(self, _k: K) -> bool {
                K::MONOTONE
            }
        }
        for s in Strategy::ALL {
            assert_eq!(s.monotone(), s.dispatch(1.0, Mono), "{s}");
        }
    }
}
