//! The only unsafe code of the crate: zero-copy access to dfdx Cpu tensor storage and
//! gradient buffers, which dfdx's public API does not expose.

use dfdx::shapes::{HasShape, Shape};
use dfdx::tensor::{Cpu, Tensor};
use std::borrow::Cow;

/// The elements of a Cpu tensor in logical (row-major) order; borrowed when the tensor is
/// contiguous, copied otherwise (e.g. a broadcast or permuted view).
pub fn cpu_slice<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> Cow<'_, [f32]> {
    let dims = t.shape().concrete();
    let numel: usize = dims.as_ref().iter().product();
    if numel == 0 {
        return Cow::Borrowed(&[]);
    }
    let zero = S::Concrete::default();
    let p0: *const f32 = &t[zero];
    // Probe one step along each axis: the address difference is that axis' stride, which must
    // equal the row-major stride for the buffer to be readable as one slice.
    let mut expected = 1usize;
    let mut contiguous = true;
    for ax in (0..S::NUM_DIMS).rev() {
        if dims[ax] > 1 {
            let mut idx = zero;
            idx[ax] = 1;
            let p: *const f32 = &t[idx];
            if (p as usize).wrapping_sub(p0 as usize) != expected * std::mem::size_of::<f32>() {
                contiguous = false;
                break;
            }
        }
        expected *= dims[ax];
    }
    if !contiguous {
        return Cow::Owned(t.as_vec());
    }
    // SAFETY: the probes above show the tensor's elements lie at p0 + i for i < numel in
    // row-major order inside one allocation (dfdx stores a tensor in one Vec); the Arc'd
    // storage lives as long as `t` is borrowed, and nothing mutates it while shared.
    Cow::Borrowed(unsafe { std::slice::from_raw_parts(p0, numel) })
}

/// Reborrows a gradient buffer with a caller-chosen lifetime, so that another gradient
/// entry can be borrowed mutably while this one is read.
///
/// # Safety
/// The buffer must stay allocated and unmodified for `'a`: callers allocate every entry they
/// need first (so later lookups do not insert into the map) and never write to this entry.
pub unsafe fn detach<'a>(v: &[f32]) -> &'a [f32] {
    // SAFETY: guaranteed by the caller as documented above.
    unsafe { std::slice::from_raw_parts(v.as_ptr(), v.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::prelude::*;

    #[test]
    fn contiguous_tensor_is_borrowed_in_order() {
        let dev = Cpu::default();
        let v: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let t = dev.tensor_from_vec(v.clone(), (2usize, 3usize, 4usize));
        let s = cpu_slice(&t);
        assert!(matches!(s, Cow::Borrowed(_)));
        assert_eq!(&*s, &v[..]);
    }

    #[test]
    fn permuted_and_broadcast_views_are_copied_in_logical_order() {
        let dev = Cpu::default();
        let t = dev.tensor_from_vec((0..6).map(|i| i as f32).collect(), (2usize, 3usize));
        let p: Tensor<(usize, usize), f32, Cpu> = t.clone().permute::<_, Axes2<1, 0>>();
        let s = cpu_slice(&p);
        assert!(matches!(s, Cow::Owned(_)));
        assert_eq!(&*s, &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let b: Tensor<(usize, usize, usize), f32, Cpu> =
            t.broadcast_like::<_, Axis<0>>(&(2usize, 2usize, 3usize));
        assert_eq!(cpu_slice(&b).len(), 12);
        assert_eq!(cpu_slice(&b)[6..], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }
}
