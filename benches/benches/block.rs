//! The model's conv → relu → clip → max-pool block, fused (`conv_clip_pool`, what the model
//! runs on Cpu) against the composition it replaced (`conv2d`, then `clip_max_pool2d`),
//! forward and backward, on both layers' shapes of a 64-image 3×32×32 batch, 1 and 2 threads.
//! Both give the same bits (crates/nn's tests); this measures what the fusion saves.
//! `cargo bench -p clipbench-benches --bench block`.

use clipbench_clip::{ClipLayer, ClipParams, Strategy};
use clipbench_nn::init::{uniform_vec, SplitMix64};
use clipbench_nn::{clip_max_pool2d, conv2d, conv_clip_pool, Conv2dOpts, NnError, Tensor4};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dfdx::prelude::*;
use std::hint::black_box;

const BATCH: usize = 64;

/// One block's forward and backward (the gradient of Σ y), fused or composed.
fn step(
    x: &Tensor4<Cpu>,
    w: &Tensor4<Cpu>,
    b: &Tensor1D,
    layer: &ClipLayer<Cpu>,
    fused: bool,
) -> Result<(), NnError> {
    let opts = Conv2dOpts::default();
    let (w, b) = (w.retaped::<OwnedTape<f32, Cpu>>(), b.retaped());
    let (y, _) = if fused {
        conv_clip_pool(x.leaky_trace(), w, b, opts, layer, false)?
    } else {
        clip_max_pool2d(layer, conv2d(x.leaky_trace(), w, b, opts)?, false)?
    };
    black_box(y.sum().backward());
    Ok(())
}

type Tensor1D = Tensor<(usize,), f32, Cpu>;

fn bench(c: &mut Criterion) {
    // The binary's malloc settings: without them multi-MB buffers are mmapped and faulted
    // in on every call, which is not the step `clipbench` runs.
    clipbench_train::malloc::tune();
    let dev = Cpu::default();
    let mut rng = SplitMix64::new(7);
    // (in channels, out channels, side): the model's two blocks on 3×32×32.
    for (cin, cout, side) in [(3, 16, 32), (16, 32, 16)] {
        let mut g = c.benchmark_group(format!("block/{cin}x{side}x{side}->{cout}"));
        g.throughput(Throughput::Elements(BATCH as u64));
        g.sample_size(20);
        let x = dev.tensor_from_vec(
            uniform_vec(&mut rng, BATCH * cin * side * side, 1.0),
            (BATCH, cin, side, side),
        );
        let w = dev.tensor_from_vec(
            uniform_vec(&mut rng, cout * cin * 9, 0.3),
            (cout, cin, 3, 3),
        );
        let b = dev.tensor_from_vec(uniform_vec(&mut rng, cout, 0.1), (cout,));
        for threads in [1, 2] {
            let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(threads).build() else {
                eprintln!("skipping {threads} threads: no thread pool");
                continue;
            };
            for s in [Strategy::None, Strategy::SoftplusLearnable] {
                let layer = match ClipLayer::new(ClipParams::new(s, 1.0), cout, true, &dev) {
                    Ok(l) => l,
                    Err(e) => panic!("bench setup: {e}"),
                };
                for (name, fused) in [("fused", true), ("composed", false)] {
                    let id = format!("{s}/{threads}thr");
                    g.bench_function(BenchmarkId::new(name, id), |bench| {
                        bench.iter(|| pool.install(|| step(&x, &w, &b, &layer, fused)).ok())
                    });
                }
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
