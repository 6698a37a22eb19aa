//! `clipbench bench-train`: prints one JSON object per thread count.

use clipbench_clip::Strategy;
use clipbench_train::bench::bench_train;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The clipping strategy (`clipbench strategies --long` describes each).
    #[arg(long, value_parser = super::strategies::parser())]
    strategy: Strategy,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[arg(long, default_value_t = 30)]
    steps: usize,
    /// 3x32x32 or 1x28x28
    #[arg(long, default_value = "3x32x32")]
    input: String,
    /// Thread counts to measure, e.g. `1,2`.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2])]
    threads: Vec<usize>,
    /// cpu, or cuda (needs a build with `--features cuda`: `just build-cuda`).
    #[arg(long, value_enum, default_value = "cpu")]
    device: super::train::Dev,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let input = super::train::parse_input(&a.input)?;
    for t in a.threads {
        let r = bench_train(a.strategy, input, a.batch, a.steps, t, a.device.into())?;
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(())
}
