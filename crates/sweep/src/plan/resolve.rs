//! One run's `RunConfig`: the study's base values for a strategy entry, then its grid, tuned
//! or tuning-stage settings, validated, with each problem traced back to the value that
//! caused it.

use clipbench_nn::model::ModelConfig;
use clipbench_train::config::ConfigProblem;
use clipbench_train::RunConfig;
use serde_json::Value as Json;

use super::Ctx;
use crate::error::Problem;
use crate::grid;
use crate::source::{keys, Seg};
use crate::spec::{StrategyEntry, StudySpec};

/// The run config of one strategy entry before grid values (as JSON: grids edit it).
pub(crate) fn base_config(spec: &StudySpec, e: &StrategyEntry, seed: u64) -> RunConfig {
    let input = spec.model.input.unwrap_or(spec.dataset.shape());
    let mut model = ModelConfig::new(input, e.strategy);
    if let Some(w) = spec.model.widths {
        model.widths = w;
    }
    let d = spec.model.clip;
    model.clip.theta0 = e.clip.theta0.or(d.theta0).unwrap_or(model.clip.theta0);
    model.clip.beta = e.clip.beta.or(d.beta).unwrap_or(model.clip.beta);
    model.clip.per_channel = e.clip.per_channel.or(d.per_channel).unwrap_or(false);
    model.clip.theta_param = e
        .clip
        .theta_param
        .or(d.theta_param)
        .or(spec.theta_param)
        .unwrap_or_default();
    RunConfig {
        dataset: spec.dataset,
        model,
        optimizer: spec.optimizer,
        schedule: spec.schedule,
        epochs: spec.epochs,
        batch_size: spec.batch_size.unwrap_or(64),
        log_every: spec.log_every.unwrap_or(50),
        seed,
        threads: spec.threads.unwrap_or(1),
        train_limit: spec.train_limit,
        test_limit: spec.test_limit,
        evaluate_test: true,
        device: spec.device,
        validation: Some(
            spec.validation
                .unwrap_or_else(|| spec.dataset.default_validation()),
        ),
        split_seed: spec.split_seed.unwrap_or(0),
        selection: spec.selection.unwrap_or_default(),
    }
}

/// One setting a run takes from somewhere other than its strategy's base config: a grid
/// value, a tuned value, a tuning override. `origin` is where the study file says it.
#[derive(Clone, Debug)]
pub(crate) struct Setting {
    pub key: String,
    pub value: Json,
    pub origin: Vec<Seg>,
}

impl Ctx<'_> {
    /// The resolved config of strategy entry `si` with `seed` and `settings` applied in
    /// order; None (with the problems recorded) when it does not validate.
    pub(crate) fn resolve(
        &mut self,
        si: usize,
        seed: u64,
        settings: &[Setting],
    ) -> Option<RunConfig> {
        let base = base_config(self.spec, &self.spec.strategies[si], seed);
        let cfg = self.with_settings(base, settings)?;
        let problems = cfg.problems();
        if problems.is_empty() {
            return Some(cfg);
        }
        for pr in problems {
            let p = self.config_problem(si, settings, pr);
            self.push(p);
        }
        None
    }

    /// `base` with `settings` applied, through JSON (the settings are addressed by dotted
    /// key); None when serde rejects the result.
    fn with_settings(&mut self, base: RunConfig, settings: &[Setting]) -> Option<RunConfig> {
        if settings.is_empty() {
            return Some(base);
        }
        let mut json = serde_json::to_value(&base).unwrap_or(Json::Null);
        for st in settings {
            json = grid::apply(&json, &st.key, &st.value);
        }
        match serde_json::from_value(json) {
            Ok(c) => Some(c),
            Err(e) => {
                let at = settings
                    .last()
                    .map(|s| s.origin.clone())
                    .unwrap_or_default();
                self.at(&at, format!("does not fit the run config: {e}"));
                None
            }
        }
    }

    /// A config problem placed at the value that set its key: the last setting of it, else
    /// the strategy entry or study key it came from.
    fn config_problem(&self, si: usize, settings: &[Setting], pr: ConfigProblem) -> Problem {
        let k = pr.key;
        let path = settings
            .iter()
            .rev()
            .find(|s| s.key == k)
            .map(|s| s.origin.clone())
            .unwrap_or_else(|| self.origin(&k, si));
        if self.src.has(&path) && path == keys(&k) {
            return self.src.problem_at_path(&path, &pr.message);
        }
        // The place is a grid value, a tuned value or a strategy entry, or the key has no
        // place in the file (a default): name the key too.
        let mut p = self
            .src
            .problem_at_path(&path, format!("{k}: {}", pr.message));
        if !self.src.has(&path) {
            p.key = Some(k);
        }
        p
    }
}
