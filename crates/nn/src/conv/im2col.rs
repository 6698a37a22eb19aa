//! im2col and its adjoint for one image, stride 1, zero padding:
//! cols[(c·KH + kh)·KW + kw][oy·Wo + ox] = x[c][oy + kh − pad][ox + kw − pad] (0 outside).
//!
//! When the output is as wide as the input (a "same" convolution, e.g. 3×3 with padding 1),
//! each column row is the input plane shifted by a constant flat offset, so it is built with
//! one block copy plus zeroing of the columns that wrapped around a row edge; profiles showed
//! the per-output-row copies (thousands of ~64-byte memcpy calls per image) at ~18% of a conv.

use super::Geom;
use std::ops::Range;

/// The output positions `o` of kernel tap `k` whose input index `o + k − pad` lies in
/// `0..len`; empty when the tap only ever sees padding.
pub(crate) fn valid_range(out_len: usize, len: usize, k: usize, pad: usize) -> Range<usize> {
    let lo = pad.saturating_sub(k);
    let hi = (len + pad).saturating_sub(k).min(out_len);
    if lo < hi {
        lo..hi
    } else {
        0..0
    }
}

/// Builds the (C·KH·KW) × (Ho·Wo) columns of one image `x` (C × H × W) into `cols`,
/// writing every element.
pub(crate) fn im2col(g: &Geom, x: &[f32], cols: &mut [f32]) {
    let mut rows = cols.chunks_exact_mut(g.out_plane());
    for plane in x.chunks_exact(g.in_plane()) {
        for kh in 0..g.kh {
            for kw in 0..g.kw {
                let Some(row) = rows.next() else { return };
                let ys = valid_range(g.ho, g.h, kh, g.pad);
                let xs = valid_range(g.wo, g.w, kw, g.pad);
                if ys.is_empty() || xs.is_empty() {
                    row.fill(0.0);
                } else if g.wo == g.w {
                    shifted_copy(g, plane, row, (kh, kw), (ys, xs));
                } else {
                    row_copies(g, plane, row, (kh, kw), (ys, xs));
                }
            }
        }
    }
}

/// `wo == w`: rows `ys` of the tap are `plane` read at a constant flat offset.
fn shifted_copy(
    g: &Geom,
    plane: &[f32],
    row: &mut [f32],
    (kh, kw): (usize, usize),
    (ys, xs): (Range<usize>, Range<usize>),
) {
    let w = g.w;
    row[..ys.start * w].fill(0.0);
    row[ys.end * w..].fill(0.0);
    let block = &mut row[ys.start * w..ys.end * w];
    // block[i] reads plane[start + i], where start may lie up to `pad` before 0; the entries
    // that fall outside the plane or wrap across a row edge are zeroed below.
    let start = ((ys.start + kh - g.pad) * w + kw) as isize - g.pad as isize;
    let lo = (-start).max(0) as usize;
    let hi = block
        .len()
        .min((plane.len() as isize - start).max(0) as usize);
    block[..lo].fill(0.0);
    block[hi..].fill(0.0);
    let from = (start + lo as isize) as usize;
    block[lo..hi].copy_from_slice(&plane[from..from + (hi - lo)]);
    zero_outside(block, w, &xs);
}

/// Zeroes, in every row of width `w`, the columns outside `xs` (usually one column: a strided
/// loop, where per-row `fill`s would each become a tiny memset call).
#[inline(always)]
fn zero_outside(block: &mut [f32], w: usize, xs: &Range<usize>) {
    for col in (0..xs.start).chain(xs.end..w) {
        for v in block.iter_mut().skip(col).step_by(w) {
            *v = 0.0;
        }
    }
}

/// General case (output narrower or wider than the input): one copy per output row.
fn row_copies(
    g: &Geom,
    plane: &[f32],
    row: &mut [f32],
    (kh, kw): (usize, usize),
    (ys, xs): (Range<usize>, Range<usize>),
) {
    for (oy, seg) in row.chunks_exact_mut(g.wo).enumerate() {
        if !ys.contains(&oy) {
            seg.fill(0.0);
            continue;
        }
        let src = &plane[(oy + kh - g.pad) * g.w..][..g.w];
        seg[..xs.start].fill(0.0);
        seg[xs.clone()].copy_from_slice(&src[xs.start + kw - g.pad..xs.end + kw - g.pad]);
        seg[xs.end..].fill(0.0);
    }
}

