//! Writes a synthetic study of N step records (100 runs, 5 strategies × 20 seeds) in the real
//! run-directory format, for timing the analysis at scale:
//!
//!   cargo run --release -p clipbench-analysis --example synthetic_study -- DIR [N]
//!
//! N defaults to 1,000,000 (460 MB of metrics.jsonl; 10M is 4.6 GB).

#[path = "../tests/common/synthetic.rs"]
mod synthetic;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: synthetic_study DIR [RECORDS]")?;
    let records: u64 = match args.next() {
        Some(n) => n
            .replace('_', "")
            .parse()
            .map_err(|e| format!("RECORDS {n:?}: expected a count ({e})"))?,
        None => 1_000_000,
    };
    let root = std::path::Path::new(&dir);
    if root.join("runs").exists() {
        return Err(format!(
            "{}: already holds runs/; give a new directory",
            root.display()
        )
        .into());
    }
    synthetic::write_study(root, records)?;
    println!("{}", root.display());
    Ok(())
}
