//! `none`: y = x. The baseline without clipping (the CNN's ReLU still applies).

use dfdx::prelude::*;

use super::{ClipFn, Eval};
use crate::layer::Shape4;

#[derive(Clone, Copy, Debug, Default)]
pub struct Identity;

impl ClipFn for Identity {
    const MONOTONE: bool = true;

    fn eval64(&self, x: f64, _theta: f64) -> Eval<f64> {
        Eval {
            y: x,
            dydx: 1.0,
            dydt: 0.0,
        }
    }
    #[inline(always)]
    fn forward(&self, x: f32, _theta: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn backward(&self, _x: f32, _y: f32, _theta: f32) -> (f32, f32) {
        (1.0, 0.0)
    }
    #[inline(always)]
    fn saturated(&self, _x: f32, _theta: f32) -> bool {
        false
    }
    fn composed<D: Device<f32>, T: Tape<f32, D>>(
        &self,
        x: Tensor<Shape4, f32, D, T>,
        t: Tensor<Shape4, f32, D, T>,
    ) -> Tensor<Shape4, f32, D, T> {
        drop(t);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_identity_with_no_threshold_gradient() {
        for x in [-1e4, -1.5, 0.0, 2.5e-7, 3.0] {
            assert_eq!(
                Identity.eval64(x, 1.0),
                Eval {
                    y: x,
                    dydx: 1.0,
                    dydt: 0.0
                }
            );
            assert_eq!(Identity.forward(x as f32, 1.0), x as f32);
            assert!(!Identity.saturated(x as f32, 1.0));
        }
    }
}
