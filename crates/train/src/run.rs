//! One training run: data → model → epochs of steps → records, with divergence handling.

use std::collections::BTreeMap;
use std::time::Instant;

use clipbench_clip::ClipDevice;
use clipbench_data::{batches, epoch_permutation, Dataset};
use clipbench_nn::model::SimpleCnn;
use clipbench_nn::NnDevice;

use crate::config::{RunConfig, Selection};
use crate::optim::Optimizer;
use crate::records::*;
use crate::sink::Sink;
pub use crate::step::score;
use crate::step::{layer_theta, n_trainable, train_step, StepOutcome};
use crate::TrainError;

/// What a run writes besides the manifest; the file-backed version is in `out.rs`.
pub struct Sinks<'a> {
    pub metrics: &'a mut dyn Sink<Record>,
    pub timing: &'a mut dyn Sink<TimingRecord>,
}

fn dev_err(e: impl std::fmt::Debug) -> TrainError {
    TrainError::Device(format!("{e:?}"))
}

/// Mean test loss and accuracy, without a tape, in batches of 500 (the logits and the loss
/// sums per 500 images, as always); on Cpu the conv and pool layers run in chunks of
/// `NnDevice::EVAL_CHUNK` images, which gives the same features bit for bit, faster.
pub fn evaluate<D: NnDevice + ClipDevice>(
    model: &SimpleCnn<D>,
    data: &Dataset,
    dev: &D,
) -> Result<(f64, f64), TrainError> {
    let order: Vec<usize> = (0..data.len()).collect();
    let [c, h, w] = data.shape();
    let per = c * h * w;
    let (mut loss, mut correct) = (0.0, 0);
    for b in batches(data, &order, 500, false) {
        let n = b.labels.len();
        let logits = match D::EVAL_CHUNK {
            Some(k) if k < n => {
                let flat = model.cfg.flat_features();
                let mut features = Vec::with_capacity(n * flat);
                for chunk in b.images.chunks(k * per) {
                    let x = dev
                        .try_tensor_from_vec(chunk.to_vec(), (chunk.len() / per, c, h, w))
                        .map_err(dev_err)?;
                    features.extend(model.features(x, false)?.0.as_vec());
                }
                let x = dev
                    .try_tensor_from_vec(features, (n, flat))
                    .map_err(dev_err)?;
                model.head(x)?
            }
            _ => {
                let x = dev
                    .try_tensor_from_vec(b.images, (n, c, h, w))
                    .map_err(dev_err)?;
                model.forward(x, false)?.0
            }
        };
        let (l, k) = score(&logits.as_vec(), &b.labels);
        loss += l;
        correct += k;
    }
    let n = data.len().max(1) as f64;
    Ok((loss / n, correct as f64 / n))
}

/// The three data sets of a run.
#[derive(Clone, Copy)]
pub struct RunSets<'a> {
    pub train: &'a Dataset,
    /// Empty when the config holds no validation images out.
    pub validation: &'a Dataset,
    pub test: &'a Dataset,
}

/// The epoch a run reports, as the epochs finish.
#[derive(Debug, Default)]
struct Selector {
    /// The selected epoch so far.
    best: Option<Chosen>,
}

#[derive(Debug, Clone, Copy)]
struct Chosen {
    epoch: u32,
    val_acc: Option<f64>,
    /// (loss, accuracy) on test; None in a run that evaluates no test split.
    test: Option<(f64, f64)>,
}

impl Selector {
    fn offer(&mut self, sel: Selection, epoch: u32, val: Option<f64>, test: Option<(f64, f64)>) {
        let take = match (sel, &self.best, val) {
            (Selection::Last, _, _) | (_, None, _) => true,
            // Strictly better only: ties keep the earliest epoch. A NaN never wins.
            (
                Selection::BestVal,
                Some(Chosen {
                    val_acc: Some(b), ..
                }),
                Some(v),
            ) => v > *b,
            (Selection::BestVal, Some(Chosen { val_acc: None, .. }), Some(v)) => !v.is_nan(),
            (Selection::BestVal, Some(_), None) => false,
        };
        if take {
            self.best = Some(Chosen {
                epoch,
                val_acc: val,
                test,
            });
        }
    }
}

