//! The in-memory data set: NCHW `f32` images in [0, 1] and `u8` labels (the data set names
//! are `clipbench_core`'s).

use crate::DataError;

/// Every data set here has ten classes (digits, Fashion-MNIST classes, CIFAR-10 classes).
pub const NUM_CLASSES: usize = 10;

/// A labelled image set. Images are NCHW, `f32`, scaled from `u8` to [0, 1] by /255 (and
/// shifted/scaled per channel once [`crate::normalize`] has been applied).
///
/// Fields are private so the invariant `images.len() == len() * channels * height * width`
/// and `labels[i] < NUM_CLASSES` always hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    images: Vec<f32>,
    labels: Vec<u8>,
    channels: usize,
    height: usize,
    width: usize,
}

impl Dataset {
    /// Builds a data set, checking the buffer length against `[channels, height, width]` and
    /// every label against [`NUM_CLASSES`].
    pub fn new(images: Vec<f32>, labels: Vec<u8>, shape: [usize; 3]) -> Result<Self, DataError> {
        let [channels, height, width] = shape;
        let per_image = channels * height * width;
        if per_image == 0 {
            return Err(DataError::InvalidConfig {
                what: "image shape",
                expected: "non-zero channels, height and width".into(),
                found: format!("{channels}x{height}x{width}"),
            });
        }
        if images.len() != labels.len() * per_image {
            return Err(DataError::InvalidConfig {
                what: "image buffer",
                expected: format!(
                    "{} values ({} labels x {channels}x{height}x{width})",
                    labels.len() * per_image,
                    labels.len()
                ),
                found: format!("{} values", images.len()),
            });
        }
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| usize::from(l) >= NUM_CLASSES)
        {
            return Err(DataError::InvalidConfig {
                what: "label",
                expected: format!("0..={}", NUM_CLASSES - 1),
                found: format!("{l} at index {i}"),
            });
        }
        Ok(Self {
            images,
            labels,
            channels,
            height,
            width,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// `[channels, height, width]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.channels, self.height, self.width]
    }

    /// Values per image: channels x height x width.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// All images, NCHW, contiguous.
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Image `i` (CHW). Panics if `i >= len()`, like slice indexing.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.image_len();
        &self.images[i * n..(i + 1) * n]
    }

    /// Crate-internal: normalisation rewrites values in place without changing the shape.
    pub(crate) fn images_mut(&mut self) -> &mut [f32] {
        &mut self.images
    }

    /// Per-class counts, e.g. for a manifest or a sanity check.
    pub fn label_histogram(&self) -> [usize; NUM_CLASSES] {
        let mut h = [0; NUM_CLASSES];
        for &l in &self.labels {
            h[usize::from(l)] += 1;
        }
        h
    }

    /// The images at `indices`, in that order (an index out of range is an error).
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset, DataError> {
        let n = self.image_len();
        let mut images = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.len() {
                return Err(DataError::InvalidConfig {
                    what: "subset index",
                    expected: format!("an index below {}", self.len()),
                    found: i.to_string(),
                });
            }
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Dataset::new(images, labels, self.shape())
    }

    /// Consumes the data set, returning `(images, labels)`.
    pub fn into_parts(self) -> (Vec<f32>, Vec<u8>) {
        (self.images, self.labels)
    }
}

/// A train/test pair and the data set it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSplits {
    pub train: Dataset,
    pub test: Dataset,
    pub name: DatasetName,
}

pub use clipbench_core::DatasetName;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_buffer_length_and_labels() {
        assert!(Dataset::new(vec![0.0; 8], vec![1, 2], [1, 2, 2]).is_ok());
        assert!(Dataset::new(vec![0.0; 7], vec![1, 2], [1, 2, 2]).is_err());
        assert!(Dataset::new(vec![0.0; 8], vec![1, 10], [1, 2, 2]).is_err());
        assert!(Dataset::new(vec![], vec![], [0, 2, 2]).is_err());
    }
}
