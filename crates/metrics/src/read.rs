//! A run's metrics.jsonl into [`RunRecords`]: the layout from its first step record, then
//! blocks parsed in parallel, each line by the scanner or, when it gives up, serde_json.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::Path;

use rayon::prelude::*;

use crate::blocks::{Block, Blocks};
use crate::error::{MetricsError, Result};
use crate::line::{slow, Row};
use crate::records::{EpochRecords, Layout, RunRecords, StepRecords};
use crate::scan;

/// Bytes per parsed block (cut at a line end) and blocks parsed at once per thread.
const BLOCK: usize = 8 << 20;
const BLOCKS_PER_THREAD: usize = 4;

/// Parses `path` (no cache).
pub fn parse_run(path: &Path) -> Result<RunRecords> {
    parse_run_with(path, BLOCK, true)
}

/// `block`: bytes per block; `fast`: whether the scanner may read lines (tests compare).
pub(crate) fn parse_run_with(path: &Path, block: usize, fast: bool) -> Result<RunRecords> {
    let layout = layout(path)?;
    let mut steps = StepRecords::new(&layout);
    let mut epochs = EpochRecords::default();
    let per_batch = BLOCKS_PER_THREAD * rayon::current_num_threads().max(1);
    let mut batch: Vec<Block> = Vec::new();
    let mut flush = |batch: &mut Vec<Block>| -> Result<()> {
        let parsed: Vec<Result<(StepRecords, EpochRecords)>> = batch
            .par_iter()
            .map(|b| parse_block(path, &layout, b, fast))
            .collect();
        batch.clear();
        for p in parsed {
            let (s, e) = p?;
            steps.append(s);
            epochs.append(e);
        }
        Ok(())
    };
    for b in Blocks::new(path, block)? {
        batch.push(b?);
        if batch.len() >= per_batch {
            flush(&mut batch)?;
        }
    }
    flush(&mut batch)?;
    Ok(RunRecords {
        layout,
        steps,
        epochs,
    })
}

fn parse_block(
    path: &Path,
    layout: &Layout,
    block: &Block,
    fast: bool,
) -> Result<(StepRecords, EpochRecords)> {
    let mut steps = StepRecords::new(layout);
    let mut epochs = EpochRecords::default();
    let mut row = Row::new(layout);
    let bytes = &block.bytes;
    let mut start = 0;
    for (k, end) in memchr::memchr_iter(b'\n', bytes)
        .chain(std::iter::once(bytes.len()))
        .enumerate()
    {
        let line = &bytes[start..end];
        start = end + 1;
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let bad = |message: String| MetricsError::JsonLine {
            path: path.to_path_buf(),
            line: block.first_line + k,
            message,
        };
        if !fast || scan::parse(line, layout, &mut row).is_err() {
            slow::parse(line, layout, &mut row).map_err(bad)?;
        }
        row.push(&mut steps, &mut epochs).map_err(bad)?;
    }
    Ok((steps, epochs))
}

/// The run's layout, from its first step record (an empty layout without one).
pub(crate) fn layout(path: &Path) -> Result<Layout> {
    let file = std::fs::File::open(path).map_err(|e| MetricsError::io(path, e))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| MetricsError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| MetricsError::JsonLine {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if v.get("kind").and_then(|k| k.as_str()) != Some("step") {
            continue;
        }
        let keys = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(|o| o.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        let weight: BTreeSet<String> = keys("grad_norm_by_layer").into_iter().collect();
        let clip: BTreeSet<String> = ["theta", "theta_grad", "clip_fraction", "theta_projected"]
            .iter()
            .flat_map(|k| keys(k))
            .collect();
        let mut channels = Vec::new();
        if let Some(o) = v.get("theta_channels").and_then(|o| o.as_object()) {
            for (layer, c) in o {
                let n = c.as_array().map(Vec::len).ok_or_else(|| {
                    bad(format!(
                        "theta_channels.{layer}: expected a list of numbers"
                    ))
                })?;
                channels.push((layer.clone(), n));
            }
        }
        channels.sort();
        return Ok(Layout {
            weight_layers: weight.into_iter().collect(),
            clip_layers: clip.into_iter().collect(),
            channels,
        });
    }
    Ok(Layout::default())
}
