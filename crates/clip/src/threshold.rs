//! The learnable threshold θ and how it is kept positive.
//!
//! θ = θ_min + softplus(ρ) and the optimizer trains ρ. θ > θ_min holds by construction for
//! every ρ (no projection step, no clamping that would zero the gradient), the map is smooth,
//! and for θ ≫ 1 it is the identity up to e^−θ, so PACT's α behaves as in the paper.
//! ∂L/∂ρ = ∂L/∂θ · σ(ρ). θ_min = 1e-3 bounds 1/θ in the tanh clip.

use crate::strategy::stable64;

pub const THETA_MIN: f64 = 1e-3;

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
            let fd = (theta_from_rho(rho + h) - theta_from_rho(rho - h)) / (2.0 * h);
            assert!((fd - dtheta_drho(rho)).abs() < 1e-8, "ρ={rho}");
        }
    }
}
