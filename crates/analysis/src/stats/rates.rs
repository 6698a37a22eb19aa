//! Proportions (divergence and success rates) with the Wilson score interval (Wilson 1927),
//! which stays inside [0, 1] and is sensible at 0 of n and n of n, unlike the Wald interval.

use super::special::normal_quantile;

/// The Wilson interval of k successes in n trials at `level`; (NaN, NaN) for n = 0.
pub fn wilson(k: usize, n: usize, level: f64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let z = normal_quantile(0.5 + level / 2.0);
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2n = z * z / n;
    let centre = (p + z2n / 2.0) / (1.0 + z2n);
    let half = z / (1.0 + z2n) * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_statsmodels() {
        // statsmodels.stats.proportion.proportion_confint(k, n, 0.05, "wilson"):
        // (0, 5) → (0.0, 0.43448246478317), (3, 10) → (0.10779126740630, 0.60322185253885),
        // (5, 5) → (0.56551753521683, 1.0).
        let cases = [
            (0, 5, 0.0, 0.434_482_464_783_17),
            (3, 10, 0.107_791_267_406_30, 0.603_221_852_538_85),
            (5, 5, 0.565_517_535_216_83, 1.0),
        ];
        for (k, n, lo, hi) in cases {
            let (a, b) = wilson(k, n, 0.95);
            assert!(
                (a - lo).abs() < 1e-9 && (b - hi).abs() < 1e-9,
                "{k}/{n}: {a} {b}"
            );
        }
        assert!(wilson(0, 0, 0.95).0.is_nan());
    }
}
