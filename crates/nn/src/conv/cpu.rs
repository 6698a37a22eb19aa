//! Fast CPU convolution: per image, im2col into a scratch buffer and one `gemm`; registered
//! on dfdx's tape as a custom op (split_tape / add_backward_op).
//!
//! Determinism: images are split into tasks of a FIXED size ([`IMAGES_PER_TASK`]), each task
//! runs serially, and the per-task partial weight/bias gradients are summed in task order,
//! so the bits do not depend on how many rayon threads run the tasks.

use super::im2col::{col2im_add, im2col};
use super::{Conv2dOpts, Geom};
use crate::raw::{self, MatMut, MatRef};
use crate::scratch::with_scratch;
use crate::{NnError, Tensor1, Tensor4};
use dfdx::tensor::{Cpu, CpuError, Gradients, Merge, PutTape, SplitTape, Tape, TensorFromVec};
use dfdx::tensor_ops::ReshapeTo;
use rayon::prelude::*;

const OP: &str = "conv2d (cpu)";

/// Images per parallel task. Fixed (not derived from the thread count) so that the order of
/// the weight-gradient reduction, and hence its rounding, never changes.
pub(crate) const IMAGES_PER_TASK: usize = 4;

/// The CPU kernel behind [`NnDevice::conv2d`](crate::NnDevice::conv2d) for [`Cpu`].
pub(crate) fn conv2d<T, R>(
    x: Tensor4<Cpu, T>,
    weight: Tensor4<Cpu, R>,
    bias: Tensor1<Cpu, R>,
    opts: Conv2dOpts,
) -> Result<Tensor4<Cpu, T>, NnError>
where
    T: Tape<f32, Cpu> + Merge<R>,
    R: Tape<f32, Cpu>,
{
    let g = Geom::new(&x, &weight, &bias, opts.padding)?;
    let err = |e| NnError::device(OP, e);
    // No-ops (same id, same buffer) for dense tensors; a recorded copy for views.
    let (x, tx) = x.try_contiguous().map_err(err)?.split_tape();
    let (weight, tw) = weight.try_contiguous().map_err(err)?.split_tape();
    let (bias, tb) = bias.try_contiguous().map_err(err)?.split_tape();
    let mut tape = tx.merge(tw).merge(tb);
    let out = match (
        raw::cpu_data(&x),
        raw::cpu_data(&weight),
        raw::cpu_data(&bias),
    ) {
        (Some(xs), Some(ws), Some(bs)) => forward(&g, xs, ws, bs).map_err(err)?,
        // `try_contiguous` above makes this unreachable; report rather than panic.
        _ => return Err(err(CpuError::WrongNumElements)),
    };
    let out = x
        .device()
        .try_tensor_from_vec(out, g.out_shape())
        .map_err(err)?;
    if T::OWNS_TAPE {
        let out_ghost = out.ghost();
        let bias_ghost = bias.ghost();
        let input_grad = opts.input_grad;
        tape.add_backward_op(move |grads| {
            // dy is taken out of `grads` and put back at the end, so the other entries can be
            // borrowed mutably one at a time while it is read: no aliasing, no unsafe.
            let dy: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
            let accumulate = |grads: &mut Gradients<f32, Cpu>| {
                let bad = CpuError::WrongNumElements;
                let xs = raw::cpu_data(&x).ok_or(bad)?;
                let ws = raw::cpu_data(&weight).ok_or(bad)?;
                let dx = match input_grad {
                    true => Some(&mut ***grads.get_or_alloc_mut(&x)?),
                    false => None,
                };
                let (dw, db) = param_and_input_grads(&g, xs, ws, OutGrad::Dense(&dy), dx)?;
                add_into(grads.get_or_alloc_mut(&weight)?, &dw)?;
                add_into(grads.get_or_alloc_mut(&bias_ghost)?, &db)
            };
            let result = accumulate(grads);
            **grads.get_or_alloc_mut(&out_ghost)? = dy;
            result
        });
    }
    Ok(out.put_tape(tape))
}

