//! Clip kernels: fused (slices, as training runs them) vs composed dfdx ops vs a plain memcpy
//! of the same size, forward and forward+backward, at 64K, 1M and 16M f32 elements.
//!
//! Run: `just bench` or `cargo bench -p clipbench-benches --bench clip [-- FILTER]`.
//! Throughput is the bytes each variant must move at least: memcpy and forward read x and
//! write y (8 B/element); forward+backward also reads x, y and ∂L/∂y and writes ∂L/∂x
//! (24 B/element). Reports therefore read in GB/s that compare directly with memcpy.

use std::hint::black_box;
use std::time::Duration;

use clipbench_benches::data;
use clipbench_clip::composed::clip_composed;
use clipbench_clip::fused::clip_fused;
use clipbench_clip::kernel::{self, Layout};
use clipbench_clip::strategy::{ClipFn, Dispatch};
use clipbench_clip::StrategyKernels;
use clipbench_clip::{ClipLayer, ClipParams, Shape4, Strategy};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dfdx::prelude::*;

const SIZES: [(usize, &str); 3] = [(1 << 16, "64K"), (1 << 20, "1M"), (1 << 24, "16M")];

fn shape(n: usize) -> Shape4 {
    (n / (16 * 64 * 64), 16, 64, 64)
}

struct Fwd<'a>(&'a [f32], &'a mut [f32]);
impl Dispatch<u64> for Fwd<'_> {
    fn call<K: ClipFn>(self, k: K) -> u64 {
        let layout = Layout {
            thetas: &[1.0],
            plane: self.0.len(),
            pre_relu: true,
        };
        kernel::forward(k, layout, self.0, self.1)
    }
}

struct FwdBwd<'a>(&'a [f32], &'a mut [f32], &'a [f32], &'a mut [f32]);
impl Dispatch<f64> for FwdBwd<'_> {
    fn call<K: ClipFn>(self, k: K) -> f64 {
        let layout = Layout {
            thetas: &[1.0],
            plane: self.0.len(),
            pre_relu: true,
        };
        kernel::forward(k, layout, self.0, self.1);
        kernel::backward(k, layout, self.0, self.1, self.2, self.3)[0]
    }
}

/// The fused slice kernels next to memcpy: the figure the bandwidth goal is judged on.
fn kernels(c: &mut Criterion) {
    for (n, label) in SIZES {
        let mut g = c.benchmark_group(format!("clip_kernel/cpu/f32/{label}"));
        if n >= 1 << 24 {
            g.sample_size(10).measurement_time(Duration::from_secs(4));
        }
        let x = data(1, n, 3.0);
        let gy = data(2, n, 1.0);
        let mut y = vec![0f32; n];
        let mut gx = vec![0f32; n];
        g.throughput(Throughput::Bytes(8 * n as u64));
        g.bench_function("memcpy", |b| b.iter(|| y.copy_from_slice(black_box(&x))));
        for s in Strategy::ALL {
            g.throughput(Throughput::Bytes(8 * n as u64));
            g.bench_function(BenchmarkId::new("fused_fwd", s), |b| {
                b.iter(|| s.dispatch(1.0, Fwd(black_box(&x), &mut y)))
            });
            g.throughput(Throughput::Bytes(24 * n as u64));
            g.bench_function(BenchmarkId::new("fused_fwd_bwd", s), |b| {
                b.iter(|| s.dispatch(1.0, FwdBwd(black_box(&x), &mut y, &gy, &mut gx)))
            });
        }
        g.finish();
    }
}

/// The layer as dfdx ops: fused custom op vs composed public ops, with dfdx's own tape and
/// a `sum()` loss in both, so the ratio is what training sees.
fn ops(c: &mut Criterion) {
    let dev = Cpu::default();
    for (n, label) in SIZES {
        let mut g = c.benchmark_group(format!("clip_op/cpu/f32/{label}"));
        if n >= 1 << 20 {
            g.sample_size(10).measurement_time(Duration::from_secs(3));
        }
        let x = dev.tensor_from_vec(data(3, n, 3.0), shape(n));
        for s in Strategy::ALL {
            let layer = match ClipLayer::new(ClipParams::new(s, 1.0), 16, true, &dev) {
                Ok(l) => l,
                Err(e) => panic!("bench setup: {e}"),
            };
            g.throughput(Throughput::Bytes(8 * n as u64));
            g.bench_function(BenchmarkId::new("fused_fwd", s), |b| {
                b.iter(|| clip_fused(&layer, x.clone()).map(|r| black_box(r.0)))
            });
            g.bench_function(BenchmarkId::new("composed_fwd", s), |b| {
                b.iter(|| clip_composed(&layer, x.clone(), false).map(|r| black_box(r.0)))
            });
            g.throughput(Throughput::Bytes(24 * n as u64));
            g.bench_function(BenchmarkId::new("fused_fwd_bwd", s), |b| {
                b.iter(|| clip_fused(&layer, x.leaky_trace()).map(|r| r.0.sum().backward()))
            });
            g.bench_function(BenchmarkId::new("composed_fwd_bwd", s), |b| {
                b.iter(|| {
                    clip_composed(&layer, x.leaky_trace(), false).map(|r| r.0.sum().backward())
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, kernels, ops);
criterion_main!(benches);
