//! The study's reports: `report.md` and `report.html`, the same sections (the setup from the
//! manifests, the tuning, findings stated in plain language, the tables, the figures) built
//! once as blocks (`sections.rs`) and rendered to Markdown (`markdown.rs`) and to one
//! self-contained, browsable HTML page (`html/`).

mod doc;
mod html;
mod inline;
mod markdown;
mod runs;
mod sections;
mod setup;
mod tuning;

use std::path::PathBuf;

use crate::aggregate::Aggregate;
use crate::answer::Stability;
use crate::error::Result;
pub use crate::findings::findings;
use crate::plot::FigureFile;
use crate::study::Study;
use crate::tables::TableFiles;
pub use setup::config_text;

/// The report files written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFiles {
    pub markdown: PathBuf,
    pub html: PathBuf,
}

/// Writes `study.root/report.md` and `study.root/report.html` (atomically); links and figure
/// paths are relative to them.
pub fn write_report(
    study: &Study,
    agg: &Aggregate,
    stability: Option<&Stability>,
    tables: &TableFiles,
    figures: &[FigureFile],
) -> Result<ReportFiles> {
    let doc = sections::build(study, agg, stability, tables, figures);
    let html = html::render(&doc)?;
    let files = ReportFiles {
        markdown: study.root.join("report.md"),
        html: study.root.join("report.html"),
    };
    crate::atomic::write(&files.markdown, markdown::render(&doc).as_bytes())?;
    crate::atomic::write(&files.html, html.as_bytes())?;
    Ok(files)
}

/// report.md's text.
pub fn render(
    study: &Study,
    agg: &Aggregate,
    stability: Option<&Stability>,
    tables: &TableFiles,
    figures: &[FigureFile],
) -> String {
    markdown::render(&sections::build(study, agg, stability, tables, figures))
}

/// report.html's text (reads the figures' SVG files to inline them).
pub fn render_html(
    study: &Study,
    agg: &Aggregate,
    stability: Option<&Stability>,
    tables: &TableFiles,
    figures: &[FigureFile],
) -> Result<String> {
    html::render(&sections::build(study, agg, stability, tables, figures))
}