crate::simd::dispatch! {
    /// The adjoint of [`im2col`]: dx[c][iy][ix] += every column entry that read it. `dcols`
    /// is scratch: entries that read padding are zeroed in place (so rows can be added as
    /// blocks).
    pub(crate) fn col2im_add(g: &Geom, dcols: &mut [f32], dx: &mut [f32]) {
        let mut rows = dcols.chunks_exact_mut(g.out_plane());
        for plane in dx.chunks_exact_mut(g.in_plane()) {
            for kh in 0..g.kh {
                for kw in 0..g.kw {
                    let Some(row) = rows.next() else { return };
                    let ys = valid_range(g.ho, g.h, kh, g.pad);
                    let xs = valid_range(g.wo, g.w, kw, g.pad);
                    if ys.is_empty() || xs.is_empty() {
                        continue;
                    }
                    if g.wo == g.w {
                        let w = g.w;
                        let block = &mut row[ys.start * w..ys.end * w];
                        zero_outside(block, w, &xs);
                        let start = ((ys.start + kh - g.pad) * w + kw) as isize - g.pad as isize;
                        let lo = (-start).max(0) as usize;
                        let hi = block
                            .len()
                            .min((plane.len() as isize - start).max(0) as usize);
                        let from = (start + lo as isize) as usize;
                        let dst = &mut plane[from..from + (hi - lo)];
                        for (d, s) in dst.iter_mut().zip(&block[lo..hi]) {
                            *d += s;
                        }
                    } else {
                        for oy in ys {
                            let seg = &row[oy * g.wo..][xs.clone()];
                            let dst = &mut plane[(oy + kh - g.pad) * g.w..][xs.start + kw - g.pad..]
                                [..seg.len()];
                            for (d, s) in dst.iter_mut().zip(seg) {
                                *d += s;
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    fn geom(c: usize, h: usize, w: usize, kh: usize, kw: usize, pad: usize) -> Geom {
        Geom {
            b: 1,
            c,
            h,
            w,
            o: 1,
            kh,
            kw,
            pad,
            ho: h + 2 * pad - kh + 1,
            wo: w + 2 * pad - kw + 1,
        }
    }

    fn geoms() -> Vec<Geom> {
        vec![
            geom(2, 5, 4, 3, 3, 1), // same width: shifted block copies
            geom(1, 3, 3, 5, 5, 2), // same width, taps reaching two rows over
            geom(2, 4, 6, 3, 3, 0), // narrower output: per-row copies
            geom(1, 2, 3, 1, 1, 0),
            geom(1, 1, 2, 5, 5, 2), // taps that only see padding
            geom(2, 3, 2, 2, 4, 3), // wider output than input
        ]
    }

    /// The definition, one element at a time.
    fn naive(g: &Geom, x: &[f32]) -> Vec<f32> {
        let mut cols = Vec::new();
        for c in 0..g.c {
            for kh in 0..g.kh {
                for kw in 0..g.kw {
                    for oy in 0..g.ho {
                        for ox in 0..g.wo {
                            let (iy, ix) = (oy + kh, ox + kw);
                            let inside =
                                iy >= g.pad && ix >= g.pad && iy - g.pad < g.h && ix - g.pad < g.w;
                            cols.push(if inside {
                                x[(c * g.h + iy - g.pad) * g.w + ix - g.pad]
                            } else {
                                0.0
                            });
                        }
                    }
                }
            }
        }
        cols
    }

    #[test]
    fn im2col_matches_definition_and_overwrites_stale_scratch() {
        let mut rng = Rng::new(5);
        for g in geoms() {
            let x = rng.vec(g.c * g.in_plane());
            let mut cols = vec![f32::NAN; g.k() * g.out_plane()];
            im2col(&g, &x, &mut cols);
            assert_eq!(cols, naive(&g, &x), "{g:?}");
        }
    }

    /// ⟨im2col(x), d⟩ = ⟨x, col2im(d)⟩ for random x and d, in f64.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        let mut rng = Rng::new(6);
        for g in geoms() {
            let x = rng.vec(g.c * g.in_plane());
            let d = rng.vec(g.k() * g.out_plane());
            let cols = naive(&g, &x);
            let lhs: f64 = cols
                .iter()
                .zip(&d)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            let mut dx = vec![0.0f32; x.len()];
            col2im_add(&g, &mut d.clone(), &mut dx);
            let rhs: f64 = x
                .iter()
                .zip(&dx)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-5 * lhs.abs().max(1.0),
                "{g:?}: {lhs} vs {rhs}"
            );
        }
    }

    /// col2im compiled for AVX-512, AVX2 and baseline x86-64 gives the same bits.
    #[test]
    fn col2im_gives_the_same_bits_at_every_simd_level() {
        let mut rng = Rng::new(7);
        for g in geoms() {
            let start = rng.vec(g.c * g.in_plane());
            let d = rng.vec(g.k() * g.out_plane());
            let results = crate::simd::at_each_level(|| {
                let mut dx = start.clone();
                col2im_add(&g, &mut d.clone(), &mut dx);
                dx.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            });
            for (level, r) in &results[1..] {
                assert_eq!(
                    r, &results[0].1,
                    "{g:?}: {level:?} against {:?}",
                    results[0].0
                );
            }
        }
    }
}
