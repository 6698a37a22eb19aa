//! Power of the two-sided paired t-test and the number of seeds an effect size needs.
//!
//! The paired test on n differences is a one-sample t-test with df = n − 1 and noncentrality
//! δ = d·√n, where d = mean(diff) / sd(diff) (Cohen's d_z). Power = P(|T'| > t_{1−α/2, df}) with
//! T' = (Z + δ) / S, S = √(V/df), V ~ χ²_df. Conditioning on S:
//! P(T' > c) = ∫ Φ(δ − c·s) f_S(s) ds, integrated with Simpson's rule (the substitution
//! s = √(v/df) removes the χ² density's singularity at 0 for df = 1).

use super::special::{ln_gamma, normal_cdf, t_quantile};

/// Density of S = √(V/df), V ~ χ²_df.
fn chi_scaled_density(s: f64, df: f64) -> f64 {
    if s <= 0.0 {
        // f_S(0) is 0 for df > 1 and √(2/π) for df = 1.
        return if df == 1.0 {
            (2.0 / std::f64::consts::PI).sqrt()
        } else {
            0.0
        };
    }
    let v = df * s * s;
    let ln_f = (0.5 * df - 1.0) * v.ln() - 0.5 * v - 0.5 * df * 2f64.ln() - ln_gamma(0.5 * df);
    ln_f.exp() * 2.0 * df * s
}

/// Power of the two-sided paired t-test at level `alpha` for effect size `d` (d_z) and `n`
/// pairs (n ≥ 2).
pub fn paired_t_power(d: f64, n: usize, alpha: f64) -> f64 {
    if n < 2 || !d.is_finite() || !(alpha > 0.0 && alpha < 1.0) {
        return f64::NAN;
    }
    let df = (n - 1) as f64;
    let delta = d * (n as f64).sqrt();
    let c = t_quantile(1.0 - alpha / 2.0, df);
    let upper = 2.0 + 10.0 / (2.0 * df).sqrt();
    let panels = 4000; // even
    let h = upper / panels as f64;
    let mut sum = 0.0;
    for i in 0..=panels {
        let s = i as f64 * h;
        let w = if i == 0 || i == panels {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let tails = normal_cdf(delta - c * s) + normal_cdf(-c * s - delta);
        sum += w * tails * chi_scaled_density(s, df);
    }
    sum * h / 3.0
}

/// The smallest number of seeds (pairs) at which the paired t-test reaches `power` for effect
/// size `d`; None when d is 0 / not finite or more than 100 000 seeds would be needed.
pub fn seeds_needed(d: f64, alpha: f64, power: f64) -> Option<usize> {
    if !d.is_finite() || d == 0.0 {
        return None;
    }
    let d = d.abs();
    // Power grows with n: find a bracket by doubling, then bisect.
    let mut hi = 2usize;
    while paired_t_power(d, hi, alpha) < power {
        hi *= 2;
        if hi > 100_000 {
            return None;
        }
    }
    let mut lo = hi / 2; // power(lo) < target unless lo < 2
    if lo < 2 {
        return Some(2);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if paired_t_power(d, mid, alpha) >= power {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_matches_mpmath_and_gpower() {
        // mpmath (20 digits, same integral with quad): d = 0.5, n = 34 → 0.807777501279;
        // n = 33 → 0.795365841488; d = 0.8, n = 15 → 0.821310538724; d = 1, n = 10 →
        // 0.803096856633; d = 2, n = 4 → 0.754983917114. G*Power gives 34, 15, 10 pairs.
        for (d, n, want) in [
            (0.5, 34, 0.807_777_501_279),
            (0.5, 33, 0.795_365_841_488),
            (0.8, 15, 0.821_310_538_724),
            (1.0, 10, 0.803_096_856_633),
            (2.0, 4, 0.754_983_917_114),
        ] {
            let got = paired_t_power(d, n, 0.05);
            assert!((got - want).abs() < 1e-8, "d {d} n {n}: {got} vs {want}");
        }
        // No effect: the power is the level.
        assert!((paired_t_power(0.0, 10, 0.05) - 0.05).abs() < 1e-9);
    }

    #[test]
    fn seeds_needed_matches_gpower() {
        assert_eq!(seeds_needed(0.5, 0.05, 0.8), Some(34));
        assert_eq!(seeds_needed(-0.8, 0.05, 0.8), Some(15));
        assert_eq!(seeds_needed(1.0, 0.05, 0.8), Some(10));
        assert_eq!(seeds_needed(2.0, 0.05, 0.8), Some(5));
        assert_eq!(seeds_needed(0.0, 0.05, 0.8), None);
        assert_eq!(seeds_needed(f64::NAN, 0.05, 0.8), None);
    }
}
