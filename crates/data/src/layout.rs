//! Where data lives on disk, and `load` by data set name.
//!
//! ```text
//! <data_dir>/fashion-mnist/train-images-idx3-ubyte[.gz] ... t10k-labels-idx1-ubyte[.gz]
//! <data_dir>/mnist/        (same four IDX names, raw or .gz)
//! <data_dir>/cifar10/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin
//! <data_dir>/cifar10/{data_batch_1..5,test_batch}.bin    (also accepted)
//! ```
//! The data dir is the CLI option, else `$CLIPBENCH_DATA_DIR`, else `./data`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cifar::{load_cifar_files, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES};
use crate::hashes::IDX_FILES;
use crate::idx::load_idx_pair;
use crate::{synthetic, DataError, DataSplits, Dataset, DatasetName, SyntheticConfig};

/// Environment variable naming the data directory when no CLI option is given.
pub const DATA_DIR_ENV: &str = "CLIPBENCH_DATA_DIR";
/// Sub-directory of `<data_dir>/cifar10` that the official tarball unpacks to.
pub const CIFAR_BATCHES_DIR: &str = "cifar-10-batches-bin";
/// Where a user gets CIFAR-10 (no package registry ships it).
pub const CIFAR10_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

/// The data directory: `cli` if given, else `$CLIPBENCH_DATA_DIR` if set and non-empty, else
/// `./data`.
pub fn resolve_data_dir(cli: Option<&Path>) -> PathBuf {
    resolve_data_dir_with(cli, std::env::var_os(DATA_DIR_ENV))
}

/// [`resolve_data_dir`] with the environment value passed in (testable without touching the
/// process environment, which is shared by parallel tests).
pub fn resolve_data_dir_with(cli: Option<&Path>, env: Option<OsString>) -> PathBuf {
    match (cli, env) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(e)) if !e.is_empty() => PathBuf::from(e),
        _ => PathBuf::from("data"),
    }
}

/// `<data_dir>/<name>`.
pub fn dataset_dir(name: DatasetName, data_dir: &Path) -> PathBuf {
    data_dir.join(name.as_str())
}

/// The files a data set needs, as shown in messages (IDX names may carry `.gz`).
pub fn expected_files(name: DatasetName) -> Vec<String> {
    match name {
        DatasetName::Mnist | DatasetName::FashionMnist => {
            IDX_FILES.iter().map(|f| format!("{f}[.gz]")).collect()
        }
        DatasetName::Cifar10 => cifar_names()
            .map(|f| format!("{CIFAR_BATCHES_DIR}/{f}"))
            .collect(),
        DatasetName::Synthetic => Vec::new(),
    }
}

fn cifar_names() -> impl Iterator<Item = &'static str> {
    CIFAR_TRAIN_FILES.into_iter().chain([CIFAR_TEST_FILE])
}

/// How to obtain a missing data set, for error messages.
pub(crate) fn fetch_hint(name: DatasetName, dir: &Path) -> String {
    match name {
        DatasetName::Cifar10 => format!(
            "No package registry ships CIFAR-10: download {CIFAR10_URL} yourself, then either unpack it so that \
             {}/{CIFAR_BATCHES_DIR}/ holds the .bin files, or run `clipbench data fetch cifar10` with the directory \
             holding the tarball as its source",
            dir.display()
        ),
        _ => format!(
            "Fetch it with `clipbench data fetch {name}` (data dir: the CLI option, else ${DATA_DIR_ENV}, else ./data)"
        ),
    }
}

/// Finds an IDX file as `name` or `name.gz` (raw preferred when both exist).
pub(crate) fn find_idx(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// Finds a CIFAR-10 batch under `cifar-10-batches-bin/` or directly in `dir`.
pub(crate) fn find_cifar(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(CIFAR_BATCHES_DIR).join(name), dir.join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

/// Locates every file of `name` under `data_dir`, in [`expected_files`] order, or fails with
/// [`DataError::MissingFiles`] listing what is missing and how to fetch it.
pub fn locate_files(name: DatasetName, data_dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let dir = dataset_dir(name, data_dir);
    let found: Vec<(String, Option<PathBuf>)> = match name {
        DatasetName::Mnist | DatasetName::FashionMnist => IDX_FILES
            .iter()
            .map(|f| (f.to_string(), find_idx(&dir, f)))
            .collect(),
        DatasetName::Cifar10 => cifar_names()
            .map(|f| (f.to_string(), find_cifar(&dir, f)))
            .collect(),
        DatasetName::Synthetic => Vec::new(),
    };
    let missing: Vec<String> = found
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(f, _)| f.clone())
        .collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            name: name.to_string(),
            hint: fetch_hint(name, &dir),
            dir,
            missing,
            expected: expected_files(name),
        });
    }
    Ok(found.into_iter().filter_map(|(_, p)| p).collect())
}

/// Loads the train and test splits of `name` from `data_dir` (values in [0, 1], not yet
/// normalised). `Synthetic` ignores `data_dir` and returns [`SyntheticConfig::default`]; call
/// [`synthetic`] directly to choose its parameters.
pub fn load(name: DatasetName, data_dir: &Path) -> Result<DataSplits, DataError> {
    let files = locate_files(name, data_dir)?;
    let (train, test) = match name {
        DatasetName::Synthetic => return synthetic(&SyntheticConfig::default()),
        DatasetName::Mnist | DatasetName::FashionMnist => {
            let train = load_idx_pair(&files[0], &files[1])?;
            let test = load_idx_pair(&files[2], &files[3])?;
            check_shape(&train, name, &files[0])?;
            check_shape(&test, name, &files[2])?;
            (train, test)
        }
        DatasetName::Cifar10 => {
            let (train_files, test_file) = files.split_at(CIFAR_TRAIN_FILES.len());
            (load_cifar_files(train_files)?, load_cifar_files(test_file)?)
        }
    };
    Ok(DataSplits { train, test, name })
}

pub(crate) fn check_shape(data: &Dataset, name: DatasetName, path: &Path) -> Result<(), DataError> {
    if data.shape() != name.shape() {
        let [c, h, w] = name.shape();
        let [fc, fh, fw] = data.shape();
        return Err(DataError::BadShape {
            path: path.to_path_buf(),
            expected: format!("{c}x{h}x{w} images for {name}"),
            found: format!("{fc}x{fh}x{fw}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_beats_env_beats_default() {
        let cli = Path::new("/cli");
        assert_eq!(
            resolve_data_dir_with(Some(cli), Some("/env".into())),
            PathBuf::from("/cli")
        );
        assert_eq!(
            resolve_data_dir_with(None, Some("/env".into())),
            PathBuf::from("/env")
        );
        assert_eq!(
            resolve_data_dir_with(None, Some("".into())),
            PathBuf::from("data")
        );
        assert_eq!(resolve_data_dir_with(None, None), PathBuf::from("data"));
    }
}
