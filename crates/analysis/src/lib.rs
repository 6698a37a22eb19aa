//! clipbench-analysis: reads a study's run directories (`results/<study>/runs/*/`), aggregates
//! them with polars, computes the statistics, and writes the tables, figures and report.
//!
//! Data flows one way: run files → [`Study`] (manifests, summaries) + [`Logs`] (metrics.jsonl
//! in polars) → [`Aggregate`] → `tables/`, `figures/`, `report.md`, `report.html`,
//! `paper.tex`. This crate never links dfdx or the training crates: the runner and the analysis talk only through files.
//!
//! ```no_run
//! # fn main() -> Result<(), clipbench_analysis::AnalysisError> {
//! use clipbench_analysis::{Analysis, Options};
//! let a = Analysis::load(std::path::Path::new("results/smoke"), &Options::default())?;
//! let tables = a.write_tables()?;
//! let figures = a.plot(None, &clipbench_analysis::figures::Format::ALL)?;
//! a.write_report(&tables, &figures)?; // report.md and report.html
//! a.write_paper(&tables, &figures)?;
//! # Ok(()) }
//! ```

pub mod aggregate;
pub mod answer;
mod atomic;
pub mod compare;
pub mod error;
pub mod figures;
pub mod findings;
mod frame;
pub mod logs;
pub mod long;
pub mod paper;
pub mod plot;
pub mod report;
pub mod stats;
pub mod study;
pub mod tables;
pub mod tuning;

use std::path::{Path, PathBuf};

pub use aggregate::{aggregate, Aggregate, Options};

/// Writes a file atomically (a derived output of the analysis).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic::write(path, bytes)
}
pub use error::{AnalysisError, Result};
pub use figures::ShapeCurve;
pub use logs::Logs;
pub use plot::FigureFile;
pub use report::ReportFiles;
pub use study::Study;
pub use tables::TableFiles;

/// A loaded and aggregated study.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub study: Study,
    pub logs: Logs,
    pub agg: Aggregate,
    /// The lr-grid evidence of the answer: this study's own grid, or its `stability_study`.
    pub stability: Option<answer::Stability>,
}

impl Analysis {
    /// Reads every complete run under `root/runs/` and aggregates them.
    pub fn load(root: &Path, opts: &Options) -> Result<Analysis> {
        let study = Study::load(root)?;
        let logs = logs::load(&study, opts.use_cache)?;
        let agg = aggregate(&study, &logs, opts)?;
        let stability = match answer::Stability::from_study(&study, opts) {
            Some(s) => Some(s),
            None => match &study.settings.stability_study {
                Some(name) => answer::Stability::sibling(root, name, opts)?,
                None => None,
            },
        };
        Ok(Analysis {
            study,
            logs,
            agg,
            stability,
        })
    }

    pub fn tables_dir(&self) -> PathBuf {
        self.study.root.join("tables")
    }

    pub fn figures_dir(&self) -> PathBuf {
        self.study.root.join("figures")
    }

    /// Writes `tables/`: the aggregated tables, then the long tables of every step and epoch
    /// record (`steps.parquet`, `epochs.parquet`).
    pub fn write_tables(&self) -> Result<TableFiles> {
        let mut files = tables::write_tables(&self.study, &self.agg, &self.tables_dir())?;
        files.written.extend(long::write_long_tables(
            &self.study,
            &self.logs,
            &self.tables_dir(),
        )?);
        Ok(files)
    }

    /// Writes `figures/`; `shapes` are the curves of the function-shape figure (from
    /// `clipbench curves`), if any.
    pub fn plot(
        &self,
        shapes: Option<&[ShapeCurve]>,
        formats: &[figures::Format],
    ) -> Result<Vec<FigureFile>> {
        plot::plot_study(
            &self.study,
            &self.logs,
            &self.agg,
            shapes,
            &self.figures_dir(),
            formats,
        )
    }

    /// Writes `report.md` and `report.html` beside `runs/`.
    pub fn write_report(
        &self,
        tables: &TableFiles,
        figures: &[FigureFile],
    ) -> Result<report::ReportFiles> {
        report::write_report(
            &self.study,
            &self.agg,
            self.stability.as_ref(),
            tables,
            figures,
        )
    }

    /// Writes `paper.tex` (the LaTeX tables and PDF figures with their captions, to `\input`)
    /// and `paper-standalone.tex` beside `runs/`.
    pub fn write_paper(&self, tables: &TableFiles, figures: &[FigureFile]) -> Result<Vec<PathBuf>> {
        paper::write_paper(&self.study, tables, figures)
    }
}
