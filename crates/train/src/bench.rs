//! `clipbench bench-train`: training-step throughput on a fixed synthetic batch, the figure
//! the performance goal is judged on. It times [`train_step`], the step a run takes (host
//! loss and accuracy, f64 gradient norms, divergence check and all), and forward-only
//! throughput the way evaluation runs it.

use std::time::Instant;

use clipbench_clip::{ClipDevice, Strategy};
use clipbench_data::rng::SplitMix64;
use clipbench_nn::flops::{sgemm_peak, train_flops_per_image, SgemmPeak};
use clipbench_nn::model::{ModelConfig, SimpleCnn, NUM_CLASSES};
use clipbench_nn::NnDevice;
use dfdx::prelude::*;
use serde::Serialize;

use crate::config::DeviceKind;
use crate::optim::{Optimizer, OptimizerConfig};
use crate::step::{n_trainable, train_step, StepOutcome};
use crate::TrainError;

#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub strategy: Strategy,
    /// `cpu` or `cuda:0`.
    pub device: String,
    pub input: [usize; 3],
    pub batch: usize,
    pub threads: usize,
    pub steps: usize,
    pub train_images_per_s: f64,
    pub forward_images_per_s: f64,
    /// Matrix-product FLOPs of one training image (forward and backward; see
    /// [`clipbench_nn::flops`]).
    pub train_flop_per_image: u64,
    /// train_images_per_s × train_flop_per_image / 1e9.
    pub train_gflops: f64,
    /// The machine's f32 gemm peak at this thread count, measured in the same run (`threads`
    /// concurrent single-threaded N×N×N gemms, best of the repeats); None when skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sgemm: Option<SgemmPeak>,
    /// train_gflops / sgemm.gflops: the share of the gemm ceiling the training step reaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sgemm_share: Option<f64>,
}

/// The sgemm-peak measurement of [`bench_train`]: N×N×N gemms, best of `repeats` (0: skip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SgemmOpts {
    pub n: usize,
    pub repeats: usize,
}

impl Default for SgemmOpts {
    /// 2048 × 2048 × 2048, best of 3.
    fn default() -> Self {
        Self {
            n: 2048,
            repeats: 3,
        }
    }
}

fn dev_err(e: impl std::fmt::Debug) -> TrainError {
    TrainError::Device(format!("{e:?}"))
}

/// A model, an Adam optimizer (lr 1e-3) and one fixed batch: uniform [0, 1) pixels, labels
/// i mod 10.
pub struct BenchSetup<D: NnDevice + ClipDevice = Cpu> {
    pub dev: D,
    pub model: SimpleCnn<D>,
    pub opt: Optimizer,
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
}

impl BenchSetup<Cpu> {
    pub fn new(strategy: Strategy, input: [usize; 3], batch: usize) -> Result<Self, TrainError> {
        Self::on(Cpu::default(), strategy, input, batch)
    }
}

impl<D: NnDevice + ClipDevice> BenchSetup<D> {
    /// The setup on `dev` (the same model seed, batch and optimizer on every device).
    pub fn on(
        dev: D,
        strategy: Strategy,
        input: [usize; 3],
        batch: usize,
    ) -> Result<Self, TrainError> {
        let mut model = SimpleCnn::new(ModelConfig::new(input, strategy), 0, &dev)?;
        let [c, h, w] = input;
        let mut rng = SplitMix64::new(1);
        let images: Vec<f32> = (0..batch * c * h * w)
            .map(|_| rng.next_f64() as f32)
            .collect();
        let labels = (0..batch).map(|i| (i % NUM_CLASSES) as u8).collect();
        let opt = Optimizer::new(
            OptimizerConfig::Adam {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
                theta_weight_decay: false,
                theta_decay: 0.0,
            },
            n_trainable(&mut model),
        );
        Ok(BenchSetup {
            dev,
            model,
            opt,
            images,
            labels,
        })
    }

    /// One training step, as a run takes it (not logging).
    pub fn train_step(&mut self) -> Result<(), TrainError> {
        let images = self.images.clone();
        match train_step(
            &mut self.model,
            &mut self.opt,
            &self.dev,
            images,
            &self.labels,
            1e-3,
            false,
        )? {
            StepOutcome::Updated(_) => Ok(()),
            StepOutcome::Diverged(r) => {
                Err(TrainError::Device(format!("benchmark step diverged: {r}")))
            }
        }
    }

    /// One forward pass without a tape; returns the logits.
    pub fn forward(&self) -> Result<Vec<f32>, TrainError> {
        let [c, h, w] = self.model.cfg.input;
        let x = self
            .dev
            .try_tensor_from_vec(self.images.clone(), (self.labels.len(), c, h, w))
            .map_err(dev_err)?;
        let (logits, _) = self.model.forward(x, false)?;
        Ok(logits.as_vec())
    }
}

/// Times `steps` training steps (after 2 warm-up steps), then `steps` forward passes, then
/// (unless `sgemm.repeats` is 0) the sgemm peak, in a pool of `threads` threads.
pub fn bench_train(
    strategy: Strategy,
    input: [usize; 3],
    batch: usize,
    steps: usize,
    threads: usize,
    device: DeviceKind,
    sgemm: SgemmOpts,
) -> Result<BenchResult, TrainError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| TrainError::Threads(e.to_string()))?;
    let mut r = pool.install(|| match device {
        DeviceKind::Cpu => time(
            BenchSetup::new(strategy, input, batch)?,
            steps,
            threads,
            "cpu",
        ),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => {
            let dev = crate::device::cuda(0)?;
            time(
                BenchSetup::on(dev, strategy, input, batch)?,
                steps,
                threads,
                "cuda:0",
            )
        }
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => match crate::device::cuda(0)? {},
    })?;
    if sgemm.repeats > 0 {
        let peak = pool.install(|| sgemm_peak(sgemm.n, threads, sgemm.repeats));
        r.sgemm_share = Some(r.train_gflops / peak.gflops.max(1e-12));
        r.sgemm = Some(peak);
    }
    Ok(r)
}

/// Every step reads its loss back to the host (as a run does), so wall time includes the
/// device's work on asynchronous devices too.
fn time<D: NnDevice + ClipDevice>(
    mut s: BenchSetup<D>,
    steps: usize,
    threads: usize,
    device: &str,
) -> Result<BenchResult, TrainError> {
    for _ in 0..2 {
        s.train_step()?;
    }
    let t0 = Instant::now();
    for _ in 0..steps {
        s.train_step()?;
    }
    let train_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    for _ in 0..steps {
        std::hint::black_box(s.forward()?);
    }
    let fwd_s = t1.elapsed().as_secs_f64();
    let batch = s.labels.len();
    let imgs = (batch * steps) as f64;
    let flop = train_flops_per_image(&s.model.cfg);
    let train_images_per_s = imgs / train_s.max(1e-9);
    Ok(BenchResult {
        strategy: s.model.cfg.clip.strategy,
        device: device.to_string(),
        input: s.model.cfg.input,
        batch,
        threads,
        steps,
        train_images_per_s,
        forward_images_per_s: imgs / fwd_s.max(1e-9),
        train_flop_per_image: flop,
        train_gflops: train_images_per_s * flop as f64 / 1e9,
        sgemm: None,
        sgemm_share: None,
    })
}
