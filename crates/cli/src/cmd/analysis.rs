//! `clipbench aggregate|plot|report RESULTS_DIR`: a study's tables, figures and report.
//!
//! All three read `RESULTS_DIR/runs/*/` (complete runs only; incomplete ones are listed and
//! skipped) and regenerate their outputs from scratch:
//! - `aggregate` → `RESULTS_DIR/tables/` (summary.{csv,parquet,md,tex}, runs.csv, paired.*,
//!   lr.* and stable_lr.* for lr grids, power.md);
//! - `plot` → `RESULTS_DIR/figures/` (PNG, SVG and PDF by default);
//! - `report` → both, then `RESULTS_DIR/report.md` and `RESULTS_DIR/report.html` (the same
//!   sections; the HTML page self-contained, with inline SVG figures and sortable tables),
//!   `paper.tex` and `paper-standalone.tex`.
//!
//! The function-shape figure evaluates the strategies' real f32 kernels, exactly as
//! `clipbench curves` does, and hands the data to the analysis crate (which must not link the
//! kernels).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use clipbench_analysis::figures::Format;
use clipbench_analysis::study::config_leaf;
use clipbench_analysis::{Analysis, FigureFile, Options, ShapeCurve, TableFiles};
use clipbench_clip::{curves, Strategy};

#[derive(Debug, Clone, clap::Args)]
pub struct StatArgs {
    /// Resamples of every bootstrap interval (fixed seed: tables are deterministic).
    #[arg(long, default_value_t = 10_000)]
    bootstrap: usize,
    /// A logged step is a gradient spike when its global norm exceeds this × its run's median.
    #[arg(long, default_value_t = 10.0)]
    spike_factor: f64,
    /// Validation accuracy (0..1) for "steps to target" (default: the study's target_acc,
    /// else 95% of the best mean validation accuracy of any strategy).
    #[arg(long)]
    target_acc: Option<f64>,
    /// Parse every run's metrics.jsonl, neither reading nor writing its metrics.cache.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FigFormat {
    Png,
    Svg,
    Pdf,
}

#[derive(Debug, Clone, clap::Args)]
pub struct FigArgs {
    /// Figure formats, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "png,svg,pdf")]
    format: Vec<FigFormat>,
    /// θ (PACT: α) at which the function-shape figure draws every strategy.
    #[arg(long, default_value_t = 1.0)]
    shape_threshold: f64,
    /// Skip the function-shape figure.
    #[arg(long)]
    no_shapes: bool,
}

#[derive(Debug, clap::Args)]
pub struct AggregateArgs {
    /// The study directory, `results/<study>/` (holding `runs/`).
    results_dir: PathBuf,
    #[command(flatten)]
    stats: StatArgs,
}

#[derive(Debug, clap::Args)]
pub struct PlotArgs {
    /// The study directory, `results/<study>/` (holding `runs/`).
    results_dir: PathBuf,
    #[command(flatten)]
    stats: StatArgs,
    #[command(flatten)]
    figs: FigArgs,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The study directory to check, e.g. results/main.
    results_dir: PathBuf,
    /// The reference copy of the same study, e.g. results/reference/main.
    reference_dir: PathBuf,
    #[command(flatten)]
    stats: StatArgs,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The study directory, `results/<study>/` (holding `runs/`).
    results_dir: PathBuf,
    #[command(flatten)]
    stats: StatArgs,
    #[command(flatten)]
    figs: FigArgs,
}

fn load(dir: &Path, stats: &StatArgs) -> anyhow::Result<Analysis> {
    anyhow::ensure!(
        stats.spike_factor.is_finite() && stats.spike_factor > 0.0,
        "--spike-factor {}: expected a finite value > 0",
        stats.spike_factor
    );
    if let Some(t) = stats.target_acc {
        anyhow::ensure!(
            t.is_finite() && t > 0.0 && t <= 1.0,
            "--target-acc {t}: expected an accuracy in (0, 1]"
        );
    }
    let t = Instant::now();
    let opts = Options {
        bootstrap_samples: stats.bootstrap,
        spike_factor: stats.spike_factor,
        target_acc: stats.target_acc,
        use_cache: !stats.no_cache,
    };
    let a = Analysis::load(dir, &opts).with_context(|| format!("analysing {}", dir.display()))?;
    for s in &a.study.skipped {
        eprintln!("skipped {}: {}", s.dir.display(), s.reason);
    }
    for m in &a.logs.stats.cache_failed {
        eprintln!("note: metrics cache not written ({m}); the next analysis parses again");
    }
    eprintln!(
        "{}: {} runs ({} from metrics.cache, {} parsed), {} step records, aggregated in {:.2} s",
        a.study.name,
        a.study.runs.len(),
        a.logs.stats.from_cache,
        a.logs.stats.parsed,
        a.logs.steps.height(),
        t.elapsed().as_secs_f64()
    );
    Ok(a)
}

