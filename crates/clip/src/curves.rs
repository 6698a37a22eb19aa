//! `clipbench curves`: a strategy's function shape and derivatives on an even grid, computed
//! by the f32 training kernel itself (forward, then backward with ∂L/∂y = 1), so the figure
//! shows what training uses, not the reference math.

use serde::Serialize;

use crate::kernel::{self, Layout};
use crate::strategy::StrategyKernels;
use crate::strategy::{ClipFn, Dispatch, Strategy};
use crate::ClipError;

/// **Contract** (DESIGN.md, CLI): the JSON object `clipbench curves --format json` prints.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Curve {
    pub strategy: Strategy,
    pub threshold: f32,
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub dydx: Vec<f32>,
    pub dydt: Vec<f32>,
}

/// Evaluates `strategy` at `points` evenly spaced x in [from, to].
pub fn curve(
    strategy: Strategy,
    threshold: f64,
    beta: f64,
    from: f64,
    to: f64,
    points: usize,
) -> Result<Curve, ClipError> {
    if !(threshold.is_finite() && threshold > 0.0) {
        return Err(ClipError::BadCurve(format!(
            "--threshold {threshold}: expected a finite value > 0"
        )));
    }
    if !(beta.is_finite() && beta > 0.0) {
        return Err(ClipError::BadBeta { beta });
    }
    if !(from.is_finite() && to.is_finite() && from < to) {
        return Err(ClipError::BadCurve(format!(
            "--from {from} --to {to}: expected finite bounds with from < to"
        )));
    }
    if !(2..=10_000_000).contains(&points) {
        return Err(ClipError::BadCurve(format!(
            "--points {points}: expected 2 to 10000000"
        )));
    }
    let x: Vec<f32> = (0..points)
        .map(|i| (from + (to - from) * i as f64 / (points - 1) as f64) as f32)
        .collect();
    let t = threshold as f32;
    // One θ entry per point (plane = 1) makes the backward return ∂y/∂θ per point.
    let thetas = vec![t; points];
    let layout = Layout {
        thetas: &thetas,
        plane: 1,
        pre_relu: false,
    };
    struct Run<'a>(Layout<'a>, &'a [f32]);
    impl Dispatch<(Vec<f32>, Vec<f32>, Vec<f32>)> for Run<'_> {
        fn call<K: ClipFn>(self, k: K) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
            let n = self.1.len();
            let mut y = vec![0f32; n];
            kernel::forward(k, self.0, self.1, &mut y);
            let ones = vec![1f32; n];
            let mut dydx = vec![0f32; n];
            let dydt = kernel::backward(k, self.0, self.1, &y, &ones, &mut dydx);
            (y, dydx, dydt.into_iter().map(|v| v as f32).collect())
        }
    }
    let (y, dydx, dydt) = strategy.dispatch(beta as f32, Run(layout, &x));
    Ok(Curve {
        strategy,
        threshold: t,
        x,
        y,
        dydx,
        dydt,
    })
}

impl Curve {
    /// CSV with a header `strategy,threshold,x,y,dydx,dydt`, one row per point.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("strategy,threshold,x,y,dydx,dydt\n");
        for i in 0..self.x.len() {
            s.push_str(&format!(
                "{},{},{},{},{},{}\n",
                self.strategy, self.threshold, self.x[i], self.y[i], self.dydx[i], self.dydt[i]
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_curve_matches_reference_pointwise() -> Result<(), ClipError> {
        let c = curve(Strategy::TanhLearnable, 2.0, 1.0, -6.0, 6.0, 121)?;
        assert_eq!(c.x.len(), 121);
        assert_eq!(c.x[60], 0.0);
        for i in 0..121 {
            let r = Strategy::TanhLearnable.eval64(c.x[i] as f64, 2.0, 1.0);
            assert!((c.y[i] as f64 - r.y).abs() < 1e-6, "y at {}", c.x[i]);
            assert!(
                (c.dydx[i] as f64 - r.dydx).abs() < 1e-6,
                "dydx at {}",
                c.x[i]
            );
            assert!(
                (c.dydt[i] as f64 - r.dydt).abs() < 1e-6,
                "dydt at {}",
                c.x[i]
            );
        }
        Ok(())
    }

    #[test]
    fn rejects_bad_arguments_with_the_flag_name() {
        let e = |r: Result<Curve, ClipError>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e(curve(Strategy::Pact, 0.0, 1.0, -1.0, 1.0, 10)).contains("--threshold"));
        assert!(e(curve(Strategy::Pact, 1.0, 1.0, 1.0, -1.0, 10)).contains("--from"));
        assert!(e(curve(Strategy::Pact, 1.0, 1.0, -1.0, 1.0, 1)).contains("--points"));
        assert!(e(curve(Strategy::Pact, 1.0, -2.0, -1.0, 1.0, 5)).contains("β"));
    }

    #[test]
    fn csv_has_header_and_one_row_per_point() -> Result<(), ClipError> {
        let c = curve(Strategy::HardClamp, 1.0, 1.0, -2.0, 2.0, 5)?;
        let csv = c.to_csv();
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(lines[0], "strategy,threshold,x,y,dydx,dydt");
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[1], "hard-clamp,1,-2,-1,0,-1");
        Ok(())
    }
}
