//! One training step and one forward pass of the SimpleCNN (batch 64, Adam), per strategy and
//! input shape, on 1 and 2 threads: the same step `clipbench bench-train` and a run take.
//! `cargo bench -p clipbench-benches --bench train_step`.

use clipbench_clip::Strategy;
use clipbench_train::bench::BenchSetup;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const BATCH: usize = 64;

fn bench(c: &mut Criterion) {
    // The binary's malloc settings: without them multi-MB buffers are mmapped and faulted
    // in on every call, which is not the step `clipbench` runs.
    clipbench_train::malloc::tune();
    for input in [[3, 32, 32], [1, 28, 28]] {
        let shape = format!("{}x{}x{}", input[0], input[1], input[2]);
        let mut g = c.benchmark_group(format!("train_step/{shape}"));
        g.throughput(Throughput::Elements(BATCH as u64));
        g.sample_size(20);
        for threads in [1, 2] {
            let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(threads).build() else {
                eprintln!("skipping {threads} threads: no thread pool");
                continue;
            };
            for s in Strategy::ALL {
                let setup = pool.install(|| BenchSetup::new(s, input, BATCH));
                let mut setup = match setup {
                    Ok(v) => v,
                    Err(e) => {
                        eprintln!("skipping {s}: {e}");
                        continue;
                    }
                };
                let id = format!("{s}/{threads}thr");
                g.bench_function(BenchmarkId::new("train", &id), |b| {
                    b.iter(|| pool.install(|| setup.train_step()).is_ok())
                });
                g.bench_function(BenchmarkId::new("forward", &id), |b| {
                    b.iter(|| pool.install(|| setup.forward()).map(|v| v.len()).ok())
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
