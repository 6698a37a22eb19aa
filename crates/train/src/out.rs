//! A run as files: `manifest.json`, `metrics.jsonl`, `timing.jsonl`, then `summary.json`
//! last and atomically (its presence marks the run complete).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use clipbench_nn::model::SimpleCnn;
use clipbench_nn::NnDevice;
use dfdx::prelude::*;

use crate::config::{DeviceKind, RunConfig};
use crate::data::load_run_data;
use crate::manifest::{rustc_version, MachineInfo, Manifest, StrategyProperties};
use crate::records::{Record, Summary, TimingRecord, SCHEMA_VERSION};
use crate::run::{train_loop, RunSets, Sinks};
use crate::sink::{write_json_atomic, JsonlSink, Sink};
use crate::TrainError;
use clipbench_clip::ClipDevice;

pub use clipbench_core::records::{MANIFEST, METRICS, SUMMARY, TIMING};

/// Runs `cfg` on `cfg.threads` threads and writes the run directory `out`.
///
/// A previous summary.json in `out` is removed first, so an interrupted rerun never leaves
/// an old summary beside new metrics.
pub fn run_to_dir(cfg: &RunConfig, out: &Path, data_dir: &Path) -> Result<Summary, TrainError> {
    cfg.validate()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| TrainError::Threads(e.to_string()))?;
    pool.install(|| run_inner(cfg, out, data_dir))
}

fn run_inner(cfg: &RunConfig, out: &Path, data_dir: &Path) -> Result<Summary, TrainError> {
    match cfg.device {
        DeviceKind::Cpu => run_on(cfg, out, data_dir, Cpu::default(), "cpu"),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => run_on(cfg, out, data_dir, crate::device::cuda(cfg.seed)?, "cuda:0"),
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => match crate::device::cuda(cfg.seed)? {},
    }
}

fn run_on<D: NnDevice + ClipDevice>(
    cfg: &RunConfig,
    out: &Path,
    data_dir: &Path,
    dev: D,
    device_name: &str,
) -> Result<Summary, TrainError> {
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let summary_path = out.join(SUMMARY);
    if summary_path.exists() {
        std::fs::remove_file(&summary_path).map_err(|e| TrainError::io(&summary_path, e))?;
    }
    let load_start = std::time::Instant::now();
    let data = load_run_data(cfg, data_dir)?;
    let load_wall_s = load_start.elapsed().as_secs_f64();
    let run_id = cfg.run_id();
    let (git_revision, git_dirty) = MachineInfo::git();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.clone(),
        config: cfg.clone(),
        strategy: cfg.model.clip.strategy.to_string(),
        seed: cfg.seed,
        git_revision,
        git_dirty,
        cargo_lock_sha256: Some(MachineInfo::cargo_lock_sha256()),
        rustc: Some(rustc_version()),
        dfdx: Some("0.13.0".into()),
        clipbench: Some(env!("CARGO_PKG_VERSION").into()),
        dataset: Some(cfg.dataset.to_string()),
        data_files: data.files.clone(),
        normalization: Some(data.stats.clone()),
        train_images: Some(data.train.len()),
        validation_images: Some(data.validation.len()),
        test_images: Some(data.test.len()),
        split: Some(data.split.clone()),
        theta_param: Some(cfg.model.clip.theta_param.name().into()),
        strategy_properties: Some(StrategyProperties::of(cfg.model.clip.strategy)),
        cpu_model: Some(MachineInfo::cpu_model()),
        threads: Some(cfg.threads),
        device: Some(device_name.into()),
        kernels: Some(format!(
            "{} + clip {}",
            D::kernel_path(),
            D::clip_kernel_path()
        )),
        started_unix_s: Some(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        ),
    };
    write_json_atomic(&out.join(MANIFEST), &manifest)?;
    let mut metrics = JsonlSink::create(&out.join(METRICS))?;
    let mut timing = JsonlSink::create(&out.join(TIMING))?;
    let mut model = SimpleCnn::new(cfg.model, cfg.seed, &dev)?;
    let summary = train_loop(
        cfg,
        &run_id,
        &mut model,
        RunSets {
            train: &data.train,
            validation: &data.validation,
            test: &data.test,
        },
        &dev,
        Sinks {
            metrics: &mut metrics as &mut dyn Sink<Record>,
            timing: &mut timing as &mut dyn Sink<TimingRecord>,
        },
    )?;
    let summary = Summary {
        load_wall_s: Some(load_wall_s),
        ..summary
    };
    write_json_atomic(&summary_path, &summary)?;
    Ok(summary)
}

/// Reads a run directory's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, TrainError> {
    let p = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&p).map_err(|e| TrainError::io(&p, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Json { path: p, source: e })
}

/// What decides a run's bits beyond its config: where `verify` explains a mismatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub kernels: Option<String>,
    pub cpu_model: Option<String>,
}

impl Provenance {
    fn of(m: &Manifest) -> Self {
        Self {
            kernels: m.kernels.clone(),
            cpu_model: m.cpu_model.clone(),
        }
    }
}

/// The outcome of [`verify_run`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// The first line (1-based) where the rerun's metrics.jsonl differs; None when identical.
    pub first_difference: Option<usize>,
    /// The recorded run's kernel paths and CPU, and the rerun's.
    pub recorded: Provenance,
    pub current: Provenance,
}

impl Verification {
    /// Whether the rerun took other kernel paths or ran on another CPU model, so that a byte
    /// difference is expected (gemm's AVX-512 and AVX2+FMA paths round differently).
    pub fn environment_differs(&self) -> bool {
        self.recorded != self.current
    }
}

/// Reruns the run in `dir` from its manifest into `scratch` and compares metrics.jsonl
/// byte for byte.
pub fn verify_run(dir: &Path, scratch: &Path, data_dir: &Path) -> Result<Verification, TrainError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
    let raw: serde_json::Value = serde_json::from_str(&text).map_err(|e| TrainError::Json {
        path: path.clone(),
        source: e,
    })?;
    let found = raw
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if found != u64::from(SCHEMA_VERSION) {
        return Err(TrainError::OldSchema {
            path,
            found,
            supported: SCHEMA_VERSION,
            revision: raw
                .get("git_revision")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown")
                .to_string(),
        });
    }
    let m = read_manifest(dir)?;
    run_to_dir(&m.config, scratch, data_dir)?;
    let verification = |first_difference| -> Result<Verification, TrainError> {
        Ok(Verification {
            first_difference,
            recorded: Provenance::of(&m),
            current: Provenance::of(&read_manifest(scratch)?),
        })
    };
    let read = |p: &Path| std::fs::read(p).map_err(|e| TrainError::io(p, e));
    let (a, b) = (read(&dir.join(METRICS))?, read(&scratch.join(METRICS))?);
    if a == b {
        return verification(None);
    }
    let line = a
        .split(|&c| c == b'\n')
        .zip(b.split(|&c| c == b'\n'))
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| {
            a.iter()
                .filter(|&&c| c == b'\n')
                .count()
                .min(b.iter().filter(|&&c| c == b'\n').count())
        })
        + 1;
    verification(Some(line))
}
