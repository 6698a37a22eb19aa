//! Zero-copy access to dfdx Cpu tensor storage and gradient buffers, which dfdx's public
//! API does not expose: the only unsafe code of this crate, also used by `clipbench-nn`.

use dfdx::shapes::{HasShape, Shape};
use dfdx::tensor::{Cpu, Tensor};
use std::borrow::Cow;

/// The elements of a Cpu tensor in row-major order, borrowed without a copy, or `None` when
/// the tensor is not stored densely in row-major order (permuted or broadcast views): call
/// dfdx's `try_contiguous()` first.
pub fn cpu_data<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> Option<&[f32]> {
    let dims = t.shape().concrete();
    let numel = t.shape().num_elements();
    if numel == 0 {
        return Some(&[]);
    }
    let zero = S::Concrete::default();
    let p0: *const f32 = &t[zero];
    // Probe one step along each axis: the address difference is that axis' stride, which must
    // equal the row-major stride for the storage to be readable as one slice. Casting
    // pointers to integers is safe; nothing is dereferenced here.
    let mut expected = 1usize;
    let mut last = zero;
    for ax in (0..S::NUM_DIMS).rev() {
        if dims[ax] > 1 {
            let mut idx = zero;
            idx[ax] = 1;
            let p: *const f32 = &t[idx];
            if (p as usize).wrapping_sub(p0 as usize) != expected * std::mem::size_of::<f32>() {
                return None;
            }
        }
        last[ax] = dims[ax] - 1;
        expected *= dims[ax];
    }
    // Safe indexing of the last element is bounds-checked against the storage Vec: it proves
    // p0 + numel - 1 is inside the same initialised buffer as p0.
    let p_last: *const f32 = &t[last];
    if (p_last as usize).wrapping_sub(p0 as usize) != (numel - 1) * std::mem::size_of::<f32>() {
        return None;
    }
    // SAFETY: dfdx keeps a tensor's elements in one Vec<f32> (behind an Arc). The probes show
    // element i of the tensor (row-major) is at p0 + i for all i < numel, and p0 and
    // p0 + numel - 1 were reached by bounds-checked indexing, so the whole range is
    // initialised f32s of that one allocation, properly aligned. The returned slice borrows
    // `t`, which keeps the Arc alive; dfdx never writes through a shared Arc (it uses
    // Arc::make_mut, which copies while another handle exists), so the memory is not mutated
    // for the slice's lifetime. Caveat: the base pointer is derived from a reference to one
    // element; reading its neighbours through it is accepted by the Tree Borrows model but
    // not by Stacked Borrows. dfdx offers no public way to borrow the whole buffer.
    Some(unsafe { std::slice::from_raw_parts(p0, numel) })
}

/// The elements of a Cpu tensor in logical (row-major) order; borrowed when the tensor is
/// contiguous, copied otherwise (e.g. a broadcast or permuted view).
pub fn cpu_slice<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> Cow<'_, [f32]> {
    match cpu_data(t) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.as_vec()),
    }
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
