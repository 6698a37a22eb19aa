//! The paired-difference figure: per strategy, Δ test accuracy vs `none` over shared seeds
//! (percentage points) with the 95% t-interval the paired table and the answer report; the
//! comparisons significant after Holm's correction drawn as filled stars, the others as open
//! circles; a zero line.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{extent, padded, render, strategy_color, tick, DrawResult, Format, FONT};
use crate::error::Result;

/// One comparison of the figure.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffRow {
    /// Row label: the strategy, with its grid point when the study has a grid.
    pub label: String,
    pub strategy: String,
    /// Mean paired difference and its 95% t-interval (fractions of accuracy).
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    pub n_pairs: usize,
    /// Holm-adjusted p below α.
    pub significant: bool,
}

/// The legend line under the chart (also the figure's meaning in the caption).
pub fn legend_text(alpha: f64) -> String {
    format!(
        "★ filled: Holm-adjusted p < {alpha} · ○ open: not significant · bar: 95% t-interval \
         of the mean paired difference"
    )
}

pub fn paired_diff(
    rows: &[DiffRow],
    title: &str,
    alpha: f64,
    stem: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    let height = 200 + 60 * rows.len().max(1) as u32;
    let legend = legend_text(alpha);
    render!(stem, (1100, height), formats, |root| draw(
        &root, rows, title, &legend
    ))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[DiffRow],
    title: &str,
    legend: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (_, h) = root.dim_in_pixel();
    let (root, foot) = root.split_vertically(h.saturating_sub(40));
    let n = rows.len().max(1);
    let pp = |x: f64| 100.0 * x;
    let (x0, x1) = extent(
        rows.iter()
            .flat_map(|r| [r.mean, r.lo, r.hi].map(pp))
            .chain([0.0])
            .collect::<Vec<_>>()
            .iter(),
    );
    let (x0, x1) = padded(x0, x1, 0.08);
    // Row i at y = n − 1 − i: the first comparison on top; names drawn by hand at the rows.
    let y_of = |i: usize| (n - 1 - i) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 22))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(300)
        .build_cartesian_2d(x0..x1, -0.6..(n as f64 - 0.4))?;
    chart
        .configure_mesh()
        .x_desc("Δ test accuracy vs none, same seed (percentage points)")
        .x_label_formatter(&tick)
        .y_labels(0)
        .disable_y_mesh()
        .label_style((FONT, 17))
        .axis_desc_style((FONT, 18))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(std::iter::once(DashedPathElement::new(
        vec![(0.0, -0.6), (0.0, n as f64 - 0.4)],
        6,
        4,
        BLACK.stroke_width(2),
    )))?;
    let name_style = (FONT, 17)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, r) in rows.iter().enumerate() {
        let y = y_of(i);
        let (px, py) = chart.backend_coord(&(x0, y));
        let label = format!("{} (n = {})", r.label, r.n_pairs);
        root.draw(&Text::new(label, (px - 10, py), name_style.clone()))?;
        let color = strategy_color(&r.strategy);
        if r.lo.is_finite() && r.hi.is_finite() {
            let bar = color.stroke_width(3);
            let (lo, hi) = (pp(r.lo), pp(r.hi));
            chart.draw_series([
                PathElement::new(vec![(lo, y), (hi, y)], bar),
                PathElement::new(vec![(lo, y - 0.12), (lo, y + 0.12)], bar),
                PathElement::new(vec![(hi, y - 0.12), (hi, y + 0.12)], bar),
            ])?;
        }
        if r.mean.is_finite() {
            let at = (pp(r.mean), y);
            if r.significant {
                chart.draw_series(std::iter::once(
                    EmptyElement::at(at)
                        + Polygon::new(star(12.0), WHITE.filled())
                        + Polygon::new(star(10.0), color.filled()),
                ))?;
            } else {
                chart.draw_series(std::iter::once(
                    EmptyElement::at(at)
                        + Circle::new((0, 0), 8, WHITE.filled())
                        + Circle::new((0, 0), 7, color.stroke_width(3)),
                ))?;
            }
        }
    }
    foot.draw(&Text::new(
        legend.to_string(),
        (20, 10),
        (FONT, 15).into_font().color(&BLACK.mix(0.7)),
    ))?;
    Ok(())
}

/// A five-pointed star of outer radius `r` pixels around (0, 0).
fn star(r: f64) -> Vec<(i32, i32)> {
    (0..10u32)
        .map(|k| {
            let a = std::f64::consts::PI * (f64::from(k) / 5.0 - 0.5);
            let rr = if k.is_multiple_of(2) { r } else { r * 0.45 };
            ((rr * a.cos()).round() as i32, (rr * a.sin()).round() as i32)
        })
        .collect()
}
