//! A clip layer of the CNN: strategy, θ per layer (or per channel), fused relu, and the
//! device dispatch (fused kernels on Cpu, composed public ops elsewhere).

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::strategy::Strategy;
use crate::threshold::{ThetaParam, THETA_MIN};
use crate::ClipError;

/// NCHW activations with runtime sizes.
pub type Shape4 = (usize, usize, usize, usize);

/// An NCHW f32 activation tensor on device `D` with tape `T`.
pub type Act<D, T> = Tensor<Shape4, f32, D, T>;

/// What a clip layer returns: the activations and, when computed, the clip count.
pub type ClipOutput<D, T> = Result<(Act<D, T>, Option<ClipStats>), ClipError>;

/// The configuration of one clip layer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipParams {
    pub strategy: Strategy,
    /// Initial θ (PACT: α).
    pub theta0: f64,
    /// Sharpness of `softplus-learnable` (ignored by the others).
    #[serde(default = "default_beta")]
    pub beta: f64,
    /// One θ per channel instead of one per layer.
    #[serde(default)]
    pub per_channel: bool,
    /// What the optimizer trains: θ itself (projected onto [θ_min, ∞)) or ρ.
    #[serde(default)]
    pub theta_param: ThetaParam,
}

fn default_beta() -> f64 {
    1.0
}

impl ClipParams {
    pub fn new(strategy: Strategy, theta0: f64) -> Self {
        ClipParams {
            strategy,
            theta0,
            beta: 1.0,
            per_channel: false,
            theta_param: ThetaParam::Direct,
        }
    }

    pub fn validate(&self) -> Result<(), ClipError> {
        if self.strategy.has_threshold() && !(self.theta0.is_finite() && self.theta0 > THETA_MIN) {
            return Err(ClipError::BadThreshold {
                strategy: self.strategy.name(),
                theta0: self.theta0,
                theta_min: THETA_MIN,
            });
        }
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return Err(ClipError::BadBeta { beta: self.beta });
        }
        Ok(())
    }
}

/// Saturated activations of one forward pass (see each strategy's `saturated`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClipStats {
    pub saturated: u64,
    pub total: u64,
}

impl ClipStats {
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.saturated as f64 / self.total as f64
        }
    }
}

/// relu (optionally) followed by a clipping strategy with threshold θ ≥ θ_min.
#[derive(Clone, Debug)]
pub struct ClipLayer<D: Device<f32>> {
    pub params: ClipParams,
    pub channels: usize,
    pub pre_relu: bool,
    /// The parameter behind θ (θ itself, or ρ; see [`ThetaParam`]), one entry or one per
    /// channel; `None` for `none`.
    pub param: Option<Tensor<(usize,), f32, D>>,
}

impl<D: Device<f32>> ClipLayer<D> {
    pub fn new(
        params: ClipParams,
        channels: usize,
        pre_relu: bool,
        dev: &D,
    ) -> Result<Self, ClipError> {
        params.validate()?;
        let param = if params.strategy.has_threshold() {
            let n = if params.per_channel { channels } else { 1 };
            let p = params.theta_param.param_from_theta(params.theta0) as f32;
            Some(dev.tensor_from_vec(vec![p; n], (n,)))
        } else {
            None
        };
        Ok(ClipLayer {
            params,
            channels,
            pre_relu,
            param,
        })
    }

    /// Whether the optimizer should update θ's parameter.
    pub fn trainable(&self) -> bool {
        self.params.strategy.learnable()
    }

    pub fn theta_param(&self) -> ThetaParam {
        self.params.theta_param
    }

    /// The current θ values (empty for `none`).
    pub fn theta(&self) -> Vec<f64> {
        let tp = self.params.theta_param;
        self.param_host()
            .into_iter()
            .map(|p| tp.theta_from_param(p))
            .collect()
    }

    fn param_host(&self) -> Vec<f64> {
        self.param
            .as_ref()
            .map(|r| r.as_vec().into_iter().map(f64::from).collect())
            .unwrap_or_default()
    }

