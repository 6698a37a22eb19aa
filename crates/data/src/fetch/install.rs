//! Atomic, verified installation of one data file.
//!
//! Content is written to a temp file in the destination directory, hashed (decompressed),
//! and only then renamed to its final name; rename within one directory is atomic, so a
//! final name never holds a half-written or unverified file. On any error the temp file is
//! deleted when it is dropped.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::io_err;
use crate::hashes::KnownFile;
use crate::verify::check_file;
use crate::DataError;

/// Writes `file_name` into `dest_dir` with `write`, verifies it against `expected`, and renames
/// it into place. Also removes a stale sibling under the other IDX spelling (`X` vs `X.gz`) so
/// that `load` cannot pick an old file over the new one.
pub(crate) fn install_with<F>(
    dest_dir: &Path,
    file_name: &str,
    expected: Option<&KnownFile>,
    write: F,
) -> Result<PathBuf, DataError>
where
    F: FnOnce(&mut dyn Write) -> Result<(), DataError>,
{
    std::fs::create_dir_all(dest_dir).map_err(io_err(dest_dir, "creating directory"))?;
    let prefix = format!(".{file_name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".part");
    // A data directory is often shared: a plain file's permissions (0666 less the umask), not
    // tempfile's 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder
        .tempfile_in(dest_dir)
        .map_err(io_err(dest_dir, "creating temp file in"))?;
    let tmp_path = tmp.path().to_path_buf();
    {
        let mut out = BufWriter::new(tmp.as_file());
        write(&mut out)?;
        out.flush().map_err(io_err(&tmp_path, "writing"))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(io_err(&tmp_path, "syncing"))?;
    // Temp files are created 0600; a data file is ordinary shared read-only-ish data.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp_path, std::fs::Permissions::from_mode(0o644))
            .map_err(io_err(&tmp_path, "setting permissions of"))?;
    }
    let final_path = dest_dir.join(file_name);
    verify_temp(&tmp, &final_path, expected)?;
    tmp.persist(&final_path)
        .map_err(|e| io_err(&final_path, "renaming temp file to")(e.error))?;
    remove_other_spelling(dest_dir, file_name)?;
    Ok(final_path)
}

/// Hash check of the temp file, reporting the FINAL name (what the user asked for) in errors.
fn verify_temp(
    tmp: &NamedTempFile,
    final_path: &Path,
    expected: Option<&KnownFile>,
) -> Result<(), DataError> {
    match check_file(tmp.path(), expected) {
        Err(DataError::HashMismatch {
            expected, found, ..
        }) => Err(DataError::HashMismatch {
            path: final_path.to_path_buf(),
            expected,
            found,
        }),
        Err(DataError::Decompress { source, .. }) => Err(DataError::Decompress {
            path: final_path.to_path_buf(),
            source,
        }),
        other => other.map(|_| ()),
    }
}

fn remove_other_spelling(dest_dir: &Path, file_name: &str) -> Result<(), DataError> {
    let other = match file_name.strip_suffix(".gz") {
        Some(raw) => dest_dir.join(raw),
        None => dest_dir.join(format!("{file_name}.gz")),
    };
    match std::fs::remove_file(&other) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(io_err(other, "removing stale file")(e))
        }
        _ => Ok(()),
    }
}

/// Copies `src` into `dest_dir/file_name`, verified and atomically.
pub(crate) fn install_copy(
    src: &Path,
    dest_dir: &Path,
    file_name: &str,
    expected: Option<&KnownFile>,
) -> Result<PathBuf, DataError> {
    install_with(dest_dir, file_name, expected, |out| {
        let mut f = File::open(src).map_err(io_err(src, "opening"))?;
        std::io::copy(&mut f, out).map_err(io_err(src, "copying"))?;
        Ok(())
    })
}
