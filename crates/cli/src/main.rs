//! `clipbench`: which activation-clipping strategy trains a small CNN best and most stably.
//!
//! Run `clipbench --help`; README.md has the workflow. `main` only maps errors to an exit
//! code: every subcommand lives in `cmd/`.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    clipbench_train::malloc::tune();
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: library errors often already end
/// with their source's text (`path: No such file or directory (os error 2)`), which `{:#}`
/// would print a second time.
fn message(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}
