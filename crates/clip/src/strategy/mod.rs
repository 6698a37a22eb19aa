//! The seven clipping strategies: names (a config and CLI contract), the f64 reference math and
//! the f32 training kernel of each, behind one trait.
//!
//! Adding a strategy = one file in this folder implementing [`ClipFn`] + one arm in
//! [`Strategy`] and in [`Strategy::dispatch`].

mod hard_clamp;
mod identity;
mod pact;
mod seed_softplus;
mod softplus;
mod tanh;

pub use hard_clamp::HardClamp;
pub use identity::Identity;
pub use pact::Pact;
pub use seed_softplus::SeedSoftplus;
pub use softplus::SoftplusClamp;
pub use tanh::TanhClip;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::ClipError;

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
}

/// A clipping strategy by name (**contract**: these names are used in configs and the CLI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    None,
    HardClamp,
    TanhFixed,
    TanhLearnable,
    SoftplusLearnable,
    Pact,
    SeedSoftplus,
}

impl Strategy {
    pub const ALL: [Strategy; 7] = [
        Strategy::None,
        Strategy::HardClamp,
        Strategy::TanhFixed,
        Strategy::TanhLearnable,
        Strategy::SoftplusLearnable,
        Strategy::Pact,
        Strategy::SeedSoftplus,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::HardClamp => "hard-clamp",
            Strategy::TanhFixed => "tanh-fixed",
            Strategy::TanhLearnable => "tanh-learnable",
            Strategy::SoftplusLearnable => "softplus-learnable",
            Strategy::Pact => "pact",
            Strategy::SeedSoftplus => "seed-softplus",
        }
    }

    /// Whether the optimizer trains θ (the fixed ones still report ∂L/∂θ for the logs).
    pub fn learnable(self) -> bool {
        matches!(
            self,
            Strategy::TanhLearnable
                | Strategy::SoftplusLearnable
                | Strategy::Pact
                | Strategy::SeedSoftplus
        )
    }

    /// Whether the strategy has a threshold at all (`none` has not).
    pub fn has_threshold(self) -> bool {
        self != Strategy::None
    }

    /// Whether f(x; θ) = x for 0 ≤ x < θ: a layer that never reaches θ then acts exactly as
    /// ReLU, and ∂y/∂θ = 0 wherever it does not clip. False for the smooth clips, which change
    /// every activation (tanh: y < x for all x > 0; softplus at β = 1: slope 0.46 at 0).
    pub fn identity_below_threshold(self) -> bool {
        matches!(
            self,
            Strategy::None | Strategy::HardClamp | Strategy::Pact | Strategy::SeedSoftplus
        )
    }

    /// Whether ∂y/∂θ = 0 for every x and θ, by construction (so a trained θ never moves
    /// without an L2 on θ).
    pub fn theta_gradient_zero(self) -> bool {
        matches!(self, Strategy::None | Strategy::SeedSoftplus)
    }

    /// Whether relu → f is relu(x) in exact arithmetic (`seed-softplus` computes it through
    /// the seed's formula, so in f32 it differs from relu by rounding).
    pub fn relu_equivalent(self) -> bool {
        matches!(self, Strategy::None | Strategy::SeedSoftplus)
    }

    /// [`ClipFn::MONOTONE`] of the strategy's function.
    pub fn monotone(self) -> bool {
        struct Mono;
        impl Dispatch<bool> for Mono {
            fn call<K: ClipFn>(self, _k: K) -> bool {
                K::MONOTONE
            }
        }
        self.dispatch(1.0, Mono)
    }

    /// Calls `k` with the concrete function of this strategy, so that kernels are
    /// monomorphised per strategy (no dynamic dispatch in the element loop).
    pub fn dispatch<R>(self, beta: f32, k: impl Dispatch<R>) -> R {
        match self {
            Strategy::None => k.call(Identity),
            Strategy::HardClamp => k.call(HardClamp),
            Strategy::TanhFixed | Strategy::TanhLearnable => k.call(TanhClip),
            Strategy::SoftplusLearnable => k.call(SoftplusClamp::new(beta)),
            Strategy::Pact => k.call(Pact),
            Strategy::SeedSoftplus => k.call(SeedSoftplus),
        }
    }

    /// The f64 reference at one point.
    pub fn eval64(self, x: f64, theta: f64, beta: f64) -> Eval<f64> {
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

    pub fn names() -> String {
        Strategy::ALL
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A generic callback over the concrete [`ClipFn`] of a strategy (see [`Strategy::dispatch`]).
pub trait Dispatch<R> {
    fn call<K: ClipFn>(self, k: K) -> R;
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = ClipError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| ClipError::UnknownStrategy {
                name: s.to_string(),
                valid: Strategy::names(),
            })
    }
}

/// Numerically stable pieces shared by the f64 references.
pub(crate) mod stable64 {
    /// σ(t) = 1/(1 + e^−t) without overflow.
    pub fn sigmoid(t: f64) -> f64 {
        if t >= 0.0 {
            1.0 / (1.0 + (-t).exp())
        } else {
            let e = t.exp();
            e / (1.0 + e)
        }
    }

    /// ln(1 + e^t) without overflow or cancellation.
    pub fn softplus(t: f64) -> f64 {
        t.max(0.0) + (-t.abs()).exp().ln_1p()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_fromstr_and_serde() -> Result<(), Box<dyn std::error::Error>> {
        for s in Strategy::ALL {
            assert_eq!(s.name().parse::<Strategy>()?, s);
            let json = serde_json::to_string(&s)?;
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<Strategy>(&json)?, s);
        }
        Ok(())
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = "tanh".parse::<Strategy>().err().map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(msg.contains("\"tanh\""), "{msg}");
        assert!(
            msg.contains("tanh-learnable") && msg.contains("seed-softplus"),
            "{msg}"
        );
    }

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
    fn learnable_set_matches_the_design_table() {
        let learn: Vec<_> = Strategy::ALL
            .into_iter()
            .filter(|s| s.learnable())
            .collect();
        assert_eq!(
            learn,
            [
                Strategy::TanhLearnable,
                Strategy::SoftplusLearnable,
                Strategy::Pact,
                Strategy::SeedSoftplus
            ]
        );
    }
}
