//! Medians with distribution-free intervals from order statistics, for quantities that may be
//! infinite (steps to a target accuracy that a run never reached): the median and its interval
//! only need the ranks, so ∞ is an ordinary value that sorts last.

use super::special::beta_inc;

/// A median with the order-statistic interval around it.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct MedianCi {
    pub n: usize,
    /// The median (the mean of the two middle values for even n; ∞ if either is ∞).
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
    /// The exact coverage of [lo, hi] for a continuous distribution: ≥ the level asked for
    /// where n allows it, else the largest achievable (the widest interval, [min, max]).
    pub coverage: f64,
}

/// P(Bin(n, ½) ≤ k).
fn binom_half_cdf(k: usize, n: usize) -> f64 {
    if k >= n {
        return 1.0;
    }
    // P(X ≤ k) = I_{1/2}(n − k, k + 1).
    beta_inc((n - k) as f64, (k + 1) as f64, 0.5)
}

/// The median of `xs` and the narrowest symmetric order-statistic interval [x_(j), x_(n+1−j)]
/// whose coverage 1 − 2·P(Bin(n, ½) ≤ j − 1) is at least `level`.
pub fn median_ci(xs: &[f64], level: f64) -> MedianCi {
    let n = xs.len();
    if n == 0 {
        return MedianCi {
            n,
            median: f64::NAN,
            lo: f64::NAN,
            hi: f64::NAN,
            coverage: f64::NAN,
        };
    }
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        let (a, b) = (s[n / 2 - 1], s[n / 2]);
        if a.is_infinite() || b.is_infinite() {
            b
        } else {
            0.5 * (a + b)
        }
    };
    // j is 1-based; j = 1 is [min, max].
    let mut j = 1;
    let coverage = |j: usize| 1.0 - 2.0 * binom_half_cdf(j - 1, n);
    while j < n.div_ceil(2) && coverage(j + 1) >= level {
        j += 1;
    }
    MedianCi {
        n,
        median,
        lo: s[j - 1],
        hi: s[n - j],
        coverage: coverage(j),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_match_the_binomial_tables() {
        // n = 5: only [x(1), x(5)] is possible, coverage 1 − 2/32 = 0.9375.
        let m = median_ci(&[5.0, 1.0, 4.0, 2.0, 3.0], 0.95);
        assert_eq!((m.median, m.lo, m.hi), (3.0, 1.0, 5.0));
        assert!((m.coverage - 0.9375).abs() < 1e-12);
        // n = 10: [x(2), x(9)], coverage 1 − 2·11/1024 = 0.978515625 (x(3)..x(8) is 0.890625).
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        let m = median_ci(&xs, 0.95);
        assert_eq!((m.median, m.lo, m.hi), (5.5, 2.0, 9.0));
        assert!((m.coverage - 0.978_515_625).abs() < 1e-12);
    }

    #[test]
    fn infinity_is_a_value_that_sorts_last() {
        let m = median_ci(
            &[3.0, f64::INFINITY, 1.0, f64::INFINITY, f64::INFINITY],
            0.95,
        );
        assert_eq!((m.median, m.lo, m.hi), (f64::INFINITY, 1.0, f64::INFINITY));
        let m = median_ci(&[2.0, 4.0, 6.0, f64::INFINITY], 0.95);
        assert_eq!(m.median, 5.0);
    }
}
