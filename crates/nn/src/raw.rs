//! All of the crate's unsafe code: zero-copy reads of dfdx Cpu tensor storage (which dfdx's
//! public API does not expose) and a bounds-checked wrapper around `gemm::gemm`.
//!
//! Gradient buffers need no unsafe here: the CPU ops take the output gradient out of
//! `Gradients` with `std::mem::take`, write the other entries one at a time, and put it back.

/// Zero-copy reads of Cpu tensors live in the clip crate, beside its own kernels.
pub(crate) use clipbench_clip::raw::cpu_data;

/// A read-only matrix view: element (i, j) is `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A dense row-major `rows × cols` matrix at the start of `data`.
    pub(crate) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, without moving data.
    pub(crate) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Panics unless every element lies inside `data` (the soundness guard for `gemm`).
    fn check_bounds(&self) {
        assert!(
            self.rows > 0 && self.cols > 0,
            "empty matrix passed to gemm"
        );
        let max = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
        assert!(max < self.data.len(), "matrix view exceeds its buffer");
    }
}

/// A writable dense row-major matrix view (distinct (i, j) never share memory).
pub(crate) struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatMut<'a> {
    pub(crate) fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols }
    }
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` when `accumulate`, single-threaded (callers
/// parallelise over fixed chunks themselves, which keeps results independent of the number
/// of threads).
///
/// Panics on mismatched dimensions or views outside their buffers: callers derive all views
/// from validated shapes, so a panic here is a bug, and the check keeps `gemm` in bounds.
pub(crate) fn gemm(dst: MatMut<'_>, lhs: MatRef<'_>, rhs: MatRef<'_>, accumulate: bool) {
    assert!(
        dst.rows == lhs.rows && dst.cols == rhs.cols && lhs.cols == rhs.rows,
        "gemm dimensions disagree: dst {}x{}, lhs {}x{}, rhs {}x{}",
        dst.rows,
        dst.cols,
        lhs.rows,
        lhs.cols,
        rhs.rows,
        rhs.cols
    );
    lhs.check_bounds();
    rhs.check_bounds();
    assert!(
        dst.rows > 0 && dst.cols > 0 && dst.rows * dst.cols <= dst.data.len(),
        "destination view exceeds its buffer"
    );
    let stride = |s: usize| isize::try_from(s).expect("matrix strides come from in-memory sizes");
    // SAFETY: the asserts above show that every element gemm reads (lhs: rows × cols, rhs:
    // rows × cols, dst when accumulating) and writes (dst: rows × cols, row-major, so no two
    // elements alias) lies inside the borrowed slices; `dst` is borrowed mutably and so does
    // not overlap `lhs` or `rhs`. Parallelism::None keeps gemm on this thread, so the borrows
    // outlive every access.
    unsafe {
        gemm::gemm(
            dst.rows,
            dst.cols,
            lhs.cols,
            dst.data.as_mut_ptr(),
            1,
            stride(dst.cols),
            accumulate,
            lhs.data.as_ptr(),
            stride(lhs.col_stride),
            stride(lhs.row_stride),
            rhs.data.as_ptr(),
            stride(rhs.col_stride),
            stride(rhs.row_stride),
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `c = a · b` for dense row-major `n × n` matrices, on this thread: the sgemm-peak
/// measurement of [`crate::flops::sgemm_peak`].
pub(crate) fn square_gemm(c: &mut [f32], a: &[f32], b: &[f32], n: usize) {
    gemm(
        MatMut::row_major(c, n, n),
        MatRef::row_major(a, n, n),
        MatRef::row_major(b, n, n),
        false,
    );
}

/// Bytes 0xFF where bit k of a 4-bit movemask is set (byte k = window k, little-endian).
#[cfg(target_arch = "x86_64")]
const BYTE_MASK: [u32; 16] = {
    let mut t = [0u32; 16];
    let mut bits = 0;
    while bits < 16 {
        let mut k = 0;
        while k < 4 {
            if bits >> k & 1 == 1 {
                t[bits] |= 0xFF << (8 * k);
            }
            k += 1;
        }
        bits += 1;
    }
    t
};

/// The max-pool's second pass on one row of windows (`crate::pool::cpu::vertical_scalar`
/// is the same function, one window at a time): per window, the lower pair's winner `l`
/// replaces the upper's `u` iff `l > u` or `l` is the first NaN, and the argmax is
/// `2 + lower_r` or `upper_r`. Bitwise selects, so the chosen value's bits (−0, NaN payloads)
/// pass unchanged. Rows of 4 or more windows: 4 at a time, the last 4 recomputed when the
/// length is not a multiple of 4 (the same inputs give the same outputs).
#[cfg(target_arch = "x86_64")]
pub(crate) fn pool_vertical_sse2(
    upper: &[f32],
    lower: &[f32],
    (upper_r, lower_r): (&[u8], &[u8]),
    out: &mut [f32],
    arg: &mut [u8],
) {
    use std::arch::x86_64::*;
    let n = out.len();
    assert!(
        n >= 4
            && upper.len() == n
            && lower.len() == n
            && upper_r.len() == n
            && lower_r.len() == n
            && arg.len() == n,
        "pool_vertical_sse2: rows of at least 4 windows, all of one length"
    );
    let quad = |s: &[u8], i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let mut i = 0;
    loop {
        // SAFETY: i + 4 <= n, the length of every slice (asserted above), so the unaligned
        // 4-float loads and the store stay inside `upper`, `lower` and `out`; SSE2 is part of
        // the x86-64 baseline.
        let take = unsafe {
            let u = _mm_loadu_ps(upper.as_ptr().add(i));
            let l = _mm_loadu_ps(lower.as_ptr().add(i));
            let greater = _mm_cmpgt_ps(l, u);
            let l_nan = _mm_cmpunord_ps(l, l);
            let u_nan = _mm_cmpunord_ps(u, u);
            let take = _mm_or_ps(greater, _mm_andnot_ps(u_nan, l_nan));
            let o = _mm_or_ps(_mm_and_ps(take, l), _mm_andnot_ps(take, u));
            _mm_storeu_ps(out.as_mut_ptr().add(i), o);
            _mm_movemask_ps(take) as usize
        };
        let m = BYTE_MASK[take & 15];
        // lower_r and upper_r are 0 or 1 per byte: + 0x02 per byte never carries.
        let a = (m & quad(lower_r, i).wrapping_add(0x0202_0202)) | (!m & quad(upper_r, i));
        arg[i..i + 4].copy_from_slice(&a.to_le_bytes());
        if i + 4 == n {
            break;
        }
        i = (i + 4).min(n - 4);
    }
}

/// The fused op's gradient scatter on one row pair, 8 windows at a time with AVX2: window c's
/// `dy[c]` goes to `top[2c + a]` (winner a = 0, 1) or `bottom[2c + a − 2]` (a = 2, 3), written
/// as `0.0 + value` and `+0.0` elsewhere: the bits of `crate::pool::cpu::unpool_into`'s scalar
/// loop. Returns how many windows it wrote (a multiple of 8); the caller writes the rest.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn unpool_row_avx2(
    top: &mut [f32],
    bottom: &mut [f32],
    dy: &[f32],
    arg: &[u8],
) -> usize {
    use std::arch::x86_64::*;
    let n = dy
        .len()
        .min(arg.len())
        .min(top.len() / 2)
        .min(bottom.len() / 2)
        / 8
        * 8;
    let zero = _mm256_setzero_ps();
    let mut c = 0;
    while c < n {
        // SAFETY: c + 8 <= n, so the 8 floats of dy, the 8 bytes of arg and the 16 floats of
        // top and bottom at 2c all lie inside the slices (n is bounded by each length above).
        unsafe {
            let g = _mm256_loadu_ps(dy.as_ptr().add(c));
            let a = _mm256_cvtepu8_epi32(_mm_loadl_epi64(arg.as_ptr().add(c) as *const __m128i));
            let pick = |k: i32| {
                let m = _mm256_castsi256_ps(_mm256_cmpeq_epi32(a, _mm256_set1_epi32(k)));
                _mm256_add_ps(zero, _mm256_and_ps(m, g))
            };
            let interleave = |dst: *mut f32, even: __m256, odd: __m256| {
                let lo = _mm256_unpacklo_ps(even, odd);
                let hi = _mm256_unpackhi_ps(even, odd);
                _mm256_storeu_ps(dst, _mm256_permute2f128_ps::<0x20>(lo, hi));
                _mm256_storeu_ps(dst.add(8), _mm256_permute2f128_ps::<0x31>(lo, hi));
            };
            interleave(top.as_mut_ptr().add(2 * c), pick(0), pick(1));
            interleave(bottom.as_mut_ptr().add(2 * c), pick(2), pick(3));
        }
        c += 8;
    }
    n
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
        assert_eq!(cpu_data(&t), Some(&v[..]));
        // A reshape of a contiguous tensor shares its buffer and stays readable.
        let r = t.reshape_like(&(4usize, 6usize));
        assert_eq!(cpu_data(&r), Some(&v[..]));
    }

    #[test]
    fn permuted_and_broadcast_views_are_refused_until_made_contiguous() {
        let dev = Cpu::default();
        let t = dev.tensor_from_vec((0..6).map(|i| i as f32).collect(), (2usize, 3usize));
        let p: Tensor<(usize, usize), f32, Cpu> = t.clone().permute::<_, Axes2<1, 0>>();
        assert_eq!(cpu_data(&p), None);
        assert_eq!(
            cpu_data(&p.contiguous()),
            Some(&[0.0, 3.0, 1.0, 4.0, 2.0, 5.0][..])
        );
        let b: Tensor<(usize, usize, usize), f32, Cpu> =
            t.broadcast_like::<_, Axis<0>>(&(2usize, 2usize, 3usize));
        assert_eq!(cpu_data(&b), None);
        assert_eq!(cpu_data(&b.contiguous()).map(<[f32]>::len), Some(12));
    }

    #[test]
    fn size_one_axes_and_scalars_are_contiguous() {
        let dev = Cpu::default();
        let t = dev.tensor_from_vec(vec![1.5, 2.5], (1usize, 2usize, 1usize));
        assert_eq!(cpu_data(&t), Some(&[1.5, 2.5][..]));
        let s = dev.tensor_from_vec(vec![7.0], (1usize,));
        assert_eq!(cpu_data(&s), Some(&[7.0][..]));
    }

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Vec<f64> {
        let mut out = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let x = if ta { a[p * m + i] } else { a[i * k + p] };
                    let y = if tb { b[j * k + p] } else { b[p * n + j] };
                    out[i * n + j] += f64::from(x) * f64::from(y);
                }
            }
        }
        out
    }

    #[test]
    fn gemm_matches_naive_for_all_transpositions_and_accumulates() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 17 % 13) as f32 - 6.0) / 3.0)
            .collect();
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let lhs = if ta {
                MatRef::row_major(&a, k, m).t()
            } else {
                MatRef::row_major(&a, m, k)
            };
            let rhs = if tb {
                MatRef::row_major(&b, n, k).t()
            } else {
                MatRef::row_major(&b, k, n)
            };
            let want = naive(&a, &b, m, k, n, ta, tb);
            let mut dst = vec![f32::NAN; m * n];
            gemm(MatMut::row_major(&mut dst, m, n), lhs, rhs, false);
            for (d, w) in dst.iter().zip(&want) {
                assert!((f64::from(*d) - w).abs() < 1e-5, "{d} vs {w}");
            }
            let mut acc = vec![1.0f32; m * n];
            gemm(MatMut::row_major(&mut acc, m, n), lhs, rhs, true);
            for (d, w) in acc.iter().zip(&want) {
                assert!((f64::from(*d) - (w + 1.0)).abs() < 1e-5, "{d} vs {w} + 1");
            }
        }
    }

    #[test]
    #[should_panic(expected = "matrix view exceeds its buffer")]
    fn gemm_refuses_views_outside_their_buffer() {
        let a = vec![0.0f32; 5];
        let b = vec![0.0f32; 6];
        let mut d = vec![0.0f32; 6];
        gemm(
            MatMut::row_major(&mut d, 2, 3),
            MatRef::row_major(&a, 2, 3),
            MatRef::row_major(&b, 3, 3).t(),
            false,
        );
    }
}
