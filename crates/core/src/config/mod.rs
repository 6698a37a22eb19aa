//! The resolved configuration of one run (**contract**: recorded in manifest.json; the run id
//! is a hash of its JSON, so field names and order are part of the contract) and its
//! validation, which reports every problem with the dotted key it is about.

mod model;
mod optim;
mod schedule;

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dataset::DatasetName;
pub use model::{ClipConfig, ModelConfig, INPUTS, NUM_CLASSES};
pub use optim::OptimizerConfig;
pub use schedule::Schedule;

/// One problem with a config value: the dotted key it is about and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl ConfigProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem of a config at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid run config: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub dataset: DatasetName,
    pub model: ModelConfig,
    pub optimizer: OptimizerConfig,
    #[serde(default)]
    pub schedule: Schedule,
    pub epochs: u32,
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Log a step record every this many optimizer steps (and at step 1).
    #[serde(default = "default_log_every")]
    pub log_every: u64,
    pub seed: u64,
    /// Worker threads of this run (results depend on nothing else but config + seed + this).
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Use only the first N training / test images (quick runs); None = all.
    #[serde(default)]
    pub train_limit: Option<usize>,
    #[serde(default)]
    pub test_limit: Option<usize>,
    /// False: the run never loads or evaluates the test split (a tuning trial: its choices
    /// are made on validation, so test stays sealed until the final stage). Left out of the
    /// JSON when true, so configs written before the key existed keep their run ids.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub evaluate_test: bool,
    /// Where to train; `cuda` needs a binary built with `--features cuda`.
    #[serde(default)]
    pub device: DeviceKind,
    /// Training images held out for validation (before `train_limit` applies); None = the
    /// data set's default ([`DatasetName::default_validation`]).
    #[serde(default)]
    pub validation: Option<usize>,
    /// Seed of the validation split: a study setting, the same for every run of a study.
    #[serde(default)]
    pub split_seed: u64,
    /// How the reported epoch is chosen.
    #[serde(default)]
    pub selection: Selection,
}

/// Which epoch a run reports (**contract**: `selection` in configs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// The epoch of best validation accuracy (ties → the earliest).
    #[default]
    BestVal,
    /// The last epoch; the only choice without a validation split.
    Last,
}

impl Selection {
    pub fn name(self) -> &'static str {
        match self {
            Selection::BestVal => "best-val",
            Selection::Last => "last",
        }
    }
}

/// The dfdx device of a run (part of the config: kernels differ, so results do too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    #[default]
    Cpu,
    Cuda,
}

fn default_batch() -> usize {
    64
}
fn default_log_every() -> u64 {
    50
}
fn default_threads() -> usize {
    1
}
fn default_true() -> bool {
    true
}
// serde's skip_serializing_if passes a reference.
fn is_true(v: &bool) -> bool {
    *v
}

impl RunConfig {
    /// All problems at once, each naming its key.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut p = self.optimizer.problems();
        p.extend(self.schedule.problems());
        let at_least_one =
            |key: &str, v: u64| (v == 0).then(|| ConfigProblem::new(key, "expected >= 1, got 0"));
        p.extend(at_least_one("epochs", u64::from(self.epochs)));
        p.extend(at_least_one("batch_size", self.batch_size as u64));
        p.extend(at_least_one("log_every", self.log_every));
        if !(1..=256).contains(&self.threads) {
            p.push(ConfigProblem::new(
                "threads",
                format!("expected 1 to 256, got {}", self.threads),
            ));
        }
        for (key, limit) in [
            ("train_limit", self.train_limit),
            ("test_limit", self.test_limit),
        ] {
            if limit == Some(0) {
                p.push(ConfigProblem::new(key, "expected >= 1 when given"));
            }
        }
        if self.validation_images() == 0 && self.selection != Selection::Last {
            p.push(ConfigProblem::new(
                "validation",
                "0 leaves nothing to select the epoch on: set selection = \"last\" to report \
                 the last epoch, or hold out images (validation = N)",
            ));
        }
        let want = self.dataset.shape();
        // Synthetic data is generated in whichever shape the model takes.
        if self.dataset != DatasetName::Synthetic && self.model.input != want {
            p.push(ConfigProblem::new(
                "model.input",
                format!(
                    "{:?} does not fit: data set {} has images of shape {:?}",
                    self.model.input, self.dataset, want
                ),
            ));
        }
        p.extend(self.model.problems());
        p
    }

    /// Ok, or every problem at once.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let p = self.problems();
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(p))
        }
    }

    /// Images in the validation split (the explicit value, else the data set's default).
    pub fn validation_images(&self) -> usize {
        self.validation
            .unwrap_or_else(|| self.dataset.default_validation())
    }

    /// A stable id: strategy, seed and the first 10 hex digits of the SHA-256 of the
    /// canonical JSON of the whole config, so a rerun of a study finds its runs.
    pub fn run_id(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let hash = Sha256::digest(&json);
        let hex: String = hash.iter().take(5).map(|b| format!("{b:02x}")).collect();
        format!("{}-s{}-{}", self.model.clip.strategy, self.seed, hex)
    }
}
