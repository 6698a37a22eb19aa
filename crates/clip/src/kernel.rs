//! The fused CPU clip kernels over plain slices: one pass forward (with the clip count), one
//! pass backward (∂L/∂x accumulated, ∂L/∂θ summed in f64).
//!
//! Work is cut into fixed chunks of [`CHUNK`] elements that rayon spreads over the threads;
//! every sum is formed per chunk in a fixed lane order and chunks are added in index order,
//! so the results are bit-identical for any thread count. On x86-64 the element loops are
//! compiled a second time with AVX2 and chosen at run time; they use no FMA, so both versions
//! produce the same bits.

use rayon::prelude::*;

use crate::strategy::ClipFn;

/// Elements per parallel work item (128 KiB of f32): large enough to amortise scheduling,
/// small enough to balance two cores on the smallest training activations.
pub const CHUNK: usize = 1 << 15;
const LANES: usize = 8;

/// How θ maps onto a flat NCHW buffer: θ is indexed by `(i / plane) % thetas.len()`.
/// A scalar θ is `thetas.len() == 1` (then `plane` is irrelevant).
#[derive(Clone, Copy, Debug)]
pub struct Layout<'a> {
    pub thetas: &'a [f32],
    pub plane: usize,
    /// Apply relu before the clip (fused relu → clip, as the CNN uses it).
    pub pre_relu: bool,
}

impl Layout<'_> {
    /// Runs `f(start, end, θ)` over the maximal runs of [lo, hi) with a constant θ.
    #[inline]
    fn segments(&self, lo: usize, hi: usize, mut f: impl FnMut(usize, usize, usize)) {
        let c = self.thetas.len();
        if c == 1 {
            f(lo, hi, 0);
            return;
        }
        let mut s = lo;
        while s < hi {
            let e = ((s / self.plane + 1) * self.plane).min(hi);
            f(s, e, (s / self.plane) % c);
            s = e;
        }
    }
}

/// A clip function applied as is.
#[derive(Clone, Copy)]
struct Plain<K>(K);

/// A clip function applied after relu (derivative 1[x > 0]): the fused relu → clip.
#[derive(Clone, Copy)]
struct Relu<K>(K);

/// The element operations the loops need.
trait Elem: Copy {
    /// (y, saturated)
    fn fwd(self, x: f32, t: f32) -> (f32, bool);
    /// (∂y/∂x, ∂y/∂θ) given the forward output y
    fn bwd(self, x: f32, y: f32, t: f32) -> (f32, f32);
    fn sat(self, x: f32, t: f32) -> bool;
}

impl<K: ClipFn> Elem for Plain<K> {
    #[inline(always)]
    fn fwd(self, x: f32, t: f32) -> (f32, bool) {
        (self.0.forward(x, t), self.0.saturated(x, t))
    }
    #[inline(always)]
    fn bwd(self, x: f32, y: f32, t: f32) -> (f32, f32) {
        self.0.backward(x, y, t)
    }
    #[inline(always)]
    fn sat(self, x: f32, t: f32) -> bool {
        self.0.saturated(x, t)
    }
}

impl<K: ClipFn> Elem for Relu<K> {
    #[inline(always)]
    fn fwd(self, x: f32, t: f32) -> (f32, bool) {
        let r = if x > 0.0 { x } else { 0.0 };
        (self.0.forward(r, t), self.0.saturated(r, t))
    }
    #[inline(always)]
    fn bwd(self, x: f32, y: f32, t: f32) -> (f32, f32) {
        let r = if x > 0.0 { x } else { 0.0 };
        let (dx, dt) = self.0.backward(r, y, t);
        (if x > 0.0 { dx } else { 0.0 }, dt)
    }
    #[inline(always)]
    fn sat(self, x: f32, t: f32) -> bool {
        self.0.saturated(if x > 0.0 { x } else { 0.0 }, t)
    }
}

