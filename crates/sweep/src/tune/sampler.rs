//! Seeded quasi-random points of the unit cube: a Halton sequence with random digit
//! permutations (Braaten & Weller 1979; each digit position of each dimension gets its own
//! permutation, as in Owen's "random digit scrambling"), so a small budget still covers the
//! space evenly, the points are reproducible from one seed, and no two dimensions share the
//! correlated low-base artefacts of a plain Halton sequence.
//!
//! Point `i` (0-based) is the scrambled radical inverse of `i + 1` in base `prime(d)` for
//! dimension `d`; the permutations come from SplitMix64 seeded by `derive_seed(seed, d·64 + k)`
//! for digit position `k`. A dimension's coordinates do not depend on how many dimensions
//! there are, which is what lets strategies with different spaces share the points of the
//! keys they have in common.

use clipbench_data::rng::{derive_seed, SplitMix64};

/// The first primes: one base per dimension (more dimensions than this is an error upstream).
pub const PRIMES: [u64; 32] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131,
];

/// A uniformly random permutation of 0..b (Fisher-Yates).
fn permutation(b: u64, rng: &mut SplitMix64) -> Vec<u64> {
    let mut p: Vec<u64> = (0..b).collect();
    for i in (1..p.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        p.swap(i, j);
    }
    p
}

/// Coordinate `d` of point `i` of the sequence seeded by `seed`, in [0, 1).
pub fn coordinate(seed: u64, d: usize, i: u64) -> f64 {
    let b = PRIMES[d % PRIMES.len()];
    // Enough digits that b^−digits is below f64 resolution: the scrambled tail of the
    // (infinitely many) leading zeros of i + 1 is part of the point.
    let digits = (53.0 / (b as f64).log2()).ceil() as u64;
    let mut n = i + 1;
    let (mut x, mut scale) = (0.0f64, 1.0 / b as f64);
    for k in 0..digits {
        let mut rng = SplitMix64::new(derive_seed(seed, (d as u64) * 64 + k));
        let digit = n % b;
        n /= b;
        x += permutation(b, &mut rng)[digit as usize] as f64 * scale;
        scale /= b as f64;
    }
    x.min(1.0 - f64::EPSILON)
}

/// Point `i` in `dims` dimensions.
pub fn point(seed: u64, dims: usize, i: u64) -> Vec<f64> {
    (0..dims).map(|d| coordinate(seed, d, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_deterministic_in_the_cube_and_differ_by_seed() {
        let a: Vec<Vec<f64>> = (0..16).map(|i| point(7, 3, i)).collect();
        let b: Vec<Vec<f64>> = (0..16).map(|i| point(7, 3, i)).collect();
        assert_eq!(a, b);
        assert!(a.iter().flatten().all(|x| (0.0..1.0).contains(x)));
        let c: Vec<Vec<f64>> = (0..16).map(|i| point(8, 3, i)).collect();
        assert_ne!(a, c);
        // A dimension does not depend on how many others there are.
        assert_eq!(point(7, 1, 5)[0], point(7, 4, 5)[0]);
    }

    #[test]
    fn each_dimension_is_stratified_like_a_low_discrepancy_sequence() {
        // The first b^k points of a (scrambled) radical inverse in base b put exactly one
        // point in each of the b^k equal intervals: far more even than random draws.
        for (d, n) in [(0, 16u64), (1, 27), (2, 25)] {
            let mut hit = vec![0; n as usize];
            for i in 0..n {
                hit[(coordinate(3, d, i) * n as f64) as usize] += 1;
            }
            assert!(hit.iter().all(|&h| h == 1), "dim {d}: {hit:?}");
        }
    }

    #[test]
    fn scrambling_moves_the_points_of_a_plain_halton_sequence() {
        // Plain base-2 Halton: 1/2, 1/4, 3/4, ...; scrambled points are a permutation of the
        // strata, not the same values.
        let plain = [0.5, 0.25, 0.75, 0.125];
        let s: Vec<f64> = (0..4).map(|i| coordinate(1, 0, i)).collect();
        assert_ne!(s, plain);
    }
}
