//! The data sets clipbench knows by name (**contract**: configs and the CLI use these names),
//! and the records a run's manifest keeps about its data: each file's hash, the normalisation
//! statistics and the validation split. Loading and hashing live in `clipbench-data`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Serde and `FromStr` use the kebab-case names `fashion-mnist`, `mnist`, `cifar10`,
/// `synthetic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    FashionMnist,
    Mnist,
    Cifar10,
    Synthetic,
}

/// The synthetic data set's default image shape.
pub const SYNTHETIC_SHAPE: [usize; 3] = [3, 32, 32];

impl DatasetName {
    pub const ALL: [DatasetName; 4] = [
        Self::FashionMnist,
        Self::Mnist,
        Self::Cifar10,
        Self::Synthetic,
    ];

    /// The name as written in configs, on the command line and as the sub-directory of the
    /// data dir.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FashionMnist => "fashion-mnist",
            Self::Mnist => "mnist",
            Self::Cifar10 => "cifar10",
            Self::Synthetic => "synthetic",
        }
    }

    /// Images held out of the training split for validation unless a study says otherwise:
    /// 5,000 for the real sets (of 50,000 or 60,000), 1,000 for synthetic data (the size of
    /// its default test set).
    pub fn default_validation(self) -> usize {
        match self {
            Self::FashionMnist | Self::Mnist | Self::Cifar10 => 5000,
            Self::Synthetic => 1000,
        }
    }

    /// Image shape `[channels, height, width]` of the real data set (synthetic: configurable,
    /// its default is returned).
    pub fn shape(self) -> [usize; 3] {
        match self {
            Self::FashionMnist | Self::Mnist => [1, 28, 28],
            Self::Cifar10 => [3, 32, 32],
            Self::Synthetic => SYNTHETIC_SHAPE,
        }
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatasetName {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| CoreError::UnknownDataset {
                found: s.to_string(),
                valid: Self::ALL.map(Self::as_str).join(", "),
            })
    }
}

/// Whether a file's hash was checked against a recorded one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashStatus {
    /// Matches the hash recorded in `clipbench-data`.
    Verified,
    /// No hash is recorded for this file (full CIFAR-10): the computed hash is reported only.
    Unverified,
}

/// One data file as a manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// Path relative to the data dir, e.g. `mnist/train-images-idx3-ubyte`.
    pub file: String,
    /// SHA-256 of the decompressed content, lower-case hex.
    pub sha256: String,
    /// Length of the decompressed content.
    pub bytes: u64,
    pub status: HashStatus,
}

/// Per-channel mean and (population) standard deviation, as recorded in a run manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelStats {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// What a run records about its validation split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitInfo {
    /// The data-split seed (a study setting, never the run seed).
    pub split_seed: u64,
    /// Images in the validation set.
    pub validation_images: usize,
    /// SHA-256 of the sorted validation indices as decimal text, one per line.
    pub validation_indices_sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() -> Result<(), Box<dyn std::error::Error>> {
        for n in DatasetName::ALL {
            let json = serde_json::to_string(&n)?;
            assert_eq!(json, format!("\"{}\"", n.as_str()));
            assert_eq!(serde_json::from_str::<DatasetName>(&json)?, n);
            assert_eq!(n.as_str().parse::<DatasetName>()?, n);
        }
        Ok(())
    }

    #[test]
    fn unknown_name_lists_valid_names() {
        let msg = "cifar-10"
            .parse::<DatasetName>()
            .map(|_| ())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            msg.as_deref(),
            Some("unknown data set \"cifar-10\": expected one of fashion-mnist, mnist, cifar10, synthetic")
        );
    }
}
