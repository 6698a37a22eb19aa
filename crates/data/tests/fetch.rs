//! Fetch routes against a server on 127.0.0.1 (port 0) started by the test, and from local
//! directories. No other address is ever contacted.

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use clipbench_data::fetch::download_verified;
use clipbench_data::hashes::KnownFile;
use clipbench_data::{fetch, DataError, DatasetName, FetchSource, HashStatus};
use common::*;

const MNIST_IMAGES_KNOWN: KnownFile = KnownFile {
    name: "t10k-images-idx3-ubyte",
    sha256: MNIST_IMAGES_SHA256,
    bytes: 78_416,
};

fn routes(items: &[(&str, Reply)]) -> HashMap<String, Reply> {
    items
        .iter()
        .map(|(p, r)| (p.to_string(), r.clone()))
        .collect()
}

#[test]
fn http_download_verifies_and_installs_atomically() -> TestResult {
    let gz = read_fixture(MNIST_IMAGES_GZ)?;
    let server = serve(routes(&[(
        "/d/t10k-images-idx3-ubyte.gz",
        Reply::Ok(gz.clone()),
    )]))?;
    let dir = tempfile::tempdir()?;
    let url = format!("{}/d/t10k-images-idx3-ubyte.gz", server.base);
    let path = download_verified(
        &url,
        dir.path(),
        "t10k-images-idx3-ubyte.gz",
        Some(&MNIST_IMAGES_KNOWN),
    )?;
    assert_eq!(std::fs::read(&path)?, gz);
    assert_eq!(entries(dir.path()), ["t10k-images-idx3-ubyte.gz"]);
    Ok(())
}

#[test]
fn http_corrupted_file_fails_with_hash_mismatch_and_leaves_nothing() -> TestResult {
    let mut raw = gunzip(&read_fixture(MNIST_IMAGES_GZ)?)?;
    raw[5000] ^= 0x40; // one pixel of image 6
    let server = serve(routes(&[(
        "/t10k-images-idx3-ubyte.gz",
        Reply::Ok(gzip(&raw)?),
    )]))?;
    let dir = tempfile::tempdir()?;
    let url = format!("{}/t10k-images-idx3-ubyte.gz", server.base);
    let err = download_verified(
        &url,
        dir.path(),
        "t10k-images-idx3-ubyte.gz",
        Some(&MNIST_IMAGES_KNOWN),
    )
    .err()
    .ok_or("a corrupted download was accepted")?;
    let msg = err.to_string();
    assert!(matches!(err, DataError::HashMismatch { .. }), "{msg}");
    assert!(
        msg.contains("t10k-images-idx3-ubyte.gz: SHA-256 mismatch"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("expected {MNIST_IMAGES_SHA256}")),
        "{msg}"
    );
    assert!(
        entries(dir.path()).is_empty(),
        "left behind: {:?}",
        entries(dir.path())
    );
    Ok(())
}

#[test]
fn http_chunked_body_behind_a_redirect() -> TestResult {
    let gz = read_fixture(MNIST_IMAGES_GZ)?;
    let server = serve(routes(&[
        ("/old", Reply::Redirect("/new/images.gz".into())),
        ("/new/images.gz", Reply::Chunked(gz.clone(), 1000)),
    ]))?;
    let dir = tempfile::tempdir()?;
    let path = download_verified(
        &format!("{}/old", server.base),
        dir.path(),
        "x.gz",
        Some(&MNIST_IMAGES_KNOWN),
    )?;
    assert_eq!(std::fs::read(path)?, gz);
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    Ok(())
}

