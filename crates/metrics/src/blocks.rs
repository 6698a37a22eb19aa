//! A metrics file cut into blocks at line ends, read piece by piece (never whole), so that
//! blocks can be parsed in parallel and a run of any length fits in memory twice at most.

use std::io::Read;
use std::path::Path;

use crate::error::{MetricsError, Result};

/// A piece of one run's file that ends at a line end.
pub(crate) struct Block {
    /// 1-based number of the block's first line in its file.
    pub(crate) first_line: usize,
    pub(crate) bytes: Vec<u8>,
}

/// Cuts a file into [`Block`]s without reading it whole.
pub(crate) struct Blocks<'p> {
    path: &'p Path,
    file: std::fs::File,
    /// Bytes read per block ([`BLOCK`]; tests use tiny blocks to hit every boundary case).
    block: usize,
    carry: Vec<u8>,
    next_line: usize,
    done: bool,
}

impl<'p> Blocks<'p> {
    pub(crate) fn new(path: &'p Path, block: usize) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| MetricsError::io(path, e))?;
        Ok(Blocks {
            path,
            file,
            block,
            carry: Vec::new(),
            next_line: 1,
            done: false,
        })
    }
}

impl Iterator for Blocks<'_> {
    type Item = Result<Block>;

    fn next(&mut self) -> Option<Result<Block>> {
        if self.done {
            return None;
        }
        let mut buf = std::mem::take(&mut self.carry);
        loop {
            let start = buf.len();
            buf.resize(start + self.block, 0);
            let mut filled = start;
            while filled < buf.len() {
                match self.file.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Some(Err(MetricsError::io(self.path, e))),
                }
            }
            buf.truncate(filled);
            if filled < start + self.block {
                self.done = true; // end of file: the rest is the last block
                break;
            }
            // Cut after the last line end; the partial line waits for the next block. A line
            // longer than a block (no line end yet) keeps reading.
            if let Some(cut) = memchr::memrchr(b'\n', &buf) {
                self.carry = buf.split_off(cut + 1);
                break;
            }
        }
        if buf.is_empty() {
            return None;
        }
        let first_line = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &buf).count();
        Some(Ok(Block {
            first_line,
            bytes: buf,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every block ends at a line end (or the end of the file) and numbers its first line,
    /// whatever the block size: shorter than a line, equal to one, or larger than the file.
    #[test]
    fn blocks_cut_at_line_ends_and_count_lines() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| MetricsError::io("tempdir", e))?;
        let path = dir.path().join("m.jsonl");
        let lines = ["{\"a\":1}", "{\"bb\":22}", "", "{\"ccc\":333}", "{\"d\":4}"];
        for tail in ["\n", ""] {
            let text = lines.join("\n") + tail;
            std::fs::write(&path, &text).map_err(|e| MetricsError::io(&path, e))?;
            for block in [1, 3, 8, 9, 10, 64, 4096] {
                let mut seen = Vec::new();
                for b in Blocks::new(&path, block)? {
                    let b = b?;
                    let body = String::from_utf8_lossy(&b.bytes).into_owned();
                    let end = body.ends_with('\n') || !text.ends_with('\n');
                    assert!(end, "block {block}: {body:?} ends mid-line");
                    for (k, l) in body.split('\n').enumerate() {
                        if !l.is_empty() {
                            seen.push((b.first_line + k, l.to_string()));
                        }
                    }
                }
                let want: Vec<(usize, String)> = lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| !l.is_empty())
                    .map(|(i, l)| (i + 1, l.to_string()))
                    .collect();
                assert_eq!(seen, want, "block size {block}, tail {tail:?}");
            }
        }
        Ok(())
    }
}
