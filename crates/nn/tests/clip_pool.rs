//! The fused relu → clip → max-pool (pool first, clip a quarter of the elements) against the
//! unfused order (clip every element, then pool): values, ∂L/∂x, ∂L/∂ρ and clip counts for
//! every strategy, per layer and per channel; saturated ties; bit-identity across thread
//! counts.

use clipbench_clip::{ClipLayer, ClipParams, Strategy};
use clipbench_nn::{clip_max_pool2d, clip_then_pool, Shape4, Tensor4};
use dfdx::prelude::*;

type Res = Result<(), Box<dyn std::error::Error>>;

const SHAPE: Shape4 = (3, 4, 6, 8);

fn numel(s: Shape4) -> usize {
    s.0 * s.1 * s.2 * s.3
}

/// xorshift values in [-scale, scale): distinct, so no window has tied maxima.
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

struct Out {
    y: Vec<f32>,
    dx: Vec<f32>,
    drho: Vec<f32>,
    saturated: u64,
}

fn layer(
    s: Strategy,
    per_channel: bool,
    dev: &Cpu,
) -> Result<ClipLayer<Cpu>, Box<dyn std::error::Error>> {
    let mut p = ClipParams::new(s, 1.0);
    p.per_channel = per_channel;
    p.beta = 3.0;
    let mut l = ClipLayer::new(p, SHAPE.1, true, dev)?;
    if per_channel {
        // Different θ per channel (0.4 .. 1.6), so a wrong channel mapping shows.
        // θ is the stored parameter (the default `direct` parametrisation).
        let theta: Vec<f32> = (0..SHAPE.1).map(|c| 0.4 + 0.4 * c as f32).collect();
        l.param = Some(dev.tensor_from_vec(theta, (SHAPE.1,)));
    }
    Ok(l)
}

/// L = Σ coeff ⊙ op(x).
fn run(
    l: &ClipLayer<Cpu>,
    x: &[f32],
    coeff: &[f32],
    fused: bool,
) -> Result<Out, Box<dyn std::error::Error>> {
    let dev = Cpu::default();
    let xt: Tensor4<Cpu> = dev.tensor_from_vec(x.to_vec(), SHAPE);
    let (b, c, h, w) = SHAPE;
    let ct = dev.tensor_from_vec(coeff.to_vec(), (b, c, h / 2, w / 2));
    let (y, st) = if fused {
        clip_max_pool2d(l, xt.leaky_trace(), true)?
    } else {
        clip_then_pool(l, xt.leaky_trace(), true)?
    };
    let yv = y.as_vec();
    let g = (y * ct).sum::<Rank0, _>().backward();
    let drho = l
        .param
        .as_ref()
        .map(|r| g.get(r).as_vec())
        .unwrap_or_default();
    Ok(Out {
        y: yv,
        dx: g.get(&xt).as_vec(),
        drho,
        saturated: st.map(|s| s.saturated).unwrap_or(u64::MAX),
    })
}

fn close(a: &[f32], b: &[f32], rel: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let tol = rel * x.abs().max(y.abs()).max(1e-6);
        assert!((x - y).abs() <= tol, "{what}[{i}]: {x} vs {y}");
    }
}

#[test]
fn fused_matches_clip_then_pool_for_every_strategy() -> Res {
    let dev = Cpu::default();
    let n = numel(SHAPE);
    let x = data(7, n, 3.0);
    let coeff = data(11, n / 4, 1.0);
    for s in Strategy::ALL {
        for per_channel in [false, true] {
            if per_channel && !s.has_threshold() {
                continue;
            }
            let l = layer(s, per_channel, &dev)?;
            let what = format!("{s} per_channel={per_channel}");
            let f = run(&l, &x, &coeff, true)?;
            let u = run(&l, &x, &coeff, false)?;
            // Same element function on the same window maximum: the values are the same bits.
            assert_eq!(f.y, u.y, "{what}: y");
            assert_eq!(f.dx, u.dx, "{what}: dx");
            assert_eq!(f.saturated, u.saturated, "{what}: clip count");
            // ∂L/∂ρ: the same non-zero terms summed in another order.
            close(&f.drho, &u.drho, 1e-5, &format!("{what}: drho"));
            if s.has_threshold() && s != Strategy::SeedSoftplus {
                assert!(f.drho.iter().any(|v| *v != 0.0), "{what}: drho all zero");
                assert!(f.saturated > 0, "{what}: nothing saturated");
            }
        }
    }
    Ok(())
}

#[test]
fn saturated_and_negative_ties_carry_the_same_gradients() -> Res {
    // Inputs k + 0.5 (k integer in [-6, 6]) against θ = 1: most windows hold several
    // elements clipped to the same value (or relu's 0). Pooling the raw values picks the
    // largest; pooling the clipped ones picks the first tied one. Their derivatives agree.
    // (Not at x = θ exactly, the kink, where the two orders may take different one-sided
    // derivatives; both are valid subgradients.)
    let dev = Cpu::default();
    let n = numel(SHAPE);
    let x: Vec<f32> = data(3, n, 6.0).iter().map(|v| v.round() + 0.5).collect();
    let coeff = data(5, n / 4, 1.0);
    for s in [Strategy::HardClamp, Strategy::Pact, Strategy::None] {
        let l = layer(s, false, &dev)?;
        let f = run(&l, &x, &coeff, true)?;
        let u = run(&l, &x, &coeff, false)?;
        assert_eq!(f.y, u.y, "{s}: y");
        assert_eq!(
            f.dx.iter().sum::<f32>(),
            u.dx.iter().sum::<f32>(),
            "{s}: Σ dx"
        );
        close(&f.drho, &u.drho, 1e-6, &format!("{s}: drho"));
    }
    Ok(())
}

#[test]
fn fused_is_bit_identical_for_one_and_two_threads() -> Res {
    let dev = Cpu::default();
    let n = numel(SHAPE);
    let x = data(9, n, 3.0);
    let coeff = data(13, n / 4, 1.0);
    let l = layer(Strategy::TanhLearnable, true, &dev)?;
    let mut outs = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let o = pool.install(|| run(&l, &x, &coeff, true).map_err(|e| e.to_string()))?;
        outs.push(o);
    }
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&outs[0].y), bits(&outs[1].y));
    assert_eq!(bits(&outs[0].dx), bits(&outs[1].dx));
    assert_eq!(bits(&outs[0].drho), bits(&outs[1].drho));
    Ok(())
}

#[test]
fn a_per_channel_layer_rejects_another_channel_count() -> Res {
    let dev = Cpu::default();
    let l = layer(Strategy::Pact, true, &dev)?;
    let x: Tensor4<Cpu> = dev.zeros_like(&(1, SHAPE.1 + 1, 4, 4));
    let msg = clip_max_pool2d(&l, x, false)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains(&format!("{}", SHAPE.1)), "{msg}");
    Ok(())
}
