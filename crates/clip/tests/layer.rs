//! The clip layer as dfdx ops: the fused Cpu kernel against the composed public-op version,
//! in values and in gradients of x and θ, per layer and per channel, with and without relu.

use clipbench_clip::composed::clip_composed;
use clipbench_clip::fused::clip_fused;
use clipbench_clip::StrategyKernels;
use clipbench_clip::{ClipLayer, ClipParams, Shape4, Strategy, ThetaParam};
use dfdx::prelude::*;

mod common;
use common::lcg;

type Res = Result<(), Box<dyn std::error::Error>>;

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn fused_equals_composed_in_values_and_gradients() -> Res {
    let dev = Cpu::default();
    let dims: Shape4 = (2, 3, 4, 5);
    let n = 2 * 3 * 4 * 5;
    for (s, tp) in Strategy::ALL
        .into_iter()
        .flat_map(|s| ThetaParam::ALL.map(|tp| (s, tp)))
    {
        for per_channel in [false, true] {
            for pre_relu in [false, true] {
                let mut p = ClipParams::new(s, 1.3);
                p.per_channel = per_channel;
                p.beta = 2.0;
                p.theta_param = tp;
                let layer = ClipLayer::new(p, 3, pre_relu, &dev)?;
                let x = dev.tensor_from_vec(lcg(7, n, -4.0, 4.0), dims);
                let coef = dev.tensor_from_vec(lcg(9, n, -1.0, 1.0), dims);
                let ctx = format!("{s} {tp} per_channel={per_channel} relu={pre_relu}");

                let (yf, stats_f) = clip_fused(&layer, x.leaky_trace())?;
                let yf_vals = yf.as_vec();
                let mut gf = (yf * coef.clone()).sum().backward();
                let (yc, stats_c) = clip_composed(&layer, x.leaky_trace(), true)?;
                let yc_vals = yc.as_vec();
                let gc = (yc * coef.clone()).sum().backward();

                close(&yf_vals, &yc_vals, 2e-6, &format!("{ctx} y"));
                close(
                    &gf.get(&x).as_vec(),
                    &gc.get(&x).as_vec(),
                    2e-6,
                    &format!("{ctx} ∂x"),
                );
                assert_eq!(Some(stats_f), stats_c, "{ctx} clip stats");
                if let Some(param) = &layer.param {
                    let mut gc = gc;
                    gc.try_alloc_for(param)?;
                    let (a, b) = (gf.get(param).as_vec(), gc.get(param).as_vec());
                    close(&a, &b, 1e-5, &format!("{ctx} ∂θ-parameter"));
                    let dt = layer.theta_grad(&mut gf)?;
                    assert_eq!(dt.len(), if per_channel { 3 } else { 1 });
                }
            }
        }
    }
    Ok(())
}

#[test]
fn theta_gradient_of_the_layer_matches_the_f64_reference() -> Res {
    let dev = Cpu::default();
    let dims: Shape4 = (4, 2, 8, 8);
    let n = 4 * 2 * 8 * 8;
    let xs = lcg(3, n, -5.0, 5.0);
    let gy = lcg(5, n, -1.0, 1.0);
    for (s, tp) in [
        Strategy::TanhLearnable,
        Strategy::SoftplusLearnable,
        Strategy::Pact,
    ]
    .into_iter()
    .flat_map(|s| ThetaParam::ALL.map(|tp| (s, tp)))
    {
        let mut p = ClipParams::new(s, 1.7);
        p.theta_param = tp;
        let layer = ClipLayer::new(p, 2, true, &dev)?;
        let theta = layer.theta()[0];
        let x = dev.tensor_from_vec(xs.clone(), dims);
        let (y, _) = clip_fused(&layer, x.leaky_trace())?;
        let mut g = (y * dev.tensor_from_vec(gy.clone(), dims)).sum().backward();
        let want: f64 = xs
            .iter()
            .zip(&gy)
            .map(|(&x, &g)| g as f64 * s.eval64((x as f64).max(0.0), theta, 1.0).dydt)
            .sum();
        let got = layer.theta_grad(&mut g)?[0];
        assert!(
            (got - want).abs() < 1e-4 * want.abs().max(1.0),
            "{s} {tp}: {got} vs {want}"
        );
    }
    Ok(())
}

