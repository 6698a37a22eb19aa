//! `clipbench bench-train`: training-step throughput on fixed synthetic batches, the figure
//! the performance goal is judged on. Forward-only throughput is measured the same way.

use std::time::Instant;

use clipbench_clip::Strategy;
use clipbench_data::rng::SplitMix64;
use clipbench_nn::model::{ModelConfig, SimpleCnn, NUM_CLASSES};
use dfdx::prelude::*;
use serde::Serialize;

use crate::optim::{Optimizer, OptimizerConfig, ParamUpdate};
use crate::TrainError;

#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub strategy: Strategy,
    pub input: [usize; 3],
    pub batch: usize,
    pub threads: usize,
    pub steps: usize,
    pub train_images_per_s: f64,
    pub forward_images_per_s: f64,
}

fn dev_err(e: impl std::fmt::Debug) -> TrainError {
    TrainError::Device(format!("{e:?}"))
}

/// Times `steps` Adam steps (after 2 warm-up steps) and `steps` forward passes.
pub fn bench_train(
    strategy: Strategy,
    input: [usize; 3],
    batch: usize,
    steps: usize,
    threads: usize,
) -> Result<BenchResult, TrainError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| TrainError::Threads(e.to_string()))?;
    pool.install(|| {
        let dev = Cpu::default();
        let cfg = ModelConfig::new(input, strategy);
        let mut model = SimpleCnn::new(cfg, 0, &dev)?;
        let [c, h, w] = input;
        let mut rng = SplitMix64::new(1);
        let xs: Vec<f32> = (0..batch * c * h * w)
            .map(|_| rng.next_f64() as f32)
            .collect();
        let mut onehot = vec![0f32; batch * NUM_CLASSES];
        for i in 0..batch {
            onehot[i * NUM_CLASSES + i % NUM_CLASSES] = 1.0;
        }
        let n_params = model.params_mut().len();
        let mut opt = Optimizer::new(
            OptimizerConfig::Adam {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
                theta_weight_decay: false,
            },
            n_params,
        );
        let mut step = |model: &mut SimpleCnn<Cpu>| -> Result<(), TrainError> {
            let x = dev
                .try_tensor_from_vec(xs.clone(), (batch, c, h, w))
                .map_err(dev_err)?;
            let y = dev
                .try_tensor_from_vec(onehot.clone(), (batch, NUM_CLASSES))
                .map_err(dev_err)?;
            let (logits, _) = model.forward(x.traced(Gradients::leaky()), false)?;
            let mut grads = cross_entropy_with_logits_loss(logits, y).backward();
            let mut params = model.params_mut();
            let mut vals = Vec::with_capacity(params.len());
            for p in &params {
                vals.push((p.values(), p.grad(&mut grads)?));
            }
            let mut ups: Vec<ParamUpdate<'_>> = vals
                .iter_mut()
                .map(|(v, g)| ParamUpdate {
                    values: v,
                    grad: g,
                    is_theta: false,
                })
                .collect();
            opt.step(1e-3, &mut ups);
            for (p, (v, _)) in params.iter_mut().zip(&vals) {
                p.set(v);
            }
            Ok(())
        };
        for _ in 0..2 {
            step(&mut model)?;
        }
        let t0 = Instant::now();
        for _ in 0..steps {
            step(&mut model)?;
        }
        let train_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        for _ in 0..steps {
            let x = dev
                .try_tensor_from_vec(xs.clone(), (batch, c, h, w))
                .map_err(dev_err)?;
            let (logits, _) = model.forward(x, false)?;
            std::hint::black_box(logits);
        }
        let fwd_s = t1.elapsed().as_secs_f64();
        let imgs = (batch * steps) as f64;
        Ok(BenchResult {
            strategy,
            input,
            batch,
            threads,
            steps,
            train_images_per_s: imgs / train_s.max(1e-9),
            forward_images_per_s: imgs / fwd_s.max(1e-9),
        })
    })
}
