//! Loading a run's data: the named data set (or synthetic data in the model's input shape),
//! the validation split, optional size limits, per-channel normalisation from the training
//! images that remain.

use std::path::Path;

use clipbench_data::{
    load_verified, sha256_bytes, split_validation_owned, synthetic, ChannelStats, Dataset,
    DatasetName, FileReport, HashStatus, Normalize, SplitInfo, SyntheticConfig,
};

use crate::config::RunConfig;
use crate::TrainError;

pub struct RunData {
    pub train: Dataset,
    /// The validation split (empty when the config holds none out).
    pub validation: Dataset,
    pub test: Dataset,
    pub split: SplitInfo,
    pub stats: ChannelStats,
    pub files: Vec<FileReport>,
}

fn truncate(d: Dataset, limit: Option<usize>) -> Result<Dataset, TrainError> {
    match limit {
        Some(n) if n < d.len() => {
            let shape = d.shape();
            let per = d.image_len();
            let (mut images, mut labels) = d.into_parts();
            images.truncate(n * per);
            labels.truncate(n);
            Ok(Dataset::new(images, labels, shape)?)
        }
        _ => Ok(d),
    }
}

/// Loads the data set, holds out the validation split (fixed by `split_seed`, never the run
/// seed), applies `train_limit` to what remains and `test_limit` to test, and normalises all
/// three with statistics of the remaining training images only.
pub fn load_run_data(cfg: &RunConfig, data_dir: &Path) -> Result<RunData, TrainError> {
    let n_val = cfg.validation_images();
    let (splits, files) = if cfg.dataset == DatasetName::Synthetic {
        let mut sc = SyntheticConfig::for_shape(cfg.model.input);
        // train_limit counts the training images after the split: generate both.
        sc.train_len = cfg.train_limit.unwrap_or(sc.train_len) + n_val;
        sc.test_len = cfg.test_limit.unwrap_or(sc.test_len);
        let s = synthetic(&sc)?;
        let bytes: Vec<u8> = s
            .train
            .images()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let files = vec![FileReport {
            file: format!("synthetic/{:?}/train-images-f32le", sc.shape),
            sha256: sha256_bytes(&bytes),
            bytes: bytes.len() as u64,
            status: HashStatus::Unverified,
        }];
        (s, files)
    } else {
        let (splits, report) = load_verified(cfg.dataset, data_dir)?;
        (splits, report.files)
    };
    let (train, validation, split) = split_validation_owned(splits.train, n_val, cfg.split_seed)?;
    let mut train = truncate(train, cfg.train_limit)?;
    let mut validation = validation;
    let mut test = if cfg.evaluate_test {
        truncate(splits.test, cfg.test_limit)?
    } else {
        Dataset::new(Vec::new(), Vec::new(), splits.test.shape())?
    };
    let stats = ChannelStats::compute(&train);
    for d in [&mut train, &mut validation, &mut test] {
        stats.apply(d);
    }
    Ok(RunData {
        train,
        validation,
        test,
        split,
        stats,
        files,
    })
}
