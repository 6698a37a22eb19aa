//! Multiplicity: Holm's step-down adjustment (Holm 1979) of a family of p-values, so that
//! "significant" means adjusted p < α with the family-wise error rate held at α.

/// Holm-adjusted p-values, in the input order. NaN p-values (no test) stay NaN and do not
/// count towards the family size.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = idx.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (k, &i) in idx.iter().enumerate() {
        // p_(k) · (m − k), made monotone and capped at 1.
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computed_example() {
        // By hand, m = 4, sorted 0.01, 0.02, 0.03, 0.04: 4·0.01 = 0.04, 3·0.02 = 0.06,
        // 2·0.03 = 0.06, 1·0.04 = 0.04 → 0.06 (never below an earlier adjusted p).
        let p = [0.03, 0.01, 0.04, 0.02];
        let close =
            |got: &[f64], want: &[f64]| got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-15);
        assert!(
            close(&holm(&p), &[0.06, 0.04, 0.06, 0.06]),
            "{:?}",
            holm(&p)
        );
        // statsmodels multipletests(p, method="holm") (and R's p.adjust(p, "holm")):
        // [0.5, 0.001, 0.2] → [0.5, 0.003, 0.4]; [0.04, 0.9, 0.6] → [0.12, 1, 1] (capped at 1).
        assert!(close(&holm(&[0.5, 0.001, 0.2]), &[0.5, 0.003, 0.4]));
        assert!(close(&holm(&[0.04, 0.9, 0.6]), &[0.12, 1.0, 1.0]));
    }

    #[test]
    fn nan_is_not_a_test() {
        let r = holm(&[0.02, f64::NAN, 0.01]);
        assert!(r[1].is_nan());
        assert_eq!((r[0], r[2]), (0.02, 0.02));
    }
}