/// Forward: y = f(relu?(x); θ). Returns the number of saturated elements.
pub fn forward<K: ClipFn>(k: K, layout: Layout<'_>, x: &[f32], y: &mut [f32]) -> u64 {
    assert_eq!(x.len(), y.len(), "clip forward: x and y lengths differ");
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .enumerate()
        .map(|(ci, (yc, xc))| {
            let base = ci * CHUNK;
            let mut count = 0u64;
            layout.segments(base, base + xc.len(), |s, e, c| {
                let t = layout.thetas[c];
                let (xs, ys) = (&xc[s - base..e - base], &mut yc[s - base..e - base]);
                count += if layout.pre_relu {
                    dispatch_fwd(Relu(k), xs, ys, t)
                } else {
                    dispatch_fwd(Plain(k), xs, ys, t)
                };
            });
            count
        })
        .sum()
}

/// The number of elements `forward` would count as saturated, without computing y (for ops
/// that apply the clip to fewer elements than they report on, like the fused clip-pool).
pub fn count_saturated<K: ClipFn>(k: K, layout: Layout<'_>, x: &[f32]) -> u64 {
    x.par_chunks(CHUNK)
        .enumerate()
        .map(|(ci, xc)| {
            let base = ci * CHUNK;
            let mut count = 0u64;
            layout.segments(base, base + xc.len(), |s, e, c| {
                let t = layout.thetas[c];
                let xs = &xc[s - base..e - base];
                count += if layout.pre_relu {
                    sat_loop(Relu(k), xs, t)
                } else {
                    sat_loop(Plain(k), xs, t)
                };
            });
            count
        })
        .sum()
}

#[inline(always)]
fn sat_loop<E: Elem>(k: E, x: &[f32], t: f32) -> u64 {
    x.chunks(BLOCK)
        .map(|b| u64::from(b.iter().map(|&v| u32::from(k.sat(v, t))).sum::<u32>()))
        .sum()
}

