//! `verify`: SHA-256 of every data file (decompressed) against the known hashes, as a report
//! that goes into a run manifest.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cifar::{CIFAR_TEST_FILE, CIFAR_TRAIN_FILES};
use crate::hashes::{known_files, KnownFile, CIFAR10_SAMPLE};
use crate::idx::idx_pair_from_bytes;
use crate::io::{read_maybe_gz, sha256_bytes, sha256_decompressed};
use crate::layout::{
    check_shape, dataset_dir, expected_files, fetch_hint, find_cifar, locate_files,
};
use crate::{DataError, DataSplits, DatasetName};

pub use clipbench_core::dataset::{FileReport, HashStatus};

/// What `verify` found: the data set and each file's hash (manifest material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub dataset: DatasetName,
    /// True when every file [`crate::load`] needs is present (false for the 20-image CIFAR-10
    /// sample on its own).
    pub complete: bool,
    pub files: Vec<FileReport>,
}

impl VerifyReport {
    /// True when every file is [`HashStatus::Verified`].
    pub fn all_verified(&self) -> bool {
        self.files.iter().all(|f| f.status == HashStatus::Verified)
    }
}

/// Hashes `path` and compares with `expected` if given; a mismatch is an error.
pub(crate) fn check_file(
    path: &Path,
    expected: Option<&KnownFile>,
) -> Result<(String, u64, HashStatus), DataError> {
    let (sha256, bytes) = sha256_decompressed(path)?;
    check_hash(path, sha256, bytes, expected)
}

/// Compares a file's hash with `expected` if given; a mismatch is an error.
fn check_hash(
    path: &Path,
    sha256: String,
    bytes: u64,
    expected: Option<&KnownFile>,
) -> Result<(String, u64, HashStatus), DataError> {
    match expected {
        Some(k) if k.sha256 != sha256 => Err(DataError::HashMismatch {
            path: path.to_path_buf(),
            expected: k.sha256.to_string(),
            found: sha256,
        }),
        Some(_) => Ok((sha256, bytes, HashStatus::Verified)),
        None => Ok((sha256, bytes, HashStatus::Unverified)),
    }
}

fn relative(path: &Path, data_dir: &Path) -> String {
    let rel = path.strip_prefix(data_dir).unwrap_or(path);
    // Forward slashes so the manifest reads the same on every platform.
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn report_file(
    path: &Path,
    data_dir: &Path,
    expected: Option<&KnownFile>,
) -> Result<FileReport, DataError> {
    let (sha256, bytes, status) = check_file(path, expected)?;
    Ok(FileReport {
        file: relative(path, data_dir),
        sha256,
        bytes,
        status,
    })
}

/// Verifies the files of `name` under `data_dir`.
///
/// MNIST and Fashion-MNIST: all four files must be present and match. CIFAR-10: no hashes of
/// the full batches are recorded, so their hashes are reported as unverified; a `test_batch.bin`
/// of exactly 61,460 bytes is taken as the 20-image sample and must match its hash, and may be
/// present on its own (`complete: false`). Synthetic: no files, an empty complete report.
pub fn verify(name: DatasetName, data_dir: &Path) -> Result<VerifyReport, DataError> {
    if name == DatasetName::Cifar10 {
        return verify_cifar(data_dir);
    }
    let paths = locate_files(name, data_dir)?;
    let files = paths
        .iter()
        .zip(known_files(name))
        .map(|(p, k)| report_file(p, data_dir, Some(k)))
        .collect::<Result<_, _>>()?;
    Ok(VerifyReport {
        dataset: name,
        complete: true,
        files,
    })
}

/// [`verify`] and [`load`](crate::load) together, reading each file once: MNIST and
/// Fashion-MNIST are decompressed, hashed and parsed from the same bytes (a run used to
/// decompress its data twice); the other data sets are verified, then loaded. The report is
/// the one [`verify`] gives.
pub fn load_verified(
    name: DatasetName,
    data_dir: &Path,
) -> Result<(DataSplits, VerifyReport), DataError> {
    if !matches!(name, DatasetName::Mnist | DatasetName::FashionMnist) {
        let report = verify(name, data_dir)?;
        return Ok((crate::load(name, data_dir)?, report));
    }
    let paths = locate_files(name, data_dir)?;
    let mut contents = Vec::with_capacity(paths.len());
    let mut files = Vec::with_capacity(paths.len());
    for (p, k) in paths.iter().zip(known_files(name)) {
        let bytes = read_maybe_gz(p)?;
        let (sha256, len, status) =
            check_hash(p, sha256_bytes(&bytes), bytes.len() as u64, Some(k))?;
        files.push(FileReport {
            file: relative(p, data_dir),
            sha256,
            bytes: len,
            status,
        });
        contents.push(bytes);
    }
    let found = contents.len();
    let [train_images, train_labels, test_images, test_labels]: [Vec<u8>; 4] =
        contents.try_into().map_err(|_| DataError::InvalidConfig {
            what: "IDX data set files",
            expected: "4 (training images and labels, test images and labels)".into(),
            found: found.to_string(),
        })?;
    let train = idx_pair_from_bytes((&paths[0], &train_images), (&paths[1], train_labels))?;
    drop(train_images);
    let test = idx_pair_from_bytes((&paths[2], &test_images), (&paths[3], test_labels))?;
    check_shape(&train, name, &paths[0])?;
    check_shape(&test, name, &paths[2])?;
    let report = VerifyReport {
        dataset: name,
        complete: true,
        files,
    };
    Ok((DataSplits { train, test, name }, report))
}

fn verify_cifar(data_dir: &Path) -> Result<VerifyReport, DataError> {
    let name = DatasetName::Cifar10;
    let dir = dataset_dir(name, data_dir);
    let found: Vec<(&str, Option<PathBuf>)> = CIFAR_TRAIN_FILES
        .into_iter()
        .chain([CIFAR_TEST_FILE])
        .map(|f| (f, find_cifar(&dir, f)))
        .collect();
    let mut files = Vec::new();
    let mut sample_only_ok = false;
    for (f, path) in &found {
        let Some(path) = path else { continue };
        let (sha256, bytes) = sha256_decompressed(path)?;
        // Only the sample has a recorded hash; recognise it by its exact length.
        let is_sample = *f == CIFAR_TEST_FILE && bytes == CIFAR10_SAMPLE.bytes;
        if is_sample && sha256 != CIFAR10_SAMPLE.sha256 {
            return Err(DataError::HashMismatch {
                path: path.clone(),
                expected: CIFAR10_SAMPLE.sha256.to_string(),
                found: sha256,
            });
        }
        sample_only_ok |= is_sample;
        files.push(FileReport {
            file: relative(path, data_dir),
            sha256,
            bytes,
            status: if is_sample {
                HashStatus::Verified
            } else {
                HashStatus::Unverified
            },
        });
    }
    let missing: Vec<String> = found
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(f, _)| f.to_string())
        .collect();
    // The sample alone is a valid (incomplete) state; otherwise every batch must be there.
    if !missing.is_empty() && !sample_only_ok {
        return Err(DataError::MissingFiles {
            name: name.to_string(),
            hint: fetch_hint(name, &dir),
            dir,
            missing,
            expected: expected_files(name),
        });
    }
    Ok(VerifyReport {
        dataset: name,
        complete: missing.is_empty(),
        files,
    })
}
