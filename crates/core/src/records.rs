//! The records of a run's files (**contract**, see README "Run directory and metrics"; bump
//! [`SCHEMA_VERSION`] on any change). `clipbench-train` writes them, `clipbench-analysis` and
//! the sweep read them; reading also accepts every schema back to [`OLDEST_SCHEMA`].
//!
//! `metrics.jsonl` holds [`Record`]s, one JSON object per line tagged by `"kind"`, with no
//! wall-clock field so that two runs of one config + seed + thread count are byte-identical.
//! Maps are `BTreeMap`s so keys are written in a fixed order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// 2: validation split (epoch `val_*`, summary `selected_epoch`, `test_acc_at_selected`; no
/// best test accuracy), θ parametrisation and projections (`theta_projected`), and a global
/// gradient norm over the network weights only.
pub const SCHEMA_VERSION: u32 = 2;
/// The oldest schema the readers accept (schema 1: no validation split, θ through softplus).
pub const OLDEST_SCHEMA: u32 = 1;

/// The files of a run directory (**contract**).
pub const MANIFEST: &str = "manifest.json";
pub const METRICS: &str = "metrics.jsonl";
pub const TIMING: &str = "timing.jsonl";
pub const SUMMARY: &str = "summary.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Step(StepRecord),
    Epoch(EpochRecord),
    Diverged(DivergedRecord),
}

/// Every `log_every` optimizer steps (and the first step).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based optimizer step.
    pub step: u64,
    /// 0-based epoch.
    pub epoch: u32,
    pub loss: f64,
    pub lr: f64,
    /// L2 norm of the network weights' gradient (conv1, conv2, fc: the same parameters for
    /// every strategy), before the update. θ's gradient is in `theta_grad`.
    pub grad_norm: f64,
    /// The same per weight layer (conv1, conv2, fc).
    pub grad_norm_by_layer: BTreeMap<String, f64>,
    /// θ per clip layer (mean over channels when per-channel; see `theta_channels`).
    pub theta: BTreeMap<String, f64>,
    /// ∂L/∂θ per clip layer (sum over channels when per-channel).
    pub theta_grad: BTreeMap<String, f64>,
    /// Share of the layer's activations in the saturated region.
    pub clip_fraction: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theta_channels: BTreeMap<String, Vec<f64>>,
    /// `direct` θ: how many θ entries the projection onto [θ_min, ∞) has moved since the
    /// start of the run, this step's update included, per clip layer (absent for `softplus`
    /// and for `none`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theta_projected: BTreeMap<String, u64>,
}

/// At the end of every epoch. Train figures are running means over the epoch's batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: u32,
    pub step: u64,
    pub train_loss: f64,
    pub train_acc: f64,
    /// On the validation split (absent when the study holds none out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_acc: Option<f64>,
    /// On the test split (absent when the run evaluates none: a tuning trial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_acc: Option<f64>,
}

/// The last record of a run whose loss or gradient became non-finite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DivergedRecord {
    pub step: u64,
    pub epoch: u32,
    /// "loss" or "gradient of LAYER".
    pub reason: String,
}

/// One line of `timing.jsonl` (wall-clock: kept out of metrics.jsonl on purpose).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimingRecord {
    pub epoch: u32,
    pub train_wall_s: f64,
    pub eval_wall_s: f64,
    pub images_per_s: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    Diverged,
}

/// `summary.json`, written last and atomically: its presence marks the run complete.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub run_id: String,
    pub status: RunStatus,
    pub strategy: String,
    pub seed: u64,
    pub epochs_completed: u32,
    pub steps: u64,
    /// `best-val` or `last`: how `selected_epoch` was chosen (schema 1: `last`).
    #[serde(default = "last")]
    pub selection: String,
    /// The reported epoch (0-based): best validation accuracy, ties → the earliest; or the
    /// last. None when no epoch finished.
    #[serde(default)]
    pub selected_epoch: Option<u32>,
    #[serde(default)]
    pub val_acc_at_selected: Option<f64>,
    /// Test figures at the selected epoch: the headline numbers.
    #[serde(default)]
    pub test_acc_at_selected: Option<f64>,
    #[serde(default)]
    pub test_loss_at_selected: Option<f64>,
    /// Figures of the last finished epoch (None when no epoch finished).
    pub final_test_acc: Option<f64>,
    pub final_test_loss: Option<f64>,
    #[serde(default)]
    pub final_val_acc: Option<f64>,
    pub final_train_loss: Option<f64>,
    pub diverged_at_step: Option<u64>,
    /// Mean θ per clip layer; a non-finite θ is written as null and read as NaN.
    #[serde(default, deserialize_with = "nullable_map")]
    pub final_theta: BTreeMap<String, f64>,
    /// Projections of `direct` θ over the whole run, per clip layer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theta_projected: BTreeMap<String, u64>,
    /// Largest network-weight gradient norm of any step; a non-finite maximum (a gradient
    /// that blew up) is written as null and read as +∞.
    #[serde(deserialize_with = "null_as_infinity")]
    pub max_grad_norm: f64,
    /// Seconds spent in the training loops (the finished epochs' and, for a diverged run, the
    /// epoch it diverged in). Runs written before `eval_wall_s` existed recorded the whole run
    /// here, evaluation included: read it through [`Summary::training_wall_s`].
    pub train_wall_s: f64,
    /// Seconds spent evaluating (validation and test after each epoch). Absent in runs written
    /// before training and evaluation time were recorded apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_wall_s: Option<f64>,
    /// Seconds of the whole training loop: training, evaluation and metrics output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_wall_s: Option<f64>,
    /// Seconds loading the run's data: reading and verifying the files, the validation split
    /// and the normalisation (before the training loop, outside `run_wall_s`). Absent in runs
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_wall_s: Option<f64>,
}

