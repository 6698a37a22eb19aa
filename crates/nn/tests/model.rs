//! SimpleCNN: both input shapes, the flatten size, shape errors instead of silent reshapes,
//! config validation, and that every parameter receives a gradient.

use clipbench_clip::Strategy;
use clipbench_nn::model::{ModelConfig, ParamKind, SimpleCnn};
use dfdx::prelude::*;

type Res = Result<(), Box<dyn std::error::Error>>;

#[test]
fn both_inputs_give_ten_logits_and_the_right_flatten_size() -> Res {
    let dev = Cpu::default();
    for (input, flat) in [([1, 28, 28], 32 * 7 * 7), ([3, 32, 32], 32 * 8 * 8)] {
        let cfg = ModelConfig::new(input, Strategy::TanhLearnable);
        assert_eq!(cfg.flat_features(), flat);
        let m = SimpleCnn::new(cfg, 1, &dev)?;
        let [c, h, w] = input;
        let x = dev.tensor_from_vec(vec![0.5f32; 3 * c * h * w], (3, c, h, w));
        let (logits, stats) = m.forward(x, true)?;
        assert_eq!(*logits.shape(), (3, 10));
        assert!(logits.as_vec().iter().all(|v| v.is_finite()));
        assert!(stats.iter().all(Option::is_some));
    }
    Ok(())
}

#[test]
fn a_wrong_input_shape_is_an_error_not_a_reshape() -> Res {
    // The seed's view(-1, 32*8*8) silently mixed samples on 32×32 and crashed on 28×28.
    let dev = Cpu::default();
    let m = SimpleCnn::new(ModelConfig::new([3, 32, 32], Strategy::None), 1, &dev)?;
    let x = dev.tensor_from_vec(vec![0.0f32; 2 * 3 * 28 * 28], (2, 3, 28, 28));
    let msg = m
        .forward(x, false)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("(B >= 1, 3, 32, 32)") && msg.contains("(2, 3, 28, 28)"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn invalid_configs_name_the_key() {
    let dev = Cpu::default();
    let mut cfg = ModelConfig::new([3, 28, 28], Strategy::Pact);
    let msg = SimpleCnn::new(cfg, 1, &dev)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("model.input"), "{msg}");
    cfg.input = [1, 28, 28];
    cfg.widths = [0, 32];
    let msg = SimpleCnn::new(cfg, 1, &dev)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("model.widths"), "{msg}");
    cfg.widths = [16, 32];
    cfg.clip.theta0 = [1.0, -2.0];
    let msg = SimpleCnn::new(cfg, 1, &dev)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("θ0 = -2"), "{msg}");
}

#[test]
fn every_parameter_gets_a_nonzero_gradient_and_seeds_differ() -> Res {
    let dev = Cpu::default();
    let cfg = ModelConfig::new([1, 28, 28], Strategy::SoftplusLearnable);
    let mut m = SimpleCnn::new(cfg, 3, &dev)?;
    let xs: Vec<f32> = (0..4 * 784)
        .map(|i| ((i * 37 % 101) as f32) / 50.0 - 0.5)
        .collect();
    let x = dev.tensor_from_vec(xs, (4, 1, 28, 28));
    let (logits, _) = m.forward(x.traced(Gradients::leaky()), false)?;
    let mut grads = logits.square().sum().backward();
    let params = m.params_mut();
    assert_eq!(params.len(), 8);
    for p in &params {
        let g = p.grad(&mut grads)?;
        assert!(g.iter().any(|v| *v != 0.0), "{} got no gradient", p.name);
        if let ParamKind::Theta { trainable, .. } = p.kind {
            assert!(trainable);
        }
    }
    let first = params[0].values();
    let mut other = SimpleCnn::new(cfg, 4, &dev)?;
    assert_ne!(first, other.params_mut()[0].values());
    Ok(())
}
