//! Fetch (if needed) and verify one data set, printing the verify report as JSON.
//!
//! Run:
//!   cargo run -p clipbench-data --example fetch -- NAME [SOURCE] [DATA_DIR]
//! NAME: fashion-mnist | mnist | cifar10; SOURCE: `registry` (default), a local directory, or
//! an http:// base URL; DATA_DIR: default $CLIPBENCH_DATA_DIR, else ./data. The `clipbench data
//! fetch` subcommand does the same through the CLI crate.

use std::path::Path;
use std::process::ExitCode;

use clipbench_data::{fetch, resolve_data_dir, DatasetName, FetchSource};

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        return Err("usage: fetch NAME [SOURCE] [DATA_DIR]".into());
    };
    let name: DatasetName = name.parse()?;
    let source: FetchSource = args.get(1).map_or("registry", String::as_str).parse()?;
    let data_dir = resolve_data_dir(args.get(2).map(Path::new));
    eprintln!("fetching {name} from {source} into {}", data_dir.display());
    let report = fetch(name, &data_dir, &source)?;
    eprintln!(
        "{}",
        if report.already_present {
            "already present and verified"
        } else {
            "fetched and verified"
        }
    );
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
