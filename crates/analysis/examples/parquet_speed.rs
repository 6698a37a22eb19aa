//! Time to write 10M rows × 20 f64 columns (one with nulls) to Parquet with each compression,
//! with and without column statistics: what chose steps.parquet's compression.
//!
//!   cargo run --release -p clipbench-analysis --example parquet_speed

use std::time::Instant;

use polars::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = 10_000_000usize;
    let mut x = 88_172_645_463_325_252u64;
    let mut cols = Vec::new();
    for c in 0..20 {
        let v: Vec<Option<f64>> = (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x >> 11) as f64 / (1u64 << 53) as f64 * (1.0 + c as f64);
                (c != 3 || i % 7 != 0).then_some(v)
            })
            .collect();
        cols.push(Column::new(format!("c{c}").into(), v));
    }
    let df = DataFrame::new_infer_height(cols)?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.parquet");
    for (name, comp) in [
        ("zstd (polars' default)", ParquetCompression::Zstd(None)),
        ("snappy", ParquetCompression::Snappy),
        ("lz4", ParquetCompression::Lz4Raw),
        ("uncompressed", ParquetCompression::Uncompressed),
    ] {
        for stats in [true, false] {
            let t = Instant::now();
            let mut w = ParquetWriter::new(std::fs::File::create(&path)?).with_compression(comp);
            if !stats {
                w = w.with_statistics(StatisticsOptions::empty());
            }
            w.finish(&mut df.clone())?;
            println!(
                "{name}, statistics {stats}: {:.2} s, {} MB",
                t.elapsed().as_secs_f64(),
                std::fs::metadata(&path)?.len() / 1_000_000
            );
        }
    }
    Ok(())
}
