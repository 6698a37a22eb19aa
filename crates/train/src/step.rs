//! One training step, shared by the training loop and `bench-train` (so the benchmark times
//! exactly what a run does): forward, loss, backward, gradients to the host with f64 norms,
//! the divergence check, and the optimizer update.

use std::collections::BTreeMap;

use clipbench_clip::threshold::project_f32;
use clipbench_clip::{ClipDevice, ClipLayer};
use clipbench_nn::model::{ParamKind, SimpleCnn, NUM_CLASSES};
use clipbench_nn::NnDevice;
use dfdx::prelude::*;

use crate::optim::{Optimizer, ParamUpdate};
use crate::TrainError;

fn dev_err(e: impl std::fmt::Debug) -> TrainError {
    TrainError::Device(format!("{e:?}"))
}

/// How many parameter tensors the optimizer updates (fixed θ are not among them).
pub fn n_trainable<D: NnDevice + ClipDevice>(model: &mut SimpleCnn<D>) -> usize {
    model
        .params_mut()
        .iter()
        .filter(|p| p.kind_trainable())
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

/// The per-clip-layer figures of a logged step (θ before the update).
#[derive(Debug, Default)]
pub struct ThetaInfo {
    pub theta: BTreeMap<String, f64>,
    /// ∂L/∂θ of the loss (the L2 on θ not included), summed over channels.
    pub theta_grad: BTreeMap<String, f64>,
    pub clip_fraction: BTreeMap<String, f64>,
    pub theta_channels: BTreeMap<String, Vec<f64>>,
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
    /// L2 norm of the network weights' gradient (conv and linear weights and biases: the same
    /// parameters for every strategy; θ's gradient is logged apart, in `theta_grad`).
    pub grad_norm: f64,
    /// Per weight layer: the gradient's L2 norm.
    pub grad_norm_by_layer: BTreeMap<String, f64>,
    /// θ entries this step's projection onto [θ_min, ∞) moved, per clip layer (`direct` θ).
    pub theta_projected: BTreeMap<String, u64>,
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
    let _warm = crate::warm::KeepWarm::start();
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

    // Gradients to the host, norms in f64, divergence check (every parameter, θ included)
    // before any update.
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
        if !matches!(p.kind, ParamKind::Theta { .. }) {
            *by_layer.entry(p.layer.to_string()).or_default() += sq;
        }
        host_grads.push(g);
    }
    if let Some(reason) = bad {
        return Ok(StepOutcome::Diverged(reason));
    }
    let grad_norm = by_layer.values().sum::<f64>().sqrt();

    // θ figures from the pre-update values.
    let theta = log.then(|| {
        let mut info = ThetaInfo::default();
        for (i, p) in params.iter().enumerate() {
            let ParamKind::Theta { param, .. } = p.kind else {
                continue;
            };
            let values: Vec<f64> = p
                .values()
                .into_iter()
                .map(|v| param.theta_from_param(f64::from(v)))
                .collect();
            let dtheta: f64 = p
                .values()
                .into_iter()
                .zip(&host_grads[i])
                .map(|(v, &g)| f64::from(g) / param.dtheta_dparam(f64::from(v)))
                .sum();
            info.theta.insert(
                p.layer.into(),
                values.iter().sum::<f64>() / values.len() as f64,
            );
            info.theta_grad.insert(p.layer.into(), dtheta);
            if values.len() > 1 {
                info.theta_channels.insert(p.layer.into(), values);
            }
        }
        for (name, st) in [("clip1", stats[0]), ("clip2", stats[1])] {
            if let Some(st) = st {
                info.clip_fraction.insert(name.into(), st.fraction());
            }
        }
        info
    });

    // The update: trainable parameters only, in the fixed parameter order. The L2 on θ acts
    // on θ (PACT's λ_α): ∂/∂p of λθ²/2 is λ·θ·dθ/dp, added to the parameter's gradient here.
    let lambda = opt.config().theta_lambda();
    let mut slots: Vec<(usize, Vec<f32>, Vec<f32>)> = params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind_trainable())
        .map(|(i, p)| {
            let values = p.values();
            let grad = match p.kind {
                ParamKind::Theta { param, .. } if lambda != 0.0 => values
                    .iter()
                    .zip(&host_grads[i])
                    .map(|(&v, &g)| {
                        let v = f64::from(v);
                        (f64::from(g) + lambda * param.theta_from_param(v) * param.dtheta_dparam(v))
                            as f32
                    })
                    .collect(),
                _ => std::mem::take(&mut host_grads[i]),
            };
            (i, values, grad)
        })
        .collect();
    let mut ups: Vec<ParamUpdate<'_>> = slots
        .iter_mut()
        .map(|(i, v, g)| ParamUpdate {
            values: v,
            grad: g,
            decay: !matches!(params[*i].kind, ParamKind::Theta { .. }),
        })
        .collect();
    opt.step(lr, &mut ups);
    let mut theta_projected = BTreeMap::new();
    for (i, mut v, _) in slots {
        if let ParamKind::Theta { param, .. } = params[i].kind {
            if param.projects() {
                let moved = v.iter_mut().map(project_f32).filter(|&m| m).count() as u64;
                theta_projected.insert(params[i].layer.to_string(), moved);
            }
        }
        params[i].set(&v);
    }
    Ok(StepOutcome::Updated(StepStats {
        loss: loss_val,
        loss_sum,
        correct,
        grad_norm,
        grad_norm_by_layer: by_layer.into_iter().map(|(k, v)| (k, v.sqrt())).collect(),
        theta_projected,
        theta,
    }))
}
