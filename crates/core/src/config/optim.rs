//! The optimizer's configuration (**contract**: the `[optimizer]` table). The optimizer
//! itself (state, update rule) is `clipbench-train`'s.

use serde::{Deserialize, Serialize};

use super::ConfigProblem;

/// **Contract** (configs): `{kind = "adam", lr, ...}` or `{kind = "sgd", lr, momentum, ...}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OptimizerConfig {
    Sgd {
        lr: f64,
        #[serde(default = "default_momentum")]
        momentum: f64,
        #[serde(default)]
        nesterov: bool,
        #[serde(default)]
        weight_decay: f64,
        /// Shorthand for `theta_decay = weight_decay`.
        #[serde(default)]
        theta_weight_decay: bool,
        /// L2 on θ itself (PACT's λ_α): ∂L/∂θ += λ·θ, whatever the parametrisation.
        #[serde(default)]
        theta_decay: f64,
    },
    Adam {
        lr: f64,
        #[serde(default = "default_beta1")]
        beta1: f64,
        #[serde(default = "default_beta2")]
        beta2: f64,
        #[serde(default = "default_eps")]
        eps: f64,
        /// L2 penalty added to the gradient (PyTorch `Adam(weight_decay=...)`).
        #[serde(default)]
        weight_decay: f64,
        #[serde(default)]
        theta_weight_decay: bool,
        #[serde(default)]
        theta_decay: f64,
    },
}

fn default_momentum() -> f64 {
    0.9
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl OptimizerConfig {
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Adam { lr, .. } => lr,
        }
    }

    pub fn set_lr(&mut self, new: f64) {
        match self {
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Adam { lr, .. } => *lr = new,
        }
    }

    /// λ of the L2 penalty on θ: `theta_decay`, or `weight_decay` with `theta_weight_decay`.
    pub fn theta_lambda(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd {
                weight_decay,
                theta_weight_decay,
                theta_decay,
                ..
            }
            | OptimizerConfig::Adam {
                weight_decay,
                theta_weight_decay,
                theta_decay,
                ..
            } => {
                if theta_weight_decay {
                    weight_decay
                } else {
                    theta_decay
                }
            }
        }
    }

    /// The L2 penalty on the network weights (not θ).
    pub fn weight_decay(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { weight_decay, .. }
            | OptimizerConfig::Adam { weight_decay, .. } => weight_decay,
        }
    }

    /// Problems with the values, each naming its key.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut p = Vec::new();
        let lr = self.lr();
        if !(lr.is_finite() && lr > 0.0) {
            p.push(ConfigProblem::new(
                "optimizer.lr",
                format!("expected a finite value > 0, got {lr}"),
            ));
        }
        let (wd, extra): (f64, Vec<(&str, f64, bool)>) = match *self {
            OptimizerConfig::Sgd {
                momentum,
                weight_decay,
                ..
            } => (
                weight_decay,
                vec![("momentum", momentum, (0.0..1.0).contains(&momentum))],
            ),
            OptimizerConfig::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => (
                weight_decay,
                vec![
                    ("beta1", beta1, (0.0..1.0).contains(&beta1)),
                    ("beta2", beta2, (0.0..1.0).contains(&beta2)),
                    ("eps", eps, eps > 0.0 && eps.is_finite()),
                ],
            ),
        };
        if !(wd.is_finite() && wd >= 0.0) {
            p.push(ConfigProblem::new(
                "optimizer.weight_decay",
                format!("expected a finite value >= 0, got {wd}"),
            ));
        }
        let (twd, td) = match *self {
            OptimizerConfig::Sgd {
                theta_weight_decay,
                theta_decay,
                ..
            }
            | OptimizerConfig::Adam {
                theta_weight_decay,
                theta_decay,
                ..
            } => (theta_weight_decay, theta_decay),
        };
        if !(td.is_finite() && td >= 0.0) {
            p.push(ConfigProblem::new(
                "optimizer.theta_decay",
                format!("expected a finite value >= 0, got {td}"),
            ));
        } else if twd && td > 0.0 {
            p.push(ConfigProblem::new(
                "optimizer.theta_decay",
                format!("{td} and theta_weight_decay = true both set θ's L2 penalty: keep one"),
            ));
        }
        for (k, v, ok) in extra {
            if !ok {
                p.push(ConfigProblem::new(
                    format!("optimizer.{k}"),
                    format!("value {v} is out of range"),
                ));
            }
        }
        p
    }
}