/// Where the backward reads image n's output gradient dL/dy (O × Ho·Wo).
#[derive(Clone, Copy)]
pub(crate) enum OutGrad<'a> {
    /// The whole batch's, dense NCHW.
    Dense(&'a [f32]),
    /// Written per image into a scratch buffer (the image's index, the buffer): the fused
    /// conv → clip → pool op builds it from the pooled gradient, so the batch's full-size
    /// output gradient never exists.
    PerImage(&'a (dyn Fn(usize, &mut [f32]) + Sync)),
}

/// Accumulates dL/dx into `dx` (when given) and returns dL/dW and dL/db (f64, to be added to
/// the gradient entries).
pub(crate) fn param_and_input_grads(
    g: &Geom,
    x: &[f32],
    w: &[f32],
    dy: OutGrad<'_>,
    dx: Option<&mut [f32]>,
) -> Result<(Vec<f64>, Vec<f64>), CpuError> {
    let sizes_ok = x.len() == g.b * g.c * g.in_plane()
        && w.len() == g.o * g.k()
        && match dy {
            OutGrad::Dense(dy) => dy.len() == g.b * g.o * g.out_plane(),
            OutGrad::PerImage(_) => true,
        }
        && dx.as_ref().is_none_or(|d| d.len() == x.len());
    if !sizes_ok {
        return Err(CpuError::WrongNumElements);
    }
    Ok(reduce(g, &backward(g, x, w, dy, dx)))
}

pub(crate) fn add_into(dst: &mut [f32], src: &[f64]) -> Result<(), CpuError> {
    if dst.len() != src.len() {
        return Err(CpuError::WrongNumElements);
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d += *s as f32;
    }
    Ok(())
}

/// y[n] = W · im2col(x[n]) + b, for every image n, NCHW.
fn forward(g: &Geom, x: &[f32], w: &[f32], b: &[f32]) -> Result<Vec<f32>, CpuError> {
    let (k, p) = (g.k(), g.out_plane());
    let img_in = g.c * g.in_plane();
    let img_out = g.o * p;
    let n = g.b * img_out;
    // The fill below must cover every output element: one bias per output plane.
    if b.len() != g.o || p == 0 || x.len() != g.b * img_in || w.len() != g.o * k {
        return Err(CpuError::WrongNumElements);
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut out: Vec<f32> = Vec::with_capacity(n);
    // Each task starts its images from the bias (gemm then accumulates onto it): filled
    // serially, the 4 MB of conv1's output was ~4% of a 2-thread training step (perf).
    out.spare_capacity_mut()[..n]
        .par_chunks_mut(IMAGES_PER_TASK * img_out)
        .enumerate()
        .for_each(|(t, chunk)| {
            for y in chunk.chunks_mut(img_out) {
                for (plane, &bo) in y.chunks_mut(p).zip(b) {
                    for v in plane {
                        v.write(bo);
                    }
                }
            }
            // SAFETY: every element of `chunk` was written just above (b has g.o values, so
            // the planes cover each image), and MaybeUninit<f32> has f32's layout.
            let chunk = unsafe { &mut *(std::ptr::from_mut(chunk) as *mut [f32]) };
            with_scratch(k * p, |cols| {
                for (j, y) in chunk.chunks_mut(img_out).enumerate() {
                    let n = t * IMAGES_PER_TASK + j;
                    accumulate_image(g, &x[n * img_in..(n + 1) * img_in], w, cols, y);
                }
            })
        });
    // SAFETY: the tasks above initialised all n elements (the chunks cover 0..n).
    unsafe { out.set_len(n) };
    Ok(out)
}

/// y += W · im2col(x) for one image: `x` is C × H × W, `y` is O × Ho·Wo (holding the bias),
/// `cols` a K × Ho·Wo scratch buffer.
pub(crate) fn accumulate_image(g: &Geom, x: &[f32], w: &[f32], cols: &mut [f32], y: &mut [f32]) {
    let (k, p) = (g.k(), g.out_plane());
    im2col(g, x, cols);
    raw::gemm(
        MatMut::row_major(y, g.o, p),
        MatRef::row_major(w, g.o, k),
        MatRef::row_major(cols, k, p),
        true,
    );
}

/// One task's partial parameter gradients: dWᵀ (K × O, f32 from gemm) and db (O, in f64).
struct Partial {
    dw_t: Vec<f32>,
    db: Vec<f64>,
}

/// Per task: dWᵀ += cols · dyᵀ, db += Σ dy, and (if `dx`) dx += col2im(Wᵀ · dy).
fn backward(
    g: &Geom,
    x: &[f32],
    w: &[f32],
    dy: OutGrad<'_>,
    dx: Option<&mut [f32]>,
) -> Vec<Partial> {
    let img_in = g.c * g.in_plane();
    let tasks = g.b.div_ceil(IMAGES_PER_TASK);
    match dx {
        Some(dx) => dx
            .par_chunks_mut(IMAGES_PER_TASK * img_in)
            .enumerate()
            .map(|(t, dxc)| backward_task(g, x, w, dy, t, Some(dxc)))
            .collect(),
        None => (0..tasks)
            .into_par_iter()
            .map(|t| backward_task(g, x, w, dy, t, None))
            .collect(),
    }
}

fn backward_task(
    g: &Geom,
    x: &[f32],
    w: &[f32],
    dy: OutGrad<'_>,
    t: usize,
    mut dx: Option<&mut [f32]>,
) -> Partial {
    let (k, p) = (g.k(), g.out_plane());
    let img_in = g.c * g.in_plane();
    let img_out = g.o * p;
    let mut part = Partial {
        dw_t: vec![0.0f32; k * g.o],
        db: vec![0.0f64; g.o],
    };
    let dcols_len = if dx.is_some() { k * p } else { 0 };
    let dy_len = match dy {
        OutGrad::Dense(_) => 0,
        OutGrad::PerImage(_) => img_out,
    };
    with_scratch(k * p + dcols_len + dy_len, |buf| {
        let (cols, rest) = buf.split_at_mut(k * p);
        let (dcols, dy_buf) = rest.split_at_mut(dcols_len);
        let first = t * IMAGES_PER_TASK;
        for n in first..(first + IMAGES_PER_TASK).min(g.b) {
            let dy_n: &[f32] = match dy {
                OutGrad::Dense(dy) => &dy[n * img_out..(n + 1) * img_out],
                OutGrad::PerImage(fill) => {
                    fill(n, dy_buf);
                    dy_buf
                }
            };
            im2col(g, &x[n * img_in..(n + 1) * img_in], cols);
            // dWᵀ += cols · dyᵀ: of the layouts measured (dW = dy·colsᵀ, the same with a
            // transposed im2col, and this one), the fastest once building the columns counts.
            raw::gemm(
                MatMut::row_major(&mut part.dw_t, k, g.o),
                MatRef::row_major(cols, k, p),
                MatRef::row_major(dy_n, g.o, p).t(),
                true,
            );
            for (acc, row) in part.db.iter_mut().zip(dy_n.chunks(p)) {
                *acc += sum_f64(row);
            }
            if let Some(dx) = dx.as_deref_mut() {
                raw::gemm(
                    MatMut::row_major(dcols, k, p),
                    MatRef::row_major(w, g.o, k).t(),
                    MatRef::row_major(dy_n, g.o, p),
                    false,
                );
                let j = n - first;
                col2im_add(g, dcols, &mut dx[j * img_in..(j + 1) * img_in]);
            }
        }
    });
    part
}

/// Σ v in f64 with eight interleaved accumulators (a fixed order, so deterministic): one
/// running sum is a chain of dependent adds that profiles showed at ~5% of a conv backward.
fn sum_f64(v: &[f32]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f64::from(x);
        }
    }
    let head: f64 = acc.iter().sum();
    head + tail.iter().map(|&x| f64::from(x)).sum::<f64>()
}

