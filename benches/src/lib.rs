//! Shared helpers for the criterion benches in `benches/` (run them with `just bench`).

/// Deterministic inputs in [−scale, scale] (xorshift), so every run times the same data.
pub fn data(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            scale * (((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0)
        })
        .collect()
}