/// Backward: gx += gy·∂y/∂x; returns ∂L/∂θ_c = Σ gy·∂y/∂θ per θ entry, summed in f64.
/// `y` is the forward output for the same x and θ.
pub fn backward<K: ClipFn>(
    k: K,
    layout: Layout<'_>,
    x: &[f32],
    y: &[f32],
    gy: &[f32],
    gx: &mut [f32],
) -> Vec<f64> {
    assert!(
        x.len() == gy.len() && x.len() == gx.len() && x.len() == y.len(),
        "clip backward: lengths differ"
    );
    let c = layout.thetas.len();
    let partials: Vec<Vec<f64>> = gx
        .par_chunks_mut(CHUNK)
        .zip(
            x.par_chunks(CHUNK)
                .zip(y.par_chunks(CHUNK))
                .zip(gy.par_chunks(CHUNK)),
        )
        .enumerate()
        .map(|(ci, (gxc, ((xc, yc), gyc)))| {
            let base = ci * CHUNK;
            let mut acc = vec![0f64; c];
            layout.segments(base, base + xc.len(), |s, e, ch| {
                let t = layout.thetas[ch];
                let r = s - base..e - base;
                let (xs, ys) = (&xc[r.clone()], &yc[r.clone()]);
                let (gys, gxs) = (&gyc[r.clone()], &mut gxc[r]);
                acc[ch] += if layout.pre_relu {
                    dispatch_bwd(Relu(k), xs, ys, gys, gxs, t)
                } else {
                    dispatch_bwd(Plain(k), xs, ys, gys, gxs, t)
                };
            });
            acc
        })
        .collect();
    let mut total = vec![0f64; c];
    for p in partials {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

/// Elements per inner block: the element loop runs over a block as a plain loop (which
/// LLVM's loop vectoriser turns into SIMD), then the block's ∂θ terms are widened to f64.
const BLOCK: usize = 256;

#[inline(always)]
fn fwd_loop<E: Elem>(k: E, x: &[f32], y: &mut [f32], t: f32) -> u64 {
    let mut total = 0u64;
    for (xb, yb) in x.chunks(BLOCK).zip(y.chunks_mut(BLOCK)) {
        let mut count = 0u32;
        for (xv, yv) in xb.iter().zip(yb.iter_mut()) {
            let (v, sat) = k.fwd(*xv, t);
            *yv = v;
            count += u32::from(sat);
        }
        total += u64::from(count);
    }
    total
}

#[inline(always)]
fn bwd_loop<E: Elem>(k: E, x: &[f32], y: &[f32], gy: &[f32], gx: &mut [f32], t: f32) -> f64 {
    // One f64 accumulator per lane: the order of additions depends only on element
    // positions, never on threads, and the widening loop vectorises too.
    let mut acc = [0f64; LANES];
    let mut terms = [0f32; BLOCK];
    let blocks = x.chunks(BLOCK).zip(y.chunks(BLOCK));
    for ((xb, yb), (gyb, gxb)) in blocks.zip(gy.chunks(BLOCK).zip(gx.chunks_mut(BLOCK))) {
        let tb = &mut terms[..xb.len()];
        let inputs = xb.iter().zip(yb).zip(gyb);
        for (((xv, yv), gyv), (gxv, tv)) in inputs.zip(gxb.iter_mut().zip(tb.iter_mut())) {
            let (dx, dt) = k.bwd(*xv, *yv, t);
            *gxv += gyv * dx;
            *tv = gyv * dt;
        }
        let mut lanes = tb.chunks_exact(LANES);
        for c in &mut lanes {
            for j in 0..LANES {
                acc[j] += f64::from(c[j]);
            }
        }
        for (a, v) in acc.iter_mut().zip(lanes.remainder()) {
            *a += f64::from(*v);
        }
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2")]
    pub(super) fn fwd<E: Elem>(k: E, x: &[f32], y: &mut [f32], t: f32) -> u64 {
        fwd_loop(k, x, y, t)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn bwd<E: Elem>(
        k: E,
        x: &[f32],
        y: &[f32],
        gy: &[f32],
        gx: &mut [f32],
        t: f32,
    ) -> f64 {
        bwd_loop(k, x, y, gy, gx, t)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::*;

    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2")]
    pub(super) fn fwd<E: Elem>(k: E, x: &[f32], y: &mut [f32], t: f32) -> u64 {
        fwd_loop(k, x, y, t)
    }

    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2")]
    pub(super) fn bwd<E: Elem>(
        k: E,
        x: &[f32],
        y: &[f32],
        gy: &[f32],
        gx: &mut [f32],
        t: f32,
    ) -> f64 {
        bwd_loop(k, x, y, gy, gx, t)
    }
}

/// The clip kernel path this process takes (`avx512`, `avx2` or `portable`), for manifests:
/// the paths give the same bits (tested), but a run records which one made them.
pub fn cpu_path() -> &'static str {
    if has_avx512() {
        "avx512"
    } else if has_avx2() {
        "avx2"
    } else {
        "portable"
    }
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512bw")
            && !force_portable()
            && !FORCE_AVX2.load(std::sync::atomic::Ordering::Relaxed)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

static FORCE_AVX2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Caps the kernels at AVX2 (tests check every path gives the same bits).
pub fn set_force_avx2(on: bool) {
    FORCE_AVX2.store(on, std::sync::atomic::Ordering::Relaxed);
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && !force_portable()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Tests force the portable path to check that both paths give the same bits.
fn force_portable() -> bool {
    FORCE_PORTABLE.load(std::sync::atomic::Ordering::Relaxed)
}

static FORCE_PORTABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Selects the portable (non-AVX2) loops for this process; for tests and benchmarks.
pub fn set_force_portable(on: bool) {
    FORCE_PORTABLE.store(on, std::sync::atomic::Ordering::Relaxed);
}

#[inline]
fn dispatch_fwd<E: Elem>(k: E, x: &[f32], y: &mut [f32], t: f32) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU supports these AVX-512 subsets (checked at run time just above).
        return unsafe { avx512::fwd(k, x, y, t) };
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked at run time just above).
        return unsafe { avx2::fwd(k, x, y, t) };
    }
    fwd_loop(k, x, y, t)
}

#[inline]
fn dispatch_bwd<E: Elem>(k: E, x: &[f32], y: &[f32], gy: &[f32], gx: &mut [f32], t: f32) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU supports these AVX-512 subsets (checked at run time just above).
        return unsafe { avx512::bwd(k, x, y, gy, gx, t) };
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked at run time just above).
        return unsafe { avx2::bwd(k, x, y, gy, gx, t) };
    }
    bwd_loop(k, x, y, gy, gx, t)
}