fn tables(a: &Analysis) -> anyhow::Result<TableFiles> {
    let files = a.write_tables()?;
    for f in &files.written {
        println!("{}", f.display());
    }
    Ok(files)
}

fn figures(a: &Analysis, figs: &FigArgs) -> anyhow::Result<Vec<FigureFile>> {
    let formats: Vec<Format> = figs
        .format
        .iter()
        .map(|f| match f {
            FigFormat::Png => Format::Png,
            FigFormat::Svg => Format::Svg,
            FigFormat::Pdf => Format::Pdf,
        })
        .collect();
    let shapes = if figs.no_shapes {
        None
    } else {
        Some(shape_curves(a, figs.shape_threshold)?)
    };
    let files = a.plot(shapes.as_deref(), &formats)?;
    for f in &files {
        for format in &formats {
            println!("{}", f.path.with_extension(format.extension()).display());
        }
    }
    Ok(files)
}

/// The curves of the function-shape figure: every strategy of the study at θ = `threshold`
/// with the study's β, plus softplus-learnable at β = 5 (dashed) to show β's effect.
fn shape_curves(a: &Analysis, threshold: f64) -> anyhow::Result<Vec<ShapeCurve>> {
    let beta = a
        .study
        .runs
        .first()
        .and_then(|r| config_leaf(&r.manifest.config, "model.clip.beta"))
        .and_then(|v| v.as_f64())
        .unwrap_or(1.0);
    let mut names: Vec<String> = Vec::new();
    for g in &a.study.groups {
        if !names.contains(&g.strategy) {
            names.push(g.strategy.clone());
        }
    }
    let mut out = Vec::new();
    let mut one = |name: &str, beta: f64, label: String, dashed: bool| -> anyhow::Result<()> {
        let s: Strategy = name.parse().with_context(|| format!("strategy {name}"))?;
        let c = curves::curve(s, threshold, beta, -4.0, 4.0, 401)?;
        let f = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        out.push(ShapeCurve {
            strategy: name.to_string(),
            threshold,
            label,
            dashed,
            x: f(&c.x),
            y: f(&c.y),
            dydx: f(&c.dydx),
            dydt: f(&c.dydt),
        });
        Ok(())
    };
    for name in &names {
        let info = clipbench_clip::strategy::lookup(name)
            .with_context(|| format!("strategy {name} is not in this build's registry"))?;
        if info.uses_beta {
            one(name, beta, format!("{name} (β = {beta})"), false)?;
            if beta != 5.0 {
                one(name, 5.0, format!("{name} (β = 5)"), true)?;
            }
        } else {
            // Dashed where the registry says its shape coincides with another one's (so
            // both stay visible).
            one(name, beta, name.clone(), info.dashed)?;
        }
    }
    Ok(out)
}

pub fn aggregate(args: AggregateArgs) -> anyhow::Result<()> {
    let a = load(&args.results_dir, &args.stats)?;
    tables(&a)?;
    Ok(())
}

pub fn plot(args: PlotArgs) -> anyhow::Result<()> {
    let a = load(&args.results_dir, &args.stats)?;
    figures(&a, &args.figs)?;
    Ok(())
}

pub fn report(args: ReportArgs) -> anyhow::Result<()> {
    let a = load(&args.results_dir, &args.stats)?;
    let t = tables(&a)?;
    let f = figures(&a, &args.figs)?;
    let files = a.write_report(&t, &f)?;
    println!("{}", files.markdown.display());
    println!("{}", files.html.display());
    for p in a.write_paper(&t, &f)? {
        println!("{}", p.display());
    }
    Ok(())
}

pub fn compare(args: CompareArgs) -> anyhow::Result<()> {
    if !args.reference_dir.join("runs").is_dir() {
        // A first run has nothing to compare with: say so, it is not an error.
        println!(
            "{}: no reference results at {} (no runs/ there): nothing to compare",
            args.results_dir.display(),
            args.reference_dir.display()
        );
        return Ok(());
    }
    let opts = Options {
        bootstrap_samples: args.stats.bootstrap,
        spike_factor: args.stats.spike_factor,
        target_acc: args.stats.target_acc,
        use_cache: !args.stats.no_cache,
    };
    let c = clipbench_analysis::compare::compare(&args.results_dir, &args.reference_dir, &opts)
        .with_context(|| {
            format!(
                "comparing {} with {}",
                args.results_dir.display(),
                args.reference_dir.display()
            )
        })?;
    let path = args.results_dir.join("reproduction.md");
    clipbench_analysis::write_atomic(&path, c.render().as_bytes())?;
    println!(
        "{}: {} ({})",
        args.results_dir.display(),
        c.verdict(),
        path.display()
    );
    Ok(())
}
