//! `clipbench`: which activation-clipping strategy trains a small CNN best and most stably.
//!
//! Run `clipbench --help`; README.md has the workflow. `main` only maps errors to an exit
//! code: every subcommand lives in `cmd/`.

mod alloc;
mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    alloc::tune();
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
