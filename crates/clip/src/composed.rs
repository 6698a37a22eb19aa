//! The clip layer from dfdx's public tensor ops only: runs on any device (the CUDA path) and
//! is the independent implementation the fused Cpu kernel is tested against.

use dfdx::prelude::*;

use crate::layer::{Act, ClipLayer, ClipOutput, ClipStats, Shape4};
use crate::strategy::{ClipFn, Dispatch, StrategyKernels};
use crate::threshold::{ThetaParam, THETA_MIN};

/// Forward from public ops; gradients flow to x and θ's parameter through dfdx's own
/// backward ops.
pub fn clip_composed<D: Device<f32>, T: Tape<f32, D>>(
    layer: &ClipLayer<D>,
    x: Tensor<Shape4, f32, D, T>,
    want_stats: bool,
) -> ClipOutput<D, T> {
    let dims = *x.shape();
    layer.check_shape(&dims)?;
    let x = if layer.pre_relu { x.relu() } else { x };
    let stats = if want_stats {
        Some(host_stats(layer, &x))
    } else {
        None
    };
    let Some(param) = &layer.param else {
        return Ok((x, stats));
    };
    // A strategy whose ∂y/∂θ is exactly 0 (seed-softplus) keeps θ off the tape: through its
    // formula the tape would return round-off, which Adam normalises into real steps. A
    // binary op writes its rhs's gradient whatever tape the rhs carries, so detaching takes a
    // copy with its own id (·1 is exact): the tape then fills a gradient nobody reads.
    let p = if layer.params.strategy.theta_gradient_zero() {
        (param.clone() * 1.0).retaped::<T>()
    } else {
        param.retaped::<T>()
    };
    let th = match layer.params.theta_param {
        ThetaParam::Direct => p,
        // θ = θ_min + softplus(ρ) in the stable form relu(ρ) + ln(1 + e^−|ρ|).
        ThetaParam::Softplus => {
            p.with_empty_tape().relu() + ((p.abs().negate().exp() + 1.0).ln() + THETA_MIN as f32)
        }
    };
    let t = broadcast_staged(th, dims);
    struct Composed<D: Device<f32>, T: Tape<f32, D>>(Act<D, T>, Act<D, T>);
    impl<D: Device<f32>, T: Tape<f32, D>> Dispatch<Act<D, T>> for Composed<D, T> {
        fn call<K: ClipFn>(self, k: K) -> Act<D, T> {
            k.composed(self.0, self.1)
        }
    }
    let y = layer
        .params
        .strategy
        .dispatch(layer.params.beta as f32, Composed(x, t));
    Ok((y, stats))
}

/// θ (one value, or one per channel) broadcast to the activation's shape one axis at a time,
/// each level but the last materialised by adding zeros (exact in both directions).
///
/// dfdx reduces a broadcast's gradient into its source's storage with a plain running f32 sum.
/// Broadcast in one go, all N·C·H·W terms land in one (or C) running sums: 0.3% off at 4M
/// activations, 40% at 16M (crates/clip/tests/theta_grad_sum.rs). Staged, every sum runs over
/// one axis (W, then H, then C, then N) of ≤ max(N, C, H, W) terms.
fn broadcast_staged<D: Device<f32>, T: Tape<f32, D>>(
    th: Tensor<(usize,), f32, D, T>,
    (n, c, h, w): Shape4,
) -> Tensor<Shape4, f32, D, T> {
    let dev = th.device().clone();
    let nc: Tensor<(usize, usize), f32, D, T> = if th.shape().0 == 1 {
        let per_n: Tensor<(usize,), f32, D, T> = th.reshape_like(&()).broadcast_like(&(n,));
        let per_n = per_n + dev.zeros_like(&(n,));
        per_n.broadcast_like::<_, Axis<1>>(&(n, c))
    } else {
        th.broadcast_like::<_, Axis<0>>(&(n, c))
    };
    let nc = nc + dev.zeros_like(&(n, c));
    let nch = nc.broadcast_like::<_, Axis<2>>(&(n, c, h)) + dev.zeros_like(&(n, c, h));
    nch.broadcast_like::<_, Axis<3>>(&(n, c, h, w))
}

/// The clip count on the host (only for logging steps).
fn host_stats<D: Device<f32>, T>(layer: &ClipLayer<D>, x: &Tensor<Shape4, f32, D, T>) -> ClipStats {
    let xs = x.as_vec();
    let thetas = if layer.param.is_some() {
        layer.theta_f32()
    } else {
        vec![1.0]
    };
    let plane = x.shape().2 * x.shape().3;
    struct Count<'a>(&'a [f32], &'a [f32], usize);
    impl Dispatch<u64> for Count<'_> {
        fn call<K: ClipFn>(self, k: K) -> u64 {
            let (xs, thetas, plane) = (self.0, self.1, self.2);
            xs.iter()
                .enumerate()
                .filter(|(i, &v)| k.saturated(v, thetas[(i / plane.max(1)) % thetas.len()]))
                .count() as u64
        }
    }
    let saturated = layer
        .params
        .strategy
        .dispatch(layer.params.beta as f32, Count(&xs, &thetas, plane));
    ClipStats {
        saturated,
        total: xs.len() as u64,
    }
}
