//! Figures (plotters; PNG for a quick look, SVG and PDF for papers). One function per figure;
//! each draws through a backend-generic `draw_*` so PNG, SVG and PDF come from the same code
//! (the PDF is the SVG converted in-process, [`pdf`]).
//!
//! Text uses the DejaVu Sans shipped in this crate (`assets/`), registered with plotters at
//! first use, so figures never depend on system fonts.

pub mod data;
pub mod font;
mod lr;
mod paired;
pub mod pdf;
mod shapes;
mod steps;
pub mod strategies;
pub mod style;

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use data::{CurveSet, StepCurves};
pub use lr::lr_sweep;
pub use paired::{paired_diff, DiffRow};
pub use shapes::{function_shapes, ShapeCurve};
pub use steps::{
    band_words, grad_norm_vs_step, loss_vs_step, test_acc_vs_step, theta_vs_step, StepMarks,
};
pub use strategies::{final_accuracy, DotLabels};

use crate::error::{AnalysisError, Result};

pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Output formats of every figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
    /// Vector, fonts embedded: the SVG converted by svg2pdf.
    Pdf,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Png, Format::Svg, Format::Pdf];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
            Format::Pdf => "pdf",
        }
    }
}

/// The family every text style names (registered by [`font::ensure`]).
pub const FONT: &str = "sans-serif";

/// Okabe–Ito colours (colour-blind safe), one per strategy, the same in every figure.
pub fn strategy_color(strategy: &str) -> RGBColor {
    match clipbench_core::strategy::lookup(strategy) {
        Some(i) => RGBColor(i.color.0, i.color.1, i.color.2),
        None => {
            // Names this build does not know: a stable pick from a muted palette.
            const EXTRA: [RGBColor; 4] = [
                RGBColor(120, 120, 120),
                RGBColor(140, 86, 75),
                RGBColor(148, 103, 189),
                RGBColor(188, 189, 34),
            ];
            EXTRA[clipbench_core::rng::seed_for(strategy) as usize % EXTRA.len()]
        }
    }
}

pub use style::{dash, Dash, Smoothing};

/// A file-name-safe form of a grid label ("lr=0.001, beta=5" → "lr=0.001_beta=5").
pub fn file_tag(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "=.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .replace("__", "_")
}

/// Renders `draw` to `<stem>.png` / `.svg` / `.pdf`; returns the files written.
macro_rules! render {
    ($stem:expr, $size:expr, $formats:expr, |$root:ident| $body:expr) => {{
        crate::figures::font::ensure()?;
        let mut written: Vec<std::path::PathBuf> = Vec::new();
        for format in $formats {
            let path = crate::figures::with_ext($stem, format.extension());
            // Drawn to a temporary file, renamed into place when complete.
            let tmp = crate::atomic::tmp_path(&path);
            let result: crate::figures::DrawResult = match format {
                crate::figures::Format::Png => {
                    let $root =
                        plotters::prelude::BitMapBackend::new(&tmp, $size).into_drawing_area();
                    (|| -> crate::figures::DrawResult {
                        $root.fill(&plotters::prelude::WHITE)?;
                        $body?;
                        $root.present()?;
                        Ok(())
                    })()
                }
                crate::figures::Format::Svg => {
                    let $root = plotters::prelude::SVGBackend::new(&tmp, $size).into_drawing_area();
                    (|| -> crate::figures::DrawResult {
                        $root.fill(&plotters::prelude::WHITE)?;
                        $body?;
                        $root.present()?;
                        Ok(())
                    })()
                }
                crate::figures::Format::Pdf => {
                    let mut svg = String::new();
                    let drawn: crate::figures::DrawResult = {
                        let $root = plotters::prelude::SVGBackend::with_string(&mut svg, $size)
                            .into_drawing_area();
                        (|| -> crate::figures::DrawResult {
                            $root.fill(&plotters::prelude::WHITE)?;
                            $body?;
                            $root.present()?;
                            Ok(())
                        })()
                    };
                    drawn.and_then(|()| -> crate::figures::DrawResult {
                        let pdf = crate::figures::pdf::svg_to_pdf(&svg)?;
                        std::fs::write(&tmp, pdf)?;
                        Ok(())
                    })
                }
            };
            if let Err(e) = result {
                let _ = std::fs::remove_file(&tmp);
                return Err(crate::error::AnalysisError::plot(&path, e));
            }
            crate::atomic::commit(&tmp, &path)?;
            written.push(path);
        }
        Ok(written)
    }};
}
pub(crate) use render;

pub(crate) fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_os_string();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Makes sure `dir` exists.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))
}

/// Axis range with a margin; a flat or empty range becomes a small window around it.
pub(crate) fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo <= 1e-12 * hi.abs().max(1.0) {
        let w = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        return (lo - w, hi + w);
    }
    let m = (hi - lo) * frac;
    (lo - m, hi + m)
}

/// Min and max of the finite values.
pub(crate) fn extent<'a>(xs: impl IntoIterator<Item = &'a f64>) -> (f64, f64) {
    xs.into_iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// Axis tick text: "0.05", "2", "1e-4", "1.2e5" (no trailing ".0").
pub(crate) fn tick(x: &f64) -> String {
    let x = *x;
    // Tick positions like 2.2e-16 are round-off of 0.
    if x.abs() < 1e-12 || !x.is_finite() {
        return if x.is_finite() {
            "0".into()
        } else {
            format!("{x}")
        };
    }
    if x.abs() >= 1e5 || x.abs() < 1e-3 {
        let s = format!("{x:.1e}");
        return s.replace(".0e", "e");
    }
    let r = (x * 1e6).round() / 1e6;
    format!("{r}")
}

/// Log-axis tick text: like [`tick`] but never snaps a small power of ten to "0".
pub(crate) fn log_tick(x: &f64) -> String {
    if *x > 0.0 && *x < 1e-3 {
        return format!("{x:.0e}");
    }
    tick(x)
}

/// Step-axis tick text: integers only (steps are whole numbers).
pub(crate) fn step_tick(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        tick(x)
    } else {
        String::new()
    }
}

/// One legend line: a colour sample in its dash pattern, and its label.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LegendEntry {
    pub label: String,
    pub color: RGBColor,
    pub dash: Dash,
}

/// Width of the legend panel beside a chart.
pub(crate) const LEGEND_W: u32 = 250;

/// Draws a legend into its own panel (so it never hides data), vertically centred.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (_, h) = area.dim_in_pixel();
    let step = 30;
    let top = (h as i32 - step * entries.len() as i32) / 2;
    let style = (FONT, 17)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().enumerate() {
        let y = top + step * i as i32 + step / 2;
        style::legend_sample(area, (4, 44, y), e.color.stroke_width(3), e.dash)?;
        area.draw(&Text::new(e.label.clone(), (52, y), style.clone()))?;
    }
    Ok(())
}
