//! SplitMix64: the one random generator behind every random choice clipbench makes that must
//! stay the same forever — data order, synthetic images, the validation split, weight
//! initialisation, the tuning sequence's digit permutations and the bootstrap's resamples.
//!
//! Hand-written on purpose, and why `rand` is not used anywhere: `rand`'s `StdRng` may change
//! algorithm between versions, and a benchmark's data order, initial weights and tables must
//! stay identical forever for a given seed. SplitMix64 (Steele, Lea, Flood 2014; the
//! reference `splitmix64.c` by Vigna) is tiny, passes BigCrush, and has published outputs we
//! test against. Every method is a pure function of the state, so results never depend on the
//! platform or crate versions.

/// SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 output function (a strong 64-bit mixer), also used to derive sub-seeds.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Derives an independent seed for a sub-stream (e.g. one epoch, one sample) from a parent
/// seed and a tag. Mixing twice keeps nearby (seed, tag) pairs uncorrelated.
pub fn derive_seed(seed: u64, tag: u64) -> u64 {
    mix64(mix64(seed ^ 0x6a09_e667_f3bc_c908).wrapping_add(tag.wrapping_mul(GOLDEN_GAMMA)))
}

/// FNV-1a of a label: a stable seed from a name (a table row's bootstrap stream), so a row's
/// numbers do not depend on which other rows are in the table.
pub fn seed_for(label: &str) -> u64 {
    label.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// Uniform integer in [0, n), unbiased (rejection of the short top zone, as in OpenBSD's
    /// arc4random_uniform). `n == 0` returns 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let r = self.next_u64();
            if r >= threshold {
                return r % n;
            }
        }
    }

    /// Approximately standard normal: Irwin-Hall sum of 4 uniforms, centred and scaled to
    /// variance 1. Only +, -, * are used, so unlike Box-Muller (ln, cos from the platform's
    /// libm) the result is bit-identical on every platform.
    pub fn approx_normal(&mut self) -> f64 {
        const SQRT_3: f64 = 1.732_050_807_568_877_2;
        let s = self.next_f64() + self.next_f64() + self.next_f64() + self.next_f64();
        (s - 2.0) * SQRT_3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_splitmix64_outputs() {
        // Published outputs of the reference splitmix64.c seeded with 1234567 (also used as
        // the test vector of several ports, e.g. Apache Commons RNG's SplitMix64 test), and
        // seeded with 0 (Vigna's splitmix64.c).
        let mut r = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = SplitMix64::new(7);
        let mut seen = [0usize; 7];
        for _ in 0..7000 {
            let v = r.below(7);
            assert!(v < 7);
            seen[v as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
    }

    #[test]
    fn approx_normal_has_unit_moments() {
        let mut r = SplitMix64::new(3);
        let xs: Vec<f64> = (0..20_000).map(|_| r.approx_normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
