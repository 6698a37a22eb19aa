//! The fused kernels give the same bits for any thread count and on every code path
//! (AVX-512, AVX2, portable), and
//! ∂L/∂θ over 16M elements is accurate to 1e-4 of an f64 sum (dfdx's own naive f32
//! reduction of a broadcast scalar's gradient is not; see notes in the README).
//! Own test binary: it flips the process-wide portable-path switch.

use clipbench_clip::kernel::{self, Layout};
use clipbench_clip::strategy::{ClipFn, Dispatch};
use clipbench_clip::Strategy;
use clipbench_clip::StrategyKernels;

fn data(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            scale * (((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0)
        })
        .collect()
}

struct Run<'a> {
    layout: Layout<'a>,
    x: &'a [f32],
    gy: &'a [f32],
}

type Out = (Vec<f32>, u64, Vec<f32>, Vec<f64>);

impl Dispatch<Out> for Run<'_> {
    fn call<K: ClipFn>(self, k: K) -> Out {
        let mut y = vec![0f32; self.x.len()];
        let sat = kernel::forward(k, self.layout, self.x, &mut y);
        let mut gx = vec![0f32; self.x.len()];
        let dt = kernel::backward(k, self.layout, self.x, &y, self.gy, &mut gx);
        (y, sat, gx, dt)
    }
}

fn run_in_pool(
    threads: usize,
    s: Strategy,
    r: Run<'_>,
) -> Result<Out, rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    Ok(pool.install(|| s.dispatch(2.0, r)))
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

#[test]
fn same_bits_for_one_and_two_threads_and_both_code_paths() -> Result<(), Box<dyn std::error::Error>>
{
    let n = 3 * kernel::CHUNK + 12_345;
    let x = data(1, n, 4.0);
    let gy = data(2, n, 1.0);
    let thetas = [0.7f32, 1.3, 2.1];
    for s in Strategy::ALL {
        for (th, plane) in [(&thetas[..1], n), (&thetas[..], 1000)] {
            let layout = Layout {
                thetas: th,
                plane,
                pre_relu: true,
            };
            let run = || Run {
                layout,
                x: &x,
                gy: &gy,
            };
            let one = run_in_pool(1, s, run())?;
            let two = run_in_pool(2, s, run())?;
            kernel::set_force_avx2(true);
            let avx2 = run_in_pool(2, s, run());
            kernel::set_force_avx2(false);
            kernel::set_force_portable(true);
            let portable = run_in_pool(2, s, run());
            kernel::set_force_portable(false);
            let (avx2, portable) = (avx2?, portable?);
            for other in [&two, &avx2, &portable] {
                assert_eq!(bits(&one.0), bits(&other.0), "{s}: y bits");
                assert_eq!(one.1, other.1, "{s}: clip count");
                assert_eq!(bits(&one.2), bits(&other.2), "{s}: ∂x bits");
                let (a, b): (Vec<u64>, Vec<u64>) = (
                    one.3.iter().map(|v| v.to_bits()).collect(),
                    other.3.iter().map(|v| v.to_bits()).collect(),
                );
                assert_eq!(a, b, "{s}: ∂θ bits");
            }
        }
    }
    Ok(())
}

#[test]
fn theta_gradient_over_16m_elements_matches_an_f64_sum() {
    let n = 16 << 20;
    let x = data(3, n, 3.0);
    let gy = data(4, n, 1.0);
    for s in [Strategy::TanhLearnable, Strategy::SoftplusLearnable] {
        let theta = 1.0f32;
        let layout = Layout {
            thetas: &[theta],
            plane: n,
            pre_relu: false,
        };
        let (_, _, _, dt) = s.dispatch(
            1.0,
            Run {
                layout,
                x: &x,
                gy: &gy,
            },
        );
        let want: f64 = x
            .iter()
            .zip(&gy)
            .map(|(&x, &g)| g as f64 * s.eval64(x as f64, theta as f64, 1.0).dydt)
            .sum();
        // A plain f32 running sum, what a naive reduction does, for contrast in the log.
        let naive: f32 = x
            .iter()
            .zip(&gy)
            .map(|(&x, &g)| g * s.eval64(x as f64, 1.0, 1.0).dydt as f32)
            .sum();
        let rel = ((dt[0] - want) / want).abs();
        println!(
            "{s}: fused {:.6} f64 {want:.6} rel {rel:e}; naive f32 sum {naive}",
            dt[0]
        );
        assert!(
            rel < 1e-4,
            "{s}: fused ∂L/∂θ {} vs f64 {want} (rel {rel:e})",
            dt[0]
        );
    }
}
