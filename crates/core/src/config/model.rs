//! The model's configuration (**contract**: the `[model]` table): SimpleCNN's input, widths
//! and clip settings. The network itself is `clipbench-nn`'s.

use serde::{Deserialize, Serialize};

use super::ConfigProblem;
use crate::strategy::Strategy;
use crate::theta::{ThetaParam, THETA_MIN};

pub const NUM_CLASSES: usize = 10;

/// The input shapes the model accepts (C, H, W).
pub const INPUTS: [[usize; 3]; 2] = [[1, 28, 28], [3, 32, 32]];

/// The clip layers' configuration: one strategy, θ0 per layer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipConfig {
    pub strategy: Strategy,
    /// θ0 (PACT: α0) of the first and second clip layer; the seed used 1.0 and 2.0.
    #[serde(default = "default_theta0")]
    pub theta0: [f64; 2],
    #[serde(default = "default_beta")]
    pub beta: f64,
    #[serde(default)]
    pub per_channel: bool,
    /// What the optimizer trains: θ itself (default) or ρ with θ = θ_min + softplus(ρ).
    #[serde(default)]
    pub theta_param: ThetaParam,
}

fn default_theta0() -> [f64; 2] {
    [1.0, 2.0]
}
fn default_beta() -> f64 {
    1.0
}
fn default_widths() -> [usize; 2] {
    [16, 32]
}

impl ClipConfig {
    pub fn new(strategy: Strategy) -> Self {
        ClipConfig {
            strategy,
            theta0: default_theta0(),
            beta: default_beta(),
            per_channel: false,
            theta_param: ThetaParam::Direct,
        }
    }

    /// Problems with θ0 and β, each naming its key.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut p = Vec::new();
        if self.strategy.has_threshold() {
            for (i, &t) in self.theta0.iter().enumerate() {
                if !(t.is_finite() && t > THETA_MIN) {
                    p.push(ConfigProblem::new(
                        "model.clip.theta0",
                        format!(
                            "θ0 = {t} of clip layer {} for {}: expected a finite value > θ_min = {THETA_MIN}",
                            i + 1,
                            self.strategy
                        ),
                    ));
                }
            }
        }
        if !(self.beta.is_finite() && self.beta > 0.0) {
            p.push(ConfigProblem::new(
                "model.clip.beta",
                format!("β = {}: expected a finite value > 0", self.beta),
            ));
        }
        p
    }
}

/// **Contract** (configs): the `[model]` table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Input (C, H, W): [1, 28, 28] or [3, 32, 32].
    pub input: [usize; 3],
    /// Output channels of the two convolutions.
    #[serde(default = "default_widths")]
    pub widths: [usize; 2],
    pub clip: ClipConfig,
}

impl ModelConfig {
    pub fn new(input: [usize; 3], strategy: Strategy) -> Self {
        ModelConfig {
            input,
            widths: default_widths(),
            clip: ClipConfig::new(strategy),
        }
    }

    /// Problems with the input shape, widths and clip settings, each naming its key.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut p = Vec::new();
        if !INPUTS.contains(&self.input) {
            p.push(ConfigProblem::new(
                "model.input",
                format!("{:?}: expected [1, 28, 28] or [3, 32, 32]", self.input),
            ));
        }
        if self.widths.contains(&0) {
            p.push(ConfigProblem::new(
                "model.widths",
                format!("{:?}: expected two positive channel counts", self.widths),
            ));
        }
        p.extend(self.clip.problems());
        p
    }

    /// Features entering the linear layer: widths[1] · (H/4) · (W/4).
    pub fn flat_features(&self) -> usize {
        self.widths[1] * (self.input[1] / 4) * (self.input[2] / 4)
    }
}
