//! Per-channel standardisation with statistics from the training split only.
//!
//! Statistics come from train alone so nothing about the test set leaks into training, and
//! are accumulated in f64: a 60,000 x 784 sum in f32 loses the low digits of the mean.

use crate::{DataSplits, Dataset};

pub use clipbench_core::dataset::ChannelStats;

/// A channel whose values are all equal has std 0; dividing by it would give NaN/inf, so such
/// a channel is only centred (divided by 1).
const MIN_STD: f64 = 1e-12;

/// Computing and applying [`ChannelStats`] (the record type is core's).
pub trait Normalize: Sized {
    /// Mean and population std of each channel over every image and pixel of `data`.
    fn compute(data: &Dataset) -> Self;
    /// Applies `(x - mean) / std` per channel in place (std below 1e-12 counts as 1).
    fn apply(&self, data: &mut Dataset);
}

impl Normalize for ChannelStats {
    fn compute(data: &Dataset) -> Self {
        let c = data.channels();
        let plane = data.height() * data.width();
        let mut sum = vec![0f64; c];
        let mut sum_sq = vec![0f64; c];
        for img in data.images().chunks_exact(c * plane) {
            for (ch, values) in img.chunks_exact(plane).enumerate() {
                for &v in values {
                    let v = f64::from(v);
                    sum[ch] += v;
                    sum_sq[ch] += v * v;
                }
            }
        }
        let n = (data.len() * plane) as f64;
        let mean: Vec<f64> = sum
            .iter()
            .map(|s| if n > 0.0 { s / n } else { 0.0 })
            .collect();
        let std = sum_sq
            .iter()
            .zip(&mean)
            .map(|(sq, m)| {
                if n > 0.0 {
                    (sq / n - m * m).max(0.0).sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        Self { mean, std }
    }

    /// Panics if `data` has a different channel count than these statistics (a caller bug).
    fn apply(&self, data: &mut Dataset) {
        let c = data.channels();
        assert_eq!(
            c,
            self.mean.len(),
            "channel count of data vs normalisation stats"
        );
        let plane = data.height() * data.width();
        let scale: Vec<(f32, f32)> = self
            .mean
            .iter()
            .zip(&self.std)
            .map(|(&m, &s)| (m as f32, if s < MIN_STD { 1.0 } else { (1.0 / s) as f32 }))
            .collect();
        for img in data.images_mut().chunks_exact_mut(c * plane) {
            for (values, &(m, inv)) in img.chunks_exact_mut(plane).zip(&scale) {
                for v in values {
                    *v = (*v - m) * inv;
                }
            }
        }
    }
}

/// Computes the statistics on `splits.train`, applies them to train and test, and returns them.
pub fn normalize(splits: &mut DataSplits) -> ChannelStats {
    let stats = ChannelStats::compute(&splits.train);
    stats.apply(&mut splits.train);
    stats.apply(&mut splits.test);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DataError, DatasetName};

    #[test]
    fn stats_come_from_train_and_apply_to_both() -> Result<(), DataError> {
        // 2 images of 2 channels x 1x2; channel 0 values {0, 1, 0, 1}, channel 1 all 0.5.
        let train = Dataset::new(
            vec![0.0, 1.0, 0.5, 0.5, 0.0, 1.0, 0.5, 0.5],
            vec![0, 1],
            [2, 1, 2],
        )?;
        let test = Dataset::new(vec![1.0, 1.0, 0.5, 0.0], vec![3], [2, 1, 2])?;
        let mut splits = DataSplits {
            train,
            test,
            name: DatasetName::Synthetic,
        };
        let stats = normalize(&mut splits);
        assert_eq!(stats.mean, [0.5, 0.5]);
        assert_eq!(stats.std, [0.5, 0.0]);
        // Channel 0: (x - 0.5) / 0.5; channel 1: constant, so only centred.
        assert_eq!(
            splits.train.images(),
            [-1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(splits.test.images(), [1.0, 1.0, 0.0, -0.5]);
        // After normalisation the train split has mean 0, std 1 on the non-constant channel.
        let after = ChannelStats::compute(&splits.train);
        assert!(after.mean[0].abs() < 1e-12 && (after.std[0] - 1.0).abs() < 1e-12);
        Ok(())
    }
}
