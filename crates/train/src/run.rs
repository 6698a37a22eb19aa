//! One training run: data → model → epochs of steps → records, with divergence handling.

use std::collections::BTreeMap;
use std::time::Instant;

use clipbench_clip::{ClipDevice, ClipLayer};
use clipbench_data::{batches, epoch_permutation, Dataset};
use clipbench_nn::model::{ParamKind, SimpleCnn, NUM_CLASSES};
use clipbench_nn::NnDevice;
use dfdx::prelude::*;

use crate::config::RunConfig;
use crate::optim::{Optimizer, ParamUpdate};
use crate::records::*;
use crate::sink::Sink;
use crate::TrainError;

/// What a run writes besides the manifest; the file-backed version is in `out.rs`.
pub struct Sinks<'a> {
    pub metrics: &'a mut dyn Sink<Record>,
    pub timing: &'a mut dyn Sink<TimingRecord>,
}

fn dev_err(e: impl std::fmt::Debug) -> TrainError {
    TrainError::Device(format!("{e:?}"))
}

/// Host-side cross-entropy (f64) and correct count for a batch of logits.
pub fn score(logits: &[f32], labels: &[u8]) -> (f64, usize) {
    let mut loss = 0.0;
    let mut correct = 0;
    for (row, &y) in logits.chunks_exact(NUM_CLASSES).zip(labels) {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        loss += lse - row[y as usize] as f64;
        let argmax = row
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                if v > bv {
                    (i, v)
                } else {
                    (bi, bv)
                }
            })
            .0;
        correct += usize::from(argmax == y as usize);
    }
    (loss, correct)
}

fn one_hot(labels: &[u8]) -> Vec<f32> {
    let mut v = vec![0f32; labels.len() * NUM_CLASSES];
    for (i, &y) in labels.iter().enumerate() {
        v[i * NUM_CLASSES + y as usize] = 1.0;
    }
    v
}

/// Mean test loss and accuracy, without a tape, in batches of 500.
pub fn evaluate<D: NnDevice + ClipDevice>(
    model: &SimpleCnn<D>,
    data: &Dataset,
    dev: &D,
) -> Result<(f64, f64), TrainError> {
    let order: Vec<usize> = (0..data.len()).collect();
    let [c, h, w] = data.shape();
    let (mut loss, mut correct) = (0.0, 0);
    for b in batches(data, &order, 500, false) {
        let n = b.labels.len();
        let x = dev
            .try_tensor_from_vec(b.images, (n, c, h, w))
            .map_err(dev_err)?;
        let (logits, _) = model.forward(x, false)?;
        let (l, k) = score(&logits.as_vec(), &b.labels);
        loss += l;
        correct += k;
    }
    let n = data.len().max(1) as f64;
    Ok((loss / n, correct as f64 / n))
}

const FROZEN_THETA: ParamKind = ParamKind::Theta { trainable: false };

/// The per-clip-layer figures of a step record.
#[derive(Default)]
struct ThetaInfo {
    theta: BTreeMap<String, f64>,
    theta_grad: BTreeMap<String, f64>,
    clip_fraction: BTreeMap<String, f64>,
    theta_channels: BTreeMap<String, Vec<f64>>,
}

impl ThetaInfo {
    fn add<D: Device<f32>>(
        &mut self,
        name: &str,
        layer: &ClipLayer<D>,
        grads: &Gradients<f32, D>,
        stats: Option<clipbench_clip::ClipStats>,
    ) {
        if let Some((mean, all)) = layer_theta(layer) {
            self.theta.insert(name.into(), mean);
            self.theta_grad
                .insert(name.into(), layer.theta_grad(grads).iter().sum());
            if all.len() > 1 {
                self.theta_channels.insert(name.into(), all);
            }
        }
        if let Some(st) = stats {
            self.clip_fraction.insert(name.into(), st.fraction());
        }
    }
}

fn layer_theta<D: Device<f32>>(c: &ClipLayer<D>) -> Option<(f64, Vec<f64>)> {
    let t = c.theta();
    (!t.is_empty()).then(|| (t.iter().sum::<f64>() / t.len() as f64, t))
}

