//! The fused op against the composition it replaces (conv2d, then clip_max_pool2d, both on
//! their CPU kernels): the same bits in values, clip counts and every gradient, for every
//! strategy, θ per layer and per channel, with and without the input gradient, on a batch
//! that does not fill its last task. The composition's own kernels are held to f64
//! references and finite differences in conv/tests.rs, pool/tests.rs and clipbench-clip.

use clipbench_clip::{ClipLayer, ClipParams, Strategy};
use dfdx::prelude::*;

use crate::testutil::{Rng, TestResult};
use crate::{clip_max_pool2d, conv2d, conv_clip_pool, Conv2dOpts, NnError, Tensor4};

/// Output values, clip count, and the gradients of (x, W, b, θ) of Σ r ⊙ y.
type Outcome = (Vec<f32>, u64, [Vec<f32>; 4]);

struct Case {
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    r: Vec<f32>,
    dims: (usize, usize, usize, usize),
    out: usize,
}

impl Case {
    fn new(seed: u64, (b, c, h, w): (usize, usize, usize, usize), out: usize) -> Self {
        let mut rng = Rng::new(seed);
        // Inputs spread over [−3, 3] so every strategy saturates some activations and
        // leaves others linear.
        let x = rng.vec(b * c * h * w).iter().map(|v| 3.0 * v).collect();
        Case {
            x,
            w: rng.vec(out * c * 9),
            b: rng.vec(out),
            r: rng.vec(b * out * (h / 2) * (w / 2)),
            dims: (b, c, h, w),
            out,
        }
    }

    fn run(
        &self,
        layer: &ClipLayer<Cpu>,
        opts: Conv2dOpts,
        fused: bool,
    ) -> Result<Outcome, NnError> {
        let dev = Cpu::default();
        let (b, c, h, w) = self.dims;
        let x: Tensor4<Cpu> = dev.tensor_from_vec(self.x.clone(), self.dims);
        let wt: Tensor4<Cpu> = dev.tensor_from_vec(self.w.clone(), (self.out, c, 3, 3));
        let bt = dev.tensor_from_vec(self.b.clone(), (self.out,));
        let r: Tensor4<Cpu> = dev.tensor_from_vec(self.r.clone(), (b, self.out, h / 2, w / 2));
        let xt = x.leaky_trace();
        let (y, stats) = if fused {
            conv_clip_pool(
                xt,
                wt.retaped::<OwnedTape<f32, Cpu>>(),
                bt.retaped(),
                opts,
                layer,
                true,
            )?
        } else {
            let a = conv2d(xt, wt.retaped::<OwnedTape<f32, Cpu>>(), bt.retaped(), opts)?;
            clip_max_pool2d(layer, a, true)?
        };
        let values = y.as_vec();
        let g = (y * r).sum().backward();
        let theta = layer.param.as_ref().map(|p| g.get(p).as_vec());
        let saturated = stats.map(|s| s.saturated).unwrap_or(u64::MAX);
        Ok((
            values,
            saturated,
            [
                // Without the input gradient x gets none (dfdx's `get` would panic).
                match opts.input_grad {
                    true => g.get(&x).as_vec(),
                    false => Vec::new(),
                },
                g.get(&wt).as_vec(),
                g.get(&bt).as_vec(),
                theta.unwrap_or_default(),
            ],
        ))
    }
}

/// Asserts the same bits element for element, naming the first difference.
fn same_bits(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != want[i].to_bits()) {
        panic!("{what}[{i}]: {} against {}", got[i], want[i]);
    }
}

#[test]
fn fused_op_gives_the_compositions_bits() -> TestResult {
    // 5 images: one full task of 4 and a partial one.
    let case = Case::new(11, (5, 3, 8, 6), 4);
    for strategy in Strategy::ALL {
        for per_channel in [false, true] {
            for opts in [
                Conv2dOpts::default(),
                Conv2dOpts::default().without_input_grad(),
            ] {
                let mut p = ClipParams::new(strategy, 0.7);
                p.per_channel = per_channel;
                p.beta = 3.0;
                let mut layer = ClipLayer::new(p, case.out, true, &Cpu::default())?;
                if let (true, Some(theta)) = (per_channel, layer.param.as_mut()) {
                    // A different θ per channel, so a channel mix-up changes the bits.
                    theta.copy_from(&[0.4, 0.7, 1.0, 1.3]);
                }
                let ctx = format!("{strategy} per_channel={per_channel} {opts:?}");
                let (yf, sf, gf) = case.run(&layer, opts, true)?;
                let (yc, sc, gc) = case.run(&layer, opts, false)?;
                same_bits(&yf, &yc, &format!("{ctx}: y"));
                assert_eq!(sf, sc, "{ctx}: clip count");
                if !matches!(strategy, Strategy::None | Strategy::SeedSoftplus) {
                    assert!(0 < sc && sc < (5 * 4 * 8 * 6) as u64, "{ctx}: count {sc}");
                }
                for (what, (f, c)) in ["dx", "dW", "db", "dθ"].iter().zip(gf.iter().zip(&gc)) {
                    same_bits(f, c, &format!("{ctx}: {what}"));
                }
                // The gradients are not vacuous: W and b always receive some.
                assert!(gf[1].iter().any(|&v| v != 0.0), "{ctx}: dW is all zero");
                assert_eq!(
                    gf[0].iter().any(|&v| v != 0.0),
                    opts.input_grad,
                    "{ctx}: dx"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn fused_op_is_bit_identical_with_one_and_two_threads() -> TestResult {
    let case = Case::new(12, (9, 2, 6, 6), 3);
    let layer = ClipLayer::new(
        ClipParams::new(Strategy::TanhLearnable, 0.8),
        case.out,
        true,
        &Cpu::default(),
    )?;
    let mut runs = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        runs.push(pool.install(|| case.run(&layer, Conv2dOpts::default(), true))?);
    }
    same_bits(&runs[0].0, &runs[1].0, "y");
    for (what, (a, b)) in ["dx", "dW", "db", "dθ"]
        .iter()
        .zip(runs[0].2.iter().zip(&runs[1].2))
    {
        same_bits(a, b, what);
    }
    Ok(())
}

#[test]
fn an_odd_conv_output_is_an_error_naming_the_fused_op() -> TestResult {
    let dev = Cpu::default();
    let layer = ClipLayer::new(ClipParams::new(Strategy::HardClamp, 1.0), 2, true, &dev)?;
    let x: Tensor4<Cpu> = dev.tensor_from_vec(vec![0.5; 2 * 5 * 4], (1, 2, 5, 4));
    let w: Tensor4<Cpu> = dev.tensor_from_vec(vec![0.1; 2 * 2 * 9], (2, 2, 3, 3));
    let b = dev.tensor_from_vec(vec![0.0; 2], (2,));
    let err = conv_clip_pool(x, w, b, Conv2dOpts::default(), &layer, false)
        .err()
        .ok_or("a 5x4 conv output pooled 2x2 must be an error")?;
    let msg = err.to_string();
    assert!(
        msg.contains("conv_clip_pool") && msg.contains("5x4"),
        "{msg}"
    );
    Ok(())
}
