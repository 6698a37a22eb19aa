//! An accuracy per strategy as a horizontal dot plot (so strategy names stay readable): every
//! seed as a dot, the mean with its 95% t-interval; or every tuning trial as a dot and the
//! selected one as the square.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{extent, padded, render, strategy_color, tick, DrawResult, Format, FONT};
use crate::error::Result;

/// One strategy's row of the figure.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalAccRow {
    pub strategy: String,
    /// Final test accuracy of each completed run (fraction).
    pub seeds: Vec<f64>,
    pub n_diverged: usize,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The axis label and the legend line of a dot plot.
#[derive(Clone, Copy, Debug)]
pub struct DotLabels<'a> {
    pub x_desc: &'a str,
    pub legend: &'a str,
}

pub fn final_accuracy(
    rows: &[FinalAccRow],
    title: &str,
    labels: DotLabels<'_>,
    stem: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    let height = 200 + 70 * rows.len().max(1) as u32;
    render!(stem, (1100, height), formats, |root| draw(
        &root, rows, title, labels
    ))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[FinalAccRow],
    title: &str,
    text: DotLabels<'_>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = rows.len();
    // Accuracies are in [0, 1]: a t-interval from few seeds can reach past that; the bar is
    // cut there (the tables keep the exact interval).
    let pct = |x: f64| 100.0 * x.clamp(0.0, 1.0);
    let (x0, x1) = extent(
        rows.iter()
            .flat_map(|r| r.seeds.iter().chain([&r.mean, &r.lo, &r.hi]))
            .collect::<Vec<_>>(),
    );
    let (x0, x1) = padded(pct(x0), pct(x1), 0.08);
    let labels: Vec<String> = rows
        .iter()
        .map(|r| {
            if r.n_diverged > 0 {
                format!("{} ({} div.)", r.strategy, r.n_diverged)
            } else {
                r.strategy.clone()
            }
        })
        .collect();
    // Row i is drawn at y = n − 1 − i, so the first strategy is on top. The strategy names
    // are drawn by hand at the rows (plotters' f64 axis would pick its own tick positions).
    let y_of = |i: usize| (n - 1 - i) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(250)
        .build_cartesian_2d(x0..x1, -0.6..(n as f64 - 0.4))?;
    chart
        .configure_mesh()
        .x_desc(text.x_desc)
        .x_label_formatter(&tick)
        .y_labels(0)
        .disable_y_mesh()
        .label_style((FONT, 17))
        .axis_desc_style((FONT, 18))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let name_style = (FONT, 17)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, label) in labels.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(x0, y_of(i)));
        root.draw(&Text::new(label.clone(), (px - 10, py), name_style.clone()))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x0, y_of(i)), (x1, y_of(i))],
            BLACK.mix(0.08),
        )))?;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = y_of(i);
        let color = strategy_color(&r.strategy);
        // Seeds: translucent dots, spread vertically by a fixed pattern (no randomness).
        chart.draw_series(r.seeds.iter().enumerate().map(|(k, &a)| {
            let jitter = [0.0, 0.12, -0.12, 0.06, -0.06, 0.18, -0.18][k % 7];
            Circle::new((pct(a), y + 0.05 + jitter), 6, color.mix(0.55).filled())
        }))?;
        let yb = y - 0.3;
        if r.lo.is_finite() && r.hi.is_finite() {
            let bar = color.stroke_width(3);
            chart.draw_series([
                PathElement::new(vec![(pct(r.lo), yb), (pct(r.hi), yb)], bar),
                PathElement::new(vec![(pct(r.lo), yb - 0.08), (pct(r.lo), yb + 0.08)], bar),
                PathElement::new(vec![(pct(r.hi), yb - 0.08), (pct(r.hi), yb + 0.08)], bar),
            ])?;
        }
        if r.mean.is_finite() {
            // The mean: a filled square of fixed pixel size with a white rim.
            chart.draw_series(std::iter::once(
                EmptyElement::at((pct(r.mean), yb))
                    + Rectangle::new([(-7, -7), (7, 7)], WHITE.filled())
                    + Rectangle::new([(-5, -5), (5, 5)], color.filled()),
            ))?;
        }
    }
    root.draw(&Text::new(
        text.legend,
        (20, root.dim_in_pixel().1 as i32 - 24),
        (FONT, 15).into_font().color(&BLACK.mix(0.7)),
    ))?;
    Ok(())
}