/// Trains `model` per `cfg` on `train`/`test`, writing records to `sinks`.
pub fn train_loop<D: NnDevice + ClipDevice>(
    cfg: &RunConfig,
    run_id: &str,
    model: &mut SimpleCnn<D>,
    train: &Dataset,
    test: &Dataset,
    dev: &D,
    sinks: Sinks<'_>,
) -> Result<Summary, TrainError> {
    let [c, h, w] = train.shape();
    let steps_per_epoch = train.len().div_ceil(cfg.batch_size) as u64;
    let total_steps = steps_per_epoch * u64::from(cfg.epochs);
    let n_trainable = model
        .params_mut()
        .iter()
        .filter(|p| p.kind != FROZEN_THETA)
        .count();
    let mut opt = Optimizer::new(cfg.optimizer, n_trainable);
    let base_lr = cfg.optimizer.lr();
    let mut summary = Summary {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.to_string(),
        status: RunStatus::Completed,
        strategy: cfg.model.clip.strategy.to_string(),
        seed: cfg.seed,
        epochs_completed: 0,
        steps: 0,
        final_test_acc: None,
        best_test_acc: None,
        final_test_loss: None,
        final_train_loss: None,
        diverged_at_step: None,
        final_theta: BTreeMap::new(),
        max_grad_norm: 0.0,
        train_wall_s: 0.0,
    };
    let mut step = 0u64;
    let run_start = Instant::now();
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
            let x = dev
                .try_tensor_from_vec(b.images, (n, c, h, w))
                .map_err(dev_err)?;
            let target = dev
                .try_tensor_from_vec(one_hot(&b.labels), (n, NUM_CLASSES))
                .map_err(dev_err)?;
            let (logits, stats) = model.forward(x.traced(Gradients::leaky()), log_now)?;
            let (bl, bc) = score(&logits.as_vec(), &b.labels);
            let loss = cross_entropy_with_logits_loss(logits, target);
            let loss_val = loss.as_vec().first().copied().unwrap_or(f32::NAN) as f64;
            let mut grads = loss.backward();

            // θ figures first: they read the model, the update below borrows it mutably.
            let mut theta_info = ThetaInfo::default();
            if log_now {
                for (name, layer, st) in [
                    ("clip1", &model.clip1, stats[0]),
                    ("clip2", &model.clip2, stats[1]),
                ] {
                    theta_info.add(name, layer, &grads, st);
                }
            }

            // Gradients to the host, norms in f64, divergence check before any update.
            let mut params = model.params_mut();
            let mut host_grads = Vec::with_capacity(params.len());
            let mut by_layer: BTreeMap<String, f64> = BTreeMap::new();
            let mut bad = (!loss_val.is_finite()).then(|| "loss".to_string());
            for p in &params {
                let g = p.grad(&mut grads)?;
                let sq: f64 = g.iter().map(|&v| (v as f64) * (v as f64)).sum();
                if !sq.is_finite() && bad.is_none() {
                    bad = Some(format!("gradient of {}", p.name));
                }
                *by_layer.entry(p.layer.to_string()).or_default() += sq;
                host_grads.push(g);
            }
            if let Some(reason) = bad {
                sinks.metrics.write(&Record::Diverged(DivergedRecord {
                    step,
                    epoch,
                    reason,
                }))?;
                summary.status = RunStatus::Diverged;
                summary.diverged_at_step = Some(step);
                summary.steps = step;
                break 'epochs;
            }
            let grad_norm = by_layer.values().sum::<f64>().sqrt();
            summary.max_grad_norm = summary.max_grad_norm.max(grad_norm);
            if log_now {
                sinks.metrics.write(&Record::Step(StepRecord {
                    step,
                    epoch,
                    loss: loss_val,
                    lr,
                    grad_norm,
                    grad_norm_by_layer: by_layer.into_iter().map(|(k, v)| (k, v.sqrt())).collect(),
                    theta: theta_info.theta,
                    theta_grad: theta_info.theta_grad,
                    clip_fraction: theta_info.clip_fraction,
                    theta_channels: theta_info.theta_channels,
                }))?;
            }

            // The update: trainable parameters only, in the fixed parameter order.
            let mut slots: Vec<(usize, Vec<f32>)> = params
                .iter()
                .enumerate()
                .filter(|(_, p)| p.kind != FROZEN_THETA)
                .map(|(i, p)| (i, p.values()))
                .collect();
            let mut ups: Vec<ParamUpdate<'_>> = slots
                .iter_mut()
                .map(|(i, v)| ParamUpdate {
                    values: v,
                    grad: &host_grads[*i],
                    is_theta: matches!(params[*i].kind, ParamKind::Theta { .. }),
                })
                .collect();
            opt.step(lr, &mut ups);
            for (i, v) in slots {
                params[i].set(&v);
            }
            loss_sum += bl;
            correct += bc;
            seen += n;
        }
        let train_wall = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let (test_loss, test_acc) = evaluate(model, test, dev)?;
        let eval_wall = t1.elapsed().as_secs_f64();
        let train_loss = loss_sum / seen.max(1) as f64;
        sinks.metrics.write(&Record::Epoch(EpochRecord {
            epoch,
            step,
            train_loss,
            train_acc: correct as f64 / seen.max(1) as f64,
            test_loss,
            test_acc,
        }))?;
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
        summary.final_test_acc = Some(test_acc);
        summary.final_test_loss = Some(test_loss);
        summary.final_train_loss = Some(train_loss);
        summary.best_test_acc = Some(summary.best_test_acc.map_or(test_acc, |b| b.max(test_acc)));
    }
    sinks.metrics.flush()?;
    sinks.timing.flush()?;
    for (name, layer) in [("clip1", &model.clip1), ("clip2", &model.clip2)] {
        if let Some((mean, _)) = layer_theta(layer) {
            summary.final_theta.insert(name.into(), mean);
        }
    }
    summary.train_wall_s = run_start.elapsed().as_secs_f64();
    Ok(summary)
}
