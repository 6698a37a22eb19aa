//! How lines tell strategies apart when colour alone does not (print, colour-blind readers,
//! eight curves on one axis): a dash pattern per strategy on top of its colour, and the
//! smoothing and epoch marks of the per-step figures.

use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::DrawResult;

/// A line's dash pattern. Strategies cycle through the four in registry order, so neighbours
/// in the legend never share one, and the curves that lie on another's (`seed-softplus` on
/// `none`, `tanh-fixed` near `tanh-learnable`) differ in pattern as well as colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
    LongDash,
}

impl Dash {
    /// (dash, gap) in pixels; None for a solid line.
    fn pattern(self) -> Option<(u32, u32)> {
        match self {
            Dash::Solid => None,
            Dash::Dashed => Some((9, 5)),
            Dash::Dotted => Some((2, 5)),
            Dash::LongDash => Some((20, 6)),
        }
    }
}

/// The dash pattern of `strategy` in every figure.
pub fn dash(strategy: &str) -> Dash {
    const CYCLE: [Dash; 4] = [Dash::Solid, Dash::Dashed, Dash::Dotted, Dash::LongDash];
    CYCLE[crate::study::strategy_rank(strategy).0 % CYCLE.len()]
}

/// Draws `pts` as one line of `style` in pattern `dash`.
pub(crate) fn draw_line<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    pts: Vec<(f64, f64)>,
    style: ShapeStyle,
    dash: Dash,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    match dash.pattern() {
        None => chart.draw_series(LineSeries::new(pts, style))?,
        Some((on, off)) => chart.draw_series(DashedLineSeries::new(pts, on, off, style))?,
    };
    Ok(())
}

/// A legend sample of `dash` from x0 to x1 at height y (pixel coordinates of `area`).
pub(crate) fn legend_sample<DB: DrawingBackend>(
    area: &plotters::drawing::DrawingArea<DB, plotters::coord::Shift>,
    (x0, x1, y): (i32, i32, i32),
    style: ShapeStyle,
    dash: Dash,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    match dash.pattern() {
        None => area.draw(&PathElement::new(vec![(x0, y), (x1, y)], style))?,
        Some((on, off)) => area.draw(&DashedPathElement::new(
            vec![(x0, y), (x1, y)],
            on,
            off,
            style,
        ))?,
    }
    Ok(())
}

/// Centred moving average of the per-step curves: each point becomes the mean of the
/// `window` logged points centred on it (fewer at the ends, where the window is cut, never
/// padded). `window` is odd; 1 leaves the curve as it is.
pub fn moving_average(ys: &[f64], window: usize) -> Vec<f64> {
    let all: Vec<usize> = (0..ys.len()).collect();
    moving_average_at(ys, window, &all)
}

/// [`moving_average`] at the points `at` only: a figure draws at most a few thousand points
/// of a curve, and at 10M records (100k points, a window of 8k) averaging every point cost
/// a minute.
pub fn moving_average_at(ys: &[f64], window: usize, at: &[usize]) -> Vec<f64> {
    let h = window / 2;
    at.iter()
        .map(|&i| {
            let lo = i.saturating_sub(h);
            let hi = (i + h + 1).min(ys.len());
            let finite = || ys[lo..hi].iter().copied().filter(|v| v.is_finite());
            let n = finite().count();
            if n == 0 {
                f64::NAN
            } else {
                finite().sum::<f64>() / n as f64
            }
        })
        .collect()
}

/// The smoothing of a per-step figure: a centred moving average over `window` logged points,
/// which span `steps` training steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Smoothing {
    pub window: usize,
    pub steps: f64,
}

impl Smoothing {
    /// About 1/12 of the longest curve (odd, at least 1): the main study's 138 logged points
    /// get 11 (550 steps, under an epoch): with 1/25 (5 points) its eight loss curves still
    /// crossed each other on batch noise.
    pub fn for_points(xs: &[f64]) -> Smoothing {
        let n = xs.len();
        let mut window = (n / 12).max(1);
        if window.is_multiple_of(2) {
            window += 1;
        }
        let stride = if n >= 2 {
            (xs[n - 1] - xs[0]) / (n - 1) as f64
        } else {
            0.0
        };
        Smoothing {
            window,
            steps: stride * window as f64,
        }
    }

    /// The caption's words for it.
    pub fn describe(&self) -> String {
        if self.window <= 1 {
            "not smoothed".into()
        } else {
            format!(
                "smoothed by a centred moving average over {} logged points (≈ {} steps)",
                self.window,
                self.steps.round()
            )
        }
    }
}

/// Epoch ends to mark on a per-step axis: at most `MAX_MARKS`, every k-th when there are more.
pub fn epoch_marks(ends: &[f64]) -> (Vec<f64>, usize) {
    const MAX_MARKS: usize = 40;
    let every = ends.len().div_ceil(MAX_MARKS).max(1);
    (
        ends.iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| (i + 1).is_multiple_of(every))
            .map(|(_, x)| x)
            .collect(),
        every,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_is_centred_and_cut_at_the_ends() {
        let ys = [0.0, 3.0, 6.0, 9.0, 30.0];
        // i = 2: (3 + 6 + 9) / 3; i = 0: (0 + 3) / 2; i = 4: (9 + 30) / 2.
        assert_eq!(moving_average(&ys, 3), vec![1.5, 3.0, 6.0, 15.0, 19.5]);
        assert_eq!(moving_average(&ys, 1), ys.to_vec());
    }

    #[test]
    fn neighbouring_strategies_get_different_dashes() {
        let names = ["none", "hard-clamp", "tanh-fixed", "tanh-learnable"];
        let d: Vec<Dash> = names.iter().map(|s| dash(s)).collect();
        for i in 1..d.len() {
            assert_ne!(d[i - 1], d[i], "{names:?}");
        }
        assert_ne!(dash("none"), dash("seed-softplus"));
    }

    /// WCAG 2.1 relative luminance and contrast ratio against white.
    fn contrast_with_white(c: (u8, u8, u8)) -> f64 {
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        let l = 0.2126 * lin(c.0) + 0.7152 * lin(c.1) + 0.0722 * lin(c.2);
        1.05 / (l + 0.05)
    }

    #[test]
    fn every_strategy_colour_is_legible_on_white() {
        // WCAG 2.1 SC 1.4.11: graphical objects need 3:1 against their background. Okabe–Ito
        // orange (230, 159, 0) has 2.2:1 and yellow (240, 228, 66) 1.3:1.
        assert!(contrast_with_white((230, 159, 0)) < 3.0);
        for info in clipbench_core::REGISTRY {
            let r = contrast_with_white(info.color);
            assert!(r >= 3.0, "{}: {:?} has {r:.2}:1", info.name, info.color);
        }
    }

    #[test]
    fn window_is_odd_and_grows_with_the_curve() {
        let xs: Vec<f64> = (0..100).map(|i| 20.0 * i as f64).collect();
        let s = Smoothing::for_points(&xs);
        assert_eq!((s.window, s.steps), (9, 180.0));
        assert_eq!(Smoothing::for_points(&xs[..10]).window, 1);
        let (marks, every) = epoch_marks(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!((marks.len(), every), (33, 3));
    }
}
