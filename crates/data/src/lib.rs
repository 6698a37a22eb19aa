//! clipbench-data: the data sets of the clipbench harness.
//!
//! - [`load`] MNIST / Fashion-MNIST (IDX, raw or gzip) and CIFAR-10 (binary batches) from a
//!   data dir ([`resolve_data_dir`]), or generate [`synthetic`] data from a seed;
//! - [`split_validation`]: a validation split fixed by a data-split seed (never the run seed);
//! - [`normalize`] per channel with train-split statistics;
//! - [`epoch_permutation`] and [`batches`] for a reproducible data order;
//! - [`verify`] SHA-256 of every file and [`fetch`] from a registry, a directory or an
//!   http:// URL, atomically.
//!
//! Every random choice uses the hand-written SplitMix64 in [`rng`], so data order and
//! synthetic images depend on the seed alone, never on crate versions or the platform.
//! This crate does not link dfdx: images are plain `Vec<f32>` in NCHW order.

mod cifar;
mod dataset;
mod error;
pub mod fetch;
pub mod hashes;
mod idx;
mod io;
mod layout;
mod normalize;
pub mod rng;
mod shuffle;
mod split;
mod synthetic;
mod verify;

pub use cifar::{
    load_cifar_files, read_cifar_file, CIFAR_RECORD_BYTES, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES,
};
pub use dataset::{DataSplits, Dataset, DatasetName, NUM_CLASSES};
pub use error::DataError;
pub use fetch::{fetch, FetchReport, FetchSource};
pub use idx::{
    load_idx_pair, read_idx_images, read_idx_labels, IdxImages, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC,
};
pub use io::{read_maybe_gz, sha256_bytes, sha256_decompressed};
pub use layout::{
    dataset_dir, expected_files, load, locate_files, resolve_data_dir, resolve_data_dir_with,
    CIFAR10_URL, CIFAR_BATCHES_DIR, DATA_DIR_ENV,
};
pub use normalize::{normalize, ChannelStats, Normalize};
pub use shuffle::{batches, epoch_permutation, Batch, Batches};
pub use split::{
    indices_sha256, split_validation, split_validation_owned, validation_indices, SplitInfo,
};
pub use synthetic::{synthetic, SyntheticConfig};
pub use verify::{load_verified, verify, FileReport, HashStatus, VerifyReport};
