//! Bad input gives an error that names the file and the problem, never a panic.
//!
//! Each case starts from a valid real fixture and breaks exactly one thing, and each first
//! checks that the unbroken file loads, so the test fails if the break is not what is caught.

mod common;

use std::path::{Path, PathBuf};

use clipbench_data::{
    load, load_idx_pair, read_cifar_file, read_idx_images, read_idx_labels, verify, DataError,
    DatasetName,
};
use common::*;

/// Writes `bytes` as `name` in `dir` and returns the path.
fn put(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, bytes)?;
    Ok(p)
}

fn message<T>(r: Result<T, DataError>) -> String {
    match r {
        Ok(_) => "<no error>".to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_idx_images_raw_and_gz() -> TestResult {
    let dir = tempfile::tempdir()?;
    let raw = gunzip(&read_fixture(MNIST_IMAGES_GZ)?)?;
    assert!(read_idx_images(&put(dir.path(), "ok-images", &raw)?).is_ok());
    let p = put(dir.path(), "short-images", &raw[..raw.len() - 1])?;
    let msg = message(read_idx_images(&p));
    assert!(msg.contains("short-images"), "{msg}");
    assert!(
        msg.contains("expected 78416 bytes") && msg.contains("found 78415 bytes"),
        "{msg}"
    );
    assert!(msg.contains("truncated"), "{msg}");
    // A cut gzip stream: the error names the file and says the gzip is corrupt or truncated.
    let gz = read_fixture(MNIST_IMAGES_GZ)?;
    let p = put(dir.path(), "cut.gz", &gz[..gz.len() / 2])?;
    let msg = message(read_idx_images(&p));
    assert!(
        msg.contains("cut.gz") && msg.contains("gzip stream is corrupt or truncated"),
        "{msg}"
    );
    // Shorter than the header.
    let p = put(dir.path(), "tiny", &raw[..10])?;
    let msg = message(read_idx_images(&p));
    assert!(
        msg.contains("tiny") && msg.contains("16-byte IDX header"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn wrong_magic() -> TestResult {
    let dir = tempfile::tempdir()?;
    let labels = gunzip(&read_fixture(MNIST_LABELS_GZ)?)?;
    // A label file given as images: magic 0x801 where 0x803 is expected.
    let p = put(dir.path(), "labels-as-images", &labels)?;
    let msg = message(read_idx_images(&p));
    assert!(msg.contains("labels-as-images"), "{msg}");
    assert!(
        msg.contains("expected IDX magic number 0x00000803") && msg.contains("found 0x00000801"),
        "{msg}"
    );
    let mut bad = labels.clone();
    bad[3] = 0x02;
    let p = put(dir.path(), "bad-magic-labels", &bad)?;
    let msg = message(read_idx_labels(&p));
    assert!(
        msg.contains("bad-magic-labels")
            && msg.contains("0x00000801")
            && msg.contains("found 0x00000802"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn label_ten() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut labels = gunzip(&read_fixture(MNIST_LABELS_GZ)?)?;
    assert!(read_idx_labels(&put(dir.path(), "ok-labels", &labels)?).is_ok());
    labels[8 + 42] = 10;
    let p = put(dir.path(), "labels-with-10", &labels)?;
    let msg = message(read_idx_labels(&p));
    assert!(msg.contains("labels-with-10"), "{msg}");
    assert!(
        msg.contains("label at record 42 is 10, expected a class in 0..=9"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn image_label_count_mismatch() -> TestResult {
    let dir = tempfile::tempdir()?;
    let labels = gunzip(&read_fixture(MNIST_LABELS_GZ)?)?;
    // 99 labels: header count 99 and one byte fewer, a valid file on its own.
    let mut short = labels[..labels.len() - 1].to_vec();
    short[4..8].copy_from_slice(&99u32.to_be_bytes());
    let p = put(dir.path(), "labels-99", &short)?;
    assert_eq!(read_idx_labels(&p)?.len(), 99);
    let msg = message(load_idx_pair(&fixture(MNIST_IMAGES_GZ), &p));
    assert!(
        msg.contains(MNIST_IMAGES_GZ) && msg.contains("labels-99"),
        "{msg}"
    );
    assert!(
        msg.contains("100 images") && msg.contains("99 labels"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn cifar_partial_record_and_bad_label() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sample = read_fixture(CIFAR_SAMPLE)?;
    let p = put(dir.path(), "partial.bin", &sample[..sample.len() - 100])?;
    let msg = message(read_cifar_file(&p));
    assert!(msg.contains("partial.bin"), "{msg}");
    assert!(
        msg.contains("length 61360 is not a multiple of the 3073-byte CIFAR-10 record"),
        "{msg}"
    );
    assert!(msg.contains("partial record of 2973 bytes"), "{msg}");
    let mut bad = sample.clone();
    bad[3 * 3073] = 11; // the label byte of record 3
    let p = put(dir.path(), "bad-label.bin", &bad)?;
    let msg = message(read_cifar_file(&p));
    assert!(
        msg.contains("bad-label.bin") && msg.contains("label at record 3 is 11"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn hash_mismatch_names_file_expected_and_found() -> TestResult {
    let dir = tempfile::tempdir()?;
    let batches = dir.path().join("cifar10");
    std::fs::create_dir_all(&batches)?;
    let mut sample = read_fixture(CIFAR_SAMPLE)?;
    put(&batches, "test_batch.bin", &sample)?;
    assert!(verify(DatasetName::Cifar10, dir.path()).is_ok());
    sample[1] ^= 1; // one pixel bit: same length, different hash
    let p = put(&batches, "test_batch.bin", &sample)?;
    let err = verify(DatasetName::Cifar10, dir.path())
        .err()
        .ok_or("verify passed a corrupt file")?;
    let msg = err.to_string();
    assert!(msg.contains(&p.display().to_string()), "{msg}");
    assert!(
        msg.contains("expected 7a75c7f3d741a45b5f79cc341c8607a874c6f441de815b9d426ace5249b5c733"),
        "{msg}"
    );
    assert!(matches!(err, DataError::HashMismatch { ref found, .. } if found.len() == 64));
    // MNIST under the real names but with subset content: every file mismatches the full hash.
    let m = dir.path().join("mnist");
    std::fs::create_dir_all(&m)?;
    for (src, dst) in [
        (MNIST_IMAGES_GZ, "train-images-idx3-ubyte.gz"),
        (MNIST_LABELS_GZ, "train-labels-idx1-ubyte.gz"),
        (MNIST_IMAGES_GZ, "t10k-images-idx3-ubyte.gz"),
        (MNIST_LABELS_GZ, "t10k-labels-idx1-ubyte.gz"),
    ] {
        std::fs::copy(fixture(src), m.join(dst))?;
    }
    let msg = message(verify(DatasetName::Mnist, dir.path()));
    assert!(
        msg.contains("train-images-idx3-ubyte.gz: SHA-256 mismatch"),
        "{msg}"
    );
    assert!(
        msg.contains("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        "{msg}"
    );
    assert!(msg.contains(MNIST_IMAGES_SHA256), "{msg}");
    Ok(())
}

#[test]
fn missing_directory_lists_files_and_the_fetch_command() -> TestResult {
    let dir = tempfile::tempdir()?;
    let nowhere = dir.path().join("no-such-data-dir");
    for name in [DatasetName::Mnist, DatasetName::FashionMnist] {
        let msg = message(load(name, &nowhere));
        assert!(
            msg.contains(&nowhere.join(name.as_str()).display().to_string()),
            "{msg}"
        );
        assert!(
            msg.contains("train-images-idx3-ubyte[.gz]")
                && msg.contains("t10k-labels-idx1-ubyte[.gz]"),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("clipbench data fetch {name}")),
            "{msg}"
        );
        assert!(matches!(
            verify(name, &nowhere),
            Err(DataError::MissingFiles { .. })
        ));
    }
    let msg = message(load(DatasetName::Cifar10, &nowhere));
    assert!(
        msg.contains("cifar-10-batches-bin/data_batch_1.bin")
            && msg.contains("cifar-10-binary.tar.gz"),
        "{msg}"
    );
    // One missing file out of four is named as such.
    let m = dir.path().join("mnist");
    std::fs::create_dir_all(&m)?;
    std::fs::copy(
        fixture(MNIST_IMAGES_GZ),
        m.join("train-images-idx3-ubyte.gz"),
    )?;
    let msg = message(load(DatasetName::Mnist, dir.path()));
    assert!(
        msg.contains(
            "missing train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte;"
        ),
        "{msg}"
    );
    Ok(())
}

#[test]
fn unknown_dataset_name_lists_valid_ones() {
    let msg = message("imagenet".parse::<DatasetName>().map_err(DataError::from));
    assert!(
        msg.contains("fashion-mnist, mnist, cifar10, synthetic"),
        "{msg}"
    );
}
