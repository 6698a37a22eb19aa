//! conv2d tests: CPU kernel vs generic version vs naive f64 convolution vs finite
//! differences, thread-count determinism, options, and shape errors.

use super::*;
use crate::testutil::{assert_close, assert_close_f32, finite_diff, ConvCase, Rng, TestResult};
use crate::Tensor4;
use dfdx::prelude::*;

type Owned = OwnedTape<f32, Cpu>;

/// Output and gradients (dx, dW, db) of L = Σ coeff ⊙ conv(x, W, b).
struct Run {
    y: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

struct Data {
    case: ConvCase,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    coeff: Vec<f32>,
}

impl Data {
    fn new(case: ConvCase, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        Self {
            x: rng.vec(case.x_len()),
            w: rng.vec(case.w_len()),
            b: rng.vec(case.o),
            coeff: rng.vec(case.y_len()),
            case,
        }
    }

    fn run(&self, generic: bool, opts: Conv2dOpts) -> Result<Run, NnError> {
        let c = &self.case;
        let dev = Cpu::default();
        let x: Tensor4<Cpu> = dev.tensor_from_vec(self.x.clone(), (c.b, c.c, c.h, c.w));
        let w: Tensor4<Cpu> = dev.tensor_from_vec(self.w.clone(), (c.o, c.c, c.kh, c.kw));
        let b = dev.tensor_from_vec(self.b.clone(), (c.o,));
        let coeff = dev.tensor_from_vec(self.coeff.clone(), (c.b, c.o, c.ho(), c.wo()));
        let (xt, wt, bt) = (x.leaky_trace(), w.retaped::<Owned>(), b.retaped::<Owned>());
        let y = if generic {
            conv2d_generic(xt, wt, bt, opts)?
        } else {
            conv2d(xt, wt, bt, opts)?
        };
        let yv = y.as_vec();
        let g = (y * coeff).sum::<Rank0, _>().backward();
        Ok(Run {
            y: yv,
            dx: if opts.input_grad {
                g.get(&x).as_vec()
            } else {
                Vec::new()
            },
            dw: g.get(&w).as_vec(),
            db: g.get(&b).as_vec(),
        })
    }
}

fn case(
    b: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    k: (usize, usize),
    pad: usize,
) -> ConvCase {
    ConvCase {
        b,
        c,
        h,
        w,
        o,
        kh: k.0,
        kw: k.1,
        pad,
    }
}

/// The 3×3/p1 layer shape, plus other kernels and paddings, a batch that leaves a partial
/// task (5 images, 4 per task), and kernels wider than the (padded) input.
fn cases() -> Vec<ConvCase> {
    vec![
        case(5, 4, 6, 5, 3, (3, 3), 1),
        case(2, 3, 7, 7, 4, (1, 1), 0),
        case(3, 2, 6, 8, 2, (3, 3), 0),
        case(2, 2, 5, 6, 3, (5, 5), 2),
        case(4, 3, 4, 5, 2, (2, 3), 1),
        case(1, 1, 1, 1, 1, (3, 3), 1),
        // Kernel larger than the input: some taps only ever see padding.
        case(2, 2, 1, 2, 2, (5, 5), 2),
        case(1, 1, 2, 1, 1, (3, 4), 3),
    ]
}

fn opts(pad: usize) -> Conv2dOpts {
    Conv2dOpts {
        padding: pad,
        ..Conv2dOpts::default()
    }
}

#[test]
fn cpu_matches_generic_in_values_and_gradients() -> TestResult {
    for (i, c) in cases().into_iter().enumerate() {
        let d = Data::new(c, 100 + i as u64);
        let cpu = d.run(false, opts(c.pad))?;
        let gen = d.run(true, opts(c.pad))?;
        let what = |s: &str| format!("{s} {c:?}");
        assert_close_f32(&cpu.y, &gen.y, 1e-5, &what("y"));
        assert_close_f32(&cpu.dx, &gen.dx, 1e-5, &what("dx"));
        assert_close_f32(&cpu.dw, &gen.dw, 1e-5, &what("dW"));
        assert_close_f32(&cpu.db, &gen.db, 1e-5, &what("db"));
    }
    Ok(())
}

#[test]
fn cpu_and_generic_match_naive_f64_convolution() -> TestResult {
    for (i, c) in cases().into_iter().enumerate() {
        let d = Data::new(c, 200 + i as u64);
        let y = c.forward(&d.x, &d.w, &d.b);
        let (dx, dw, db) = c.backward(&d.x, &d.w, &d.coeff);
        for generic in [false, true] {
            let r = d.run(generic, opts(c.pad))?;
            let what = |s: &str| format!("{s} generic={generic} {c:?}");
            assert_close(&r.y, &y, 1e-5, &what("y"));
            assert_close(&r.dx, &dx, 1e-5, &what("dx"));
            assert_close(&r.dw, &dw, 1e-5, &what("dW"));
            assert_close(&r.db, &db, 1e-5, &what("db"));
        }
    }
    Ok(())
}

/// dL/dθ by central differences of the f64 reference loss L = Σ coeff ⊙ conv, for θ = x, W, b.
#[test]
fn gradients_match_finite_differences() -> TestResult {
    let c = case(2, 2, 4, 4, 2, (3, 3), 1);
    let d = Data::new(c, 300);
    let up = |v: &[f32]| v.iter().map(|&a| f64::from(a)).collect::<Vec<f64>>();
    let (x, w, b, coeff) = (up(&d.x), up(&d.w), up(&d.b), up(&d.coeff));
    let loss = |x: &[f64], w: &[f64], b: &[f64]| -> f64 {
        c.forward64(x, w, b)
            .iter()
            .zip(&coeff)
            .map(|(y, k)| y * k)
            .sum()
    };
    let eps = 1e-3;
    let fd_x = finite_diff(&d.x, eps, |p| loss(p, &w, &b));
    let fd_w = finite_diff(&d.w, eps, |p| loss(&x, p, &b));
    let fd_b = finite_diff(&d.b, eps, |p| loss(&x, &w, p));
    for generic in [false, true] {
        let r = d.run(generic, Conv2dOpts::default())?;
        assert_close(&r.dx, &fd_x, 1e-5, "dx vs finite differences");
        assert_close(&r.dw, &fd_w, 1e-5, "dW vs finite differences");
        assert_close(&r.db, &fd_b, 1e-5, "db vs finite differences");
    }
    Ok(())
}

/// The CPU kernel's bits do not depend on the rayon thread count (fixed task chunking).
#[test]
fn cpu_kernel_is_bit_identical_with_one_and_two_threads() -> TestResult {
    let d = Data::new(case(9, 16, 8, 8, 8, (3, 3), 1), 400);
    let mut runs = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        runs.push(pool.install(|| d.run(false, Conv2dOpts::default()))?);
    }
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    for (a, b, what) in [
        (&runs[0].y, &runs[1].y, "y"),
        (&runs[0].dx, &runs[1].dx, "dx"),
        (&runs[0].dw, &runs[1].dw, "dW"),
        (&runs[0].db, &runs[1].db, "db"),
    ] {
        assert_eq!(bits(a), bits(b), "{what} differs between 1 and 2 threads");
    }
    Ok(())
}

