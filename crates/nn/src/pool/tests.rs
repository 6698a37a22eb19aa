//! max_pool2d tests: CPU kernel vs generic version vs naive reference vs finite differences,
//! tie and NaN behaviour, thread-count determinism, odd sizes, and a conv → pool → linear
//! chain on both paths.

use super::*;
use crate::testutil::{assert_close, assert_close_f32, finite_diff, Rng, TestResult};
use crate::{conv2d, conv2d_generic, linear, Conv2dOpts, Shape4, Tensor4};
use dfdx::prelude::*;

/// Naive reference: y[n,c,i,j] = max of x[n,c,2i..2i+2, 2j..2j+2] (torch max_pool2d(x, 2)),
/// and the flat input index of the first maximum.
fn naive(x: &[f64], (b, c, h, w): Shape4) -> (Vec<f64>, Vec<usize>) {
    let (ho, wo) = (h / 2, w / 2);
    let mut y = Vec::new();
    let mut arg = Vec::new();
    for p in 0..b * c {
        for i in 0..ho {
            for j in 0..wo {
                let mut best = (f64::NEG_INFINITY, 0);
                for (di, dj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let k = p * h * w + (2 * i + di) * w + 2 * j + dj;
                    if x[k] > best.0 {
                        best = (x[k], k);
                    }
                }
                y.push(best.0);
                arg.push(best.1);
            }
        }
    }
    (y, arg)
}

/// Output and dL/dx of L = Σ coeff ⊙ pool(x).
fn run(
    x: &[f32],
    shape: Shape4,
    coeff: &[f32],
    generic: bool,
) -> Result<(Vec<f32>, Vec<f32>), NnError> {
    let dev = Cpu::default();
    let x: Tensor4<Cpu> = dev.tensor_from_vec(x.to_vec(), shape);
    let coeff = dev.tensor_from_vec(coeff.to_vec(), (shape.0, shape.1, shape.2 / 2, shape.3 / 2));
    let y = if generic {
        max_pool2d_generic(x.leaky_trace())?
    } else {
        max_pool2d(x.leaky_trace())?
    };
    let yv = y.as_vec();
    let g = (y * coeff).sum::<Rank0, _>().backward();
    Ok((yv, g.get(&x).as_vec()))
}

type Owned = OwnedTape<f32, Cpu>;

const SHAPE: Shape4 = (3, 5, 6, 8);

fn data(seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let n = SHAPE.0 * SHAPE.1 * SHAPE.2 * SHAPE.3;
    (rng.distinct(n), rng.vec(n / 4))
}

#[test]
fn cpu_matches_generic_and_naive_on_tie_free_input() -> TestResult {
    let (x, coeff) = data(1);
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let (want_y, arg) = naive(&x64, SHAPE);
    let mut want_dx = vec![0.0; x.len()];
    for (k, c) in arg.iter().zip(&coeff) {
        want_dx[*k] += f64::from(*c);
    }
    let cpu = run(&x, SHAPE, &coeff, false)?;
    let gen = run(&x, SHAPE, &coeff, true)?;
    assert_close_f32(&cpu.0, &gen.0, 0.0, "y cpu vs generic");
    assert_close_f32(&cpu.1, &gen.1, 0.0, "dx cpu vs generic");
    assert_close(&cpu.0, &want_y, 0.0, "y vs naive");
    assert_close(&cpu.1, &want_dx, 0.0, "dx vs naive");
    Ok(())
}

#[test]
fn gradient_matches_finite_differences() -> TestResult {
    let shape = (1, 2, 4, 4);
    let mut rng = Rng::new(2);
    let x = rng.distinct(32);
    let coeff = rng.vec(8);
    // Values are 1/16 apart; a step of 1e-3 never changes a window's winner.
    let fd = finite_diff(&x, 1e-3, |p| {
        let (y, _) = naive(p, shape);
        y.iter().zip(&coeff).map(|(y, c)| y * f64::from(*c)).sum()
    });
    for generic in [false, true] {
        let (_, dx) = run(&x, shape, &coeff, generic)?;
        assert_close(&dx, &fd, 1e-6, "dx vs finite differences");
    }
    Ok(())
}