#[test]
fn seed_softplus_is_relu_and_its_threshold_gets_exactly_zero_gradient() -> Res {
    // The seed's claim was a learnable smooth clip; it is relu(x) (up to f32 rounding of the
    // seed's formula) and θ never moves: its θ-gradient is 0.0 exactly, on the fused path and
    // on the composed path CUDA runs, for both parametrisations.
    let dev = Cpu::default();
    let dims: Shape4 = (2, 4, 6, 6);
    let n = 2 * 4 * 6 * 6;
    let xs = lcg(11, n, -6.0, 6.0);
    let coef = dev.tensor_from_vec(lcg(12, n, -1.0, 1.0), dims);
    for tp in ThetaParam::ALL {
        for per_channel in [false, true] {
            let mut p = ClipParams::new(Strategy::SeedSoftplus, 1.3);
            p.theta_param = tp;
            p.per_channel = per_channel;
            let layer = ClipLayer::new(p, 4, false, &dev)?;
            let param = layer
                .param
                .as_ref()
                .ok_or("seed-softplus has a threshold")?;
            let zeros = vec![0.0f32; if per_channel { 4 } else { 1 }];
            let x = dev.tensor_from_vec(xs.clone(), dims);
            let (y, stats) = clip_fused(&layer, x.leaky_trace())?;
            for (a, b) in y.as_vec().iter().zip(&xs) {
                assert!(
                    (a - b.max(0.0)).abs() <= 1e-6 * (1.0 + b.abs()),
                    "{a} vs relu({b})"
                );
            }
            assert_eq!(stats.saturated, 0);
            let mut g = (y * coef.clone()).sum().backward();
            assert_eq!(g.get(param).as_vec(), zeros, "fused {tp}");
            assert!(layer.theta_grad(&mut g)?.iter().all(|v| *v == 0.0));

            let (y, _) = clip_composed(&layer, x.leaky_trace(), false)?;
            let mut g = (y * coef.clone()).sum().backward();
            g.try_alloc_for(param)?;
            assert_eq!(g.get(param).as_vec(), zeros, "composed {tp}");
            assert!(layer.theta_grad(&mut g)?.iter().all(|v| *v == 0.0));
        }
    }
    Ok(())
}

#[test]
fn direct_theta_is_the_stored_parameter() -> Res {
    let dev = Cpu::default();
    for theta0 in [0.1, 1.0, 2.0, 10.0] {
        let mut p = ClipParams::new(Strategy::TanhLearnable, theta0);
        let layer = ClipLayer::new(p, 3, true, &dev)?;
        let stored = layer.param.as_ref().ok_or("θ")?.as_vec();
        assert_eq!(stored, vec![theta0 as f32]);
        assert_eq!(layer.theta_f32(), stored);
        assert_eq!(layer.dtheta_dparam(), vec![1.0]);
        p.theta_param = ThetaParam::Softplus;
        let layer = ClipLayer::new(p, 3, true, &dev)?;
        let rho = layer.param.as_ref().ok_or("ρ")?.as_vec()[0];
        assert!((layer.theta()[0] - theta0).abs() < 1e-6 * theta0);
        assert_ne!(rho, theta0 as f32);
    }
    Ok(())
}

#[test]
fn bad_parameters_and_shapes_are_errors() -> Res {
    let dev = Cpu::default();
    let bad = ClipLayer::new(ClipParams::new(Strategy::TanhLearnable, 0.0), 3, true, &dev);
    assert!(bad
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
        .contains("θ0 = 0"));
    let mut p = ClipParams::new(Strategy::SoftplusLearnable, 1.0);
    p.beta = -1.0;
    assert!(ClipLayer::new(p, 3, true, &dev).is_err());
    p.beta = 1.0;
    p.per_channel = true;
    let layer = ClipLayer::new(p, 3, true, &dev)?;
    let x = dev.tensor_from_vec(vec![0.0; 2 * 4], (1usize, 2usize, 2usize, 2usize));
    let msg = clip_fused(&layer, x)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("(batch, 3, h, w)"), "{msg}");
    Ok(())
}
