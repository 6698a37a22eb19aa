//! The subcommands (**contract**: names and flags as in DESIGN.md "CLI").

#[cfg(feature = "analysis")]
mod analysis;
#[cfg(not(feature = "analysis"))]
#[path = "analysis_off.rs"]
mod analysis;
mod bench;
mod bench_study;
mod curves;
mod data;
mod run;
mod status;
mod strategies;
mod train;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "clipbench",
    version,
    about = "Benchmark activation-clipping strategies in a small CNN"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The registered clipping strategies (names, one per line; --long, --json).
    Strategies(strategies::Args),
    /// Function shape and derivatives of a strategy, computed by its f32 training kernel.
    Curves(curves::Args),
    /// Fetch or verify a data set.
    #[command(subcommand)]
    Data(data::Command),
    /// Train one strategy with one seed on one data set; writes a run directory.
    Train(train::Args),
    /// Rerun a run directory's config and compare metrics.jsonl byte for byte.
    Verify(train::VerifyArgs),
    /// Training and forward throughput (images/s, JSON) on synthetic batches.
    BenchTrain(bench::Args),
    /// Whole-study throughput: a reduced study, then bench-train at the same threads; the
    /// ratio of their images/s and where the study's time went.
    BenchStudy(bench_study::Args),
    /// Run a study (experiments/*.toml): every run, resumable, locally or on Slurm.
    Run(run::Args),
    /// Every run of a study and its state (pending, running, complete, diverged, failed,
    /// partial), counts per strategy and stage, Slurm array states; --json for scripts.
    Status(status::Args),
    /// One planned run of a study in its own process (started by `run`).
    #[command(hide = true)]
    RunWorker(run::WorkerArgs),
    /// A study's tables (RESULTS_DIR/tables/: CSV, Parquet, Markdown, LaTeX). The four
    /// analysis commands are hidden from the lean build's help (they answer there with why
    /// they are missing).
    #[cfg_attr(not(feature = "analysis"), command(hide = true))]
    Aggregate(analysis::AggregateArgs),
    /// A study's figures (RESULTS_DIR/figures/: PNG, SVG and PDF).
    #[cfg_attr(not(feature = "analysis"), command(hide = true))]
    Plot(analysis::PlotArgs),
    /// Tables, figures, RESULTS_DIR/report.md and paper.tex (+ paper-standalone.tex).
    #[cfg_attr(not(feature = "analysis"), command(hide = true))]
    Report(analysis::ReportArgs),
    /// Reproduction verdict of a study's results against a reference copy (per run: bytes;
    /// per study: conclusions); writes RESULTS_DIR/reproduction.md.
    #[cfg_attr(not(feature = "analysis"), command(hide = true))]
    Compare(analysis::CompareArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Strategies(a) => strategies::run(a),
        Command::Curves(a) => curves::run(a),
        Command::Data(c) => data::run(c),
        Command::Train(a) => train::run(a),
        Command::Verify(a) => train::verify(a),
        Command::BenchTrain(a) => bench::run(a),
        Command::BenchStudy(a) => bench_study::run(a),
        Command::Run(a) => run::run(a),
        Command::Status(a) => status::run(a),
        Command::RunWorker(a) => run::worker(a),
        Command::Aggregate(a) => analysis::aggregate(a),
        Command::Plot(a) => analysis::plot(a),
        Command::Report(a) => analysis::report(a),
        Command::Compare(a) => analysis::compare(a),
    }
}
