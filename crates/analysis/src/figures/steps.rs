//! Per-step figures: training loss, test accuracy, gradient norm (log scale) and θ per layer,
//! each a mean line with a 95% band across seeds per strategy, legend beside the chart.
//!
//! Legibility with eight strategies on one axis: the noisy per-batch curves are smoothed
//! ([`Smoothing`], stated in the caption); every strategy has a dash pattern as well as a
//! colour; bands are a light tint without edges, all drawn before any line, so a band never
//! hides a line (small multiples were the alternative, but the point of these figures is
//! comparing strategies on one axis, and the paired-difference figure carries the
//! uncertainty of the comparison); thin grey verticals mark the ends of epochs.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::CurveSet;
use super::style::{draw_line, moving_average_at, Smoothing};
use super::{
    dash, draw_legend, extent, log_tick, padded, render, step_tick, strategy_color, tick,
    DrawResult, Format, LegendEntry, FONT, LEGEND_W,
};
use crate::error::Result;

/// Most points drawn per line (long runs are thinned evenly; the band is thinned alike).
const MAX_POINTS: usize = 1500;

fn thin(c: &CurveSet) -> Vec<usize> {
    let n = c.x.len();
    let k = n.div_ceil(MAX_POINTS).max(1);
    let mut idx: Vec<usize> = (0..n).step_by(k).collect();
    if n > 0 && idx.last() != Some(&(n - 1)) {
        idx.push(n - 1);
    }
    idx
}

/// Most strategies whose bands are all drawn: beyond it (the main study has eight, whose
/// seed bands are far wider than the gaps between their means) only the baseline's band is,
/// as the scale of the seed-to-seed spread; the paired-difference figure has the intervals of
/// the comparisons.
pub const MAX_BANDS: usize = 4;

/// The caption's words for the bands of a figure of `n` strategies; `baseline`: the
/// baseline is among them.
pub fn band_words(n: usize, baseline: bool) -> String {
    if n <= MAX_BANDS {
        "band = 95% t-interval".into()
    } else if !baseline {
        format!("no bands (more than {MAX_BANDS} strategies)")
    } else {
        format!(
            "band = 95% t-interval of `{}` only (more than {MAX_BANDS} strategies)",
            crate::study::BASELINE
        )
    }
}

/// What a per-step figure adds to the curves: their smoothing and the epoch ends to mark.
#[derive(Clone, Debug, PartialEq)]
pub struct StepMarks {
    pub smoothing: Smoothing,
    /// Steps at which an epoch ends (drawn as thin grey verticals).
    pub epochs: Vec<f64>,
}

impl StepMarks {
    /// Neither smoothing nor epoch marks.
    pub fn none() -> StepMarks {
        StepMarks {
            smoothing: Smoothing {
                window: 1,
                steps: 0.0,
            },
            epochs: Vec::new(),
        }
    }
}

#[derive(Clone)]
struct Axes<'a> {
    caption: &'a str,
    y_desc: &'a str,
    log_y: bool,
    markers: bool,
    marks: &'a StepMarks,
}

/// The curves as drawn: thinned to the points drawn ([`thin`]), mean and band smoothed
/// alike over the whole curve (in ln on a log axis: a geometric moving average).
fn smoothed(curves: &[Labeled], window: usize, log: bool) -> Vec<Labeled> {
    curves
        .iter()
        .map(|(l, c)| {
            let idx = thin(c);
            let pick = |v: &[f64]| -> Vec<f64> { idx.iter().map(|&i| v[i]).collect() };
            let smooth = |ys: &[f64]| -> Vec<f64> {
                if window <= 1 {
                    pick(ys)
                } else if log {
                    let ln: Vec<f64> = ys
                        .iter()
                        .map(|y| if *y > 0.0 { y.ln() } else { f64::NAN })
                        .collect();
                    moving_average_at(&ln, window, &idx)
                        .iter()
                        .map(|y| y.exp())
                        .collect()
                } else {
                    moving_average_at(ys, window, &idx)
                }
            };
            let drawn = CurveSet {
                group: c.group,
                strategy: c.strategy.clone(),
                x: pick(&c.x),
                mean: smooth(&c.mean),
                lo: smooth(&c.lo),
                hi: smooth(&c.hi),
                n: idx.iter().map(|&i| c.n[i]).collect(),
            };
            (l.clone(), drawn)
        })
        .collect()
}

/// A curve with its legend text.
pub type Labeled = (String, CurveSet);

