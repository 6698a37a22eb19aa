//! The logged gradient norm is the norm of the network weights' gradient, checked against an
//! independent computation: the directional derivative of the loss along the gradient's own
//! direction u = g/‖g‖ is ∇L·u = ‖g‖, measured by central differences of the loss itself
//! (forward passes only). A norm summed over other parameters (θ) or a wrong layer would not
//! match it.

use clipbench_clip::Strategy;
use clipbench_data::rng::SplitMix64;
use clipbench_nn::model::{ModelConfig, ParamKind, SimpleCnn, NUM_CLASSES};
use clipbench_train::optim::{Optimizer, OptimizerConfig};
use clipbench_train::step::{score, train_step, StepOutcome};
use dfdx::prelude::*;

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

const N: usize = 16;

fn batch() -> (Vec<f32>, Vec<u8>) {
    let mut rng = SplitMix64::new(5);
    let images = (0..N * 784)
        .map(|_| rng.uniform(-1.0, 2.0) as f32)
        .collect();
    let labels = (0..N).map(|i| (i % NUM_CLASSES) as u8).collect();
    (images, labels)
}

/// Mean cross-entropy of the batch, forward only, in f64.
fn loss(model: &SimpleCnn<Cpu>, dev: &Cpu, images: &[f32], labels: &[u8]) -> Res<f64> {
    let x = dev.tensor_from_vec(images.to_vec(), (N, 1, 28, 28));
    let (logits, _) = model.forward(x, false)?;
    Ok(score(&logits.as_vec(), labels).0 / N as f64)
}

#[test]
fn the_logged_norm_is_the_directional_derivative_along_the_weight_gradient() -> Res {
    let dev = Cpu::default();
    let (images, labels) = batch();
    for s in [Strategy::None, Strategy::TanhLearnable, Strategy::HardClamp] {
        let mut model = SimpleCnn::new(ModelConfig::new([1, 28, 28], s), 3, &dev)?;
        // The weights' gradient, by backward.
        let x = dev.tensor_from_vec(images.clone(), (N, 1, 28, 28));
        let mut onehot = vec![0f32; N * NUM_CLASSES];
        for (i, &y) in labels.iter().enumerate() {
            onehot[i * NUM_CLASSES + y as usize] = 1.0;
        }
        let target = dev.tensor_from_vec(onehot, (N, NUM_CLASSES));
        let (logits, _) = model.forward(x.traced(Gradients::leaky()), false)?;
        let mut grads = cross_entropy_with_logits_loss(logits, target).backward();
        let mut g: Vec<Vec<f32>> = Vec::new();
        for p in model.params_mut() {
            if !matches!(p.kind, ParamKind::Theta { .. }) {
                g.push(p.grad(&mut grads)?);
            }
        }
        let norm = g
            .iter()
            .flatten()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt();
        // The logged norm of the same step (lr 0: nothing moves).
        let sgd = OptimizerConfig::Sgd {
            lr: 0.0,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            theta_weight_decay: false,
            theta_decay: 0.0,
        };
        let mut opt = Optimizer::new(sgd, 16);
        let logged = match train_step(
            &mut model,
            &mut opt,
            &dev,
            images.clone(),
            &labels,
            0.0,
            true,
        )? {
            StepOutcome::Updated(st) => st.grad_norm,
            StepOutcome::Diverged(r) => return Err(r.into()),
        };
        // ∇L·u by central differences: L(w ± εu).
        let eps = 1e-2;
        let mut at = |sign: f64| -> Res<f64> {
            let mut k = 0;
            let mut originals = Vec::new();
            for mut p in model.params_mut() {
                if matches!(p.kind, ParamKind::Theta { .. }) {
                    continue;
                }
                let w = p.values();
                let moved: Vec<f32> = w
                    .iter()
                    .zip(&g[k])
                    .map(|(&w, &gi)| (f64::from(w) + sign * eps * f64::from(gi) / norm) as f32)
                    .collect();
                p.set(&moved);
                originals.push(w);
                k += 1;
            }
            let l = loss(&model, &dev, &images, &labels)?;
            let mut k = 0;
            for mut p in model.params_mut() {
                if !matches!(p.kind, ParamKind::Theta { .. }) {
                    p.set(&originals[k]);
                    k += 1;
                }
            }
            Ok(l)
        };
        let (plus, minus) = (at(1.0)?, at(-1.0)?);
        let directional = (plus - minus) / (2.0 * eps);
        assert!(
            (logged - norm).abs() <= 1e-6 * norm,
            "{s}: logged {logged} vs summed {norm}"
        );
        assert!(
            (directional - logged).abs() <= 0.02 * logged,
            "{s}: logged norm {logged} vs directional derivative {directional}"
        );
    }
    Ok(())
}
