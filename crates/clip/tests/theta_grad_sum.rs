//! ∂L/∂θ over millions of activations on the composed path (the one CUDA runs). dfdx sums a
//! broadcast's gradient in plain f32, one element after another; over 4M same-signed terms
//! that loses whole percents. The composed path therefore broadcasts θ one axis at a time, so
//! each sum is over one axis (≤ batch size terms). Checked against the fused Cpu kernel, which
//! accumulates θ's gradient in f64.

use clipbench_clip::composed::clip_composed;
use clipbench_clip::fused::clip_fused;
use clipbench_clip::{ClipLayer, ClipParams, Shape4, Strategy, ThetaParam};
use dfdx::prelude::*;

mod common;
use common::lcg;

type Res = Result<(), Box<dyn std::error::Error>>;

#[test]
fn theta_gradient_over_4m_activations_matches_the_f64_fused_sum() -> Res {
    let dev = Cpu::default();
    // 64 × 16 × 64 × 64 = 4,194,304 activations: conv1 of a batch of 64 on 64×64 images.
    let dims: Shape4 = (64, 16, 64, 64);
    let n = dims.0 * dims.1 * dims.2 * dims.3;
    let x = dev.tensor_from_vec(lcg(3, n, 0.0, 3.0), dims);
    // Same-signed upstream gradients: the case where a running f32 sum drifts furthest.
    let coef = dev.tensor_from_vec(lcg(5, n, 0.5, 1.0), dims);
    let cases = [
        (Strategy::TanhLearnable, ThetaParam::Direct, false),
        (Strategy::SoftplusLearnable, ThetaParam::Direct, false),
        (Strategy::Pact, ThetaParam::Direct, false),
        (Strategy::SoftsignLearnable, ThetaParam::Softplus, false),
        (Strategy::TanhLearnable, ThetaParam::Softplus, true),
    ];
    for (s, tp, per_channel) in cases {
        let mut p = ClipParams::new(s, 1.5);
        p.theta_param = tp;
        p.per_channel = per_channel;
        let layer = ClipLayer::new(p, dims.1, false, &dev)?;
        let Some(param) = &layer.param else {
            return Err(format!("{s} has no θ parameter").into());
        };
        let (yf, _) = clip_fused(&layer, x.leaky_trace())?;
        let gf = (yf * coef.clone()).sum().backward();
        let (yc, _) = clip_composed(&layer, x.leaky_trace(), false)?;
        let gc = (yc * coef.clone()).sum().backward();
        let (want, got) = (gf.get(param).as_vec(), gc.get(param).as_vec());
        assert_eq!(want.len(), got.len());
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            let rel = ((g - w) / w).abs();
            eprintln!("{s} {tp} per_channel={per_channel} ∂θ[{i}]: rel {rel:.2e}");
            assert!(
                w.abs() > 1.0 && rel < 1e-4,
                "{s} {tp} per_channel={per_channel} ∂θ[{i}]: composed {g} vs fused {w} (rel {rel:.2e})"
            );
        }
    }
    Ok(())
}