fn legend(curves: &[Labeled]) -> Vec<LegendEntry> {
    curves
        .iter()
        .map(|(label, c)| LegendEntry {
            label: label.clone(),
            color: strategy_color(&c.strategy),
            dash: dash(&c.strategy),
        })
        .collect()
}

/// Strategy names as legend text.
fn by_strategy(curves: &[CurveSet]) -> Vec<Labeled> {
    curves
        .iter()
        .map(|c| (c.strategy.clone(), c.clone()))
        .collect()
}

/// One chart: a band and a mean line per curve.
fn draw_band_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    curves: &[Labeled],
    ax: &Axes,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let curves = &smoothed(curves, ax.marks.smoothing.window, ax.log_y);
    let (x0, x1) = extent(curves.iter().flat_map(|(_, c)| c.x.iter()));
    // Per-epoch figures start at step 0 so that one epoch (one point) is not a lone dot in
    // the middle of an arbitrary window.
    let (x0, x1) = if ax.markers && x1.is_finite() {
        (0.0, x1 * 1.03)
    } else {
        padded(x0, x1, 0.01)
    };
    let (y0, y1) = extent(
        curves
            .iter()
            .flat_map(|(_, c)| c.lo.iter().chain(&c.hi).chain(&c.mean)),
    );
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(ax.caption, (FONT, 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(84);
    if ax.log_y {
        // The range follows the mean lines (a decade of room each side) and takes in the bands
        // only that far: a band from 2–3 seeds of a diverging run spans dozens of decades and
        // would flatten every line. Bands are cut at the range.
        let (m0, m1) = extent(
            curves
                .iter()
                .flat_map(|(_, c)| c.mean.iter())
                .filter(|v| **v > 0.0),
        );
        let (y0, y1) = if m0 > 0.0 && m1.is_finite() {
            let lo = extent(
                curves
                    .iter()
                    .flat_map(|(_, c)| c.lo.iter())
                    .filter(|v| **v > 0.0),
            )
            .0;
            (
                lo.max(m0 / 10.0).min(m0) / 1.2,
                y1.min(m1 * 10.0).max(m1) * 1.2,
            )
        } else {
            (1e-3, 1.0)
        };
        let clipped: Vec<Labeled> = curves
            .iter()
            .map(|(l, c)| {
                let mut c = c.clone();
                for v in
                    c.lo.iter_mut()
                        .chain(c.hi.iter_mut())
                        .chain(c.mean.iter_mut())
                {
                    *v = v.clamp(y0, y1);
                }
                (l.clone(), c)
            })
            .collect();
        let curves = &clipped;
        let mut chart = builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc(ax.y_desc)
            .x_label_formatter(&step_tick)
            // No vertical grid: the verticals are the epoch ends.
            .disable_x_mesh()
            .y_label_formatter(&log_tick)
            .y_labels(30)
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 18))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        series(&mut chart, curves, ax)?;
    } else {
        let (y0, y1) = padded(y0, y1, 0.05);
        let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc(ax.y_desc)
            .x_label_formatter(&step_tick)
            // No vertical grid: the verticals are the epoch ends.
            .disable_x_mesh()
            .y_label_formatter(&tick)
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 18))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        series(&mut chart, curves, ax)?;
    }
    Ok(())
}

fn series<'a, DB: DrawingBackend + 'a, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    curves: &[Labeled],
    ax: &Axes,
) -> DrawResult
where
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    // Epoch ends first, behind everything.
    let (y_lo, y_hi) = (chart.y_range().start, chart.y_range().end);
    chart.draw_series(
        ax.marks
            .epochs
            .iter()
            .map(|&x| PathElement::new(vec![(x, y_lo), (x, y_hi)], BLACK.mix(0.18))),
    )?;
    // Bands next: a light tint without edges, so every line stays on top of every band and
    // eight overlapping bands stay a tint, not a smear.
    let all_bands = curves.len() <= MAX_BANDS;
    for (_, c) in curves {
        if !all_bands && c.strategy != crate::study::BASELINE {
            continue;
        }
        let idx = thin(c);
        let color = strategy_color(&c.strategy);
        if idx.len() >= 2 && c.n.iter().any(|&n| n >= 2) {
            let mut poly: Vec<(f64, f64)> = idx.iter().map(|&i| (c.x[i], c.hi[i])).collect();
            poly.extend(idx.iter().rev().map(|&i| (c.x[i], c.lo[i])));
            chart.draw_series(std::iter::once(Polygon::new(
                poly,
                color.mix(0.05).filled(),
            )))?;
        }
    }
    for (_, c) in curves {
        let idx = thin(c);
        let color = strategy_color(&c.strategy);
        let pts: Vec<(f64, f64)> = idx.iter().map(|&i| (c.x[i], c.mean[i])).collect();
        draw_line(chart, pts.clone(), color.stroke_width(2), dash(&c.strategy))?;
        if ax.markers {
            // Per-epoch points also carry their interval as an error bar: with few epochs
            // the band alone is a thin sliver (with one epoch it is nothing).
            chart.draw_series(idx.iter().filter(|&&i| c.n[i] >= 2).map(|&i| {
                PathElement::new(
                    vec![(c.x[i], c.lo[i]), (c.x[i], c.hi[i])],
                    color.stroke_width(2),
                )
            }))?;
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
    }
    Ok(())
}

