//! Loading a run's data: the named data set (or synthetic data in the model's input shape),
//! optional size limits, per-channel normalisation from the training split.

use std::path::Path;

use clipbench_data::{
    load, normalize, sha256_bytes, synthetic, verify, ChannelStats, DataSplits, Dataset,
    DatasetName, FileReport, HashStatus, SyntheticConfig,
};

use crate::config::RunConfig;
use crate::TrainError;

pub struct RunData {
    pub splits: DataSplits,
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

pub fn load_run_data(cfg: &RunConfig, data_dir: &Path) -> Result<RunData, TrainError> {
    let (splits, files) = if cfg.dataset == DatasetName::Synthetic {
        let mut sc = SyntheticConfig::for_shape(cfg.model.input);
        sc.train_len = cfg.train_limit.unwrap_or(sc.train_len);
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
        let report = verify(cfg.dataset, data_dir)?;
        (load(cfg.dataset, data_dir)?, report.files)
    };
    let mut splits = DataSplits {
        train: truncate(splits.train, cfg.train_limit)?,
        test: truncate(splits.test, cfg.test_limit)?,
        name: splits.name,
    };
    let stats = normalize(&mut splits);
    Ok(RunData {
        splits,
        stats,
        files,
    })
}