/// On ties the CPU kernel sends the gradient to the first maximum (row-major in the window,
/// like PyTorch); dfdx's `max` (generic path) sends it to every tied element.
#[test]
fn ties_first_max_wins_on_cpu() -> TestResult {
    let x = [1.0, 3.0, 3.0, 3.0];
    let (y, dx) = run(&x, (1, 1, 2, 2), &[1.0], false)?;
    assert_eq!((y, dx), (vec![3.0], vec![0.0, 1.0, 0.0, 0.0]));
    let (_, dx) = run(&x, (1, 1, 2, 2), &[1.0], true)?;
    assert_eq!(dx, vec![0.0, 1.0, 1.0, 1.0]);
    Ok(())
}

/// NaN propagates through the CPU pool (so divergence stays visible), like PyTorch.
#[test]
fn nan_propagates_on_cpu() -> TestResult {
    let (y, dx) = run(&[1.0, f32::NAN, 5.0, 2.0], (1, 1, 2, 2), &[1.0], false)?;
    assert!(y[0].is_nan());
    assert_eq!(dx, vec![0.0, 1.0, 0.0, 0.0]);
    Ok(())
}

#[test]
fn odd_sizes_are_errors_not_panics() {
    let dev = Cpu::default();
    let x: Tensor4<Cpu> = dev.zeros_like(&(2, 3, 7, 8));
    for r in [
        max_pool2d(x.clone()).map(|_| ()),
        max_pool2d_generic(x).map(|_| ()),
    ] {
        assert!(matches!(
            r,
            Err(NnError::OddPoolInput {
                height: 7,
                width: 8,
                ..
            })
        ));
    }
}

#[test]
fn cpu_kernel_is_bit_identical_with_one_and_two_threads() -> TestResult {
    let shape = (4, 16, 8, 8);
    let mut rng = Rng::new(3);
    let x = rng.vec(4 * 16 * 64);
    let coeff = rng.vec(4 * 16 * 16);
    let mut runs = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        runs.push(pool.install(|| run(&x, shape, &coeff, false))?);
    }
    assert_eq!(runs[0], runs[1]);
    Ok(())
}

/// conv → relu → pool → conv → relu → pool → linear, end to end: the CPU kernels and the
/// generic versions give the same loss and parameter gradients.
#[test]
fn conv_pool_linear_chain_matches_generic() -> TestResult {
    let mut rng = Rng::new(4);
    let (b, h) = (3, 8);
    let x = rng.vec(b * 3 * h * h);
    let (w1, b1, w2, b2) = (
        rng.vec(4 * 3 * 9),
        rng.vec(4),
        rng.vec(6 * 4 * 9),
        rng.vec(6),
    );
    let (lw, lb) = (rng.vec(6 * 2 * 2 * 5), rng.vec(5));
    let mut results = Vec::new();
    for generic in [false, true] {
        let dev = Cpu::default();
        let x: Tensor4<Cpu> = dev.tensor_from_vec(x.clone(), (b, 3, h, h));
        let w1: Tensor4<Cpu> = dev.tensor_from_vec(w1.clone(), (4, 3, 3, 3));
        let w2: Tensor4<Cpu> = dev.tensor_from_vec(w2.clone(), (6, 4, 3, 3));
        let b1 = dev.tensor_from_vec(b1.clone(), (4,));
        let b2 = dev.tensor_from_vec(b2.clone(), (6,));
        let lw = dev.tensor_from_vec(lw.clone(), (24, 5));
        let lb = dev.tensor_from_vec(lb.clone(), (5,));
        let opts = Conv2dOpts::default();
        let first = opts.without_input_grad();
        let xt = x.leaky_trace();
        let a = if generic {
            let a = conv2d_generic(xt, w1.retaped::<Owned>(), b1.retaped(), first)?.relu();
            let a = max_pool2d_generic(a)?;
            let a = conv2d_generic(a, w2.retaped::<Owned>(), b2.retaped(), opts)?.relu();
            max_pool2d_generic(a)?
        } else {
            let a = conv2d(xt, w1.retaped::<Owned>(), b1.retaped(), first)?.relu();
            let a = max_pool2d(a)?;
            let a = conv2d(a, w2.retaped::<Owned>(), b2.retaped(), opts)?.relu();
            max_pool2d(a)?
        };
        let flat = a.reshape_like(&(b, 24));
        let logits = linear(flat, lw.retaped::<Owned>(), lb.retaped())?;
        let loss = logits.square().mean::<Rank0, _>();
        let lv = loss.array();
        let g = loss.backward();
        let grads: Vec<Vec<f32>> = vec![
            g.get(&w1).as_vec(),
            g.get(&b1).as_vec(),
            g.get(&w2).as_vec(),
            g.get(&b2).as_vec(),
            g.get(&lw).as_vec(),
            g.get(&lb).as_vec(),
        ];
        results.push((lv, grads));
    }
    assert!((results[0].0 - results[1].0).abs() <= 1e-5 * results[1].0.abs());
    for (i, (a, b)) in results[0].1.iter().zip(&results[1].1).enumerate() {
        assert_close_f32(a, b, 1e-4, &format!("parameter {i}"));
    }
    Ok(())
}

