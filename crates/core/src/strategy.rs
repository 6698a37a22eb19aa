//! The strategy registry: every clipping strategy's name (a config and CLI **contract**), its
//! label, and the properties that the training side relies on and the report's sentences are
//! derived from. The math lives in `clipbench-clip` (one file per strategy, whose tests check
//! these properties against its f64 reference); everything else — the CLI's lists, the
//! analysis' order and colours, the report — reads this table.
//!
//! Adding a strategy: one entry in [`REGISTRY`] and a variant of [`Strategy`] here, and its
//! file in `crates/clip/src/strategy/` (README "Adding a strategy").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;

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
    SoftsignLearnable,
}

/// What a strategy is, as the rest of the harness needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyInfo {
    pub strategy: Strategy,
    /// The name in configs and on the command line.
    pub name: &'static str,
    /// y = f(x; θ), for tables and figures.
    pub formula: &'static str,
    /// The optimizer trains θ.
    pub learnable: bool,
    /// The strategy has a θ at all.
    pub has_threshold: bool,
    /// Its shape depends on the sharpness β (`model.clip.beta`).
    pub uses_beta: bool,
    /// f(x) = x for 0 ≤ x < θ: a layer that never reaches θ is exactly ReLU, and ∂y/∂θ = 0
    /// wherever it does not clip. False for smooth clips, which change every activation.
    pub identity_below_threshold: bool,
    /// ∂y/∂θ = 0 for every x and θ, by construction.
    pub theta_gradient_zero: bool,
    /// relu → f is relu(x) in exact arithmetic.
    pub relu_equivalent: bool,
    /// Non-decreasing in x after relu for every θ (max-pooling commutes with it).
    pub monotone: bool,
    /// Colour in figures, RGB: the Okabe–Ito palette (colour-blind safe) without its orange,
    /// yellow and sky blue, which are faint on white; Tol's wine and Dark2's purple take their
    /// place. Every colour has at least 3:1 contrast with white (WCAG 2.1, non-text).
    pub color: (u8, u8, u8),
    /// Drawn dashed: its curves lie on another strategy's.
    pub dashed: bool,
}

/// The registry, in the order tables and figures list the strategies.
pub const REGISTRY: [StrategyInfo; 8] = [
    StrategyInfo {
        strategy: Strategy::None,
        name: "none",
        formula: "x",
        learnable: false,
        has_threshold: false,
        uses_beta: false,
        identity_below_threshold: true,
        theta_gradient_zero: true,
        relu_equivalent: true,
        monotone: true,
        color: (0, 0, 0),
        dashed: false,
    },
    StrategyInfo {
        strategy: Strategy::HardClamp,
        name: "hard-clamp",
        formula: "clamp(x, −θ, θ)",
        learnable: false,
        has_threshold: true,
        uses_beta: false,
        identity_below_threshold: true,
        theta_gradient_zero: false,
        relu_equivalent: false,
        monotone: true,
        color: (213, 94, 0),
        dashed: false,
    },
    StrategyInfo {
        strategy: Strategy::TanhFixed,
        name: "tanh-fixed",
        formula: "θ·tanh(x/θ)",
        learnable: false,
        has_threshold: true,
        uses_beta: false,
        identity_below_threshold: false,
        theta_gradient_zero: false,
        relu_equivalent: false,
        monotone: true,
        color: (136, 34, 85),
        dashed: true,
    },
    StrategyInfo {
        strategy: Strategy::TanhLearnable,
        name: "tanh-learnable",
        formula: "θ·tanh(x/θ)",
        learnable: true,
        has_threshold: true,
        uses_beta: false,
        identity_below_threshold: false,
        theta_gradient_zero: false,
        relu_equivalent: false,
        monotone: true,
        color: (0, 114, 178),
        dashed: false,
    },
    StrategyInfo {
        strategy: Strategy::SoftplusLearnable,
        name: "softplus-learnable",
        formula: "x − sp_β(x − θ) + sp_β(−x − θ)",
        learnable: true,
        has_threshold: true,
        uses_beta: true,
        identity_below_threshold: false,
        theta_gradient_zero: false,
        relu_equivalent: false,
        monotone: true,
        color: (0, 158, 115),
        dashed: false,
    },
    StrategyInfo {
        strategy: Strategy::Pact,
        name: "pact",
        formula: "clamp(x, 0, α)",
        learnable: true,
        has_threshold: true,
        uses_beta: false,
        identity_below_threshold: true,
        theta_gradient_zero: false,
        relu_equivalent: false,
        monotone: true,
        color: (204, 121, 167),
        dashed: false,
    },
    StrategyInfo {
        strategy: Strategy::SeedSoftplus,
        name: "seed-softplus",
        formula: "the seed's SoftplusClipping (relu(x) in exact arithmetic)",
        learnable: true,
        has_threshold: true,
        uses_beta: false,
        identity_below_threshold: true,
        theta_gradient_zero: true,
        relu_equivalent: true,
        monotone: true,
        color: (117, 112, 179),
        dashed: true,
    },
    StrategyInfo {
        strategy: Strategy::SoftsignLearnable,
        name: "softsign-learnable",
        formula: "θx/(θ + |x|)",
        learnable: true,
        has_threshold: true,
        uses_beta: false,
        identity_below_threshold: false,
        theta_gradient_zero: false,
        relu_equivalent: false,
        monotone: true,
        color: (140, 86, 75),
        dashed: false,
    },
];

