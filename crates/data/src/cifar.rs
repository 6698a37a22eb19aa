//! CIFAR-10 binary reader (`cifar-10-batches-bin`).
//!
//! A file is a sequence of 3,073-byte records: 1 label byte, then 1,024 R, 1,024 G and 1,024 B
//! bytes, each plane row-major 32x32. Planes are already channel-major, so a record maps to one
//! CHW image by a straight copy.

use std::path::{Path, PathBuf};

use crate::io::read_maybe_gz;
use crate::{DataError, Dataset, NUM_CLASSES};

pub const CIFAR_SIDE: usize = 32;
pub const CIFAR_IMAGE_BYTES: usize = 3 * CIFAR_SIDE * CIFAR_SIDE;
pub const CIFAR_RECORD_BYTES: usize = 1 + CIFAR_IMAGE_BYTES;

/// Training batch file names, in the order their records are concatenated.
pub const CIFAR_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub const CIFAR_TEST_FILE: &str = "test_batch.bin";

/// Reads one CIFAR-10 binary file, returning `(labels, pixels)` with pixels as CHW bytes.
pub fn read_cifar_file(path: &Path) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let bytes = read_maybe_gz(path)?;
    let remainder = bytes.len() % CIFAR_RECORD_BYTES;
    if remainder != 0 {
        return Err(DataError::PartialRecord {
            path: path.to_path_buf(),
            len: bytes.len() as u64,
            record: CIFAR_RECORD_BYTES,
            remainder: remainder as u64,
        });
    }
    let n = bytes.len() / CIFAR_RECORD_BYTES;
    let mut labels = Vec::with_capacity(n);
    let mut pixels = Vec::with_capacity(n * CIFAR_IMAGE_BYTES);
    for (index, record) in bytes.chunks_exact(CIFAR_RECORD_BYTES).enumerate() {
        let label = record[0];
        if usize::from(label) >= NUM_CLASSES {
            return Err(DataError::BadLabel {
                path: path.to_path_buf(),
                index,
                label,
                max: (NUM_CLASSES - 1) as u8,
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok((labels, pixels))
}

/// Reads and concatenates CIFAR-10 binary files into a 3x32x32 [`Dataset`] scaled to [0, 1].
pub fn load_cifar_files(paths: &[PathBuf]) -> Result<Dataset, DataError> {
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for path in paths {
        let (l, p) = read_cifar_file(path)?;
        labels.extend_from_slice(&l);
        values.extend(p.iter().map(|&b| f32::from(b) / 255.0));
    }
    Dataset::new(values, labels, [3, CIFAR_SIDE, CIFAR_SIDE])
}
