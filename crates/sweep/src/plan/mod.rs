//! A study file → a validated [`RunPlan`]: every run's resolved `RunConfig`, run id and
//! directory, checked before anything trains. All problems are reported at once, each with
//! file, line, column and key.

mod axes;
mod ctx;
mod parse;
mod resolve;
mod shadow;
mod stage;
mod tuned;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clipbench_clip::Strategy;
use clipbench_data::DatasetName;
use clipbench_train::RunConfig;
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::SweepError;
use crate::source::Source;

pub(crate) use ctx::Ctx;
pub(crate) use resolve::{base_config, Setting};
pub(crate) use stage::Variant;
pub use tuned::{StudyPlan, TunedStudy};

/// Which stage of a study a run belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// A tuning trial (`[tune]`), under `<study>/tuning/runs/`.
    Tune,
    /// The study's runs proper, under `<study>/runs/`.
    Final,
}

/// One planned run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedRun {
    pub stage: Stage,
    pub run_id: String,
    pub strategy: Strategy,
    pub seed: u64,
    /// The tuning trial this run belongs to (tune stage), or whose settings it uses (final
    /// stage of a tuned study).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial: Option<usize>,
    /// The grid values or tuned settings of this run (dotted key → value).
    pub params: BTreeMap<String, Json>,
    /// `<results>/<study>/runs/<run-id>`.
    pub dir: PathBuf,
    pub config: RunConfig,
}

/// A study's runs, in order: seed, then strategy, then grid combination.
#[derive(Clone, Debug, PartialEq)]
pub struct RunPlan {
    pub study: String,
    pub file: PathBuf,
    /// `<results>/<study>`.
    pub root: PathBuf,
    pub dataset: DatasetName,
    pub threads: usize,
    pub runs: Vec<PlannedRun>,
    /// What the analysis reads from `study.json`.
    pub settings: StudySettings,
}

/// `<results>/<study>/study.json` (**contract**, read by `clipbench report`): the study-level
/// settings the analysis needs, which no single run records.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StudySettings {
    pub study: String,
    /// The study file, as given to `clipbench run`.
    pub file: PathBuf,
    pub target_acc: Option<f64>,
    pub stability_study: Option<String>,
}

impl RunPlan {
    /// Reads, parses and validates `file`; runs go under `<results>/<study>/runs/`.
    pub fn load(file: &Path, results: &Path) -> Result<RunPlan, SweepError> {
        let src = Source::read(file)?;
        stage::plan(&src, results)
    }

    /// As [`RunPlan::load`], from text (tests).
    pub fn from_text(file: &Path, text: &str, results: &Path) -> Result<RunPlan, SweepError> {
        let src = Source::from_bytes(file, text.as_bytes().to_vec())?;
        stage::plan(&src, results)
    }
}
