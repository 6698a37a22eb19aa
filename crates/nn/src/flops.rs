//! The work of one training image and the machine's sgemm peak: what `bench-train` compares
//! its images/s with (issue 15, part 3: how far the step is from the gemm ceiling).
//!
//! FLOPs count the matrix products only (2·M·N·K each), as a roofline does: the conv layers'
//! im2col gemms and the linear layer, forward and backward. The first conv computes no input
//! gradient (its input is data), so its backward is dW alone; the second conv and the linear
//! layer compute dW and dX. Biases, clips, pooling, the loss and the optimizer are not counted
//! (they are memory-bound, and small next to the products).

use std::time::Instant;

use rayon::prelude::*;

use crate::model::{ModelConfig, NUM_CLASSES};

/// Side of the square conv kernels of [`SimpleCnn`](crate::model::SimpleCnn) (padding 1: the
/// convs keep H and W, each 2×2 pool halves them).
const KERNEL: usize = 3;

/// Matrix-product FLOPs of one image's forward pass, per layer: (conv1, conv2, linear).
pub fn forward_flops_by_layer(cfg: &ModelConfig) -> [u64; 3] {
    let [c, h, w] = cfg.input;
    let [w1, w2] = cfg.widths;
    let taps = KERNEL * KERNEL;
    // conv as gemm: (O × C·KH·KW) · (C·KH·KW × H·W) per image.
    let conv1 = 2 * w1 * (c * taps) * (h * w);
    let conv2 = 2 * w2 * (w1 * taps) * ((h / 2) * (w / 2));
    let fc = 2 * cfg.flat_features() * NUM_CLASSES;
    [conv1, conv2, fc].map(|f| f as u64)
}

/// Matrix-product FLOPs of one image's forward pass.
pub fn forward_flops_per_image(cfg: &ModelConfig) -> u64 {
    forward_flops_by_layer(cfg).iter().sum()
}

/// Matrix-product FLOPs of one image's training step: forward, then dW for every layer and
/// dX for every layer but the first (each costs what that layer's forward costs).
pub fn train_flops_per_image(cfg: &ModelConfig) -> u64 {
    let [conv1, conv2, fc] = forward_flops_by_layer(cfg);
    2 * conv1 + 3 * conv2 + 3 * fc
}

/// The best of `repeats` timings of `threads` independent `n × n × n` f32 gemms (C = A·B,
/// row-major), one per thread of the current rayon pool, each single-threaded: the way the
/// training step uses gemm (fixed 4-image tasks, each task's gemms on one thread).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SgemmPeak {
    pub n: usize,
    pub threads: usize,
    pub repeats: usize,
    pub best_s: f64,
    /// threads · 2·n³ / best_s / 1e9.
    pub gflops: f64,
}

/// Times `repeats` (at least 1) rounds of `threads` concurrent gemms of `n × n × n` after one
/// warm-up round; see [`SgemmPeak`]. Call it inside the pool whose threads it should use.
pub fn sgemm_peak(n: usize, threads: usize, repeats: usize) -> SgemmPeak {
    let n = n.max(1);
    let threads = threads.max(1);
    let a: Vec<f32> = (0..n * n).map(|i| ((i % 17) as f32 - 8.0) / 8.0).collect();
    let b: Vec<f32> = (0..n * n).map(|i| ((i % 13) as f32 - 6.0) / 6.0).collect();
    let mut outs: Vec<Vec<f32>> = (0..threads).map(|_| vec![0.0f32; n * n]).collect();
    let round = |outs: &mut Vec<Vec<f32>>| {
        outs.par_iter_mut()
            .with_max_len(1)
            .for_each(|c| crate::raw::square_gemm(c, &a, &b, n));
    };
    round(&mut outs);
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        round(&mut outs);
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(&outs);
    }
    let flops = threads as f64 * 2.0 * (n as f64).powi(3);
    SgemmPeak {
        n,
        threads,
        repeats: repeats.max(1),
        best_s: best,
        gflops: flops / best.max(1e-12) / 1e9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clipbench_clip::Strategy;

    /// By hand, widths 16 and 32, 3×3 kernels:
    /// 3×32×32: conv1 2·16·27·1024 = 884,736; conv2 (16×16 after the pool) 2·32·144·256 =
    /// 2,359,296; fc 2·(32·8·8)·10 = 40,960; forward 3,284,992; training
    /// 2·884,736 + 3·2,359,296 + 3·40,960 = 8,970,240 (the 8.97 MFLOP).
    /// 1×28×28: conv1 2·16·9·784 = 225,792; conv2 2·32·144·196 = 1,806,336; fc 2·1568·10 =
    /// 31,360; forward 2,063,488; training 451,584 + 5,419,008 + 94,080 = 5,964,672.
    #[test]
    fn flops_match_the_hand_count() {
        let cifar = ModelConfig::new([3, 32, 32], Strategy::None);
        assert_eq!(cifar.widths, [16, 32]);
        assert_eq!(forward_flops_by_layer(&cifar), [884_736, 2_359_296, 40_960]);
        assert_eq!(forward_flops_per_image(&cifar), 3_284_992);
        assert_eq!(train_flops_per_image(&cifar), 8_970_240);
        let fashion = ModelConfig::new([1, 28, 28], Strategy::None);
        assert_eq!(
            forward_flops_by_layer(&fashion),
            [225_792, 1_806_336, 31_360]
        );
        assert_eq!(forward_flops_per_image(&fashion), 2_063_488);
        assert_eq!(train_flops_per_image(&fashion), 5_964_672);
    }

    #[test]
    fn sgemm_peak_times_a_small_gemm() {
        let p = sgemm_peak(64, 1, 2);
        assert_eq!((p.n, p.threads, p.repeats), (64, 1, 2));
        assert!(
            p.best_s > 0.0 && p.gflops.is_finite() && p.gflops > 0.0,
            "{p:?}"
        );
    }
}