/// The one-pass tournament the CPU kernel ran before the two-pass version (issue 15): per
/// window, upper pair, lower pair, then upper against lower, with `right_wins`.
fn one_pass_tournament(x: &[f32], h: usize, w: usize) -> (Vec<f32>, Vec<u8>) {
    let wins = |l: f32, r: f32| (r > l) | (r.is_nan() & !l.is_nan());
    let (mut out, mut arg) = (Vec::new(), Vec::new());
    for plane in x.chunks(h * w) {
        for pair in plane.chunks_exact(2 * w) {
            let (top, bottom) = pair.split_at(w);
            for (t, b) in top.chunks_exact(2).zip(bottom.chunks_exact(2)) {
                let ur = wins(t[0], t[1]);
                let upper = if ur { t[1] } else { t[0] };
                let lr = wins(b[0], b[1]);
                let lower = if lr { b[1] } else { b[0] };
                let take = wins(upper, lower);
                out.push(if take { lower } else { upper });
                arg.push(if take { 2 + u8::from(lr) } else { u8::from(ur) });
            }
        }
    }
    (out, arg)
}

/// The two-pass forward (SSE2 second pass on x86-64) picks the same winners as the one-pass
/// tournament, bit for bit (−0 against +0, NaN payloads, ties everywhere), for row lengths
/// below, at and above the SIMD width and across the 16-plane task boundary.
#[test]
fn two_pass_forward_matches_the_one_pass_tournament_bit_for_bit() {
    let palette = [
        -1.0f32,
        -0.0,
        0.0,
        1.0,
        2.0,
        f32::NAN,
        f32::from_bits(0x7fc0_0001),
        f32::from_bits(0xffc0_0002),
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let mut rng = Rng::new(5);
    for (planes, h, w) in [
        (1, 2, 2),
        (3, 2, 6),
        (17, 4, 8),
        (5, 6, 10),
        (33, 14, 14),
        (20, 28, 28),
        (2, 8, 34),
    ] {
        let x: Vec<f32> = (0..planes * h * w)
            .map(|_| {
                let r = rng.vec(1)[0].abs();
                palette[((r * 1e4) as usize) % palette.len()]
            })
            .collect();
        let (want_y, want_arg) = one_pass_tournament(&x, h, w);
        let (y, arg) = cpu::forward(&x, h, w);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&want_y), "values, {planes}x{h}x{w}");
        assert_eq!(arg, want_arg, "argmax, {planes}x{h}x{w}");
    }
}

