//! `<study>/tuning/selected.json`, written by `clipbench run` after the tuning stage of a
//! study with `[tune]` (**contract**; unknown fields are ignored): the budget, the space, every
//! trial's validation score and each strategy's selected trial. The report's Tuning section
//! and the sensitivity figure come from it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{AnalysisError, Result};

pub const SELECTED_FILE: &str = "tuning/selected.json";

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Tuning {
    pub budget: usize,
    pub tuning_seeds: Vec<u64>,
    pub final_seeds: Vec<u64>,
    #[serde(default)]
    pub tuning_epochs: Option<u32>,
    #[serde(default)]
    pub tuning_train_limit: Option<usize>,
    pub sampler: String,
    pub score: String,
    /// strategy → key → distribution.
    pub space: BTreeMap<String, BTreeMap<String, String>>,
    pub selected: BTreeMap<String, Chosen>,
    pub trials: Vec<Trial>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Chosen {
    pub trial: usize,
    pub settings: BTreeMap<String, serde_json::Value>,
    pub val_acc_mean: f64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Trial {
    pub strategy: String,
    pub trial: usize,
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Per tuning seed (null: diverged or no epoch).
    pub val_acc: Vec<Option<f64>>,
    pub n_diverged: usize,
    pub val_acc_mean: f64,
    pub selected: bool,
}

impl Tuning {
    /// Reads `root/tuning/selected.json`; None when the study was not tuned.
    pub fn load(root: &Path) -> Result<Option<Tuning>> {
        let path = root.join(SELECTED_FILE);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| AnalysisError::Json {
                    path,
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AnalysisError::io(&path, e)),
        }
    }

    /// The trials of `strategy`, in trial order.
    pub fn trials_of<'a>(&'a self, strategy: &'a str) -> impl Iterator<Item = &'a Trial> + 'a {
        self.trials.iter().filter(move |t| t.strategy == strategy)
    }
}
