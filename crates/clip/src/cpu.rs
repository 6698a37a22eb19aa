//! A clip layer's CPU kernels over plain slices, for custom ops that fold the clip into a
//! larger kernel (the fused clip layer of [`crate::fused`], and relu → clip → max-pool in
//! `clipbench-nn`). θ is read from the layer once, when the kernels are taken.

use dfdx::prelude::*;

use crate::kernel::{self, Layout};
use crate::layer::ClipLayer;
use crate::strategy::{ClipFn, Dispatch, Strategy, StrategyKernels};

/// The strategy, θ and relu flag of one clip layer, ready to run on slices.
///
/// Slices are NCHW-ordered; `plane` (H·W of the slice's layout) maps per-channel θ onto
/// elements: element i uses θ[(i / plane) % θ.len()].
#[derive(Clone, Debug)]
pub struct CpuKernels {
    strategy: Strategy,
    beta: f32,
    pre_relu: bool,
    thetas: Vec<f32>,
}

impl ClipLayer<Cpu> {
    /// The kernels with the layer's current θ (`none` has no θ; it gets a dummy 1).
    pub fn cpu_kernels(&self) -> CpuKernels {
        CpuKernels {
            strategy: self.params.strategy,
            beta: self.params.beta as f32,
            pre_relu: self.pre_relu,
            thetas: if self.param.is_some() {
                self.theta_f32()
            } else {
                vec![1.0]
            },
        }
    }
}

impl CpuKernels {
    fn layout(&self, plane: usize) -> Layout<'_> {
        Layout {
            thetas: &self.thetas,
            plane,
            pre_relu: self.pre_relu,
        }
    }

    /// Whether relu? → clip is non-decreasing in x ([`ClipFn::MONOTONE`]), so that
    /// max(f(x₁), …, f(xₙ)) = f(max(x₁, …, xₙ)) and a max-pool may run before the clip.
    pub fn commutes_with_max(&self) -> bool {
        struct Mono;
        impl Dispatch<bool> for Mono {
            fn call<K: ClipFn>(self, _k: K) -> bool {
                K::MONOTONE
            }
        }
        self.strategy.dispatch(self.beta, Mono)
    }

    /// y = f(relu?(x); θ); returns the saturated count.
    pub fn forward(&self, x: &[f32], y: &mut [f32], plane: usize) -> u64 {
        struct Fwd<'a>(Layout<'a>, &'a [f32], &'a mut [f32]);
        impl Dispatch<u64> for Fwd<'_> {
            fn call<K: ClipFn>(self, k: K) -> u64 {
                kernel::forward(k, self.0, self.1, self.2)
            }
        }
        self.strategy
            .dispatch(self.beta, Fwd(self.layout(plane), x, y))
    }

    /// The count `forward` would return, without computing y.
    pub fn count_saturated(&self, x: &[f32], plane: usize) -> u64 {
        struct Count<'a>(Layout<'a>, &'a [f32]);
        impl Dispatch<u64> for Count<'_> {
            fn call<K: ClipFn>(self, k: K) -> u64 {
                kernel::count_saturated(k, self.0, self.1)
            }
        }
        self.strategy
            .dispatch(self.beta, Count(self.layout(plane), x))
    }

    /// gx += gy·∂y/∂x; returns ∂L/∂θ per θ entry (f64). `y` is `forward`'s output for `x`.
    pub fn backward(
        &self,
        x: &[f32],
        y: &[f32],
        gy: &[f32],
        gx: &mut [f32],
        plane: usize,
    ) -> Vec<f64> {
        struct Bwd<'a>(Layout<'a>, [&'a [f32]; 3], &'a mut [f32]);
        impl Dispatch<Vec<f64>> for Bwd<'_> {
            fn call<K: ClipFn>(self, k: K) -> Vec<f64> {
                let [x, y, gy] = self.1;
                kernel::backward(k, self.0, x, y, gy, self.2)
            }
        }
        self.strategy
            .dispatch(self.beta, Bwd(self.layout(plane), [x, y, gy], gx))
    }
}

/// θ's parameter and dθ/dp, taken at forward time for the backward closure.
#[derive(Clone, Debug)]
pub struct ThetaGradTarget {
    pub param: Tensor<(usize,), f32, Cpu>,
    pub dtheta_dparam: Vec<f64>,
}

impl ClipLayer<Cpu> {
    /// Where a backward pass adds ∂L/∂θ (None for `none`).
    pub fn theta_grad_target(&self) -> Option<ThetaGradTarget> {
        self.param.as_ref().map(|p| ThetaGradTarget {
            param: p.clone(),
            dtheta_dparam: self.dtheta_dparam(),
        })
    }
}

impl ThetaGradTarget {
    /// Adds ∂L/∂θ (one entry per θ, f64) to the parameter's gradient: ∂L/∂p = ∂L/∂θ · dθ/dp
    /// (dθ/dp = 1 for `direct`, σ(ρ) for `softplus`). An exact 0 adds exactly 0.
    pub fn add(&self, grads: &mut Gradients<f32, Cpu>, dtheta: &[f64]) -> Result<(), CpuError> {
        let g = grads.get_or_alloc_mut(&self.param)?;
        for ((gr, dt), d) in g.iter_mut().zip(dtheta).zip(&self.dtheta_dparam) {
            *gr += (dt * d) as f32;
        }
        Ok(())
    }
}
