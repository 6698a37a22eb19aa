//! SGD with momentum and Adam over host copies of the parameters.
//!
//! The model has ~25K parameters, so updating them on the host costs little next to a step,
//! and gives us what dfdx's optimizers cannot: weight decay on the network weights only (θ's
//! L2 acts on θ and is added by the step), f64 state, and one code path on every device.

use rayon::prelude::*;

pub use clipbench_core::config::OptimizerConfig;

/// Optimizer state for one parameter tensor.
#[derive(Clone, Debug, Default)]
struct Slot {
    m: Vec<f64>,
    v: Vec<f64>,
}

/// A stateful optimizer over a fixed list of parameter tensors (by index).
#[derive(Clone, Debug)]
pub struct Optimizer {
    cfg: OptimizerConfig,
    slots: Vec<Slot>,
    t: u64,
}

/// One parameter tensor as the optimizer sees it.
pub struct ParamUpdate<'a> {
    pub values: &'a mut [f32],
    pub grad: &'a [f32],
    /// Add `weight_decay`·w to the gradient (network weights). θ's parameters say false:
    /// their L2 acts on θ, not on the parameter, and the caller has added it to `grad`.
    pub decay: bool,
}

impl Optimizer {
    pub fn new(cfg: OptimizerConfig, n_params: usize) -> Self {
        Optimizer {
            cfg,
            slots: vec![Slot::default(); n_params],
            t: 0,
        }
    }

    pub fn config(&self) -> &OptimizerConfig {
        &self.cfg
    }

