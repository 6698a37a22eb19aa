//! Numerically stable pieces of the f64 reference math (θ's softplus map, the clips' f64
//! references in `clipbench-clip`).

/// σ(t) = 1/(1 + e^−t) without overflow.
pub fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// ln(1 + e^t) without overflow or cancellation.
pub fn softplus(t: f64) -> f64 {
    t.max(0.0) + (-t.abs()).exp().ln_1p()
}
