//! Accuracy and divergence rate vs learning rate (lr-stability studies), log-scale lr.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    dash, draw_legend, extent, padded, render, strategy_color, tick, DrawResult, Format,
    LegendEntry, FONT, LEGEND_W,
};
use crate::aggregate::LrRow;
use crate::error::Result;

pub fn lr_sweep(
    rows: &[LrRow],
    title: &str,
    stem: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    render!(stem, (1400 + LEGEND_W, 640), formats, |root| draw(
        &root, rows, title
    ))
}

fn strategies(rows: &[LrRow]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        if !out.contains(&r.strategy) {
            out.push(r.strategy.clone());
        }
    }
    out
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[LrRow],
    title: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let root = root.titled(title, (FONT, 24))?;
    let (w, _) = root.dim_in_pixel();
    let (main, side) = root.split_horizontally(w.saturating_sub(LEGEND_W));
    let panels = main.split_evenly((1, 2));
    let (l0, l1) = extent(rows.iter().map(|r| &r.lr));
    let (l0, l1) = if l0 > 0.0 && l1.is_finite() {
        (l0 / 2.0, l1 * 2.0)
    } else {
        (1e-4, 1.0)
    };
    let names = strategies(rows);
    // Strategies sharing an lr are drawn side by side (a small multiplicative offset on the
    // log axis) so their error bars do not hide each other.
    let k = names.len() as f64;
    let dodge = |s: &str, lr: f64| {
        let i = names.iter().position(|n| n == s).unwrap_or(0) as f64;
        lr * 1.06f64.powf(i - (k - 1.0) / 2.0)
    };

    // Left: test accuracy at the selected epoch (completed runs), mean and 95% t-interval, cut to [0, 100]%.
    let pc = |x: f64| 100.0 * x.clamp(0.0, 1.0);
    let (a0, a1) = extent(
        rows.iter()
            .flat_map(|r| [&r.sel_acc.mean, &r.sel_acc.t_lo, &r.sel_acc.t_hi]),
    );
    let (a0, a1) = padded(pc(a0), pc(a1), 0.06);
    let mut acc = ChartBuilder::on(&panels[0])
        .caption(
            "test accuracy at the selected epoch (completed runs)",
            (FONT, 19),
        )
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((l0..l1).log_scale(), a0..a1)?;
    acc.configure_mesh()
        .x_desc("learning rate (log)")
        .y_desc("test accuracy (%)")
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for s in &names {
        let color = strategy_color(s);
        let mine: Vec<&LrRow> = rows
            .iter()
            .filter(|r| &r.strategy == s && r.sel_acc.mean.is_finite())
            .collect();
        let pts: Vec<(f64, f64)> = mine
            .iter()
            .map(|r| (dodge(s, r.lr), pc(r.sel_acc.mean)))
            .collect();
        super::style::draw_line(&mut acc, pts.clone(), color.stroke_width(2), dash(s))?;
        acc.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        acc.draw_series(mine.iter().filter(|r| r.sel_acc.t_lo.is_finite()).map(|r| {
            PathElement::new(
                vec![
                    (dodge(s, r.lr), pc(r.sel_acc.t_lo)),
                    (dodge(s, r.lr), pc(r.sel_acc.t_hi)),
                ],
                color.stroke_width(2),
            )
        }))?;
    }

    // Right: share of diverged runs.
    let mut div = ChartBuilder::on(&panels[1])
        .caption("runs diverged (non-finite loss or gradient)", (FONT, 19))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((l0..l1).log_scale(), -3.0..103.0)?;
    div.configure_mesh()
        .x_desc("learning rate (log)")
        .y_desc("diverged (%)")
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for s in &names {
        let color = strategy_color(s);
        let pts: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| &r.strategy == s)
            .map(|r| (dodge(s, r.lr), 100.0 * r.divergence_rate))
            .collect();
        super::style::draw_line(&mut div, pts.clone(), color.stroke_width(2), dash(s))?;
        div.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    let entries: Vec<LegendEntry> = names
        .iter()
        .map(|s| LegendEntry {
            label: s.clone(),
            color: strategy_color(s),
            dash: dash(s),
        })
        .collect();
    draw_legend(&side, &entries)
}
