//! Parameter initialisation matching PyTorch's defaults for `nn.Conv2d` / `nn.Linear`:
//! kaiming_uniform_(a = √5) for the weight and U(±1/√fan_in) for the bias, which both reduce
//! to U(−1/√fan_in, 1/√fan_in). Values come from a seeded SplitMix64 on the host and are then
//! uploaded, so a seed gives bit-identical parameters on every device.

use crate::{NnError, Tensor1, Tensor2, Tensor4};
use dfdx::tensor::TensorFromVec;

pub use clipbench_core::rng::SplitMix64;

/// `n` values uniform in [−bound, bound], rounded to f32.
pub fn uniform_vec(rng: &mut SplitMix64, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((2.0 * rng.next_f64() - 1.0) * bound) as f32)
        .collect()
}

/// PyTorch's default bound 1/√fan_in.
pub fn default_bound(fan_in: usize) -> f64 {
    1.0 / (fan_in.max(1) as f64).sqrt()
}

/// Conv weight (O, C, KH, KW) and bias (O,), fan_in = C·KH·KW; the weight is drawn first, in
/// row-major order, then the bias.
pub fn conv2d_params<D: TensorFromVec<f32>>(
    dev: &D,
    rng: &mut SplitMix64,
    (o, c, kh, kw): (usize, usize, usize, usize),
) -> Result<(Tensor4<D>, Tensor1<D>), NnError> {
    let bound = default_bound(c * kh * kw);
    let err = |e| NnError::device("init::conv2d_params", e);
    let w = dev
        .try_tensor_from_vec(uniform_vec(rng, o * c * kh * kw, bound), (o, c, kh, kw))
        .map_err(err)?;
    let b = dev
        .try_tensor_from_vec(uniform_vec(rng, o, bound), (o,))
        .map_err(err)?;
    Ok((w, b))
}

/// Linear weight (in, out) and bias (out,), fan_in = in; weight first (row-major), then bias.
pub fn linear_params<D: TensorFromVec<f32>>(
    dev: &D,
    rng: &mut SplitMix64,
    inputs: usize,
    outputs: usize,
) -> Result<(Tensor2<D>, Tensor1<D>), NnError> {
    let bound = default_bound(inputs);
    let err = |e| NnError::device("init::linear_params", e);
    let w = dev
        .try_tensor_from_vec(uniform_vec(rng, inputs * outputs, bound), (inputs, outputs))
        .map_err(err)?;
    let b = dev
        .try_tensor_from_vec(uniform_vec(rng, outputs, bound), (outputs,))
        .map_err(err)?;
    Ok((w, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::prelude::*;

    #[test]
    fn params_are_within_bound_seeded_and_spread() -> Result<(), NnError> {
        let dev = Cpu::default();
        let (w, b) = conv2d_params(&dev, &mut SplitMix64::new(7), (16, 3, 3, 3))?;
        let bound = (1.0 / 27f64.sqrt()) as f32;
        let wv = w.as_vec();
        assert_eq!(wv.len(), 432);
        assert!(wv.iter().chain(&b.as_vec()).all(|v| v.abs() <= bound));
        // U(−a, a) has variance a²/3; 432 draws land well within 20% of it.
        let var = wv.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / wv.len() as f64;
        let want = f64::from(bound).powi(2) / 3.0;
        assert!((var / want - 1.0).abs() < 0.2, "variance {var} vs {want}");
        let (w2, _) = conv2d_params(&dev, &mut SplitMix64::new(7), (16, 3, 3, 3))?;
        assert_eq!(wv, w2.as_vec());
        let (lw, lb) = linear_params(&dev, &mut SplitMix64::new(7), 2048, 10)?;
        assert_eq!(lw.shape(), &(2048, 10));
        assert_eq!(lb.shape(), &(10,));
        assert!(lw
            .as_vec()
            .iter()
            .all(|v| v.abs() <= (1.0 / 2048f64.sqrt()) as f32));
        Ok(())
    }
}
