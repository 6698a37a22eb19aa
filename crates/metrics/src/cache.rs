//! The per-run columnar cache `metrics.cache`, beside the run's metrics.jsonl.
//!
//! Derived and disposable: the JSONL stays the contract; delete the cache (or pass
//! `--no-cache`) and it is rebuilt from it. It is written only for a complete run (its
//! summary.json exists: the JSONL will not grow), atomically, and used only when its key
//! matches the JSONL: size, modification time, and a SHA-256 of the JSONL's first and last
//! 64 KiB. Not a hash of the whole file: the cache exists so the JSONL need not be read, and
//! hashing 4.6 GB (10M records) would cost most of what parsing it does. Any rewrite of a
//! JSONL changes its modification time; an append changes its size and tail.
//!
//! Format (little-endian): magic, version, key, layout, row counts, then every column as raw
//! 8-byte values, then the magic again. A file that does not parse to exactly its length
//! (torn by a crash: it is written without fsync, being disposable) is rebuilt.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::records::{EpochRecords, Field, Layout, RunRecords, StepRecords};

pub const CACHE_FILE: &str = "metrics.cache";
const MAGIC: &[u8; 16] = b"clipbench-cols\n\0";
/// Bump on any change of the format or of what the parsers put in the columns.
const VERSION: u32 = 1;
const EDGE: u64 = 64 << 10;

/// What identifies the JSONL a cache was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    len: u64,
    mtime_ns: i128,
    edges: [u8; 32],
}

impl Key {
    pub fn of(jsonl: &Path) -> std::io::Result<Key> {
        let mut f = std::fs::File::open(jsonl)?;
        let meta = f.metadata()?;
        let len = meta.len();
        let mtime_ns = match meta.modified()?.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        let mut h = Sha256::new();
        let mut buf = vec![0u8; EDGE.min(len) as usize];
        f.read_exact(&mut buf)?;
        h.update(&buf);
        if len > EDGE {
            let tail = EDGE.min(len - EDGE);
            f.seek(SeekFrom::Start(len - tail))?;
            buf.resize(tail as usize, 0);
            f.read_exact(&mut buf)?;
            h.update(&buf);
        }
        Ok(Key {
            len,
            mtime_ns,
            edges: h.finalize().into(),
        })
    }

    /// The key as bytes (what a cache stores; a stamp of derived outputs can hash it).
    pub fn bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(56);
        v.extend(self.len.to_le_bytes());
        v.extend(self.mtime_ns.to_le_bytes());
        v.extend(self.edges);
        v
    }
}

pub fn cache_path(jsonl: &Path) -> PathBuf {
    jsonl.with_file_name(CACHE_FILE)
}

/// The cached records, if the cache exists, is whole and matches `key`.
pub fn read(path: &Path, key: &Key) -> Option<RunRecords> {
    let bytes = std::fs::read(path).ok()?;
    decode(&bytes, key)
}

/// Writes the cache atomically (a plain file's permissions: 0666 less the umask).
pub fn write(path: &Path, key: &Key, r: &RunRecords) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder.tempfile_in(dir)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp);
    encode(&mut w, key, r)?;
    let tmp = w.into_inner().map_err(|e| e.into_error())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn encode(w: &mut impl Write, key: &Key, r: &RunRecords) -> std::io::Result<()> {
    let u64s = |w: &mut dyn Write, v: u64| w.write_all(&v.to_le_bytes());
    let text = |w: &mut dyn Write, s: &str| -> std::io::Result<()> {
        u64s(w, s.len() as u64)?;
        w.write_all(s.as_bytes())
    };
    let ints = |w: &mut dyn Write, v: &[i64]| -> std::io::Result<()> {
        v.iter().try_for_each(|x| w.write_all(&x.to_le_bytes()))
    };
    let floats = |w: &mut dyn Write, v: &[f64]| -> std::io::Result<()> {
        v.iter()
            .try_for_each(|x| w.write_all(&x.to_bits().to_le_bytes()))
    };
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&key.bytes())?;
    let l = &r.layout;
    for list in [&l.weight_layers, &l.clip_layers] {
        u64s(w, list.len() as u64)?;
        for s in list {
            text(w, s)?;
        }
    }
    u64s(w, l.channels.len() as u64)?;
    for (s, n) in &l.channels {
        text(w, s)?;
        u64s(w, *n as u64)?;
    }
    let (s, e) = (&r.steps, &r.epochs);
    u64s(w, s.len() as u64)?;
    u64s(w, e.len() as u64)?;
    ints(w, &s.step)?;
    ints(w, &s.epoch)?;
    for c in [&s.loss, &s.lr, &s.grad_norm]
        .into_iter()
        .chain(&s.layers)
        .chain(&s.channels)
    {
        floats(w, c)?;
    }
    ints(w, &e.epoch)?;
    ints(w, &e.step)?;
    for c in &e.values {
        floats(w, c)?;
    }
    w.write_all(MAGIC)
}

struct Cur<'a> {
    b: &'a [u8],
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.b.len() {
            return None;
        }
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        Some(a)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u64()?).ok()
    }

    fn text(&mut self) -> Option<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }

    fn ints(&mut self, n: usize) -> Option<Vec<i64>> {
        let b = self.take(n.checked_mul(8)?)?;
        Some(
            b.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect(),
        )
    }

    fn floats(&mut self, n: usize) -> Option<Vec<f64>> {
        let b = self.take(n.checked_mul(8)?)?;
        Some(
            b.chunks_exact(8)
                .map(|c| f64::from_bits(u64::from_le_bytes(c.try_into().unwrap_or_default())))
                .collect(),
        )
    }
}