fn last() -> String {
    "last".into()
}

fn null_as_infinity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

fn nullable_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    let m = BTreeMap::<String, Option<f64>>::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

impl Summary {
    /// The summary in today's meaning: a schema 1 run's reported epoch is its last (it had no
    /// validation split; its best test accuracy, a selection on test, is ignored).
    pub fn upgrade(mut self) -> Self {
        if self.schema_version < 2 && self.test_acc_at_selected.is_none() {
            self.selected_epoch = self.epochs_completed.checked_sub(1);
            self.test_acc_at_selected = self.final_test_acc;
        }
        self
    }

    /// Training-only seconds, when the summary records them apart from evaluation (None for a
    /// run written before that: its `train_wall_s` includes evaluation).
    pub fn training_wall_s(&self) -> Option<f64> {
        self.eval_wall_s.map(|_| self.train_wall_s)
    }

    /// Final θ of a clip layer (NaN when it was not finite).
    pub fn final_theta(&self, layer: &str) -> Option<f64> {
        self.final_theta.get(layer).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_1_summary_reads_as_selection_last() -> Result<(), serde_json::Error> {
        let v1 = r#"{"schema_version":1,"run_id":"none-s1-x","status":"completed",
            "strategy":"none","seed":1,"epochs_completed":3,"steps":30,
            "final_test_acc":0.8,"best_test_acc":0.85,"final_test_loss":0.5,
            "final_train_loss":0.4,"diverged_at_step":null,"final_theta":{"clip1":null},
            "max_grad_norm":null,"train_wall_s":1.0}"#;
        let s = serde_json::from_str::<Summary>(v1)?.upgrade();
        assert_eq!(s.selection, "last");
        assert_eq!(s.selected_epoch, Some(2));
        assert_eq!(
            s.test_acc_at_selected,
            Some(0.8),
            "never the best test accuracy"
        );
        assert!(s.final_theta("clip1").is_some_and(f64::is_nan));
        assert_eq!(s.max_grad_norm, f64::INFINITY);
        assert_eq!(s.eval_wall_s, None);
        assert_eq!(s.training_wall_s(), None, "1.0 s includes evaluation");
        Ok(())
    }

    #[test]
    fn records_are_tagged_and_round_trip() -> Result<(), serde_json::Error> {
        let e = EpochRecord {
            epoch: 0,
            step: 10,
            train_loss: 1.5,
            train_acc: 0.5,
            val_loss: Some(1.0),
            val_acc: Some(0.75),
            test_loss: Some(1.25),
            test_acc: Some(0.625),
        };
        let r = Record::Epoch(e.clone());
        let s = serde_json::to_string(&r)?;
        assert!(s.starts_with("{\"kind\":\"epoch\",\"epoch\":0,"), "{s}");
        assert!(
            s.ends_with(",\"test_loss\":1.25,\"test_acc\":0.625}"),
            "{s}"
        );
        assert_eq!(serde_json::from_str::<Record>(&s)?, r);
        // A run without a test split (a tuning trial) writes no test keys at all.
        let sealed = Record::Epoch(EpochRecord {
            test_loss: None,
            test_acc: None,
            ..e
        });
        let t = serde_json::to_string(&sealed)?;
        assert!(!t.contains("test"), "{t}");
        assert_eq!(serde_json::from_str::<Record>(&t)?, sealed);
        let d = serde_json::to_string(&Record::Diverged(DivergedRecord {
            step: 3,
            epoch: 0,
            reason: "loss".into(),
        }))?;
        assert_eq!(
            d,
            r#"{"kind":"diverged","step":3,"epoch":0,"reason":"loss"}"#
        );
        Ok(())
    }
}
