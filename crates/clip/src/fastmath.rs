//! Branch-free f32 approximations of exp, tanh, log1p and the logistic function.
//!
//! `f32::tanh` and friends call libm one element at a time (~11 ns each here), which makes the
//! clip kernels compute-bound. These versions use only +, −, ×, ÷, min/max, selects and bit
//! casts, so LLVM vectorises the kernel loops that call them. Each is tested against the f64
//! standard library over the whole f32 range (see the tests at the bottom for the bounds).
//! No fused multiply-add is used on purpose: results are then bit-identical on every x86-64
//! CPU, with or without AVX2, which keeps training runs reproducible across machines.

// Coefficients are written as published (Cephes, Eigen), which is more digits than f32 keeps.
#![allow(clippy::excessive_precision)]

/// 1.5 · 2^23: adding and subtracting it rounds an f32 of magnitude < 2^22 to an integer.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// e^x, relative error < 2e-7 for x in [−87, 88]; clamps outside (never Inf, never 0).
/// NaN in gives NaN out.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Cephes expf: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n by bits.
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let xc = x.clamp_fast(-87.0, 88.0);
    let k = xc * LOG2E + ROUND_MAGIC;
    let n = k - ROUND_MAGIC;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let z = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 5.000_000_1e-1;
    let er = p * z + r + 1.0;
    let ni = (k.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let pow2 = f32::from_bits(((ni + 127) << 23) as u32);
    let y = er * pow2;
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// tanh(x), absolute error < 2e-7 and relative error < 3e-7 everywhere. NaN in gives NaN out.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // Near 0: the [13/6] rational approximation used by Eigen and XLA (relative error ~1e-7
    // there; further out it drifts to 4e-7, so it is not used beyond 0.625). Elsewhere
    // 1 − 2/(e^{2|x|} + 1), whose error is exp's relative error times a term < 0.45.
    const SMALL: f32 = 0.625;
    let ax = x.abs();
    let xc = x.clamp_fast(-SMALL, SMALL);
    let x2 = xc * xc;
    let p = ((((((-2.760_768_5e-16 * x2 + 2.000_187_9e-13) * x2 - 8.604_672e-11) * x2
        + 5.122_297e-8)
        * x2
        + 1.485_722_4e-5)
        * x2
        + 6.372_619_3e-4)
        * x2
        + 4.893_524_6e-3)
        * xc;
    let q = ((1.198_258_4e-6 * x2 + 1.185_347_1e-4) * x2 + 2.268_434_6e-3) * x2 + 4.893_525e-3;
    // Beyond |x| = 9.5, (e − 1)/(e + 1) with e = e^19 rounds to 1: the result is ±1.
    let e = exp(2.0 * ax.clamp_fast(0.0, 9.5));
    // One division for both branches: 1 − 2/(e + 1) = (e − 1)/(e + 1).
    let small = ax < SMALL;
    let num = if small { p } else { (e - 1.0).copysign(x) };
    let den = if small { q } else { e + 1.0 };
    let y = num / den;
    // tanh(x) = x(1 − x²/3 + …): below 2^-12 x itself is within 2e-8 relative, and the
    // rational's numerator would underflow for subnormal x.
    let y = if ax < 2.4e-4 { x } else { y };
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// ln(1 + e) for e in [0, 1], relative error < 3e-7, without a division.
#[inline(always)]
pub fn log1p_unit(e: f32) -> f32 {
    // ln(1 + f) for f in [√½ − 1, √2 − 1] by Cephes' logf polynomial. Below √2 − 1, f = e
    // exactly (no rounding of 1 + e, so tiny e keep full precision); above, 1 + e = 2(1 + f)
    // with f = (e − 1)/2 and ln 2 added.
    let big = e > std::f32::consts::SQRT_2 - 1.0;
    let f = if big { (e - 1.0) * 0.5 } else { e };
    let z = f * f;
    let p = (((((((7.037_683_6e-2 * f - 1.151_461e-1) * f + 1.167_699_9e-1) * f
        - 1.242_014_1e-1)
        * f
        + 1.424_932_3e-1)
        * f
        - 1.666_805_8e-1)
        * f
        + 2.000_071_5e-1)
        * f
        - 2.499_999_4e-1)
        * f
        + 3.333_333_1e-1;
    let ln1pf = f + (p * f * z - 0.5 * z);
    if big {
        ln1pf + std::f32::consts::LN_2
    } else {
        ln1pf
    }
}

/// The logistic function 1/(1 + e^−t) and its mirror 1 − σ(t) = σ(−t), both without
/// cancellation, from one exp.
#[inline(always)]
pub fn sigmoid_pair(t: f32) -> (f32, f32) {
    let e = exp(-t.abs());
    let r = 1.0 / (1.0 + e);
    let small = e * r;
    if t >= 0.0 {
        (r, small)
    } else {
        (small, r)
    }
}

/// min/max that compile to single vector instructions (NaN handling is done by the callers).
trait ClampFast {
    fn clamp_fast(self, lo: Self, hi: Self) -> Self;
}

impl ClampFast for f32 {
    #[inline(always)]
    fn clamp_fast(self, lo: f32, hi: f32) -> f32 {
        let a = if self < lo { lo } else { self };
        if a > hi {
            hi
        } else {
            a
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 97th f32 bit pattern in [lo, hi] (both signs): ~44M samples over the full range.
    fn sweep(lo: f32, hi: f32, mut f: impl FnMut(f32)) {
        let mut bits = 0u32;
        while bits < 0x7f80_0000 {
            let x = f32::from_bits(bits);
            if x >= lo && x <= hi {
                f(x);
                f(-x);
            }
            bits += 97;
        }
    }

    #[test]
    fn exp_matches_f64_over_its_range() {
        let mut worst = 0f64;
        sweep(0.0, 87.0, |x| {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            worst = worst.max(((got - want) / want).abs());
        });
        assert!(worst < 2e-7, "worst relative error {worst:e}");
    }

    #[test]
    fn exp_clamps_instead_of_overflowing() {
        assert!(exp(1e30).is_finite() && exp(1e30) > 1e38);
        assert!(exp(-1e30) > 0.0 && exp(-1e30) < 1e-37);
        assert!(exp(f32::INFINITY).is_finite());
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn tanh_matches_f64_over_the_whole_f32_range() {
        let mut worst_abs = 0f64;
        let mut worst_rel = 0f64;
        sweep(0.0, f32::MAX, |x| {
            let want = (x as f64).tanh();
            let got = tanh(x) as f64;
            worst_abs = worst_abs.max((got - want).abs());
            if want != 0.0 {
                worst_rel = worst_rel.max(((got - want) / want).abs());
            }
        });
        assert!(worst_abs < 2e-7, "worst absolute error {worst_abs:e}");
        assert!(worst_rel < 3e-7, "worst relative error {worst_rel:e}");
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert!(tanh(f32::NAN).is_nan());
    }

    #[test]
    fn log1p_unit_matches_f64_on_zero_to_one() {
        let mut worst = 0f64;
        sweep(0.0, 1.0, |e| {
            let e = e.abs();
            let want = (e as f64).ln_1p();
            let got = log1p_unit(e) as f64;
            if want != 0.0 {
                worst = worst.max(((got - want) / want).abs());
            } else {
                assert_eq!(got, 0.0);
            }
        });
        assert!(worst < 3e-7, "worst relative error {worst:e}");
    }

    #[test]
    fn sigmoid_pair_matches_f64_and_sums_to_one() {
        let mut worst = 0f64;
        sweep(0.0, 80.0, |t| {
            let (s, m) = sigmoid_pair(t);
            let t64 = t as f64;
            let want_s = 1.0 / (1.0 + (-t64).exp());
            let want_m = 1.0 / (1.0 + t64.exp());
            worst = worst.max(((s as f64 - want_s) / want_s).abs());
            if want_m > 1e-30 {
                worst = worst.max(((m as f64 - want_m) / want_m).abs());
            }
        });
        assert!(worst < 5e-7, "worst relative error {worst:e}");
    }
}
