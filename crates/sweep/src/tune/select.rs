//! Selection of each strategy's tuning trial, on validation accuracy only.
//!
//! A trial's score is the mean, over the tuning seeds, of each run's validation accuracy at
//! its selected epoch; a run that diverged scores 0 (a setting that blows up on some seed is
//! a bad setting, whatever it reached before). The best score wins; ties go to the earliest
//! trial. Nothing here reads a test figure: [`RunScore`] has no field for one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clipbench_clip::Strategy;
use clipbench_train::records::{RunStatus, Summary};
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::SweepError;
use crate::layout::{run_state, RunState};
use crate::plan::TunedStudy;

/// What selection may know about one tuning run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunScore {
    /// Validation accuracy at the run's selected epoch (None: no epoch finished).
    pub val_acc: Option<f64>,
    pub diverged: bool,
}

impl RunScore {
    pub fn of(s: &Summary) -> RunScore {
        RunScore {
            val_acc: s.val_acc_at_selected,
            diverged: s.status == RunStatus::Diverged,
        }
    }

    /// The run's contribution to its trial's score.
    pub fn score(&self) -> f64 {
        if self.diverged {
            0.0
        } else {
            self.val_acc.filter(|v| v.is_finite()).unwrap_or(0.0)
        }
    }
}

/// One trial of one strategy, scored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrialResult {
    pub strategy: Strategy,
    pub trial: usize,
    pub settings: BTreeMap<String, Json>,
    /// Per tuning seed, in order: validation accuracy at the selected epoch (null: diverged
    /// or no epoch).
    pub val_acc: Vec<Option<f64>>,
    pub n_diverged: usize,
    /// The score: mean over the tuning seeds, a diverged run counting 0.
    pub val_acc_mean: f64,
    pub selected: bool,
}

/// The index of the best trial: highest score, ties → earliest. None for no trials.
pub fn best(scores: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &s) in scores.iter().enumerate() {
        let s = if s.is_nan() { f64::NEG_INFINITY } else { s };
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map(|(i, _)| i)
}

/// Where the tuning stage stands.
#[derive(Clone, Debug, PartialEq)]
pub enum TuneState {
    /// Runs still missing (complete, total).
    Incomplete { complete: usize, total: usize },
    /// Every tuning run is complete: the selected trial per strategy entry, and every trial.
    Done {
        selected: Vec<usize>,
        trials: Vec<TrialResult>,
    },
}

impl TunedStudy {
    /// Reads the tuning runs' summaries and, when all are complete, selects.
    pub fn tune_state(&self) -> TuneState {
        let mut by_id: BTreeMap<&str, RunScore> = BTreeMap::new();
        let total = self.tune.runs.len();
        for r in &self.tune.runs {
            if let RunState::Complete(s) = run_state(&r.dir, &r.run_id) {
                by_id.insert(r.run_id.as_str(), RunScore::of(&s));
            }
        }
        if by_id.len() < total {
            return TuneState::Incomplete {
                complete: by_id.len(),
                total,
            };
        }
        let mut trials = Vec::new();
        let mut selected = Vec::new();
        for (si, strategy) in self.strategies().into_iter().enumerate() {
            let mut mine: Vec<TrialResult> = (0..self.tune_spec.budget)
                .map(|t| {
                    let scores: Vec<RunScore> = self
                        .tune_spec
                        .seeds
                        .iter()
                        .filter_map(|&seed| {
                            self.tune
                                .runs
                                .iter()
                                .find(|r| {
                                    r.strategy == strategy && r.trial == Some(t) && r.seed == seed
                                })
                                .and_then(|r| by_id.get(r.run_id.as_str()).copied())
                        })
                        .collect();
                    let n = scores.len().max(1) as f64;
                    TrialResult {
                        strategy,
                        trial: t,
                        settings: self.trial_settings(si, t),
                        val_acc: scores
                            .iter()
                            .map(|s| (!s.diverged).then_some(s.val_acc).flatten())
                            .collect(),
                        n_diverged: scores.iter().filter(|s| s.diverged).count(),
                        val_acc_mean: scores.iter().map(RunScore::score).sum::<f64>() / n,
                        selected: false,
                    }
                })
                .collect();
            let scores: Vec<f64> = mine.iter().map(|t| t.val_acc_mean).collect();
            let pick = best(&scores).unwrap_or(0);
            if let Some(t) = mine.get_mut(pick) {
                t.selected = true;
            }
            selected.push(pick);
            trials.extend(mine);
        }
        TuneState::Done { selected, trials }
    }

