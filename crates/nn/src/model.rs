//! SimpleCNN: conv → relu → clip → pool, twice, then linear to 10 classes.
//!
//! Built from a [`ModelConfig`]; the flatten size follows from the input (3×32×32 → 8×8,
//! 1×28×28 → 7×7), and an input of any other shape is an error, never a silent reshape (the
//! seed's `view(-1, 32*8*8)` mixed samples on 32×32 input and crashed on 28×28).

use clipbench_clip::{ClipDevice, ClipLayer, ClipParams, ClipStats, ThetaParam};
use dfdx::prelude::*;

use crate::init::{conv2d_params, linear_params, SplitMix64};
use crate::{conv_clip_pool, linear, Conv2dOpts, NnDevice, NnError, Tensor1, Tensor2, Tensor4};

pub use clipbench_core::config::{ClipConfig, ModelConfig, INPUTS, NUM_CLASSES};

/// Clip layer `i`'s runtime parameters.
fn layer_params(c: &ClipConfig, i: usize) -> ClipParams {
    ClipParams {
        strategy: c.strategy,
        theta0: c.theta0[i],
        beta: c.beta,
        per_channel: c.per_channel,
        theta_param: c.theta_param,
    }
}

/// The model config's problems as one error (the run config reports them one by one first).
fn check(cfg: &ModelConfig) -> Result<(), NnError> {
    let p = cfg.problems();
    if p.is_empty() {
        Ok(())
    } else {
        Err(NnError::Config(
            p.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ))
    }
}

/// What kind of parameter a tensor is (the optimizer treats θ differently).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    Weight,
    Bias,
    /// θ's parameter in a clip layer (θ itself, or ρ: `param`); `trainable` says whether the
    /// optimizer updates it.
    Theta {
        trainable: bool,
        param: ThetaParam,
    },
}

/// One parameter tensor, whatever its rank.
pub enum ParamTensor<'a, D: Device<f32>> {
    R1(&'a mut Tensor1<D>),
    R2(&'a mut Tensor2<D>),
    R4(&'a mut Tensor4<D>),
}

pub struct Param<'a, D: Device<f32>> {
    pub name: &'static str,
    pub layer: &'static str,
    pub kind: ParamKind,
    pub tensor: ParamTensor<'a, D>,
}

impl<D: Device<f32>> Param<'_, D> {
    /// Whether the optimizer updates this tensor (everything but a fixed θ).
    pub fn kind_trainable(&self) -> bool {
        !matches!(
            self.kind,
            ParamKind::Theta {
                trainable: false,
                ..
            }
        )
    }

    pub fn values(&self) -> Vec<f32> {
        match &self.tensor {
            ParamTensor::R1(t) => t.as_vec(),
            ParamTensor::R2(t) => t.as_vec(),
            ParamTensor::R4(t) => t.as_vec(),
        }
    }

    /// The parameter's gradient (zeros when backward did not reach it).
    pub fn grad(&self, grads: &mut Gradients<f32, D>) -> Result<Vec<f32>, NnError> {
        let err = |e| NnError::device("param grad", e);
        match &self.tensor {
            ParamTensor::R1(t) => grads.try_alloc_for(*t).map_err(err)?,
            ParamTensor::R2(t) => grads.try_alloc_for(*t).map_err(err)?,
            ParamTensor::R4(t) => grads.try_alloc_for(*t).map_err(err)?,
        }
        Ok(match &self.tensor {
            ParamTensor::R1(t) => grads.get(*t).as_vec(),
            ParamTensor::R2(t) => grads.get(*t).as_vec(),
            ParamTensor::R4(t) => grads.get(*t).as_vec(),
        })
    }

    pub fn set(&mut self, v: &[f32]) {
        match &mut self.tensor {
            ParamTensor::R1(t) => t.copy_from(v),
            ParamTensor::R2(t) => t.copy_from(v),
            ParamTensor::R4(t) => t.copy_from(v),
        }
    }
}

/// Logits (or, from `features`, the flattened features) and, per clip layer, the clip count
/// of this forward pass.
pub type ModelOutput<D, T> = (Tensor2<D, T>, [Option<ClipStats>; 2]);

#[derive(Clone, Debug)]
pub struct SimpleCnn<D: Device<f32>> {
    pub cfg: ModelConfig,
    conv1: (Tensor4<D>, Tensor1<D>),
    pub clip1: ClipLayer<D>,
    conv2: (Tensor4<D>, Tensor1<D>),
    pub clip2: ClipLayer<D>,
    fc: (Tensor2<D>, Tensor1<D>),
}

