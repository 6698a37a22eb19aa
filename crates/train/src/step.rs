//! One training step, shared by the training loop and `bench-train` (so the benchmark times
//! exactly what a run does): forward, loss, backward, gradients to the host with f64 norms,
//! the divergence check, and the optimizer update.

use std::collections::BTreeMap;

use clipbench_clip::{ClipDevice, ClipLayer, ClipStats};
use clipbench_nn::model::{ParamKind, SimpleCnn, NUM_CLASSES};
use clipbench_nn::NnDevice;
use dfdx::prelude::*;

use crate::optim::{Optimizer, ParamUpdate};
use crate::TrainError;

fn dev_err(e: impl std::fmt::Debug) -> TrainError {
    TrainError::Device(format!("{e:?}"))
}

const FROZEN_THETA: ParamKind = ParamKind::Theta { trainable: false };

/// How many parameter tensors the optimizer updates (fixed θ are not among them).
pub fn n_trainable<D: NnDevice + ClipDevice>(model: &mut SimpleCnn<D>) -> usize {
    model
        .params_mut()
        .iter()
        .filter(|p| p.kind != FROZEN_THETA)
        .count()
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

/// The per-clip-layer figures of a logged step.
#[derive(Debug, Default)]
pub struct ThetaInfo {
    pub theta: BTreeMap<String, f64>,
    pub theta_grad: BTreeMap<String, f64>,
    pub clip_fraction: BTreeMap<String, f64>,
    pub theta_channels: BTreeMap<String, Vec<f64>>,
}

impl ThetaInfo {
    fn add<D: Device<f32>>(
        &mut self,
        name: &str,
        layer: &ClipLayer<D>,
        grads: &Gradients<f32, D>,
        stats: Option<ClipStats>,
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

/// A layer's mean θ and every θ entry; `None` for `none`.
pub fn layer_theta<D: Device<f32>>(c: &ClipLayer<D>) -> Option<(f64, Vec<f64>)> {
    let t = c.theta();
    (!t.is_empty()).then(|| (t.iter().sum::<f64>() / t.len() as f64, t))
}

/// What one step measured.
#[derive(Debug)]
pub struct StepStats {
    /// The loss dfdx computed (f32, mean over the batch).
    pub loss: f64,
    /// Σ of the per-sample cross-entropy in f64, and the correct count (for epoch figures).
    pub loss_sum: f64,
    pub correct: usize,
    pub grad_norm: f64,
    /// Per layer: the gradient's L2 norm.
    pub grad_norm_by_layer: BTreeMap<String, f64>,
    /// Only when the step was asked to log.
    pub theta: Option<ThetaInfo>,
}

#[derive(Debug)]
pub enum StepOutcome {
    Updated(StepStats),
    /// A non-finite loss or gradient: nothing was updated. The reason names what.
    Diverged(String),
}

/// One step on a batch of `images` (N·C·H·W, normalised) with `labels`.
pub fn train_step<D: NnDevice + ClipDevice>(
    model: &mut SimpleCnn<D>,
    opt: &mut Optimizer,
    dev: &D,
    images: Vec<f32>,
    labels: &[u8],
    lr: f64,
    log: bool,
) -> Result<StepOutcome, TrainError> {
    let n = labels.len();
    let [c, h, w] = model.cfg.input;
    if n == 0 || images.len() != n * c * h * w {
        return Err(TrainError::Config(format!(
            "a batch of {n} labels and {} image values does not fit model.input = {:?} \
             (expected {} values per image)",
            images.len(),
            model.cfg.input,
            c * h * w
        )));
    }
    let x = dev
        .try_tensor_from_vec(images, (n, c, h, w))
        .map_err(dev_err)?;
    let target = dev
        .try_tensor_from_vec(one_hot(labels), (n, NUM_CLASSES))
        .map_err(dev_err)?;
    let (logits, stats) = model.forward(x.traced(Gradients::leaky()), log)?;
    let (loss_sum, correct) = score(&logits.as_vec(), labels);
    let loss = cross_entropy_with_logits_loss(logits, target);
    let loss_val = loss.as_vec().first().copied().unwrap_or(f32::NAN) as f64;
    let mut grads = loss.backward();

    // θ figures first: they read the model, the update below borrows it mutably.
    let theta = log.then(|| {
        let mut info = ThetaInfo::default();
        for (name, layer, st) in [
            ("clip1", &model.clip1, stats[0]),
            ("clip2", &model.clip2, stats[1]),
        ] {
            info.add(name, layer, &grads, st);
        }
        info
    });

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
        return Ok(StepOutcome::Diverged(reason));
    }
    let grad_norm = by_layer.values().sum::<f64>().sqrt();

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
    Ok(StepOutcome::Updated(StepStats {
        loss: loss_val,
        loss_sum,
        correct,
        grad_norm,
        grad_norm_by_layer: by_layer.into_iter().map(|(k, v)| (k, v.sqrt())).collect(),
        theta,
    }))
}
