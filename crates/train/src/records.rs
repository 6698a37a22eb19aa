//! The records of a run's files (**contract**, see README "Metrics"; bump
//! [`SCHEMA_VERSION`] on any change).
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
    pub test_loss: f64,
    pub test_acc: f64,
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
    /// `best-val` or `last`: how `selected_epoch` was chosen.
    pub selection: String,
    /// The reported epoch (0-based): best validation accuracy, ties → the earliest; or the
    /// last. None when no epoch finished.
    pub selected_epoch: Option<u32>,
    pub val_acc_at_selected: Option<f64>,
    /// Test figures at the selected epoch: the headline numbers.
    pub test_acc_at_selected: Option<f64>,
    pub test_loss_at_selected: Option<f64>,
    /// Figures of the last finished epoch (None when no epoch finished).
    pub final_test_acc: Option<f64>,
    pub final_test_loss: Option<f64>,
    pub final_val_acc: Option<f64>,
    pub final_train_loss: Option<f64>,
    pub diverged_at_step: Option<u64>,
    pub final_theta: BTreeMap<String, f64>,
    /// Projections of `direct` θ over the whole run, per clip layer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theta_projected: BTreeMap<String, u64>,
    /// Largest network-weight gradient norm of any step.
    pub max_grad_norm: f64,
    pub train_wall_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_tagged_and_round_trip() -> Result<(), serde_json::Error> {
        let r = Record::Epoch(EpochRecord {
            epoch: 0,
            step: 10,
            train_loss: 1.5,
            train_acc: 0.5,
            val_loss: Some(1.0),
            val_acc: Some(0.75),
            test_loss: 1.25,
            test_acc: 0.625,
        });
        let s = serde_json::to_string(&r)?;
        assert!(s.starts_with("{\"kind\":\"epoch\",\"epoch\":0,"), "{s}");
        assert_eq!(serde_json::from_str::<Record>(&s)?, r);
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
