//! Errors of the clip crate.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClipError {
    #[error(
        "threshold θ0 = {theta0} for {strategy}: expected a finite value > θ_min = {theta_min}"
    )]
    BadThreshold {
        strategy: &'static str,
        theta0: f64,
        theta_min: f64,
    },
    #[error("β = {beta} for softplus-learnable: expected a finite value > 0")]
    BadBeta { beta: f64 },
    #[error("clip layer expects input of shape (batch, {expected}, h, w), got {found:?}")]
    ShapeMismatch { expected: usize, found: Vec<usize> },
    #[error("curve: {0}")]
    BadCurve(String),
    #[error("device error: {0}")]
    Device(String),
}