/// Sums the task partials in task order, in f64.
fn reduce(g: &Geom, parts: &[Partial]) -> (Vec<f64>, Vec<f64>) {
    let mut dw = vec![0.0f64; g.o * g.k()];
    let mut db = vec![0.0f64; g.o];
    for part in parts {
        for (kk, row) in part.dw_t.chunks(g.o).enumerate() {
            for (o, &v) in row.iter().enumerate() {
                dw[o * g.k() + kk] += f64::from(v);
            }
        }
        for (a, &v) in db.iter_mut().zip(&part.db) {
            *a += v;
        }
    }
    (dw, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bias fill writes every output element only when the slices fit the geometry: a
    /// mismatch is an error, never uninitialised memory.
    #[test]
    fn forward_checks_sizes_and_starts_from_the_bias() {
        let g = Geom {
            b: 5,
            c: 1,
            h: 3,
            w: 3,
            o: 2,
            kh: 3,
            kw: 3,
            pad: 1,
            ho: 3,
            wo: 3,
        };
        let x = vec![0.0f32; 5 * 9];
        let w = vec![0.0f32; 2 * 9];
        // Zero input: the output is the bias, plane by plane, for all 5 images (two tasks).
        let y = forward(&g, &x, &w, &[1.5, -2.0]).expect("sizes fit");
        let want: Vec<f32> = (0..5)
            .flat_map(|_| [[1.5f32; 9], [-2.0; 9]].concat())
            .collect();
        assert_eq!(y, want);
        assert!(forward(&g, &x, &w, &[1.5]).is_err());
        assert!(forward(&g, &x[1..], &w, &[1.5, -2.0]).is_err());
        assert!(forward(&g, &x, &w[1..], &[1.5, -2.0]).is_err());
    }
}