    /// One step with learning rate `lr` (the schedule's value) over all parameters, in order.
    pub fn step(&mut self, lr: f64, params: &mut [ParamUpdate<'_>]) {
        self.t += 1;
        for (slot, p) in self.slots.iter_mut().zip(params.iter_mut()) {
            if slot.m.len() != p.values.len() {
                slot.m = vec![0.0; p.values.len()];
                slot.v = vec![0.0; p.values.len()];
            }
            let t = self.t;
            match self.cfg {
                OptimizerConfig::Sgd {
                    momentum,
                    nesterov,
                    weight_decay,
                    ..
                } => {
                    let wd = if p.decay { weight_decay } else { 0.0 };
                    for_each_element(p, slot, |value, grad, m, _| {
                        let w = *value as f64;
                        let g = grad as f64 + wd * w;
                        // PyTorch SGD: buf = μ·buf + g (buf = g on the first step).
                        let buf = if t == 1 { g } else { momentum * *m + g };
                        *m = buf;
                        let d = if nesterov { g + momentum * buf } else { buf };
                        *value = (w - lr * d) as f32;
                    });
                }
                OptimizerConfig::Adam {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                    ..
                } => {
                    let wd = if p.decay { weight_decay } else { 0.0 };
                    let bc1 = 1.0 - beta1.powi(t as i32);
                    let bc2 = 1.0 - beta2.powi(t as i32);
                    for_each_element(p, slot, |value, grad, m, v| {
                        let w = *value as f64;
                        let g = grad as f64 + wd * w;
                        *m = beta1 * *m + (1.0 - beta1) * g;
                        *v = beta2 * *v + (1.0 - beta2) * g * g;
                        let mhat = *m / bc1;
                        let vhat = *v / bc2;
                        *value = (w - lr * mhat / (vhat.sqrt() + eps)) as f32;
                    });
                }
            }
        }
    }
}

/// Elements per parallel work item. The update is elementwise, so how the elements are
/// split changes no bit; fc.weight's 20,480 become 10 items. Serial, the update was ~1.4% of
/// a 2-thread training step's samples (perf), all on one thread while the other waited.
const CHUNK: usize = 2048;

/// Runs `f(value, grad, m, v)` on every element of `p` and its state, in parallel chunks.
fn for_each_element(
    p: &mut ParamUpdate<'_>,
    slot: &mut Slot,
    f: impl Fn(&mut f32, f32, &mut f64, &mut f64) + Sync,
) {
    // The step builds each gradient from its parameter: a mismatch is a bug, never skipped.
    assert_eq!(
        p.grad.len(),
        p.values.len(),
        "optimizer: a gradient's length differs from its parameter's"
    );
    p.values
        .par_chunks_mut(CHUNK)
        .zip(p.grad.par_chunks(CHUNK))
        .zip(slot.m.par_chunks_mut(CHUNK))
        .zip(slot.v.par_chunks_mut(CHUNK))
        .for_each(|(((values, grads), ms), vs)| {
            let elements = values.iter_mut().zip(grads).zip(ms.iter_mut().zip(vs));
            for ((value, &grad), (m, v)) in elements {
                f(value, grad, m, v);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adam(lr: f64) -> OptimizerConfig {
        OptimizerConfig::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            theta_weight_decay: false,
            theta_decay: 0.0,
        }
    }

    #[test]
    fn adam_first_steps_match_pytorch() {
        // torch: p = tensor([1.0, -2.0]); opt = Adam([p], lr=0.1); two steps with
        // grads [0.5, -1.0] then [0.25, 0.5] → [0.8000000119, -1.8000000715] (hand-derived:
        // step 1 moves each by lr·sign(g); step 2 by lr·m̂/√v̂).
        let mut o = Optimizer::new(adam(0.1), 1);
        let mut w = [1.0f32, -2.0];
        o.step(
            0.1,
            &mut [ParamUpdate {
                values: &mut w,
                grad: &[0.5, -1.0],
                decay: true,
            }],
        );
        assert!(
            (w[0] - 0.9).abs() < 1e-6 && (w[1] + 1.9).abs() < 1e-6,
            "{w:?}"
        );
        o.step(
            0.1,
            &mut [ParamUpdate {
                values: &mut w,
                grad: &[0.25, 0.5],
                decay: true,
            }],
        );
        // m = [0.9·0.05+0.025, 0.9·(−0.1)+0.05] = [0.07, −0.04]; m̂ = m/0.19
        // v = [0.999·2.5e-4+6.25e-5, 0.999·1e-3+2.5e-4]; v̂ = v/0.001999
        let step =
            |m: f64, v: f64| 0.1 * (m / 0.19) / ((v / (1.0 - 0.999f64.powi(2))).sqrt() + 1e-8);
        let w0 = 0.9 - step(0.07, 0.999 * 2.5e-4 + 0.001 * 0.0625);
        let w1 = -1.9 - step(-0.04, 0.999 * 1e-3 + 0.001 * 0.25);
        assert!(
            (w[0] as f64 - w0).abs() < 1e-6 && (w[1] as f64 - w1).abs() < 1e-6,
            "{w:?}"
        );
    }

    #[test]
    fn zero_gradient_leaves_adam_parameters_put() {
        // The seed-softplus θ gets an exact 0 gradient: Adam must not move it.
        let mut o = Optimizer::new(adam(0.01), 1);
        let mut w = [0.5413f32];
        for _ in 0..100 {
            o.step(
                0.01,
                &mut [ParamUpdate {
                    values: &mut w,
                    grad: &[0.0],
                    decay: false,
                }],
            );
        }
        assert_eq!(w[0], 0.5413);
    }

    #[test]
    fn sgd_momentum_and_the_decay_switch() {
        let cfg = OptimizerConfig::Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.5,
            theta_weight_decay: false,
            theta_decay: 0.0,
        };
        let mut o = Optimizer::new(cfg, 2);
        let (mut w, mut t) = ([1.0f32], [1.0f32]);
        let mut ps = [
            ParamUpdate {
                values: &mut w,
                grad: &[1.0],
                decay: true,
            },
            ParamUpdate {
                values: &mut t,
                grad: &[1.0],
                decay: false,
            },
        ];
        o.step(0.1, &mut ps);
        // weight: g = 1 + 0.5·1 = 1.5 → 0.85; θ: no decay, g = 1 → 0.9
        assert!((w[0] - 0.85).abs() < 1e-7 && (t[0] - 0.9).abs() < 1e-7);
        let mut ps = [
            ParamUpdate {
                values: &mut w,
                grad: &[1.0],
                decay: true,
            },
            ParamUpdate {
                values: &mut t,
                grad: &[1.0],
                decay: false,
            },
        ];
        o.step(0.1, &mut ps);
        // θ: buf = 0.9·1 + 1 = 1.9 → 0.9 − 0.19 = 0.71
        assert!((t[0] - 0.71).abs() < 1e-6, "{t:?}");
    }

    #[test]
    fn nesterov_sgd_matches_pytorch_by_hand() {
        // torch.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True), w = 1.0, grads 0.5 then
        // 0.25. PyTorch: buf = g on the first step, then μ·buf + g; the step uses g + μ·buf.
        // Step 1: buf = 0.5, d = 0.5 + 0.9·0.5 = 0.95, w = 1 − 0.095 = 0.905.
        // Step 2: buf = 0.9·0.5 + 0.25 = 0.7, d = 0.25 + 0.9·0.7 = 0.88, w = 0.905 − 0.088 = 0.817.
        let cfg = OptimizerConfig::Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.0,
            theta_weight_decay: false,
            theta_decay: 0.0,
        };
        let mut o = Optimizer::new(cfg, 1);
        let mut w = [1.0f32];
        for (g, want) in [(0.5f32, 0.905f32), (0.25, 0.817)] {
            o.step(
                0.1,
                &mut [ParamUpdate {
                    values: &mut w,
                    grad: &[g],
                    decay: true,
                }],
            );
            assert!((w[0] - want).abs() < 1e-6, "{} vs {want}", w[0]);
        }
    }

    #[test]
    fn bad_values_are_named() {
        let p = adam(-1.0).problems();
        assert!(p.iter().any(|s| s.key == "optimizer.lr"), "{p:?}");
        let both = OptimizerConfig::Adam {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-4,
            theta_weight_decay: true,
            theta_decay: 1e-3,
        };
        let p = both.problems();
        assert!(p.iter().any(|s| s.message.contains("keep one")), "{p:?}");
    }

    #[test]
    fn theta_lambda_is_theta_decay_or_the_weight_decay() -> Result<(), serde_json::Error> {
        let cfg: OptimizerConfig = serde_json::from_str(
            r#"{"kind":"sgd","lr":0.1,"weight_decay":0.01,"theta_decay":0.5}"#,
        )?;
        assert_eq!((cfg.theta_lambda(), cfg.weight_decay()), (0.5, 0.01));
        let cfg: OptimizerConfig = serde_json::from_str(
            r#"{"kind":"adam","lr":0.1,"weight_decay":0.01,"theta_weight_decay":true}"#,
        )?;
        assert_eq!(cfg.theta_lambda(), 0.01);
        assert_eq!(adam(0.1).theta_lambda(), 0.0);
        Ok(())
    }
}
