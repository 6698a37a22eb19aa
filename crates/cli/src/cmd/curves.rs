//! `clipbench curves`: the data behind the function-shape figure.

use std::io::Write;

use anyhow::Context;
use clap::ValueEnum;
use clipbench_clip::{curves, Strategy};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The clipping strategy (`clipbench strategies --long` describes each).
    #[arg(long, value_parser = super::strategies::parser())]
    strategy: Strategy,
    /// θ (PACT: α).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    threshold: f64,
    /// Sharpness β of softplus-learnable.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    beta: f64,
    #[arg(long, default_value_t = -4.0, allow_negative_numbers = true)]
    from: f64,
    #[arg(long, default_value_t = 4.0, allow_negative_numbers = true)]
    to: f64,
    #[arg(long, default_value_t = 201)]
    points: usize,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let c = curves::curve(a.strategy, a.threshold, a.beta, a.from, a.to, a.points)?;
    let text = match a.format {
        Format::Json => serde_json::to_string(&c)? + "\n",
        Format::Csv => c.to_csv(),
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing to stdout")
}
