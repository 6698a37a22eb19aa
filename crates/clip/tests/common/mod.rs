//! Helpers shared by the clip crate's integration tests.

/// `n` pseudo-random values in [lo, hi) from a 64-bit LCG seeded with `seed` (deterministic
/// test inputs without a dependency).
pub fn lcg(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}
