//! The clip layer as one custom dfdx op on Cpu: the fused kernels of [`crate::kernel`] wired
//! into dfdx's tape (forward now, a backward closure that writes ∂L/∂x and ∂L/∂ρ).

use dfdx::prelude::*;

use crate::kernel::{self, Layout};
use crate::layer::{Act, ClipLayer, ClipStats, Shape4};
use crate::raw;
use crate::strategy::{ClipFn, Dispatch};
use crate::threshold;
use crate::ClipError;

fn cpu_err(e: CpuError) -> ClipError {
    ClipError::Device(format!("{e:?}"))
}

/// Forward on Cpu with the fused kernel; records the backward on x's tape.
pub fn clip_fused<T: Tape<f32, Cpu>>(
    layer: &ClipLayer<Cpu>,
    x: Tensor<Shape4, f32, Cpu, T>,
) -> Result<(Act<Cpu, T>, ClipStats), ClipError> {
    let dims = *x.shape();
    layer.check_shape(&dims)?;
    let (x, mut tape) = x.split_tape();
    let dev = x.device().clone();
    let thetas = if layer.rho.is_some() {
        layer.theta_f32()
    } else {
        vec![1.0]
    };
    let plane = dims.2 * dims.3;
    let pre_relu = layer.pre_relu;
    let beta = layer.params.beta as f32;
    let strategy = layer.params.strategy;

    let xs = raw::cpu_slice(&x);
    let mut y = vec![0f32; xs.len()];
    let layout = Layout {
        thetas: &thetas,
        plane,
        pre_relu,
    };
    struct Fwd<'a>(Layout<'a>, &'a [f32], &'a mut [f32]);
    impl Dispatch<u64> for Fwd<'_> {
        fn call<K: ClipFn>(self, k: K) -> u64 {
            kernel::forward(k, self.0, self.1, self.2)
        }
    }
    let saturated = strategy.dispatch(beta, Fwd(layout, &xs, &mut y));
    let total = xs.len() as u64;
    drop(xs);
    let out = dev.try_tensor_from_vec(y, dims).map_err(cpu_err)?;

    if T::OWNS_TAPE {
        let out_id = out.clone();
        let rho = layer.rho.clone();
        tape.add_backward_op(move |grads| {
            grads.try_alloc_for(&x)?;
            grads.try_alloc_for(&out_id)?;
            if let Some(r) = &rho {
                grads.try_alloc_for(r)?;
            }
            // SAFETY: all entries exist now, so the lookups below insert nothing; the output
            // gradient is only read while the input gradient (another entry) is written.
            let gy = unsafe { raw::detach(grads.get_or_alloc_mut(&out_id)?) };
            let xs = raw::cpu_slice(&x);
            let ys = raw::cpu_slice(&out_id);
            let gx = grads.get_or_alloc_mut(&x)?;
            let layout = Layout {
                thetas: &thetas,
                plane,
                pre_relu,
            };
            struct Bwd<'a>(Layout<'a>, [&'a [f32]; 3], &'a mut [f32]);
            impl Dispatch<Vec<f64>> for Bwd<'_> {
                fn call<K: ClipFn>(self, k: K) -> Vec<f64> {
                    let [x, y, gy] = self.1;
                    kernel::backward(k, self.0, x, y, gy, self.2)
                }
            }
            let dtheta = strategy.dispatch(beta, Bwd(layout, [&xs, &ys, gy], gx));
            if let Some(r) = &rho {
                let rho_vals = r.as_vec();
                let g = grads.get_or_alloc_mut(r)?;
                for ((gr, dt), rv) in g.iter_mut().zip(dtheta).zip(rho_vals) {
                    *gr += (dt * threshold::dtheta_drho(f64::from(rv))) as f32;
                }
            }
            Ok(())
        });
    }
    Ok((out.put_tape(tape), ClipStats { saturated, total }))
}