/// `input_grad: false` leaves x out of the backward pass: x's only gradient is then the one
/// from the extra Σx term, while W and b get the same gradients as before.
#[test]
fn without_input_grad_skips_dx_only() -> TestResult {
    let c = case(3, 2, 5, 5, 3, (3, 3), 1);
    let d = Data::new(c, 500);
    for generic in [false, true] {
        let dev = Cpu::default();
        let x: Tensor4<Cpu> = dev.tensor_from_vec(d.x.clone(), (c.b, c.c, c.h, c.w));
        let w: Tensor4<Cpu> = dev.tensor_from_vec(d.w.clone(), (c.o, c.c, 3, 3));
        let b = dev.tensor_from_vec(d.b.clone(), (c.o,));
        let coeff = dev.tensor_from_vec(d.coeff.clone(), (c.b, c.o, c.h, c.w));
        let xt = x.leaky_trace();
        let sx = xt.with_empty_tape().sum::<Rank0, _>();
        let o = Conv2dOpts::default().without_input_grad();
        let y = if generic {
            conv2d_generic(xt, w.retaped::<Owned>(), b.retaped::<Owned>(), o)?
        } else {
            conv2d(xt, w.retaped::<Owned>(), b.retaped::<Owned>(), o)?
        };
        let g = ((y * coeff).sum::<Rank0, _>() + sx).backward();
        assert_eq!(
            g.get(&x).as_vec(),
            vec![1.0; c.x_len()],
            "generic={generic}"
        );
        let (_, dw, db) = c.backward(&d.x, &d.w, &d.coeff);
        assert_close(&g.get(&w).as_vec(), &dw, 1e-5, "dW");
        assert_close(&g.get(&b).as_vec(), &db, 1e-5, "db");
    }
    Ok(())
}

