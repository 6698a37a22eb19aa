//! The clip layer as one custom dfdx op on Cpu: the fused kernels of [`crate::kernel`] wired
//! into dfdx's tape (forward now, a backward closure that writes ∂L/∂x and the gradient of θ's parameter).

use dfdx::prelude::*;

use crate::layer::{Act, ClipLayer, ClipStats, Shape4};
use crate::raw;
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
    let kernels = layer.cpu_kernels();
    let plane = dims.2 * dims.3;

    let xs = raw::cpu_slice(&x);
    let mut y = vec![0f32; xs.len()];
    let saturated = kernels.forward(&xs, &mut y, plane);
    let total = xs.len() as u64;
    drop(xs);
    let out = dev.try_tensor_from_vec(y, dims).map_err(cpu_err)?;

    if T::OWNS_TAPE {
        let out_id = out.clone();
        let target = layer.theta_grad_target();
        tape.add_backward_op(move |grads| {
            // Take dy out so dx can be borrowed mutably; put it back afterwards (the same
            // safe hand-off as the fused clip-pool in clipbench-nn).
            let gy: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_id)?);
            let xs = raw::cpu_slice(&x);
            let ys = raw::cpu_slice(&out_id);
            let dtheta = grads
                .get_or_alloc_mut(&x)
                .map(|gx| kernels.backward(&xs, &ys, &gy, gx, plane));
            **grads.get_or_alloc_mut(&out_id)? = gy;
            let dtheta = dtheta?;
            if let Some(t) = &target {
                t.add(grads, &dtheta)?;
            }
            Ok(())
        });
    }
    Ok((out.put_tape(tape), ClipStats { saturated, total }))
}