/// Trains `model` per `cfg` on `sets`, writing records to `sinks`.
pub fn train_loop<D: NnDevice + ClipDevice>(
    cfg: &RunConfig,
    run_id: &str,
    model: &mut SimpleCnn<D>,
    sets: RunSets<'_>,
    dev: &D,
    sinks: Sinks<'_>,
) -> Result<Summary, TrainError> {
    let RunSets {
        train,
        validation,
        test,
    } = sets;
    let steps_per_epoch = train.len().div_ceil(cfg.batch_size) as u64;
    let total_steps = steps_per_epoch * u64::from(cfg.epochs);
    let mut opt = Optimizer::new(cfg.optimizer, n_trainable(model));
    let base_lr = cfg.optimizer.lr();
    let mut summary = Summary {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.to_string(),
        status: RunStatus::Completed,
        strategy: cfg.model.clip.strategy.to_string(),
        seed: cfg.seed,
        epochs_completed: 0,
        steps: 0,
        selection: cfg.selection.name().to_string(),
        selected_epoch: None,
        val_acc_at_selected: None,
        test_acc_at_selected: None,
        test_loss_at_selected: None,
        final_test_acc: None,
        final_test_loss: None,
        final_val_acc: None,
        final_train_loss: None,
        diverged_at_step: None,
        final_theta: BTreeMap::new(),
        theta_projected: BTreeMap::new(),
        max_grad_norm: 0.0,
        train_wall_s: 0.0,
        eval_wall_s: Some(0.0),
        run_wall_s: None,
        load_wall_s: None,
    };
    let mut selector = Selector::default();
    let mut projected: BTreeMap<String, u64> = BTreeMap::new();
    let mut step = 0u64;
    let run_start = Instant::now();
    // Training and evaluation time apart: throughput and time to target are about training.
    let (mut train_s, mut eval_s) = (0.0, 0.0);
    'epochs: for epoch in 0..cfg.epochs {
        let t0 = Instant::now();
        let order = epoch_permutation(train.len(), cfg.seed, u64::from(epoch));
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
        for b in batches(train, &order, cfg.batch_size, false) {
            step += 1;
            let n = b.labels.len();
            let log_now = step == 1 || step.is_multiple_of(cfg.log_every);
            let lr = cfg
                .schedule
                .lr(base_lr, step - 1, steps_per_epoch, total_steps);
            let st = match train_step(model, &mut opt, dev, b.images, &b.labels, lr, log_now)? {
                StepOutcome::Updated(st) => st,
                StepOutcome::Diverged(reason) => {
                    sinks.metrics.write(&Record::Diverged(DivergedRecord {
                        step,
                        epoch,
                        reason,
                    }))?;
                    summary.status = RunStatus::Diverged;
                    summary.diverged_at_step = Some(step);
                    summary.steps = step;
                    train_s += t0.elapsed().as_secs_f64();
                    break 'epochs;
                }
            };
            summary.max_grad_norm = summary.max_grad_norm.max(st.grad_norm);
            for (layer, k) in &st.theta_projected {
                *projected.entry(layer.clone()).or_default() += k;
            }
            if let Some(theta) = st.theta {
                sinks.metrics.write(&Record::Step(StepRecord {
                    step,
                    epoch,
                    loss: st.loss,
                    lr,
                    grad_norm: st.grad_norm,
                    grad_norm_by_layer: st.grad_norm_by_layer,
                    theta: theta.theta,
                    theta_grad: theta.theta_grad,
                    clip_fraction: theta.clip_fraction,
                    theta_channels: theta.theta_channels,
                    theta_projected: projected.clone(),
                }))?;
            }
            loss_sum += st.loss_sum;
            correct += st.correct;
            seen += n;
        }
        let train_wall = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let val = if validation.is_empty() {
            None
        } else {
            Some(evaluate(model, validation, dev)?)
        };
        // A tuning trial holds no test images: test stays sealed until the final stage.
        let tested = if test.is_empty() {
            None
        } else {
            Some(evaluate(model, test, dev)?)
        };
        let eval_wall = t1.elapsed().as_secs_f64();
        train_s += train_wall;
        eval_s += eval_wall;
        let train_loss = loss_sum / seen.max(1) as f64;
        sinks.metrics.write(&Record::Epoch(EpochRecord {
            epoch,
            step,
            train_loss,
            train_acc: correct as f64 / seen.max(1) as f64,
            val_loss: val.map(|v| v.0),
            val_acc: val.map(|v| v.1),
            test_loss: tested.map(|t| t.0),
            test_acc: tested.map(|t| t.1),
        }))?;
        selector.offer(cfg.selection, epoch, val.map(|v| v.1), tested);
        sinks.timing.write(&TimingRecord {
            epoch,
            train_wall_s: train_wall,
            eval_wall_s: eval_wall,
            images_per_s: seen as f64 / train_wall.max(1e-9),
        })?;
        sinks.metrics.flush()?;
        sinks.timing.flush()?;
        summary.epochs_completed = epoch + 1;
        summary.steps = step;
        summary.final_test_acc = tested.map(|t| t.1);
        summary.final_test_loss = tested.map(|t| t.0);
        summary.final_val_acc = val.map(|v| v.1);
        summary.final_train_loss = Some(train_loss);
    }
    if let Some(c) = selector.best {
        summary.selected_epoch = Some(c.epoch);
        summary.val_acc_at_selected = c.val_acc;
        summary.test_acc_at_selected = c.test.map(|t| t.1);
        summary.test_loss_at_selected = c.test.map(|t| t.0);
    }
    summary.theta_projected = projected;
    sinks.metrics.flush()?;
    sinks.timing.flush()?;
    for (name, layer) in [("clip1", &model.clip1), ("clip2", &model.clip2)] {
        if let Some((mean, _)) = layer_theta(layer) {
            summary.final_theta.insert(name.into(), mean);
        }
    }
    summary.train_wall_s = train_s;
    summary.eval_wall_s = Some(eval_s);
    summary.run_wall_s = Some(run_start.elapsed().as_secs_f64());
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clipbench_clip::Strategy;
    use clipbench_data::{synthetic, SyntheticConfig};
    use clipbench_nn::model::ModelConfig;
    use dfdx::prelude::*;

    /// Evaluation with the conv and pool layers in chunks of EVAL_CHUNK images gives the bits
    /// of the whole 500-image batches (the way it ran before): same logits, same sums.
    #[test]
    fn chunked_evaluation_matches_whole_batches_bit_for_bit() -> Result<(), TrainError> {
        let dev = Cpu::default();
        let mut sc = SyntheticConfig::for_shape([1, 28, 28]);
        sc.test_len = 1130; // two full batches of 500 and a partial one, chunks not dividing 500
        let data = synthetic(&sc)?.test;
        for strategy in [Strategy::None, Strategy::TanhLearnable, Strategy::Pact] {
            let model = SimpleCnn::new(ModelConfig::new([1, 28, 28], strategy), 7, &dev)?;
            let (loss, acc) = evaluate(&model, &data, &dev)?;
            let order: Vec<usize> = (0..data.len()).collect();
            let (mut want_loss, mut want_correct) = (0.0, 0);
            for b in batches(&data, &order, 500, false) {
                let n = b.labels.len();
                let x = dev.tensor_from_vec(b.images, (n, 1, 28, 28));
                let (logits, _) = model.forward(x, false)?;
                let (l, k) = score(&logits.as_vec(), &b.labels);
                want_loss += l;
                want_correct += k;
            }
            let n = data.len() as f64;
            assert_eq!(loss.to_bits(), (want_loss / n).to_bits(), "{strategy}");
            assert_eq!(
                acc.to_bits(),
                (want_correct as f64 / n).to_bits(),
                "{strategy}"
            );
        }
        Ok(())
    }
}