/// The SSE2 second pass against the scalar one on every row length from 4 to 19.
#[cfg(target_arch = "x86_64")]
#[test]
fn sse2_second_pass_matches_scalar() {
    let palette = [
        -2.0f32,
        -0.0,
        0.0,
        3.0,
        f32::NAN,
        f32::from_bits(0xffc0_0003),
    ];
    let mut rng = Rng::new(9);
    let mut pick = |n: usize| -> Vec<f32> {
        rng.vec(n)
            .iter()
            .map(|r| palette[((r.abs() * 1e4) as usize) % palette.len()])
            .collect()
    };
    for n in 4..20 {
        let (u, l) = (pick(n), pick(n));
        let ur: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        let lr: Vec<u8> = (0..n).map(|i| ((i / 3) % 2) as u8).collect();
        let (mut o1, mut a1) = (vec![9.0; n], vec![9u8; n]);
        let (mut o2, mut a2) = (vec![7.0; n], vec![7u8; n]);
        cpu::vertical_scalar(&u, &l, (&ur, &lr), &mut o1, &mut a1);
        crate::raw::pool_vertical_sse2(&u, &l, (&ur, &lr), &mut o2, &mut a2);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&o1), bits(&o2), "values, n = {n}");
        assert_eq!(a1, a2, "argmax, n = {n}");
    }
}

/// The fused op's one-pass scatter writes the bits the pool's backward adds onto zeros,
/// including −0 (which becomes +0 in both), NaN and stale contents of the buffer.
#[test]
fn unpool_into_gives_the_bits_of_unpool_add_on_zeros() {
    // 11 windows a row: the wide levels' 8-window vectors and a scalar rest.
    let (planes, h, w) = (3, 4, 22);
    let n_out = planes * (h / 2) * (w / 2);
    let mut rng = Rng::new(21);
    let mut dy = rng.vec(n_out);
    dy[0] = -0.0;
    dy[1] = f32::NAN;
    dy[2] = 0.0;
    let arg: Vec<u8> = (0..n_out).map(|i| (i * 7 % 4) as u8).collect();
    let mut added = vec![0.0f32; planes * h * w];
    cpu::unpool_add(&mut added, &dy, &arg, w);
    let mut written = vec![f32::NAN; planes * h * w];
    cpu::unpool_into(&mut written, &dy, &arg, w);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&written), bits(&added));
    assert!(written.iter().filter(|v| v.is_nan()).count() == 1);
    assert!(written.iter().all(|v| v.to_bits() != (-0.0f32).to_bits()));
}

/// The pooling loops compiled for AVX-512, AVX2 and baseline x86-64 give the same bits.
#[test]
fn every_simd_level_pools_and_scatters_the_same_bits() {
    // Rows of 5, 11 and 16 windows: below, across and at the vector widths.
    for w in [10, 22, 32] {
        every_simd_level_gives_the_same_bits(5, 6, w);
    }
}

fn every_simd_level_gives_the_same_bits(planes: usize, h: usize, w: usize) {
    let mut rng = Rng::new(22);
    let mut x = rng.vec(planes * h * w);
    x[3] = f32::NAN;
    x[10] = -0.0;
    x[11] = 0.0;
    let n_out = planes * (h / 2) * (w / 2);
    let mut dy = rng.vec(n_out);
    dy[1] = -0.0;
    dy[9] = f32::NAN;
    let results = crate::simd::at_each_level(|| {
        let (mut out, mut arg) = (vec![0.0f32; n_out], vec![0u8; n_out]);
        let (mut pm, mut pr) = (vec![0.0f32; h * w / 2], vec![0u8; h * w / 2]);
        cpu::pool_planes(&x, &mut out, &mut arg, w, &mut pm, &mut pr);
        let mut written = vec![f32::NAN; planes * h * w];
        cpu::unpool_into(&mut written, &dy, &arg, w);
        let mut added = x.clone();
        cpu::unpool_add(&mut added, &dy, &arg, w);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        (bits(&out), arg, bits(&written), bits(&added))
    });
    assert!(!results.is_empty());
    for (level, r) in &results[1..] {
        assert_eq!(
            r, &results[0].1,
            "w {w}: {level:?} against {:?}",
            results[0].0
        );
    }
}
