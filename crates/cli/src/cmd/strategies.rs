//! `clipbench strategies`: the registry as this binary has it, for scripts (the justfile's
//! curves loop) and for people; and the `--strategy` argument parser that lists the names in
//! `--help` and suggests the closest one for a typo.

use std::io::Write;

use anyhow::Context;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clipbench_clip::strategy::REGISTRY;
use clipbench_clip::Strategy;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// One line per strategy with its formula and the properties the report relies on.
    #[arg(long, conflicts_with = "json")]
    long: bool,
    /// The registry entries as a JSON array.
    #[arg(long)]
    json: bool,
}

/// The `--strategy` value parser: the registry's names (shown by `--help`), parsed by the
/// registry itself.
pub fn parser() -> impl TypedValueParser<Value = Strategy> {
    PossibleValuesParser::new(REGISTRY.iter().map(|i| i.name)).try_map(|s| s.parse::<Strategy>())
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let text = if a.json {
        serde_json::to_string_pretty(&REGISTRY)? + "\n"
    } else if a.long {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut t = String::from(
            "name\tformula\tθ trained\tidentity below θ\t∂y/∂θ ≡ 0\t≡ relu\tmonotone\n",
        );
        for i in &REGISTRY {
            t += &format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                i.name,
                i.formula,
                yes(i.learnable),
                yes(i.identity_below_threshold),
                yes(i.theta_gradient_zero),
                yes(i.relu_equivalent),
                yes(i.monotone)
            );
        }
        t
    } else {
        REGISTRY.iter().map(|i| format!("{}\n", i.name)).collect()
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing to stdout")
}
