//! Writes a study's `tables/` directory: every table as files (atomically), and the
//! paper-ready tables handed back for the reports to embed (report.md as Markdown, report.html
//! as sortable HTML tables: both rendered from the same cells).

use std::path::{Path, PathBuf};

use crate::aggregate::Aggregate;
use crate::error::{AnalysisError, Result};
use crate::study::Study;
use crate::tables::lr::{lr_table, lr_text, stable_text};
use crate::tables::paired::{paired_table, paired_text};
use crate::tables::power::power_text;
use crate::tables::runs::runs_table;
use crate::tables::summary::{summary_table, summary_text};
use crate::tables::text::TextTable;
use crate::tables::write_parquet;

/// The paper-ready tables (the reports embed them) and the files written.
#[derive(Clone, Debug, Default)]
pub struct TableFiles {
    pub summary: TextTable,
    pub paired: Option<TextTable>,
    pub lr: Option<TextTable>,
    pub stable_lr: Option<TextTable>,
    pub power: TextTable,
    pub written: Vec<PathBuf>,
}

fn write(path: &Path, text: &str, written: &mut Vec<PathBuf>) -> Result<()> {
    crate::atomic::write(path, text.as_bytes())?;
    written.push(path.to_path_buf());
    Ok(())
}

/// Writes `dir/summary.{csv,parquet,md,tex}`, `runs.csv`, `paired.*`, `lr.*`, `power.md`.
pub fn write_tables(study: &Study, agg: &Aggregate, dir: &Path) -> Result<TableFiles> {
    std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))?;
    let mut files = TableFiles::default();
    let w = &mut files.written;

    let summary = summary_table(study, agg);
    write(&dir.join("summary.csv"), &summary.to_csv(), w)?;
    let path = dir.join("summary.parquet");
    write_parquet(&mut summary.to_frame()?, &path)?;
    w.push(path);
    let text = summary_text(study, &agg.groups);
    write(&dir.join("summary.md"), &text.markdown(), w)?;
    let caption = format!(
        "Study {}: test accuracy at the validation-selected epoch and at the last epoch \
         (mean ± std over seeds, completed runs), divergences (Wilson 95% interval), steps \
         to the target validation accuracy, gradient norms, θ and clip fraction per strategy. \
         Bold: best per column.",
        study.name
    );
    write(
        &dir.join("summary.tex"),
        &text.latex(&caption, &format!("tab:{}-summary", study.name)),
        w,
    )?;
    files.summary = text;

    write(&dir.join("runs.csv"), &runs_table(study, agg).to_csv(), w)?;

    if !agg.paired.is_empty() {
        write(
            &dir.join("paired.csv"),
            &paired_table(study, agg).to_csv(),
            w,
        )?;
        let t = paired_text(study, agg);
        write(&dir.join("paired.md"), &t.markdown(), w)?;
        let caption = format!(
            "Study {}: each strategy against none over shared seeds (test accuracy at the \
             selected epoch, percentage points): mean difference, 95% t and BCa intervals, \
             paired t-test p-value raw and Holm-adjusted over the table, share of seeds \
             improved, d_z, and seeds lost to divergence.",
            study.name
        );
        write(
            &dir.join("paired.tex"),
            &t.latex(&caption, &format!("tab:{}-paired", study.name)),
            w,
        )?;
        files.paired = Some(t);
    }
    if !agg.lr.is_empty() {
        write(&dir.join("lr.csv"), &lr_table(agg).to_csv(), w)?;
        let t = lr_text(agg);
        write(&dir.join("lr.md"), &t.markdown(), w)?;
        let caption = format!(
            "Study {}: divergence rate (Wilson 95% interval) and test accuracy at the \
             selected epoch (completed runs) per learning rate.",
            study.name
        );
        write(
            &dir.join("lr.tex"),
            &t.latex(&caption, &format!("tab:{}-lr", study.name)),
            w,
        )?;
        let s = stable_text(agg);
        write(&dir.join("stable_lr.md"), &s.markdown(), w)?;
        write(
            &dir.join("stable_lr.tex"),
            &s.latex(
                &format!(
                    "Study {}: the largest stable learning rate per strategy.",
                    study.name
                ),
                &format!("tab:{}-stable-lr", study.name),
            ),
            w,
        )?;
        files.lr = Some(t);
        files.stable_lr = Some(s);
    }
    files.power = power_text(agg);
    write(&dir.join("power.md"), &files.power.markdown(), w)?;
    Ok(files)
}
