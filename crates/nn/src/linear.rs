//! Fully connected layer y = x · W + b on dfdx's `matmul` (whose Cpu kernel already calls
//! `gemm`), with shapes checked up front so a wrong config is an error, not a dfdx panic.

use crate::{NnError, Tensor1, Tensor2};
use dfdx::shapes::{Axis, HasShape};
use dfdx::tensor::{Merge, Tape};
use dfdx::tensor_ops::{BroadcastTo, Device, TryAdd, TryMatMul};

const OP: &str = "linear";

/// x (B, K) · weight (K, N) + bias (N,) → (B, N). The weight is stored (in, out), the
/// transpose of PyTorch's `nn.Linear.weight`.
pub fn linear<D, T, R>(
    x: Tensor2<D, T>,
    weight: Tensor2<D, R>,
    bias: Tensor1<D, R>,
) -> Result<Tensor2<D, T>, NnError>
where
    D: Device<f32>,
    T: Tape<f32, D> + Merge<R>,
    R: Tape<f32, D>,
{
    let (b, k) = *x.shape();
    let (wk, n) = *weight.shape();
    let (bn,) = *bias.shape();
    if b == 0 || k == 0 {
        return Err(NnError::shape(OP, "input", "(B, K) with B, K >= 1", (b, k)));
    }
    if wk != k || n == 0 {
        return Err(NnError::shape(
            OP,
            "weight",
            format!("({k}, N >= 1) with K = {k} from the input"),
            (wk, n),
        ));
    }
    if bn != n {
        return Err(NnError::shape(
            OP,
            "bias",
            format!("({n},) to match the weight's N"),
            (bn,),
        ));
    }
    let err = |e| NnError::device(OP, e);
    let y = x.try_matmul(weight).map_err(err)?;
    let bias = bias
        .try_broadcast_like::<_, Axis<0>>(&(b, n))
        .map_err(err)?;
    y.try_add(bias).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng};
    use dfdx::prelude::*;

    /// Reference: y[i][j] = Σ_k x[i][k]·W[k][j] + b[j] (torch: x @ W + b), in f64; and
    /// for L = Σ c⊙y: dx = c·Wᵀ, dW = xᵀ·c, db = Σ_i c.
    #[test]
    fn linear_matches_naive_f64_values_and_gradients() -> Result<(), NnError> {
        let dev = Cpu::default();
        let (b, k, n) = (5, 7, 3);
        let mut rng = Rng::new(11);
        let (xv, wv, bv, cv) = (rng.vec(b * k), rng.vec(k * n), rng.vec(n), rng.vec(b * n));
        let x = dev.tensor_from_vec(xv.clone(), (b, k));
        let w = dev.tensor_from_vec(wv.clone(), (k, n));
        let bias = dev.tensor_from_vec(bv.clone(), (n,));
        let c = dev.tensor_from_vec(cv.clone(), (b, n));
        let y = linear(
            x.leaky_trace(),
            w.retaped::<OwnedTape<f32, Cpu>>(),
            bias.retaped(),
        )?;
        let mut want = vec![0.0f64; b * n];
        let (mut dx, mut dw, mut db) = (vec![0.0; b * k], vec![0.0; k * n], vec![0.0; n]);
        for i in 0..b {
            for j in 0..n {
                let ci = f64::from(cv[i * n + j]);
                want[i * n + j] = f64::from(bv[j]);
                db[j] += ci;
                for p in 0..k {
                    want[i * n + j] += f64::from(xv[i * k + p]) * f64::from(wv[p * n + j]);
                    dx[i * k + p] += ci * f64::from(wv[p * n + j]);
                    dw[p * n + j] += ci * f64::from(xv[i * k + p]);
                }
            }
        }
        assert_close(&y.as_vec(), &want, 1e-5, "y");
        let g = (y * c).sum::<Rank0, _>().backward();
        assert_close(&g.get(&x).as_vec(), &dx, 1e-5, "dx");
        assert_close(&g.get(&w).as_vec(), &dw, 1e-5, "dW");
        assert_close(&g.get(&bias).as_vec(), &db, 1e-5, "db");
        Ok(())
    }

    #[test]
    fn linear_rejects_mismatched_shapes() {
        let dev = Cpu::default();
        let x: Tensor2<Cpu> = dev.zeros_like(&(2, 4));
        let w: Tensor2<Cpu> = dev.zeros_like(&(5, 3));
        let b: Tensor1<Cpu> = dev.zeros_like(&(3,));
        let e = linear(x, w, b)
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("weight has shape (5, 3)"), "{e}");
    }
}
