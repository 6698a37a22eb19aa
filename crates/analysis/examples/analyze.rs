//! Tables, figures and reports (report.md, report.html) of a study directory without the
//! `clipbench` binary:
//!
//!   cargo run --release -p clipbench-analysis --example analyze -- results/smoke [CURVES_DIR]
//!
//! CURVES_DIR (optional) holds `clipbench curves --format json` outputs (*.json), one per
//! strategy, for the function-shape figure. `clipbench report results/smoke` does all of this
//! itself.

use clipbench_analysis::figures::Format;
use clipbench_analysis::{Analysis, AnalysisError, Options, ShapeCurve};

fn shapes(dir: &std::path::Path) -> clipbench_analysis::Result<Vec<ShapeCurve>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| AnalysisError::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).map_err(|e| AnalysisError::io(p, e))?;
            serde_json::from_slice(&bytes).map_err(|e| AnalysisError::Json {
                path: p.clone(),
                message: e.to_string(),
            })
        })
        .collect()
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: analyze RESULTS_DIR [CURVES_DIR]");
        return std::process::ExitCode::FAILURE;
    };
    let curves = args.next();
    let run = || -> clipbench_analysis::Result<clipbench_analysis::ReportFiles> {
        let a = Analysis::load(std::path::Path::new(&dir), &Options::default())?;
        let tables = a.write_tables()?;
        let shapes = curves
            .as_ref()
            .map(|c| shapes(std::path::Path::new(c)))
            .transpose()?;
        let figures = a.plot(shapes.as_deref(), &Format::ALL)?;
        a.write_report(&tables, &figures)
    };
    match run() {
        Ok(files) => {
            println!("{}", files.markdown.display());
            println!("{}", files.html.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