    /// θ as the f32 values the kernels use (for `direct`, exactly the stored parameter).
    pub fn theta_f32(&self) -> Vec<f32> {
        match self.params.theta_param {
            ThetaParam::Direct => self.param.as_ref().map(|p| p.as_vec()).unwrap_or_default(),
            ThetaParam::Softplus => self.theta().into_iter().map(|t| t as f32).collect(),
        }
    }

    /// dθ/dp per θ entry at the current parameter values.
    pub fn dtheta_dparam(&self) -> Vec<f64> {
        let tp = self.params.theta_param;
        self.param_host()
            .into_iter()
            .map(|p| tp.dtheta_dparam(p))
            .collect()
    }

    /// ∂L/∂θ per θ entry, from the gradient that backward left on the parameter (zeros when
    /// backward did not reach it: `seed-softplus` on the composed path keeps θ off the tape).
    pub fn theta_grad(&self, grads: &mut Gradients<f32, D>) -> Result<Vec<f64>, ClipError> {
        let Some(param) = &self.param else {
            return Ok(Vec::new());
        };
        grads
            .try_alloc_for(param)
            .map_err(|e| ClipError::Device(format!("{e:?}")))?;
        let g = grads.get(param).as_vec();
        Ok(self
            .dtheta_dparam()
            .into_iter()
            .zip(g)
            .map(|(d, g)| f64::from(g) / d)
            .collect())
    }

    /// A per-channel layer accepts only inputs with its channel count.
    pub fn check_shape(&self, dims: &Shape4) -> Result<(), ClipError> {
        if self.params.per_channel && dims.1 != self.channels {
            return Err(ClipError::ShapeMismatch {
                expected: self.channels,
                found: vec![dims.0, dims.1, dims.2, dims.3],
            });
        }
        Ok(())
    }

    /// Runs the layer; on Cpu the fused kernel, elsewhere composed public ops. Clip stats
    /// are free on Cpu; on other devices they cost a copy to the host, so ask only when
    /// logging.
    pub fn forward<T: Tape<f32, D>>(
        &self,
        x: Tensor<Shape4, f32, D, T>,
        want_stats: bool,
    ) -> ClipOutput<D, T>
    where
        D: ClipDevice,
    {
        D::clip_forward(self, x, want_stats)
    }
}

/// Chooses the implementation of the clip layer per device.
pub trait ClipDevice: Device<f32> {
    /// Which clip implementation this device uses, for run manifests.
    const CLIP_KERNELS: &'static str;

    /// [`Self::CLIP_KERNELS`] with the instruction-set path chosen at run time, if any.
    fn clip_kernel_path() -> String {
        Self::CLIP_KERNELS.to_string()
    }

    fn clip_forward<T: Tape<f32, Self>>(
        layer: &ClipLayer<Self>,
        x: Tensor<Shape4, f32, Self, T>,
        want_stats: bool,
    ) -> ClipOutput<Self, T>;
}

impl ClipDevice for Cpu {
    const CLIP_KERNELS: &'static str = "fused-cpu";

    fn clip_kernel_path() -> String {
        format!("{} [{}]", Self::CLIP_KERNELS, crate::kernel::cpu_path())
    }

    fn clip_forward<T: Tape<f32, Self>>(
        layer: &ClipLayer<Self>,
        x: Tensor<Shape4, f32, Self, T>,
        _want_stats: bool,
    ) -> ClipOutput<Self, T> {
        let (y, stats) = crate::fused::clip_fused(layer, x)?;
        Ok((y, Some(stats)))
    }
}

#[cfg(feature = "cuda")]
impl ClipDevice for Cuda {
    const CLIP_KERNELS: &'static str = "composed-public-ops";

    fn clip_forward<T: Tape<f32, Self>>(
        layer: &ClipLayer<Self>,
        x: Tensor<Shape4, f32, Self, T>,
        want_stats: bool,
    ) -> ClipOutput<Self, T> {
        crate::composed::clip_composed(layer, x, want_stats)
    }
}
