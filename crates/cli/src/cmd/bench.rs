//! `clipbench bench-train`: prints one JSON object per thread count (training and forward
//! images/s, the step's matmul GFLOP/s and its share of the same run's sgemm peak).

use clipbench_clip::Strategy;
use clipbench_train::bench::{bench_train, SgemmOpts};

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
    /// Also time this many rounds of N×N×N f32 gemms (one per thread, best round) and print
    /// the training step's matmul GFLOP/s as a share of that peak (`sgemm_share`); 0 skips it.
    #[arg(long, default_value_t = 3)]
    sgemm_repeats: usize,
    /// N of the sgemm-peak gemms.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=16384))]
    sgemm_n: u64,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let input = super::train::parse_input(&a.input)?;
    for t in a.threads {
        let sgemm = SgemmOpts {
            n: a.sgemm_n as usize,
            repeats: a.sgemm_repeats,
        };
        let r = bench_train(
            a.strategy,
            input,
            a.batch,
            a.steps,
            t,
            a.device.into(),
            sgemm,
        )?;
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(())
}
