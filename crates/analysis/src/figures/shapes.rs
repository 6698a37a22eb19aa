//! The strategies' function shapes and derivatives, y(x), ∂y/∂x and ∂y/∂θ, as computed by
//! their f32 training kernels (`clipbench curves`; the CLI passes the data in, so this crate
//! needs no link to the kernels).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    draw_legend, extent, padded, render, strategy_color, tick, DrawResult, Format, LegendEntry,
    FONT, LEGEND_W,
};
use crate::error::Result;

/// One curve of the figure (the JSON of `clipbench curves`, plus a label).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct ShapeCurve {
    pub strategy: String,
    pub threshold: f64,
    /// Legend text, e.g. "softplus-learnable (β = 5)"; defaults to the strategy.
    #[serde(default)]
    pub label: String,
    /// Dashed line (variants of a strategy drawn in the same colour).
    #[serde(default)]
    pub dashed: bool,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub dydx: Vec<f64>,
    pub dydt: Vec<f64>,
}

pub fn function_shapes(
    curves: &[ShapeCurve],
    title: &str,
    stem: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    render!(stem, (1800 + LEGEND_W + 60, 640), formats, |root| draw(
        &root, curves, title
    ))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[ShapeCurve],
    title: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let root = root.titled(title, (FONT, 24))?;
    let (w, _) = root.dim_in_pixel();
    let (main, side) = root.split_horizontally(w.saturating_sub(LEGEND_W + 60));
    let panels = main.split_evenly((1, 3));
    type Pick = fn(&ShapeCurve) -> &Vec<f64>;
    let parts: [(&str, &str, Pick); 3] = [
        ("y = f(x; θ)", "y", |c| &c.y),
        ("∂y/∂x", "∂y/∂x", |c| &c.dydx),
        ("∂y/∂θ", "∂y/∂θ", |c| &c.dydt),
    ];
    for ((caption, y_desc, pick), area) in parts.iter().zip(&panels) {
        let (x0, x1) = extent(curves.iter().flat_map(|c| c.x.iter()));
        let (y0, y1) = extent(curves.iter().flat_map(|c| pick(c).iter()));
        let (y0, y1) = padded(y0, y1, 0.06);
        let mut chart = ChartBuilder::on(area)
            .caption(*caption, (FONT, 20))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("x (clip input)")
            .y_desc(*y_desc)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        // Dashed curves (variants that coincide with another curve) last, so they stay visible.
        for c in curves
            .iter()
            .filter(|c| !c.dashed)
            .chain(curves.iter().filter(|c| c.dashed))
        {
            let color = strategy_color(&c.strategy);
            let pts: Vec<(f64, f64)> =
                c.x.iter()
                    .zip(pick(c))
                    .map(|(&x, &y)| (x, y))
                    .filter(|p| p.1.is_finite())
                    .collect();
            let style = color.stroke_width(2);
            if c.dashed {
                chart.draw_series(DashedLineSeries::new(pts, 8, 6, style))?;
            } else {
                chart.draw_series(LineSeries::new(pts, style))?;
            }
        }
    }
    let entries: Vec<LegendEntry> = curves
        .iter()
        .map(|c| LegendEntry {
            label: if c.label.is_empty() {
                c.strategy.clone()
            } else {
                c.label.clone()
            },
            color: strategy_color(&c.strategy),
            dash: if c.dashed {
                super::Dash::Dashed
            } else {
                super::Dash::Solid
            },
        })
        .collect();
    draw_legend(&side, &entries)?;
    Ok(())
}