/// A permuted (non-contiguous) input goes through `contiguous()` on the CPU path, with its
/// gradient mapped back; frozen (NoneTape) parameters are accepted.
#[test]
fn strided_input_and_frozen_parameters() -> TestResult {
    let c = case(2, 3, 4, 6, 2, (3, 3), 1);
    let d = Data::new(c, 600);
    let dev = Cpu::default();
    // Stored as (B, H, C, W), viewed as (B, C, H, W).
    let x_bhcw: Tensor4<Cpu> = dev.tensor_from_vec(d.x.clone(), (c.b, c.h, c.c, c.w));
    let w: Tensor4<Cpu> = dev.tensor_from_vec(d.w.clone(), (c.o, c.c, 3, 3));
    let b = dev.tensor_from_vec(d.b.clone(), (c.o,));
    let mut results = Vec::new();
    for generic in [false, true] {
        let x = x_bhcw.leaky_trace().permute::<Shape4, Axes4<0, 2, 1, 3>>();
        let y = if generic {
            conv2d_generic(x, w.clone(), b.clone(), Conv2dOpts::default())?
        } else {
            conv2d(x, w.clone(), b.clone(), Conv2dOpts::default())?
        };
        let yv = y.as_vec();
        let g = (y.square()).sum::<Rank0, _>().backward();
        results.push((yv, g.get(&x_bhcw).as_vec()));
    }
    assert_close_f32(&results[0].0, &results[1].0, 1e-5, "y");
    assert_close_f32(&results[0].1, &results[1].1, 1e-5, "dx");
    Ok(())
}

#[test]
fn shape_errors_name_expected_and_found() {
    let dev = Cpu::default();
    let x: Tensor4<Cpu> = dev.zeros_like(&(2, 3, 8, 8));
    let b: Tensor1<Cpu> = dev.zeros_like(&(16,));
    let w_bad: Tensor4<Cpu> = dev.zeros_like(&(16, 4, 3, 3));
    let e = conv2d(x.clone(), w_bad, b.clone(), Conv2dOpts::default()).map(|_| ());
    let msg = e.map_err(|e| e.to_string()).err().unwrap_or_default();
    assert!(
        msg.contains("weight has shape (16, 4, 3, 3)") && msg.contains("C = 3"),
        "{msg}"
    );
    let w: Tensor4<Cpu> = dev.zeros_like(&(16, 3, 3, 3));
    let b_bad: Tensor1<Cpu> = dev.zeros_like(&(8,));
    let e = conv2d_generic(x.clone(), w.clone(), b_bad, Conv2dOpts::default()).map(|_| ());
    let msg = e.map_err(|e| e.to_string()).err().unwrap_or_default();
    assert!(msg.contains("bias has shape (8,), expected (16,)"), "{msg}");
    let tiny: Tensor4<Cpu> = dev.zeros_like(&(1, 3, 1, 1));
    let no_pad = Conv2dOpts {
        padding: 0,
        ..Conv2dOpts::default()
    };
    assert!(matches!(
        conv2d(tiny, w, b, no_pad),
        Err(NnError::ShapeMismatch {
            operand: "input",
            ..
        })
    ));
}
