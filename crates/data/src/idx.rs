//! IDX reader for MNIST and Fashion-MNIST (raw or gzipped).
//!
//! Format (big-endian): magic 0x00000803 (u8 data, 3 dims) + count, rows, cols + pixels for
//! images; magic 0x00000801 (u8 data, 1 dim) + count + labels for labels. The file length must
//! be exactly header + payload: a short file is truncated, a long one is not what we think it is.

use std::path::Path;

use crate::io::read_maybe_gz;
use crate::{DataError, Dataset, NUM_CLASSES};

pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Raw images from an idx3 file: `count` images of `rows x cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    // Callers check the header length first; the fallback is unreachable but never panics.
    bytes
        .get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_be_bytes)
}

fn check_header(
    path: &Path,
    bytes: &[u8],
    header: usize,
    magic: u32,
    what: &'static str,
) -> Result<(), DataError> {
    // Check the magic first when we have it: "wrong magic" is a better message than "too short"
    // for a file that is not IDX at all.
    if bytes.len() >= 4 && be_u32(bytes, 0) != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            what,
            expected: magic,
            found: be_u32(bytes, 0),
        });
    }
    if bytes.len() < header {
        return Err(DataError::BadLength {
            path: path.to_path_buf(),
            what: format!("at least the {header}-byte IDX header"),
            expected: header as u64,
            found: bytes.len() as u64,
        });
    }
    Ok(())
}

fn check_len(
    path: &Path,
    bytes: &[u8],
    header: usize,
    payload: Option<usize>,
    what: String,
) -> Result<(), DataError> {
    let expected = payload.and_then(|p| p.checked_add(header));
    if expected != Some(bytes.len()) {
        return Err(DataError::BadLength {
            path: path.to_path_buf(),
            what,
            expected: expected.map_or(u64::MAX, |e| e as u64),
            found: bytes.len() as u64,
        });
    }
    Ok(())
}

/// Reads an idx3-ubyte image file (raw or gzip).
pub fn read_idx_images(path: &Path) -> Result<IdxImages, DataError> {
    let bytes = read_maybe_gz(path)?;
    let (count, rows, cols) = check_images(path, &bytes)?;
    let mut pixels = bytes;
    pixels.drain(..16);
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels,
    })
}

/// The (count, rows, cols) of an idx3-ubyte image file's content, checked against its length.
fn check_images(path: &Path, bytes: &[u8]) -> Result<(usize, usize, usize), DataError> {
    check_header(
        path,
        bytes,
        16,
        IDX_IMAGES_MAGIC,
        "idx3 unsigned-byte images",
    )?;
    let count = be_u32(bytes, 4) as usize;
    let rows = be_u32(bytes, 8) as usize;
    let cols = be_u32(bytes, 12) as usize;
    if rows == 0 || cols == 0 {
        return Err(DataError::BadShape {
            path: path.to_path_buf(),
            expected: "non-zero rows and columns in the IDX header".into(),
            found: format!("{rows}x{cols}"),
        });
    }
    // checked_mul: a corrupt header must give an error, not an overflow panic.
    let payload = count.checked_mul(rows).and_then(|v| v.checked_mul(cols));
    check_len(
        path,
        bytes,
        16,
        payload,
        format!("16-byte header + {count} images x {rows}x{cols}"),
    )?;
    Ok((count, rows, cols))
}

/// Reads an idx1-ubyte label file (raw or gzip); every label must be a class in 0..=9.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    parse_idx_labels(path, read_maybe_gz(path)?)
}

/// [`read_idx_labels`] on the file's (decompressed) content.
fn parse_idx_labels(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    check_header(
        path,
        &bytes,
        8,
        IDX_LABELS_MAGIC,
        "idx1 unsigned-byte labels",
    )?;
    let count = be_u32(&bytes, 4) as usize;
    check_len(
        path,
        &bytes,
        8,
        Some(count),
        format!("8-byte header + {count} labels"),
    )?;
    let mut labels = bytes;
    labels.drain(..8);
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= NUM_CLASSES)
    {
        return Err(DataError::BadLabel {
            path: path.to_path_buf(),
            index,
            label,
            max: (NUM_CLASSES - 1) as u8,
        });
    }
    Ok(labels)
}

/// Reads an image file and its label file into a 1-channel [`Dataset`] scaled to [0, 1].
pub fn load_idx_pair(images_path: &Path, labels_path: &Path) -> Result<Dataset, DataError> {
    let images = read_maybe_gz(images_path)?;
    let labels = read_maybe_gz(labels_path)?;
    idx_pair_from_bytes((images_path, &images), (labels_path, labels))
}

/// [`load_idx_pair`] on file contents already read (decompressed): the pixels are scaled
/// straight from the image bytes, without first moving them out of the header's way.
pub(crate) fn idx_pair_from_bytes(
    (images_path, images): (&Path, &[u8]),
    (labels_path, labels): (&Path, Vec<u8>),
) -> Result<Dataset, DataError> {
    let (count, rows, cols) = check_images(images_path, images)?;
    let labels = parse_idx_labels(labels_path, labels)?;
    if count != labels.len() {
        return Err(DataError::CountMismatch {
            images_path: images_path.to_path_buf(),
            images: count,
            labels_path: labels_path.to_path_buf(),
            labels: labels.len(),
        });
    }
    let values = images[16..].iter().map(|&p| f32::from(p) / 255.0).collect();
    Dataset::new(values, labels, [1, rows, cols])
}