impl<D: NnDevice + ClipDevice> SimpleCnn<D> {
    /// Weights drawn from `seed` on the host (identical on every device).
    pub fn new(cfg: ModelConfig, seed: u64, dev: &D) -> Result<Self, NnError> {
        check(&cfg)?;
        let mut rng = SplitMix64::new(seed);
        let [c, _, _] = cfg.input;
        let [w1, w2] = cfg.widths;
        let conv1 = conv2d_params(dev, &mut rng, (w1, c, 3, 3))?;
        let conv2 = conv2d_params(dev, &mut rng, (w2, w1, 3, 3))?;
        let fc = linear_params(dev, &mut rng, cfg.flat_features(), NUM_CLASSES)?;
        Ok(SimpleCnn {
            cfg,
            conv1,
            clip1: ClipLayer::new(layer_params(&cfg.clip, 0), w1, true, dev)?,
            conv2,
            clip2: ClipLayer::new(layer_params(&cfg.clip, 1), w2, true, dev)?,
            fc,
        })
    }

    pub fn forward<T: Tape<f32, D>>(
        &self,
        x: Tensor4<D, T>,
        want_stats: bool,
    ) -> Result<ModelOutput<D, T>, NnError> {
        let (flat, stats) = self.features(x, want_stats)?;
        Ok((self.head(flat)?, stats))
    }

    /// The linear layer on [`Self::features`]' output: the logits.
    pub fn head<T: Tape<f32, D>>(&self, x: Tensor2<D, T>) -> Result<Tensor2<D, T>, NnError> {
        linear(x, self.fc.0.retaped::<T>(), self.fc.1.retaped::<T>())
    }

    /// Everything before the linear layer (conv → relu → clip → pool, twice), flattened to
    /// (B, features). Each image's features are computed on their own on Cpu, so a batch may
    /// be split into chunks without changing a bit (see `NnDevice::EVAL_CHUNK`).
    pub fn features<T: Tape<f32, D>>(
        &self,
        x: Tensor4<D, T>,
        want_stats: bool,
    ) -> Result<ModelOutput<D, T>, NnError> {
        let (b, c, h, w) = *x.shape();
        if [c, h, w] != self.cfg.input || b == 0 {
            return Err(NnError::ShapeMismatch {
                op: "SimpleCnn",
                operand: "input",
                expected: format!(
                    "(B >= 1, {}, {}, {})",
                    self.cfg.input[0], self.cfg.input[1], self.cfg.input[2]
                ),
                found: format!("({b}, {c}, {h}, {w})"),
            });
        }
        let opts = Conv2dOpts::default();
        let (x, s1) = conv_clip_pool(
            x,
            self.conv1.0.retaped::<T>(),
            self.conv1.1.retaped::<T>(),
            opts.without_input_grad(),
            &self.clip1,
            want_stats,
        )?;
        let (x, s2) = conv_clip_pool(
            x,
            self.conv2.0.retaped::<T>(),
            self.conv2.1.retaped::<T>(),
            opts,
            &self.clip2,
            want_stats,
        )?;
        let flat = self.cfg.flat_features();
        let (pb, pc, ph, pw) = *x.shape();
        if pc * ph * pw != flat {
            return Err(NnError::ShapeMismatch {
                op: "SimpleCnn",
                operand: "flatten",
                expected: format!("{flat} features"),
                found: format!("({pb}, {pc}, {ph}, {pw})"),
            });
        }
        Ok((x.reshape_like(&(b, flat)), [s1, s2]))
    }

    /// Every parameter tensor in a fixed order (the optimizer's state follows it).
    pub fn params_mut(&mut self) -> Vec<Param<'_, D>> {
        let mut v = vec![
            Param {
                name: "conv1.weight",
                layer: "conv1",
                kind: ParamKind::Weight,
                tensor: ParamTensor::R4(&mut self.conv1.0),
            },
            Param {
                name: "conv1.bias",
                layer: "conv1",
                kind: ParamKind::Bias,
                tensor: ParamTensor::R1(&mut self.conv1.1),
            },
            Param {
                name: "conv2.weight",
                layer: "conv2",
                kind: ParamKind::Weight,
                tensor: ParamTensor::R4(&mut self.conv2.0),
            },
            Param {
                name: "conv2.bias",
                layer: "conv2",
                kind: ParamKind::Bias,
                tensor: ParamTensor::R1(&mut self.conv2.1),
            },
            Param {
                name: "fc.weight",
                layer: "fc",
                kind: ParamKind::Weight,
                tensor: ParamTensor::R2(&mut self.fc.0),
            },
            Param {
                name: "fc.bias",
                layer: "fc",
                kind: ParamKind::Bias,
                tensor: ParamTensor::R1(&mut self.fc.1),
            },
        ];
        for (layer, name, clip) in [
            ("clip1", "clip1.theta", &mut self.clip1),
            ("clip2", "clip2.theta", &mut self.clip2),
        ] {
            let kind = ParamKind::Theta {
                trainable: clip.trainable(),
                param: clip.theta_param(),
            };
            if let Some(p) = clip.param.as_mut() {
                v.push(Param {
                    name,
                    layer,
                    kind,
                    tensor: ParamTensor::R1(p),
                });
            }
        }
        v
    }

    pub fn num_params(&mut self) -> usize {
        self.params_mut().iter().map(|p| p.values().len()).sum()
    }
}