#[test]
fn http_truncated_body_and_404_are_errors_leaving_nothing() -> TestResult {
    let gz = read_fixture(MNIST_IMAGES_GZ)?;
    let announced = gz.len() + 10;
    let server = serve(routes(&[("/short.gz", Reply::Truncated(gz, announced))]))?;
    let dir = tempfile::tempdir()?;
    let msg = download_verified(
        &format!("{}/short.gz", server.base),
        dir.path(),
        "short.gz",
        None,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        msg.contains("/short.gz") && msg.contains(&format!("of {announced} bytes")),
        "{msg}"
    );
    let err = download_verified(
        &format!("{}/absent", server.base),
        dir.path(),
        "absent",
        None,
    )
    .err()
    .ok_or("404 accepted")?;
    assert!(
        matches!(
            err,
            DataError::Http {
                status: Some(404),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        entries(dir.path()).is_empty(),
        "left behind: {:?}",
        entries(dir.path())
    );
    Ok(())
}

#[test]
fn fetch_from_url_rejects_subset_files_under_full_names() -> TestResult {
    // The server holds the 100-image subsets under the real names: the content is valid IDX
    // but not the recorded full data set, so fetch must refuse it and install nothing.
    let server = serve(routes(&[
        (
            "/mnist/train-images-idx3-ubyte.gz",
            Reply::Ok(read_fixture(MNIST_IMAGES_GZ)?),
        ),
        (
            "/mnist/train-labels-idx1-ubyte.gz",
            Reply::Ok(read_fixture(MNIST_LABELS_GZ)?),
        ),
    ]))?;
    let data = tempfile::tempdir()?;
    let source = FetchSource::Url(format!("{}/mnist/", server.base));
    let msg = fetch(DatasetName::Mnist, data.path(), &source)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("train-images-idx3-ubyte.gz: SHA-256 mismatch"),
        "{msg}"
    );
    assert!(entries(&data.path().join("mnist")).is_empty());
    Ok(())
}

#[test]
fn fetch_from_url_falls_back_to_the_raw_name_on_404() -> TestResult {
    let raw = gunzip(&read_fixture(MNIST_IMAGES_GZ)?)?;
    let server = serve(routes(&[("/train-images-idx3-ubyte", Reply::Ok(raw))]))?;
    let data = tempfile::tempdir()?;
    let msg = fetch(
        DatasetName::Mnist,
        data.path(),
        &FetchSource::Url(server.base.clone()),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    // .gz got a 404, then the raw name was fetched and (being a subset) rejected by hash.
    assert!(
        msg.contains("mnist/train-images-idx3-ubyte: SHA-256 mismatch"),
        "{msg}"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    Ok(())
}

#[test]
fn https_is_refused_with_advice_before_any_connection() -> TestResult {
    let data = tempfile::tempdir()?;
    let source: FetchSource = "https://example.invalid/mnist".parse()?;
    let msg = fetch(DatasetName::Mnist, data.path(), &source)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("only plain http:// URLs are supported"),
        "{msg}"
    );
    assert!(
        msg.contains("download the files yourself into") && msg.contains("mnist"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn cifar_from_registry_explains_where_to_download() -> TestResult {
    let data = tempfile::tempdir()?;
    let msg = fetch(DatasetName::Cifar10, data.path(), &FetchSource::Registry)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("No package registry ships CIFAR-10"), "{msg}");
    assert!(
        msg.contains("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn cifar_sample_from_a_local_dir_and_from_a_tarball() -> TestResult {
    let src = tempfile::tempdir()?;
    std::fs::copy(fixture(CIFAR_SAMPLE), src.path().join("test_batch.bin"))?;
    let data = tempfile::tempdir()?;
    let report = fetch(
        DatasetName::Cifar10,
        data.path(),
        &FetchSource::LocalDir(src.path().into()),
    )?;
    assert!(!report.already_present && !report.verify.complete);
    assert_eq!(report.verify.files[0].status, HashStatus::Verified);
    let installed = data
        .path()
        .join("cifar10/cifar-10-batches-bin/test_batch.bin");
    assert_eq!(std::fs::read(&installed)?, read_fixture(CIFAR_SAMPLE)?);

    // The official tarball layout, unpacked with the system tar.
    let tar_src = tempfile::tempdir()?;
    let inner = tar_src.path().join("cifar-10-batches-bin");
    std::fs::create_dir_all(&inner)?;
    for f in [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ] {
        std::fs::copy(fixture(CIFAR_SAMPLE), inner.join(f))?;
    }
    let status = std::process::Command::new("tar")
        .args(["czf", "cifar-10-binary.tar.gz", "cifar-10-batches-bin"])
        .current_dir(tar_src.path())
        .status()?;
    assert!(status.success());
    std::fs::remove_dir_all(&inner)?;
    let data = tempfile::tempdir()?;
    let report = fetch(
        DatasetName::Cifar10,
        data.path(),
        &FetchSource::LocalDir(tar_src.path().into()),
    )?;
    assert!(report.verify.complete);
    assert_eq!(report.verify.files.len(), 6);
    // Fetching again is a no-op.
    let again = fetch(DatasetName::Cifar10, data.path(), &FetchSource::Registry)?;
    assert!(again.already_present);
    assert_eq!(again.verify, report.verify);
    Ok(())
}

#[test]
fn local_dir_with_wrong_content_installs_nothing() -> TestResult {
    let src = tempfile::tempdir()?;
    for (from, to) in [
        (FASHION_IMAGES, "train-images-idx3-ubyte"),
        (FASHION_LABELS, "train-labels-idx1-ubyte"),
        (FASHION_IMAGES, "t10k-images-idx3-ubyte"),
        (FASHION_LABELS, "t10k-labels-idx1-ubyte"),
    ] {
        std::fs::copy(fixture(from), src.path().join(to))?;
    }
    let data = tempfile::tempdir()?;
    let msg = fetch(
        DatasetName::FashionMnist,
        data.path(),
        &FetchSource::LocalDir(src.path().into()),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        msg.contains("fashion-mnist/train-images-idx3-ubyte: SHA-256 mismatch"),
        "{msg}"
    );
    assert!(
        msg.contains("expected c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        "{msg}"
    );
    assert!(entries(&data.path().join("fashion-mnist")).is_empty());
    // A directory lacking files says which.
    std::fs::remove_file(src.path().join("t10k-labels-idx1-ubyte"))?;
    let msg = fetch(
        DatasetName::FashionMnist,
        data.path(),
        &FetchSource::LocalDir(src.path().into()),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(msg.contains("missing t10k-labels-idx1-ubyte"), "{msg}");
    Ok(())
}

#[test]
fn fetch_source_parses() {
    assert_eq!("registry".parse(), Ok(FetchSource::Registry));
    assert_eq!(
        "http://h/x".parse(),
        Ok(FetchSource::Url("http://h/x".into()))
    );
    assert_eq!(
        "/some/dir".parse(),
        Ok(FetchSource::LocalDir("/some/dir".into()))
    );
}
