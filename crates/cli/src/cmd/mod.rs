//! The subcommands (**contract**: names and flags as in DESIGN.md "CLI").

mod curves;
mod data;

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
    /// Function shape and derivatives of a strategy, computed by its f32 training kernel.
    Curves(curves::Args),
    /// Fetch or verify a data set.
    #[command(subcommand)]
    Data(data::Command),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Curves(a) => curves::run(a),
        Command::Data(c) => data::run(c),
    }
}