/// A chart with the legend in a panel to its right.
fn draw_with_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[Labeled],
    ax: &Axes,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, _) = root.dim_in_pixel();
    let (main, side) = root.split_horizontally(w.saturating_sub(LEGEND_W));
    draw_band_chart(&main, curves, ax)?;
    draw_legend(&side, &legend(curves))
}

/// One panel of per-strategy curves with a legend: the body of the per-step figures.
fn single_panel(
    curves: &[CurveSet],
    ax: &Axes<'_>,
    stem: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    let c = by_strategy(curves);
    render!(stem, (1300, 760), formats, |root| draw_with_legend(
        &root, &c, ax
    ))
}

/// Training loss (per-batch, logged steps) vs step.
pub fn loss_vs_step(
    curves: &[CurveSet],
    title: &str,
    marks: &StepMarks,
    stem: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    let ax = Axes {
        caption: title,
        y_desc: "training loss (batch)",
        log_y: false,
        markers: false,
        marks,
    };
    single_panel(curves, &ax, stem, formats)
}

/// Test accuracy (end of each epoch) vs step.
pub fn test_acc_vs_step(
    curves: &[CurveSet],
    title: &str,
    stem: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    let ax = Axes {
        caption: title,
        y_desc: "test accuracy",
        log_y: false,
        markers: true,
        marks: &StepMarks::none(),
    };
    single_panel(curves, &ax, stem, formats)
}

/// Gradient norm of the network weights (before the update) vs step, log scale.
pub fn grad_norm_vs_step(
    curves: &[CurveSet],
    title: &str,
    marks: &StepMarks,
    stem: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    let ax = Axes {
        caption: title,
        y_desc: "weight-gradient norm (log)",
        log_y: true,
        markers: false,
        marks,
    };
    single_panel(curves, &ax, stem, formats)
}

/// θ − θ0 (PACT: α − α0) per clip layer vs step, one panel per layer; the legend names each
/// strategy's θ0. `layers`: (layer, curves of θ − θ0 with their legend text).
pub fn theta_vs_step(
    layers: &[(String, Vec<Labeled>)],
    title: &str,
    marks: &StepMarks,
    stem: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>> {
    let width = 640 * layers.len().max(1) as u32 + LEGEND_W;
    render!(stem, (width, 700), formats, |root| draw_theta(
        &root, layers, title, marks
    ))
}

fn draw_theta<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layers: &[(String, Vec<Labeled>)],
    title: &str,
    marks: &StepMarks,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let root = root.titled(title, (FONT, 24))?;
    let (w, _) = root.dim_in_pixel();
    let (main, side) = root.split_horizontally(w.saturating_sub(LEGEND_W));
    let panels = main.split_evenly((1, layers.len().max(1)));
    for ((layer, curves), area) in layers.iter().zip(&panels) {
        let y_desc = format!("θ − θ0 of {layer}");
        let ax = Axes {
            caption: layer,
            y_desc: &y_desc,
            log_y: false,
            markers: false,
            marks,
        };
        draw_band_chart(area, curves, &ax)?;
    }
    // One legend for all panels: the first panel's labels name the layers' θ0.
    let mut entries: Vec<LegendEntry> = Vec::new();
    for (_, curves) in layers {
        for e in legend(curves) {
            if !entries
                .iter()
                .any(|x| x.color == e.color && x.dash == e.dash)
            {
                entries.push(e);
            }
        }
    }
    draw_legend(&side, &entries)
}
