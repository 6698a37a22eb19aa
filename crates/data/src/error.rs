//! `DataError`: every way loading, verifying or fetching a data set can fail.
//!
//! Each variant carries the file (or directory, URL, command) it is about and, where there is
//! one, what was expected and what was found, so a message read in a CI log is enough to act on.

use std::path::PathBuf;

/// Errors from this crate. Display names the file and the expected vs found values.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        /// What was being done, e.g. "reading", "creating temp file".
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: gzip stream is corrupt or truncated: {source}", path.display())]
    Decompress {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: expected IDX magic number {expected:#010x} ({what}), found {found:#010x}", path.display())]
    BadMagic {
        path: PathBuf,
        what: &'static str,
        expected: u32,
        found: u32,
    },

    #[error("{}: expected {expected} bytes ({what}), found {found} bytes: file is truncated or corrupt", path.display())]
    BadLength {
        path: PathBuf,
        what: String,
        expected: u64,
        found: u64,
    },

    #[error("{}: expected {expected}, found {found}", path.display())]
    BadShape {
        path: PathBuf,
        expected: String,
        found: String,
    },

    #[error("{}: label at record {index} is {label}, expected a class in 0..={max}", path.display())]
    BadLabel {
        path: PathBuf,
        index: usize,
        label: u8,
        max: u8,
    },

    #[error(
        "{} holds {images} images but {} holds {labels} labels: expected equal counts",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        images_path: PathBuf,
        images: usize,
        labels_path: PathBuf,
        labels: usize,
    },

    #[error(
        "{}: length {len} is not a multiple of the {record}-byte CIFAR-10 record \
         (a partial record of {remainder} bytes at the end): file is truncated or not CIFAR-10 binary",
        path.display()
    )]
    PartialRecord {
        path: PathBuf,
        len: u64,
        record: usize,
        remainder: u64,
    },

    #[error("{}: SHA-256 mismatch (of the decompressed content): expected {expected}, found {found}", path.display())]
    HashMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },

    #[error(
        "data set {name} not found in {}: missing {}; expected files: {}. {hint}",
        dir.display(),
        list(missing),
        expected.join(", ")
    )]
    MissingFiles {
        name: String,
        dir: PathBuf,
        missing: Vec<String>,
        expected: Vec<String>,
        /// How to get the files (the fetch command, or where to download CIFAR-10).
        hint: String,
    },

    /// An unknown data set name, and the like (the names are core's).
    #[error(transparent)]
    Core(#[from] clipbench_core::CoreError),

    #[error("invalid {what}: expected {expected}, found {found}")]
    InvalidConfig {
        what: &'static str,
        expected: String,
        found: String,
    },

    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },

    #[error("GET {url}: {message}")]
    Http {
        url: String,
        /// The HTTP status when the server answered with an error status.
        status: Option<u16>,
        message: String,
    },

    #[error(
        "{url}: only plain http:// URLs are supported (no TLS client is built in); download the files \
         yourself into {} and run `clipbench data verify {name}`, or pass a local directory as the source",
        dir.display()
    )]
    UnsupportedUrl {
        url: String,
        name: String,
        dir: PathBuf,
    },

    #[error("{message}")]
    NoSource { message: String },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".to_string()
    } else {
        items.join(", ")
    }
}

/// Shorthand for the common "I/O on this path failed" case.
pub(crate) fn io_err(
    path: impl Into<PathBuf>,
    action: &'static str,
) -> impl FnOnce(std::io::Error) -> DataError {
    let path = path.into();
    move |source| DataError::Io {
        path,
        action,
        source,
    }
}
