//! Statistics for the tables: mean ± std with a t-interval and a BCa bootstrap interval
//! (n ≥ 10), the paired comparison against a baseline with Holm-adjusted p-values, Wilson
//! intervals of rates, order-statistic intervals of medians, and a planning power table.
//! Pure Rust, no dependency.

pub mod bca;
pub mod bootstrap;
pub mod multiple;
pub mod order;
pub mod power;
pub mod rates;
pub mod special;

use serde::Serialize;

pub use bca::{bca_mean_ci, BCA_MIN_N};
pub use bootstrap::{quantile_sorted, seed_for};
pub use multiple::holm;
pub use order::{median_ci, MedianCi};
pub use power::{paired_t_power, seeds_needed};
pub use rates::wilson;
pub use special::{normal_quantile, t_cdf, t_quantile};

/// Confidence level of every interval in the tables.
pub const LEVEL: f64 = 0.95;

/// Mean, sample standard deviation and two 95% intervals of a set of per-run values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Describe {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1); NaN for n < 2.
    pub std: f64,
    /// mean ± t_{0.975, n−1} · std / √n; NaN for n < 2.
    pub t_lo: f64,
    pub t_hi: f64,
    /// BCa bootstrap interval of the mean (fixed seed); NaN for n < [`BCA_MIN_N`], where
    /// the resampling distribution of a handful of values is too coarse and too narrow.
    pub boot_lo: f64,
    pub boot_hi: f64,
}

pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Sample standard deviation (n − 1 in the denominator); NaN for n < 2.
pub fn std_dev(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return f64::NAN;
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64).sqrt()
}

pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, 0.5)
}

/// Half-width of the t-interval of the mean.
pub fn t_half_width(std: f64, n: usize) -> f64 {
    if n < 2 {
        return f64::NAN;
    }
    t_quantile(0.5 + LEVEL / 2.0, (n - 1) as f64) * std / (n as f64).sqrt()
}

/// Describes `xs`; `seed` fixes the bootstrap stream.
pub fn describe(xs: &[f64], bootstrap_samples: usize, seed: u64) -> Describe {
    let n = xs.len();
    let m = mean(xs);
    let s = std_dev(xs);
    let hw = t_half_width(s, n);
    let (boot_lo, boot_hi) = bca_mean_ci(xs, bootstrap_samples, LEVEL, seed);
    Describe {
        n,
        mean: m,
        std: s,
        t_lo: m - hw,
        t_hi: m + hw,
        boot_lo,
        boot_hi,
    }
}

/// A strategy against the baseline over the seeds both have.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Paired {
    /// Number of shared seeds (pairs).
    pub n: usize,
    /// mean(strategy − baseline), its 95% t-interval and bootstrap interval.
    pub diff: Describe,
    /// Two-sided paired t-test p-value (NaN for n < 2; 1 when every difference is 0; 0 when
    /// all differences are equal and non-zero).
    pub p_value: f64,
    /// Share of seeds on which the strategy beats the baseline (ties count ½).
    pub prob_improvement: f64,
    /// Cohen's d_z = mean(diff) / sd(diff) (descriptive: no power is computed from it).
    pub effect_size: f64,
}

/// Paired comparison of `a` against `b` (`a[i]` and `b[i]` share a seed).
pub fn paired(a: &[f64], b: &[f64], bootstrap_samples: usize, seed: u64) -> Paired {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    let diff = describe(&d, bootstrap_samples, seed);
    let p_value = if n < 2 {
        f64::NAN
    } else if diff.std == 0.0 {
        if diff.mean == 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        let t = diff.mean / (diff.std / (n as f64).sqrt());
        2.0 * t_cdf(-t.abs(), (n - 1) as f64)
    };
    let wins: f64 = d
        .iter()
        .map(|&x| {
            if x > 0.0 {
                1.0
            } else if x == 0.0 {
                0.5
            } else {
                0.0
            }
        })
        .sum();
    let effect_size = if n >= 2 && diff.std > 0.0 {
        diff.mean / diff.std
    } else {
        f64::NAN
    };
    Paired {
        n,
        diff,
        p_value,
        prob_improvement: if n == 0 { f64::NAN } else { wins / n as f64 },
        effect_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_matches_hand_computation() {
        // mean 2.5, sd = sqrt(5/3), t_{0.975,3} = 3.182446305283710 (mpmath).
        let d = describe(&[1.0, 2.0, 3.0, 4.0], 1000, 1);
        assert_eq!(d.mean, 2.5);
        assert!((d.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        let hw = 3.182_446_305_283_71 * (5.0f64 / 3.0).sqrt() / 2.0;
        assert!((d.t_hi - 2.5 - hw).abs() < 1e-9 && (2.5 - d.t_lo - hw).abs() < 1e-9);
        let one = describe(&[0.3], 1000, 1);
        assert_eq!(one.mean, 0.3);
        assert!(one.std.is_nan() && one.t_lo.is_nan() && one.boot_lo.is_nan());
        // Below ten values: the t-interval only, no bootstrap interval.
        let small = describe(&[1.0, 2.0, 3.0, 4.0, 5.0], 1000, 1);
        assert!(small.t_lo.is_finite() && small.boot_lo.is_nan());
        let ten: Vec<f64> = (0..10).map(f64::from).collect();
        let big = describe(&ten, 1000, 1);
        assert!(big.boot_lo < 4.5 && 4.5 < big.boot_hi);
    }

    #[test]
    fn paired_test_matches_mpmath() {
        // diffs 0.02, 0.01, 0.03, -0.01, 0.02: mean 0.014, sd 0.0151657508881031,
        // t = 2.06418738616856, df 4, two-sided p = 0.107938822292277 (mpmath betainc).
        let a = [0.62, 0.60, 0.65, 0.58, 0.63];
        let b = [0.60, 0.59, 0.62, 0.59, 0.61];
        let p = paired(&a, &b, 1000, 3);
        assert_eq!(p.n, 5);
        assert!((p.diff.mean - 0.014).abs() < 1e-12);
        assert!(
            (p.p_value - 0.107_938_822_292_277).abs() < 1e-12,
            "{}",
            p.p_value
        );
        assert!((p.prob_improvement - 0.8).abs() < 1e-12);
        assert!((p.effect_size - 0.014 / 0.015_165_750_888_103_1).abs() < 1e-9);
        // All equal → p = 1, ties count half.
        let same = paired(&a, &a, 100, 3);
        assert_eq!((same.p_value, same.prob_improvement), (1.0, 0.5));
    }
}
