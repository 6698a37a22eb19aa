//! Every strategy that claims `ClipFn::MONOTONE` has an f32 kernel that is non-decreasing
//! after relu up to rounding (what lets the CNN max-pool before it clips): over sorted
//! inputs, no value falls below the running maximum by more than 4ε·max(|y|, θ, 1/β), the
//! scale of the kernels' own rounding error (softplus' terms are ~ln2/β even where y ≈ 0),
//! so max(f(x₁), …, f(x₄)) and f(max xᵢ) differ by no more than that. And `count_saturated` counts
//! exactly what `forward` counts.

use clipbench_clip::kernel::{self, Layout};
use clipbench_clip::strategy::{ClipFn, Dispatch};
use clipbench_clip::Strategy;
use clipbench_clip::StrategyKernels;

const THETAS: [f32; 7] = [1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 10.0];
const BETAS: [f32; 3] = [1.0, 4.0, 20.0];

/// Sorted inputs: dense around θ (where the clips bend), log-spaced out to 1e4, a few
/// negatives (relu maps them to 0), and every f32 in a window around θ.
fn grid(theta: f32) -> Vec<f32> {
    let mut x: Vec<f32> = (0..4000)
        .map(|i| theta * (i as f32 / 1000.0))
        .chain((0..2000).map(|i| 10f32.powf(-8.0 + 12.0 * i as f32 / 2000.0)))
        .chain([-1.0, -1e-3, 0.0, -0.0])
        .collect();
    let mut v = theta;
    for _ in 0..20_000 {
        v = f32::from_bits(v.to_bits() - 1);
    }
    for _ in 0..40_000 {
        x.push(v);
        v = f32::from_bits(v.to_bits() + 1);
    }
    x.sort_by(f32::total_cmp);
    x
}

/// f32 → u32 preserving order, so that differences count ulps across zero too.
fn ordered(v: f32) -> u32 {
    let b = v.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 0x8000_0000
    }
}

struct Check<'a>(&'a [f32], f32, f32);

impl Dispatch<Result<bool, String>> for Check<'_> {
    fn call<K: ClipFn>(self, k: K) -> Result<bool, String> {
        let (x, t, beta) = (self.0, self.1, self.2);
        let thetas = [t];
        let layout = Layout {
            thetas: &thetas,
            plane: x.len(),
            pre_relu: true,
        };
        let mut y = vec![0f32; x.len()];
        let sat = kernel::forward(k, layout, x, &mut y);
        let counted = kernel::count_saturated(k, layout, x);
        if sat != counted {
            return Err(format!(
                "θ={t}: forward counted {sat}, count_saturated {counted}"
            ));
        }
        if K::MONOTONE {
            let mut top = (f32::NEG_INFINITY, 0usize);
            for (i, &v) in y.iter().enumerate() {
                if v >= top.0 {
                    top = (v, i);
                    continue;
                }
                let tol = 4.0 * f32::EPSILON * top.0.abs().max(t).max(1.0 / beta);
                if top.0 - v > tol {
                    return Err(format!(
                        "θ={t}: f({}) = {v} is {} ulps (> {tol:e}) below f({}) = {}",
                        x[i],
                        ordered(top.0) - ordered(v),
                        x[top.1],
                        top.0
                    ));
                }
            }
        }
        Ok(K::MONOTONE)
    }
}

#[test]
fn monotone_strategies_are_non_decreasing_after_relu() -> Result<(), String> {
    let (mut claimed, mut declared) = (0, 0);
    for s in Strategy::ALL {
        for t in THETAS {
            let x = grid(t);
            let betas: &[f32] = if s == Strategy::SoftplusLearnable {
                &BETAS
            } else {
                &BETAS[..1]
            };
            for &b in betas {
                let mono = s
                    .dispatch(b, Check(&x, t, b))
                    .map_err(|e| format!("{s} β={b}: {e}"))?;
                claimed += usize::from(mono);
                declared += usize::from(s.monotone());
            }
        }
    }
    // Every kernel that claims it was checked (and the registry declares the same), and the
    // built-in strategies all claim it.
    assert_eq!(claimed, declared);
    assert_eq!(
        declared,
        THETAS.len() * (Strategy::ALL.len() - 1 + BETAS.len())
    );
    Ok(())
}
