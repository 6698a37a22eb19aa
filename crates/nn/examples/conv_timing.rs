//! Quick timing of the CPU kernels against the generic (public-op) versions on the model's
//! layer shapes (batch 64). Not a benchmark suite (see benches/ for criterion); a sanity check.
//!
//! Run: `cargo run --release -p clipbench-nn --example conv_timing [reps] [cpu|generic]`
//! (RAYON_NUM_THREADS=1 for one thread; the last argument keeps only that implementation).

use clipbench_nn::init::{uniform_vec, SplitMix64};
use clipbench_nn::{
    conv2d, conv2d_generic, max_pool2d, max_pool2d_generic, Conv2dOpts, NnError, Tensor4,
};
use dfdx::prelude::*;
use std::time::Instant;

type Owned = OwnedTape<f32, Cpu>;

/// Process CPU time (user + system, all threads) in ms, from /proc/self/stat (Linux; 10 ms
/// ticks, so only meaningful summed over many repetitions). 0 where unavailable.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the ")" that closes the command name: utime and stime are the 12th and
    // 13th of them (fields 14 and 15 of the whole line).
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let ticks: f64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<f64>().ok())
        .sum();
    ticks * 10.0
}

/// (best wall ms, mean CPU ms) of `f` over `reps` runs after one warm-up. On a shared machine
/// the best wall time and the CPU time are the figures least disturbed by other load.
fn best_ms(reps: usize, mut f: impl FnMut() -> Result<(), NnError>) -> Result<Timing, NnError> {
    f()?;
    let mut best = f64::INFINITY;
    let cpu0 = cpu_ms();
    for _ in 0..reps {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(Timing {
        best,
        cpu: (cpu_ms() - cpu0) / reps as f64,
    })
}

#[derive(Clone, Copy)]
struct Timing {
    best: f64,
    cpu: f64,
}

impl std::ops::Sub for Timing {
    type Output = Timing;
    fn sub(self, o: Timing) -> Timing {
        Timing {
            best: self.best - o.best,
            cpu: self.cpu - o.cpu,
        }
    }
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:6.2} ms (cpu {:6.2})", self.best, self.cpu)
    }
}

fn conv_case(
    dev: &Cpu,
    reps: usize,
    (b, c, h, o): (usize, usize, usize, usize),
    input_grad: bool,
) -> Result<(), NnError> {
    let mut rng = SplitMix64::new(1);
    let x: Tensor4<Cpu> =
        dev.tensor_from_vec(uniform_vec(&mut rng, b * c * h * h, 1.0), (b, c, h, h));
    let w: Tensor4<Cpu> = dev.tensor_from_vec(uniform_vec(&mut rng, o * c * 9, 0.3), (o, c, 3, 3));
    let bias = dev.tensor_from_vec(uniform_vec(&mut rng, o, 0.3), (o,));
    let opts = Conv2dOpts {
        input_grad,
        ..Conv2dOpts::default()
    };
    // What the harness itself costs: Σy and its backward on an output-sized tensor.
    let y0: Tensor4<Cpu> = dev.zeros_like(&(b, o, h, h));
    let base = best_ms(reps, || {
        std::hint::black_box(y0.leaky_trace().sum::<Rank0, _>().backward());
        Ok(())
    })?;
    println!("harness (sum + backward of the output) {base}, subtracted below");
    for generic in kinds() {
        let fwd = best_ms(reps, || {
            let y = if generic {
                conv2d_generic(x.clone(), w.clone(), bias.clone(), opts)?
            } else {
                conv2d(x.clone(), w.clone(), bias.clone(), opts)?
            };
            std::hint::black_box(y);
            Ok(())
        })?;
        let both = best_ms(reps, || {
            let (xt, wt, bt) = (
                x.leaky_trace(),
                w.retaped::<Owned>(),
                bias.retaped::<Owned>(),
            );
            let y = if generic {
                conv2d_generic(xt, wt, bt, opts)?
            } else {
                conv2d(xt, wt, bt, opts)?
            };
            std::hint::black_box(y.sum::<Rank0, _>().backward());
            Ok(())
        })?;
        println!(
            "conv {c:>2}->{o:<2} {h}x{h} batch {b} input_grad={input_grad:<5} {:<8} fwd {fwd}  fwd+bwd {}",
            if generic { "generic" } else { "cpu" },
            both - base
        );
    }
    Ok(())
}

fn pool_case(dev: &Cpu, reps: usize, (b, c, h): (usize, usize, usize)) -> Result<(), NnError> {
    let mut rng = SplitMix64::new(2);
    let x: Tensor4<Cpu> =
        dev.tensor_from_vec(uniform_vec(&mut rng, b * c * h * h, 1.0), (b, c, h, h));
    for generic in kinds() {
        let fwd = best_ms(reps, || {
            let y = if generic {
                max_pool2d_generic(x.clone())?
            } else {
                max_pool2d(x.clone())?
            };
            std::hint::black_box(y);
            Ok(())
        })?;
        let both = best_ms(reps, || {
            let y = if generic {
                max_pool2d_generic(x.leaky_trace())?
            } else {
                max_pool2d(x.leaky_trace())?
            };
            std::hint::black_box(y.sum::<Rank0, _>().backward());
            Ok(())
        })?;
        println!(
            "pool {c:>2}ch {h}x{h} batch {b} {:<8} fwd {fwd}  fwd+bwd {both}",
            if generic { "generic" } else { "cpu" }
        );
    }
    Ok(())
}

/// Which implementations to time (`generic` = true), from the optional second argument.
fn kinds() -> Vec<bool> {
    match std::env::args().nth(2).as_deref() {
        Some("cpu") => vec![false],
        Some("generic") => vec![true],
        _ => vec![false, true],
    }
}

fn main() -> Result<(), NnError> {
    let reps = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dev = Cpu::default();
    println!("rayon threads: {}", rayon::current_num_threads());
    conv_case(&dev, reps, (64, 16, 16, 32), true)?;
    conv_case(&dev, reps, (64, 3, 32, 16), false)?;
    pool_case(&dev, reps, (64, 16, 32))?;
    pool_case(&dev, reps, (64, 32, 16))?;
    Ok(())
}
