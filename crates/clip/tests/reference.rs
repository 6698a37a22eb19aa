//! The f64 references against central finite differences, at extremes, and the f32 element
//! kernels against the f64 references.

use clipbench_clip::strategy::{ClipFn, Dispatch};
use clipbench_clip::Strategy;
use clipbench_clip::StrategyKernels;

const THETAS: [f64; 6] = [1e-3, 0.1, 0.5, 1.0, 2.0, 10.0];
const BETAS: [f64; 3] = [1.0, 4.0, 20.0];

fn grid() -> Vec<f64> {
    let mut xs = vec![0.0];
    for e in -6..=4 {
        for m in [1.0, 2.5, 5.0] {
            xs.push(m * 10f64.powi(e));
            xs.push(-m * 10f64.powi(e));
        }
    }
    xs.extend((0..200).map(|i| -10.0 + 0.1 * i as f64 + 0.0123));
    xs
}

/// Kinks of the piecewise strategies, where one-sided derivatives differ.
fn near_kink(s: Strategy, x: f64, t: f64, h: f64) -> bool {
    let kinks: &[f64] = match s {
        Strategy::HardClamp => &[-t, t],
        Strategy::Pact => &[0.0, t],
        Strategy::SeedSoftplus => &[0.0],
        _ => &[],
    };
    kinks.iter().any(|k| (x - k).abs() < 4.0 * h)
}

fn betas(s: Strategy) -> &'static [f64] {
    if s == Strategy::SoftplusLearnable {
        &BETAS
    } else {
        &BETAS[..1]
    }
}

#[test]
fn derivatives_match_central_finite_differences() {
    let mut checked = 0;
    for s in Strategy::ALL {
        for &b in betas(s) {
            for t in THETAS {
                for x in grid() {
                    let hx = 1e-6 * x.abs().max(t);
                    let ht = 1e-6 * t;
                    if near_kink(s, x, t, hx.max(ht) * (1.0 + x.abs() / t)) {
                        continue;
                    }
                    let e = s.eval64(x, t, b);
                    let fx = (s.eval64(x + hx, t, b).y - s.eval64(x - hx, t, b).y) / (2.0 * hx);
                    let ft = (s.eval64(x, t + ht, b).y - s.eval64(x, t - ht, b).y) / (2.0 * ht);
                    // Central differences carry O(h²·f''') truncation and O(ε·|y|/h) round-off.
                    let tol = |scale: f64| 1e-6 * (1.0 + scale);
                    let scale = e.y.abs() / hx.min(ht) * 1e-10 + b * b;
                    assert!(
                        (fx - e.dydx).abs() <= tol(scale),
                        "{s} β={b} θ={t} x={x}: ∂y/∂x {} vs fd {fx}",
                        e.dydx
                    );
                    if s != Strategy::SeedSoftplus {
                        assert!(
                            (ft - e.dydt).abs() <= tol(scale),
                            "{s} β={b} θ={t} x={x}: ∂y/∂θ {} vs fd {ft}",
                            e.dydt
                        );
                    } else {
                        // The exact derivative is 0; differences of the formula are round-off.
                        assert!(ft.abs() < 1e-6, "{s} θ={t} x={x}: fd {ft}");
                        assert_eq!(e.dydt, 0.0);
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10_000, "only {checked} points checked");
}

#[test]
fn references_are_finite_at_the_extremes() {
    for s in Strategy::ALL {
        for &b in betas(s) {
            for t in [1e-3, 1e-2, 1e4] {
                for x in [-1e4, -1e3, -1e-9, 0.0, 1e-9, 1e3, 1e4] {
                    let e = s.eval64(x, t, b);
                    assert!(
                        e.y.is_finite() && e.dydx.is_finite() && e.dydt.is_finite(),
                        "{s} β={b} θ={t} x={x}: {e:?}"
                    );
                    // Every strategy is bounded by |x| (clip) and by θ when it saturates.
                    assert!(
                        e.y.abs() <= x.abs() * (1.0 + 1e-12) + 1e-300,
                        "{s} x={x} {e:?}"
                    );
                }
            }
        }
    }
}

struct F32Check {
    x: f32,
    t: f32,
}

impl Dispatch<(f32, f32, f32)> for F32Check {
    fn call<K: ClipFn>(self, k: K) -> (f32, f32, f32) {
        let y = k.forward(self.x, self.t);
        let (dx, dt) = k.backward(self.x, y, self.t);
        (y, dx, dt)
    }
}

#[test]
fn f32_kernels_match_the_f64_references() {
    for s in Strategy::ALL {
        for &b in betas(s) {
            for t in THETAS {
                for x in grid() {
                    let (x32, t32) = (x as f32, t as f32);
                    let (xr, tr) = (x32 as f64, t32 as f64);
                    if near_kink(s, xr, tr, 0.0) {
                        continue;
                    }
                    let r = s.eval64(xr, tr, b);
                    let (y, dx, dt) = s.dispatch(b as f32, F32Check { x: x32, t: t32 });
                    let ok = |got: f32, want: f64, scale: f64| {
                        (got as f64 - want).abs() <= 2e-6 * scale.max(1.0) + 4e-7 * want.abs()
                    };
                    assert!(
                        ok(y, r.y, t.min(xr.abs())),
                        "{s} β={b} θ={t} x={x}: y {y} vs {}",
                        r.y
                    );
                    assert!(
                        ok(dx, r.dydx, 1.0),
                        "{s} β={b} θ={t} x={x}: dx {dx} vs {}",
                        r.dydx
                    );
                    // ∂y/∂θ = tanh(u) − u·sech²(u) multiplies sech² rounding by u.
                    let dt_scale = (xr / tr).abs().min(8.0);
                    assert!(
                        ok(dt, r.dydt, dt_scale),
                        "{s} β={b} θ={t} x={x}: dt {dt} vs {}",
                        r.dydt
                    );
                }
            }
        }
    }
}