impl Strategy {
    /// Every strategy, in registry order.
    pub const ALL: [Strategy; REGISTRY.len()] = {
        let mut out = [Strategy::None; REGISTRY.len()];
        let mut i = 0;
        while i < REGISTRY.len() {
            out[i] = REGISTRY[i].strategy;
            i += 1;
        }
        out
    };

    pub fn info(self) -> &'static StrategyInfo {
        // The registry lists every variant (tested): the fallback is never taken.
        REGISTRY
            .iter()
            .find(|i| i.strategy == self)
            .unwrap_or(&REGISTRY[0])
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Whether the optimizer trains θ (the fixed ones still report ∂L/∂θ for the logs).
    pub fn learnable(self) -> bool {
        self.info().learnable
    }

    /// Whether the strategy has a threshold at all (`none` has not).
    pub fn has_threshold(self) -> bool {
        self.info().has_threshold
    }

    pub fn identity_below_threshold(self) -> bool {
        self.info().identity_below_threshold
    }

    pub fn theta_gradient_zero(self) -> bool {
        self.info().theta_gradient_zero
    }

    pub fn relu_equivalent(self) -> bool {
        self.info().relu_equivalent
    }

    pub fn monotone(self) -> bool {
        self.info().monotone
    }

    /// Position in the registry (tables and figures list strategies in this order).
    pub fn rank(self) -> usize {
        REGISTRY
            .iter()
            .position(|i| i.strategy == self)
            .unwrap_or(REGISTRY.len())
    }

    /// "none, hard-clamp, ..." for messages.
    pub fn names() -> String {
        REGISTRY
            .iter()
            .map(|i| i.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The registry entry of a strategy name, if it is one of this build's.
pub fn lookup(name: &str) -> Option<&'static StrategyInfo> {
    REGISTRY.iter().find(|i| i.name == name)
}

/// Registry order for a strategy name (tables, status listings); names this build does not
/// know sort after, by name.
pub fn rank_by_name(s: &str) -> (usize, String) {
    let i = lookup(s).map(|i| i.strategy.rank());
    (i.unwrap_or(REGISTRY.len()), s.to_string())
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        lookup(s)
            .map(|i| i.strategy)
            .ok_or_else(|| CoreError::UnknownStrategy {
                name: s.to_string(),
                valid: Strategy::names(),
                suggestion: closest(s),
            })
    }
}

/// The registered name closest to `s` (edit distance ≤ 3), for "did you mean".
fn closest(s: &str) -> Option<&'static str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1; b.len() + 1];
            for (j, cb) in b.iter().enumerate() {
                cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1);
            }
            prev = cur;
        }
        prev[b.len()]
    }
    let lower = s.to_ascii_lowercase().replace('_', "-");
    REGISTRY
        .iter()
        .map(|i| (distance(&lower, i.name), i.name))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_lists_every_variant_once_and_names_round_trip(
    ) -> Result<(), Box<dyn std::error::Error>> {
        for (i, info) in REGISTRY.iter().enumerate() {
            assert_eq!(Strategy::ALL[i], info.strategy);
            assert_eq!(info.strategy.rank(), i);
            assert_eq!(info.name.parse::<Strategy>()?, info.strategy);
            let json = serde_json::to_string(&info.strategy)?;
            assert_eq!(json, format!("\"{}\"", info.name));
            assert_eq!(serde_json::from_str::<Strategy>(&json)?, info.strategy);
        }
        let names: std::collections::BTreeSet<&str> = REGISTRY.iter().map(|i| i.name).collect();
        assert_eq!(names.len(), REGISTRY.len(), "names are unique");
        Ok(())
    }

    #[test]
    fn an_unknown_name_lists_the_valid_ones_and_suggests_the_closest() {
        let msg = "tanh-learnabel"
            .parse::<Strategy>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("\"tanh-learnabel\""), "{msg}");
        assert!(msg.contains("seed-softplus"), "{msg}");
        assert!(msg.contains("did you mean `tanh-learnable`"), "{msg}");
        let msg = "zzz"
            .parse::<Strategy>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!msg.contains("did you mean"), "{msg}");
        assert_eq!(closest("PACT"), Some("pact"));
        assert_eq!(closest("hard_clamp"), Some("hard-clamp"));
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
                Strategy::SeedSoftplus,
                Strategy::SoftsignLearnable
            ]
        );
    }
}
