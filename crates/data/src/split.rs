//! The validation split: a fixed set of training images held out for every choice a study
//! makes (the epoch, the hyperparameters, the tuning winner), so that test is read only once.
//!
//! Which images form it is a pure function of `(training-set length, size, split seed)`:
//! SplitMix64 seeded by `derive_seed(split_seed, SPLIT_TAG)` drives a partial Fisher-Yates
//! shuffle of `0..len`; the first `n` positions, sorted, are the validation indices. It never
//! depends on the run seed, so every run of a study (every strategy, every seed) sees the same
//! split. The remaining images keep their original order and form the training set.
//!
//! The fingerprint recorded in manifests is the SHA-256 of the sorted indices written as
//! decimal text, one per line (`"17\n42\n..."`): in Python,
//! `hashlib.sha256("".join(f"{i}\n" for i in idx).encode()).hexdigest()`.

use crate::io::sha256_bytes;
use crate::rng::{derive_seed, SplitMix64};
use crate::{DataError, Dataset};

/// Sub-stream tag of the split, so it is independent of every other use of the same seed.
const SPLIT_TAG: u64 = 0x7661_6c69_6461_7465; // "validate"

pub use clipbench_core::dataset::SplitInfo;

/// The sorted validation indices of a training set of `len` images.
pub fn validation_indices(len: usize, n: usize, split_seed: u64) -> Result<Vec<usize>, DataError> {
    if n >= len && n > 0 {
        return Err(DataError::InvalidConfig {
            what: "validation",
            expected: format!(
                "fewer validation images than the {len} training images (some must remain to train on)"
            ),
            found: format!("{n}"),
        });
    }
    let mut order: Vec<usize> = (0..len).collect();
    let mut rng = SplitMix64::new(derive_seed(split_seed, SPLIT_TAG));
    // Partial Fisher-Yates from the front: position i gets a uniform pick of i..len.
    for i in 0..n {
        let j = i + rng.below((len - i) as u64) as usize;
        order.swap(i, j);
    }
    let mut idx = order[..n].to_vec();
    idx.sort_unstable();
    Ok(idx)
}

/// The fingerprint of an index list (see the module docs).
pub fn indices_sha256(idx: &[usize]) -> String {
    let text: String = idx.iter().map(|i| format!("{i}\n")).collect();
    sha256_bytes(text.as_bytes())
}

/// Splits `train` into (remaining training images, validation images) and says which.
pub fn split_validation(
    train: &Dataset,
    n: usize,
    split_seed: u64,
) -> Result<(Dataset, Dataset, SplitInfo), DataError> {
    let idx = validation_indices(train.len(), n, split_seed)?;
    let mut held = vec![false; train.len()];
    for &i in &idx {
        held[i] = true;
    }
    let rest: Vec<usize> = (0..train.len()).filter(|&i| !held[i]).collect();
    let info = SplitInfo {
        split_seed,
        validation_images: idx.len(),
        validation_indices_sha256: indices_sha256(&idx),
    };
    Ok((train.subset(&rest)?, train.subset(&idx)?, info))
}

/// [`split_validation`] taking the training set by value: the validation images are copied
/// out and the remaining ones moved down in place, in order, so a run never holds a second
/// copy of the training set (for Fashion-MNIST 172 MB less memory to fault in per run). The
/// same datasets, image for image.
pub fn split_validation_owned(
    train: Dataset,
    n: usize,
    split_seed: u64,
) -> Result<(Dataset, Dataset, SplitInfo), DataError> {
    let idx = validation_indices(train.len(), n, split_seed)?;
    let validation = train.subset(&idx)?;
    let mut held = vec![false; train.len()];
    for &i in &idx {
        held[i] = true;
    }
    let shape = train.shape();
    let per = train.image_len();
    let (mut images, mut labels) = train.into_parts();
    let mut kept = 0;
    for (i, &h) in held.iter().enumerate() {
        if h {
            continue;
        }
        if kept != i {
            images.copy_within(i * per..(i + 1) * per, kept * per);
            labels[kept] = labels[i];
        }
        kept += 1;
    }
    images.truncate(kept * per);
    labels.truncate(kept);
    let info = SplitInfo {
        split_seed,
        validation_images: idx.len(),
        validation_indices_sha256: indices_sha256(&idx),
    };
    Ok((Dataset::new(images, labels, shape)?, validation, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owned_split_gives_the_same_datasets() -> Result<(), DataError> {
        let images: Vec<f32> = (0..3 * 500).map(|i| i as f32 * 0.5).collect();
        let labels: Vec<u8> = (0..500).map(|i| (i * 7 % 10) as u8).collect();
        let d = Dataset::new(images, labels, [3, 1, 1])?;
        for (n, seed) in [(0, 1), (1, 2), (100, 7), (499, 3)] {
            let (tr, va, info) = split_validation(&d, n, seed)?;
            let (tr2, va2, info2) = split_validation_owned(d.clone(), n, seed)?;
            assert_eq!(
                (tr.images(), tr.labels()),
                (tr2.images(), tr2.labels()),
                "{n}"
            );
            assert_eq!(
                (va.images(), va.labels()),
                (va2.images(), va2.labels()),
                "{n}"
            );
            assert_eq!(info, info2);
        }
        Ok(())
    }

    fn data(n: usize) -> Dataset {
        let images = (0..n).map(|i| i as f32).collect();
        let labels = (0..n).map(|i| (i % 10) as u8).collect();
        Dataset::new(images, labels, [1, 1, 1]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn split_is_a_partition_fixed_by_the_split_seed() -> Result<(), DataError> {
        let d = data(1000);
        let (tr, va, info) = split_validation(&d, 100, 7)?;
        assert_eq!(
            (tr.len(), va.len(), info.validation_images),
            (900, 100, 100)
        );
        let mut all: Vec<f32> = tr.images().iter().chain(va.images()).copied().collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, d.images(), "every image exactly once");
        assert!(
            tr.images().windows(2).all(|w| w[0] < w[1]),
            "train keeps its order"
        );
        // Same seed → same split; another seed → another split.
        let (_, va2, info2) = split_validation(&d, 100, 7)?;
        assert_eq!((va2.images(), &info2), (va.images(), &info));
        let (_, va3, info3) = split_validation(&d, 100, 8)?;
        assert_ne!(va3.images(), va.images());
        assert_ne!(
            info3.validation_indices_sha256,
            info.validation_indices_sha256
        );
        Ok(())
    }

    #[test]
    fn fingerprint_is_the_sha256_of_the_decimal_list() {
        // python3 -c 'import hashlib; print(hashlib.sha256(b"0\n5\n9\n").hexdigest())'
        assert_eq!(
            indices_sha256(&[0, 5, 9]),
            "f98015bc40311e177e76a41e80177e19989794911a2b28ded2540e115d0b28d8"
        );
    }

    #[test]
    fn looks_uniform_and_rejects_a_split_that_leaves_nothing() {
        // Each of 10 blocks of 1000 gets about 10% of a 1000-image split.
        let idx = validation_indices(10_000, 1000, 3).unwrap_or_default();
        for b in 0..10 {
            let k = idx.iter().filter(|&&i| i / 1000 == b).count();
            assert!((60..=140).contains(&k), "block {b}: {k}");
        }
        assert!(validation_indices(10, 10, 1).is_err());
        assert_eq!(validation_indices(10, 0, 1).ok(), Some(vec![]));
    }
}