fn decode(bytes: &[u8], key: &Key) -> Option<RunRecords> {
    let mut c = Cur { b: bytes };
    if c.take(16)? != MAGIC || c.take(4)? != VERSION.to_le_bytes() {
        return None;
    }
    if c.take(56)? != key.bytes() {
        return None;
    }
    let mut lists = Vec::new();
    for _ in 0..2 {
        let n = c.len()?;
        if n > bytes.len() {
            return None;
        }
        lists.push((0..n).map(|_| c.text()).collect::<Option<Vec<_>>>()?);
    }
    let n = c.len()?;
    if n > bytes.len() {
        return None;
    }
    let channels = (0..n)
        .map(|_| Some((c.text()?, c.len()?)))
        .collect::<Option<Vec<_>>>()?;
    let clip_layers = lists.pop()?;
    let weight_layers = lists.pop()?;
    let layout = Layout {
        weight_layers,
        clip_layers,
        channels,
    };
    if layout.n_channel_columns() > bytes.len() {
        return None;
    }
    let (ns, ne) = (c.len()?, c.len()?);
    let mut steps = StepRecords::new(&layout);
    steps.step = c.ints(ns)?;
    steps.epoch = c.ints(ns)?;
    steps.loss = c.floats(ns)?;
    steps.lr = c.floats(ns)?;
    steps.grad_norm = c.floats(ns)?;
    for col in steps.layers.iter_mut().chain(steps.channels.iter_mut()) {
        *col = c.floats(ns)?;
    }
    let mut epochs = EpochRecords {
        epoch: c.ints(ne)?,
        step: c.ints(ne)?,
        ..Default::default()
    };
    for col in &mut epochs.values {
        *col = c.floats(ne)?;
    }
    if c.take(16)? != MAGIC || !c.b.is_empty() {
        return None;
    }
    Some(RunRecords {
        layout,
        steps,
        epochs,
    })
}

// Field codes are part of the format through the column order of `Layout::layer_columns`.
const _: () = assert!(Field::ThetaProjected as u8 == 4);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunRecords {
        let layout = Layout {
            weight_layers: vec!["conv1".into(), "fc".into()],
            clip_layers: vec!["clip1".into()],
            channels: vec![("clip1".into(), 2)],
        };
        let mut steps = StepRecords::new(&layout);
        for i in 0..3 {
            steps.step.push(i + 1);
            steps.epoch.push(0);
            steps.loss.push(2.0 / (i + 1) as f64);
            steps.lr.push(if i == 1 { f64::NAN } else { 0.1 });
            steps.grad_norm.push(-0.0);
            for (j, c) in steps.layers.iter_mut().enumerate() {
                c.push(j as f64 + 0.5);
            }
            for c in &mut steps.channels {
                c.push(f64::MIN_POSITIVE);
            }
        }
        let mut epochs = EpochRecords::default();
        epochs.epoch.push(0);
        epochs.step.push(3);
        for (k, c) in epochs.values.iter_mut().enumerate() {
            c.push(if k == 2 { f64::NAN } else { 0.25 * k as f64 });
        }
        RunRecords {
            layout,
            steps,
            epochs,
        }
    }

    fn key() -> Key {
        Key {
            len: 123,
            mtime_ns: -5,
            edges: [7; 32],
        }
    }

    #[test]
    fn round_trips_bit_for_bit_and_refuses_other_keys_and_torn_files() {
        let r = sample();
        let mut bytes = Vec::new();
        encode(&mut bytes, &key(), &r).expect("encode");
        let back = decode(&bytes, &key()).expect("decodes");
        assert!(back.same_bits(&r));
        let mut other = key();
        other.mtime_ns += 1;
        assert!(decode(&bytes, &other).is_none(), "a stale key is a miss");
        for cut in [0, 10, 100, bytes.len() - 17, bytes.len() - 1] {
            assert!(decode(&bytes[..cut], &key()).is_none(), "torn at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer, &key()).is_none(), "trailing bytes");
        let mut flipped = bytes.clone();
        flipped[17] ^= 1;
        assert!(decode(&flipped, &key()).is_none(), "another version");
    }

    #[test]
    fn key_changes_with_content_and_size() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("metrics.jsonl");
        let big: String = (0..20_000).map(|i| format!("{{\"step\":{i}}}\n")).collect();
        std::fs::write(&p, &big)?;
        let a = Key::of(&p)?;
        assert_eq!(a, Key::of(&p)?);
        // Same size, last byte before the newline changed, modification time restored.
        let mtime = std::fs::metadata(&p)?.modified()?;
        let mut changed = big.clone().into_bytes();
        let n = changed.len();
        changed[n - 3] = b'x';
        std::fs::write(&p, &changed)?;
        std::fs::File::options()
            .write(true)
            .open(&p)?
            .set_modified(mtime)?;
        assert_ne!(a, Key::of(&p)?, "tail changed");
        std::fs::write(&p, format!("{big}{{}}\n"))?;
        assert_ne!(a, Key::of(&p)?, "appended");
        Ok(())
    }
}
