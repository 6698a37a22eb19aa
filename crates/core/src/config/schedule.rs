//! Learning-rate schedules, as a function of the epoch (fractional within an epoch for cosine).

use serde::{Deserialize, Serialize};

use super::ConfigProblem;

/// **Contract** (configs): `{kind = "constant"}`, `{kind = "step", every_epochs, gamma}`,
/// `{kind = "cosine", min_lr}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Schedule {
    #[default]
    Constant,
    /// lr·γ^⌊epoch / every⌋ (PyTorch StepLR).
    Step { every_epochs: u32, gamma: f64 },
    /// Cosine from lr to min_lr over the whole run, per step (PyTorch CosineAnnealingLR).
    Cosine {
        #[serde(default)]
        min_lr: f64,
    },
}

impl Schedule {
    /// lr at global step `step` of `total_steps` (epoch = step / steps_per_epoch).
    pub fn lr(&self, base: f64, step: u64, steps_per_epoch: u64, total_steps: u64) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step {
                every_epochs,
                gamma,
            } => {
                let epoch = step / steps_per_epoch.max(1);
                base * gamma.powi((epoch / u64::from(every_epochs.max(1))) as i32)
            }
            Schedule::Cosine { min_lr } => {
                let f = step as f64 / total_steps.max(1) as f64;
                min_lr + 0.5 * (base - min_lr) * (1.0 + (std::f64::consts::PI * f).cos())
            }
        }
    }

    pub fn problems(&self) -> Vec<ConfigProblem> {
        match *self {
            Schedule::Step {
                every_epochs,
                gamma,
            } => {
                let mut p = Vec::new();
                if every_epochs == 0 {
                    p.push(ConfigProblem::new(
                        "schedule.every_epochs",
                        "expected >= 1, got 0",
                    ));
                }
                if !(gamma.is_finite() && gamma > 0.0) {
                    p.push(ConfigProblem::new(
                        "schedule.gamma",
                        format!("expected a finite value > 0, got {gamma}"),
                    ));
                }
                p
            }
            Schedule::Cosine { min_lr } if !(min_lr.is_finite() && min_lr >= 0.0) => {
                vec![ConfigProblem::new(
                    "schedule.min_lr",
                    format!("expected a finite value >= 0, got {min_lr}"),
                )]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_formulas() {
        assert_eq!(Schedule::Constant.lr(0.1, 500, 100, 1000), 0.1);
        let s = Schedule::Step {
            every_epochs: 2,
            gamma: 0.5,
        };
        assert_eq!(s.lr(0.1, 199, 100, 1000), 0.1);
        assert!((s.lr(0.1, 200, 100, 1000) - 0.05).abs() < 1e-15);
        assert!((s.lr(0.1, 450, 100, 1000) - 0.025).abs() < 1e-15);
        let c = Schedule::Cosine { min_lr: 0.0 };
        assert_eq!(c.lr(0.1, 0, 100, 1000), 0.1);
        assert!((c.lr(0.1, 500, 100, 1000) - 0.05).abs() < 1e-12);
        assert!(c.lr(0.1, 1000, 100, 1000).abs() < 1e-12);
    }
}
