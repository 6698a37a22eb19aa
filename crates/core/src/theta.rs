//! The threshold θ, what the optimizer trains to move it, and how θ stays ≥ θ_min.
//!
//! Two parametrisations ([`ThetaParam`], a config **contract**):
//! - `direct` (default; the seed and PACT): the optimizer updates θ itself, then θ is
//!   projected onto [θ_min, ∞) (the training loop counts the projections). θ's step is the
//!   optimizer's step.
//! - `softplus`: θ = θ_min + softplus(ρ) and the optimizer trains ρ. θ > θ_min by
//!   construction, but ∂L/∂ρ = ∂L/∂θ · σ(ρ) rescales θ's step. Adam normalises ∂L/∂ρ, so ρ
//!   moves by ~lr and θ by ~lr·σ(ρ) (0.63× at θ = 1, 0.86× at θ = 2); SGD moves ρ by
//!   lr·σ(ρ)·∂L/∂θ and θ by lr·σ(ρ)²·∂L/∂θ (0.40× at θ = 1, 0.009× at θ = 0.1). Near θ_min
//!   σ(ρ) → 0 and θ freezes. That confounds any comparison of step sizes (the SGD learning-rate
//!   study above all), hence not the default.
//!
//! θ_min = 1e-3 bounds 1/θ in the tanh clip.

use serde::{Deserialize, Serialize};

use crate::stable64;

pub const THETA_MIN: f64 = 1e-3;

/// How the optimizer's parameter maps to θ (**contract**: `theta_param` in configs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThetaParam {
    /// The parameter is θ; projected onto [θ_min, ∞) after every update.
    #[default]
    Direct,
    /// The parameter is ρ with θ = θ_min + softplus(ρ).
    Softplus,
}

impl ThetaParam {
    pub const ALL: [ThetaParam; 2] = [ThetaParam::Direct, ThetaParam::Softplus];

    pub fn name(self) -> &'static str {
        match self {
            ThetaParam::Direct => "direct",
            ThetaParam::Softplus => "softplus",
        }
    }

    /// The parameter value that represents θ.
    pub fn param_from_theta(self, theta: f64) -> f64 {
        match self {
            ThetaParam::Direct => theta,
            ThetaParam::Softplus => rho_from_theta(theta),
        }
    }

    /// θ from the parameter value.
    pub fn theta_from_param(self, p: f64) -> f64 {
        match self {
            ThetaParam::Direct => p,
            ThetaParam::Softplus => theta_from_rho(p),
        }
    }

    /// dθ/dp at parameter value `p`: 1, or σ(ρ).
    pub fn dtheta_dparam(self, p: f64) -> f64 {
        match self {
            ThetaParam::Direct => 1.0,
            ThetaParam::Softplus => dtheta_drho(p),
        }
    }

    /// Whether the optimizer's update must be followed by the projection onto [θ_min, ∞).
    pub fn projects(self) -> bool {
        self == ThetaParam::Direct
    }
}

impl std::fmt::Display for ThetaParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ThetaParam {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ThetaParam::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown θ parametrisation {s:?}: expected direct or softplus"))
    }
}

/// The projection of a direct θ (as stored, f32) onto [θ_min, ∞); true when it moved θ.
pub fn project_f32(theta: &mut f32) -> bool {
    let floor = THETA_MIN as f32;
    // NaN stays NaN: the divergence check, not the projection, deals with it.
    if *theta < floor {
        *theta = floor;
        true
    } else {
        false
    }
}

/// ρ such that θ_min + softplus(ρ) = θ (θ > θ_min).
pub fn rho_from_theta(theta: f64) -> f64 {
    let s = theta - THETA_MIN;
    // softplus⁻¹(s) = ln(e^s − 1) = s + ln(1 − e^−s), stable for large s.
    s + (-(-s).exp()).ln_1p()
}

pub fn theta_from_rho(rho: f64) -> f64 {
    THETA_MIN + stable64::softplus(rho)
}

/// dθ/dρ = σ(ρ).
pub fn dtheta_drho(rho: f64) -> f64 {
    stable64::sigmoid(rho)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_stays_above_the_floor() {
        for theta in [1.001e-3, 0.01, 0.5, 1.0, 2.0, 10.0, 500.0] {
            let r = rho_from_theta(theta);
            assert!(
                (theta_from_rho(r) - theta).abs() < 1e-12 * theta,
                "θ={theta}"
            );
            for p in ThetaParam::ALL {
                let back = p.theta_from_param(p.param_from_theta(theta));
                assert!((back - theta).abs() < 1e-12 * theta, "{p} θ={theta}");
            }
        }
        for rho in [-1e3, -50.0, 0.0, 50.0] {
            assert!(theta_from_rho(rho) >= THETA_MIN, "ρ={rho}");
        }
        for rho in [-30.0, 0.0, 50.0] {
            assert!(theta_from_rho(rho) > THETA_MIN, "ρ={rho}");
        }
    }

    #[test]
    fn derivative_matches_finite_difference() {
        for rho in [-3.0, 0.0, 0.54, 4.0] {
            let h = 1e-6;
            for p in ThetaParam::ALL {
                let fd = (p.theta_from_param(rho + h) - p.theta_from_param(rho - h)) / (2.0 * h);
                assert!((fd - p.dtheta_dparam(rho)).abs() < 1e-8, "{p} ρ={rho}");
            }
        }
    }

    #[test]
    fn projection_clamps_below_the_floor_only() {
        let mut t = 0.5f32;
        assert!(!project_f32(&mut t));
        assert_eq!(t, 0.5);
        let mut t = -2.0f32;
        assert!(project_f32(&mut t));
        assert_eq!(t, THETA_MIN as f32);
        let mut t = THETA_MIN as f32;
        assert!(!project_f32(&mut t), "the floor itself is feasible");
        let mut t = f32::NAN;
        assert!(!project_f32(&mut t) && t.is_nan());
    }

    #[test]
    fn names_parse() {
        for p in ThetaParam::ALL {
            assert_eq!(p.name().parse::<ThetaParam>(), Ok(p));
        }
        assert!("exp".parse::<ThetaParam>().is_err());
    }
}
