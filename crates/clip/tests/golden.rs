//! Against golden vectors from PyTorch autograd in float64
//! (scripts/golden/make_golden.py → tests/fixtures/golden.json).

use clipbench_clip::strategy::{ClipFn, Dispatch};
use clipbench_clip::Strategy;
use clipbench_clip::StrategyKernels;
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    dtype: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    strategy: Strategy,
    theta: f64,
    beta: f64,
    x: Vec<f64>,
    y: Vec<f64>,
    dydx: Vec<f64>,
    dydt: Vec<f64>,
}

fn golden() -> Result<Golden, serde_json::Error> {
    serde_json::from_str(include_str!("fixtures/golden.json"))
}

#[test]
fn fixture_covers_every_strategy() -> Result<(), serde_json::Error> {
    let g = golden()?;
    assert_eq!(g.dtype, "float64");
    for s in Strategy::ALL {
        let n: usize = g
            .cases
            .iter()
            .filter(|c| c.strategy == s)
            .map(|c| c.x.len())
            .sum();
        assert!(n >= 39, "{s}: only {n} golden points");
    }
    Ok(())
}

#[test]
fn f64_reference_matches_pytorch_autograd() -> Result<(), serde_json::Error> {
    for c in golden()?.cases {
        for i in 0..c.x.len() {
            let e = c.strategy.eval64(c.x[i], c.theta, c.beta);
            let close = |got: f64, want: f64| (got - want).abs() <= 1e-12 * (1.0 + want.abs());
            let ctx = format!("{} θ={} β={} x={}", c.strategy, c.theta, c.beta, c.x[i]);
            if c.strategy == Strategy::SeedSoftplus {
                // PyTorch's softplus switches to the identity above 20 and its formula leaves
                // round-off; the reference is exact: relu(x) with ∂y/∂θ = 0.
                assert!(
                    (e.y - c.y[i]).abs() < 1e-11 * (1.0 + c.x[i].abs()),
                    "{ctx}: y"
                );
                assert!(
                    (e.dydt - c.dydt[i]).abs() < 1e-11,
                    "{ctx}: torch ∂y/∂θ {}",
                    c.dydt[i]
                );
                assert!((e.dydx - c.dydx[i]).abs() < 1e-9, "{ctx}: ∂y/∂x");
                continue;
            }
            assert!(close(e.y, c.y[i]), "{ctx}: y {} vs torch {}", e.y, c.y[i]);
            assert!(
                close(e.dydx, c.dydx[i]),
                "{ctx}: ∂y/∂x {} vs {}",
                e.dydx,
                c.dydx[i]
            );
            assert!(
                close(e.dydt, c.dydt[i]),
                "{ctx}: ∂y/∂θ {} vs {}",
                e.dydt,
                c.dydt[i]
            );
        }
    }
    Ok(())
}

struct F32(f32, f32);
impl Dispatch<(f32, f32, f32)> for F32 {
    fn call<K: ClipFn>(self, k: K) -> (f32, f32, f32) {
        let y = k.forward(self.0, self.1);
        let (dx, dt) = k.backward(self.0, y, self.1);
        (y, dx, dt)
    }
}

#[test]
fn f32_training_kernel_matches_pytorch_autograd() -> Result<(), serde_json::Error> {
    for c in golden()?.cases {
        for i in 0..c.x.len() {
            // The fixture's x and θ are f32 values, so the kernel sees the same inputs.
            let (x, t) = (c.x[i] as f32, c.theta as f32);
            let (y, dx, dt) = c.strategy.dispatch(c.beta as f32, F32(x, t));
            let u = (c.x[i] / c.theta).abs().min(8.0);
            let ctx = format!("{} θ={} β={} x={}", c.strategy, c.theta, c.beta, c.x[i]);
            let tol = |scale: f64, want: f64| 1e-6 * scale.max(1.0) + 4e-7 * want.abs();
            let ys = c.theta.min(c.x[i].abs());
            assert!(
                (y as f64 - c.y[i]).abs() <= tol(ys, c.y[i]),
                "{ctx}: y {y} vs {}",
                c.y[i]
            );
            assert!(
                (dx as f64 - c.dydx[i]).abs() <= tol(1.0, c.dydx[i]),
                "{ctx}: ∂y/∂x {dx}"
            );
            assert!(
                (dt as f64 - c.dydt[i]).abs() <= tol(u, c.dydt[i]),
                "{ctx}: ∂y/∂θ {dt}"
            );
        }
    }
    Ok(())
}