    /// Writes `tuning/trials.csv` and `tuning/selected.json`; returns their paths.
    pub fn write_selection(
        &self,
        selected: &[usize],
        trials: &[TrialResult],
    ) -> Result<Vec<PathBuf>, SweepError> {
        let dir = self.tune.root.clone();
        std::fs::create_dir_all(&dir).map_err(|e| SweepError::io(&dir, e))?;
        let csv = dir.join("trials.csv");
        clipbench_train::sink::write_atomic(&csv, trials_csv(trials).as_bytes())?;
        let json = dir.join("selected.json");
        let doc = SelectedDoc {
            study: &self.study,
            budget: self.tune_spec.budget,
            tuning_seeds: &self.tune_spec.seeds,
            final_seeds: self.final_seeds(),
            tuning_epochs: self.tune_spec.epochs,
            tuning_train_limit: self.tune_spec.train_limit,
            sampler: format!(
                "scrambled Halton sequence, seed {}",
                self.tune_spec.seed.unwrap_or(0)
            ),
            score: "mean over the tuning seeds of the validation accuracy at each run's \
                    selected epoch; a diverged run scores 0; ties go to the earliest trial",
            space: self
                .space
                .iter()
                .filter_map(|s| Some((s.strategy?.name().to_string(), s.described.clone())))
                .collect(),
            selected: self
                .strategies()
                .iter()
                .zip(selected)
                .filter_map(|(s, &t)| {
                    let r = trials.iter().find(|r| r.strategy == *s && r.trial == t)?;
                    Some((
                        s.name().to_string(),
                        Chosen {
                            trial: t,
                            settings: r.settings.clone(),
                            val_acc_mean: r.val_acc_mean,
                        },
                    ))
                })
                .collect(),
            trials,
        };
        let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| SweepError::Run {
            run_id: "selected.json".into(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        clipbench_train::sink::write_atomic(&json, &bytes)?;
        Ok(vec![csv, json])
    }
}

/// `tuning/selected.json` (**contract**, read by `clipbench report`).
#[derive(Serialize)]
struct SelectedDoc<'a> {
    study: &'a str,
    budget: usize,
    tuning_seeds: &'a [u64],
    final_seeds: &'a [u64],
    tuning_epochs: Option<u32>,
    tuning_train_limit: Option<usize>,
    sampler: String,
    score: &'static str,
    /// strategy → key → distribution.
    space: BTreeMap<String, BTreeMap<String, String>>,
    selected: BTreeMap<String, Chosen>,
    trials: &'a [TrialResult],
}

#[derive(Serialize)]
struct Chosen {
    trial: usize,
    settings: BTreeMap<String, Json>,
    val_acc_mean: f64,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per strategy × trial: the settings (one column per key), the score, `selected`.
pub fn trials_csv(trials: &[TrialResult]) -> String {
    let keys: Vec<&String> = {
        let mut k: Vec<&String> = trials.iter().flat_map(|t| t.settings.keys()).collect();
        k.sort();
        k.dedup();
        k
    };
    let mut s = String::from("strategy,trial");
    for k in &keys {
        s.push(',');
        s.push_str(&csv_field(k));
    }
    s.push_str(",n_seeds,n_diverged,val_acc_mean,selected\n");
    for t in trials {
        s.push_str(&format!("{},{}", t.strategy, t.trial));
        for k in &keys {
            s.push(',');
            if let Some(v) = t.settings.get(*k) {
                s.push_str(&csv_field(&v.to_string()));
            }
        }
        s.push_str(&format!(
            ",{},{},{},{}\n",
            t.val_acc.len(),
            t.n_diverged,
            t.val_acc_mean,
            t.selected
        ));
    }
    s
}

/// The path of a study's selection file.
pub fn selected_file(study_root: &Path) -> PathBuf {
    study_root.join(super::TUNING_DIR).join("selected.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_takes_the_highest_score_and_the_earliest_tie() {
        assert_eq!(best(&[0.5, 0.7, 0.7, 0.6]), Some(1));
        assert_eq!(best(&[f64::NAN, 0.1]), Some(1));
        assert_eq!(best(&[]), None);
    }

    #[test]
    fn a_diverged_run_scores_zero() {
        let s = RunScore {
            val_acc: Some(0.9),
            diverged: true,
        };
        assert_eq!(s.score(), 0.0);
        let s = RunScore {
            val_acc: Some(0.9),
            diverged: false,
        };
        assert_eq!(s.score(), 0.9);
    }
}
