//! A whole run on synthetic data: files and records, determinism, divergence, verify.

use std::path::Path;

use clipbench_clip::Strategy;
use clipbench_data::DatasetName;
use clipbench_nn::model::ModelConfig;
use clipbench_train::config::{DeviceKind, Selection};
use clipbench_train::optim::OptimizerConfig;
use clipbench_train::out::{run_to_dir, verify_run, METRICS, SUMMARY};
use clipbench_train::records::{Record, RunStatus, Summary};
use clipbench_train::schedule::Schedule;
use clipbench_train::RunConfig;

type Res = Result<(), Box<dyn std::error::Error>>;

fn cfg(strategy: Strategy, threads: usize, lr: f64) -> RunConfig {
    RunConfig {
        dataset: DatasetName::Synthetic,
        model: ModelConfig::new([1, 28, 28], strategy),
        optimizer: OptimizerConfig::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            theta_weight_decay: false,
            theta_decay: 0.0,
        },
        schedule: Schedule::Constant,
        epochs: 2,
        batch_size: 32,
        log_every: 2,
        seed: 7,
        threads,
        train_limit: Some(256),
        test_limit: Some(128),
        evaluate_test: true,
        device: DeviceKind::Cpu,
        validation: Some(96),
        split_seed: 0,
        selection: Selection::BestVal,
    }
}

fn records(dir: &Path) -> Result<Vec<Record>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(dir.join(METRICS))?;
    Ok(text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?)
}

#[test]
fn a_run_writes_complete_parseable_files() -> Res {
    let dir = tempfile::tempdir()?;
    let c = cfg(Strategy::TanhLearnable, 1, 1e-3);
    let s = run_to_dir(&c, dir.path(), Path::new("unused"))?;
    let on_disk: Summary =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(SUMMARY))?)?;
    assert_eq!(on_disk, s);
    assert_eq!(s.status, RunStatus::Completed);
    assert_eq!(s.steps, 16);
    assert_eq!(s.run_id, c.run_id());
    let recs = records(dir.path())?;
    let steps: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Step(s) => Some(s),
            _ => None,
        })
        .collect();
    let epochs: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Epoch(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps.iter().map(|s| s.step).collect::<Vec<_>>(),
        [1, 2, 4, 6, 8, 10, 12, 14, 16]
    );
    assert_eq!(epochs.len(), 2);
    for s in &steps {
        assert!(s.loss.is_finite() && s.grad_norm > 0.0);
        assert_eq!(s.theta.keys().collect::<Vec<_>>(), ["clip1", "clip2"]);
        assert!(s.clip_fraction.values().all(|f| (0.0..=1.0).contains(f)));
        // The global norm covers the network weights only, the same for every strategy.
        assert_eq!(
            s.grad_norm_by_layer.keys().collect::<Vec<_>>(),
            ["conv1", "conv2", "fc"]
        );
        let sq: f64 = s.grad_norm_by_layer.values().map(|v| v * v).sum();
        assert!((sq.sqrt() - s.grad_norm).abs() < 1e-9 * s.grad_norm);
        assert_eq!(s.theta_grad.keys().collect::<Vec<_>>(), ["clip1", "clip2"]);
    }
    assert_eq!(epochs[1].test_acc, s.final_test_acc);
    assert!(s.final_test_acc.is_some());
    // The reported epoch is the best on validation (ties → earliest), never chosen on test.
    let vals: Vec<f64> = epochs
        .iter()
        .map(|e| e.val_acc.unwrap_or(f64::NAN))
        .collect();
    let best = if vals[1] > vals[0] { 1 } else { 0 };
    assert_eq!(s.selected_epoch, Some(best as u32));
    assert_eq!(s.test_acc_at_selected, epochs[best].test_acc);
    assert_eq!(s.val_acc_at_selected, Some(vals[best]));
    assert_eq!(s.selection, "best-val");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json"))?)?;
    for key in [
        "run_id",
        "config",
        "git_revision",
        "cargo_lock_sha256",
        "rustc",
        "data_files",
        "cpu_model",
        "threads",
        "theta_param",
        "strategy_properties",
    ] {
        assert!(manifest.get(key).is_some(), "manifest lacks {key}");
    }
    assert_eq!(
        (
            manifest["train_images"].as_u64(),
            manifest["validation_images"].as_u64(),
            manifest["test_images"].as_u64()
        ),
        (Some(256), Some(96), Some(128)),
        "train_limit counts the training images after the split"
    );
    assert_eq!(manifest["theta_param"], "direct");
    Ok(())
}

/// A tuning trial (`evaluate_test = false`) loads no test images, writes no test figures,
/// and trains bit for bit as the same run with test: evaluation changes nothing it learns.
#[test]
fn a_run_without_test_trains_the_same_and_writes_no_test_figures() -> Res {
    let (with, without) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let c = cfg(Strategy::Pact, 1, 1e-3);
    let sealed = RunConfig {
        evaluate_test: false,
        ..c.clone()
    };
    assert_ne!(
        sealed.run_id(),
        c.run_id(),
        "the two configs are different runs"
    );
    let a = run_to_dir(&c, with.path(), Path::new("unused"))?;
    let b = run_to_dir(&sealed, without.path(), Path::new("unused"))?;
    assert_eq!(
        (b.test_acc_at_selected, b.final_test_acc, b.final_test_loss),
        (None, None, None)
    );
    assert!(a.test_acc_at_selected.is_some());
    assert_eq!(
        (b.selected_epoch, b.val_acc_at_selected, b.final_val_acc),
        (a.selected_epoch, a.val_acc_at_selected, a.final_val_acc)
    );
    let text = std::fs::read_to_string(without.path().join(METRICS))?;
    assert!(!text.contains("test_"), "a sealed run wrote a test figure");
    // Every line but the epoch records' test fields is the same.
    let strip = |dir: &Path| -> Result<Vec<Record>, Box<dyn std::error::Error>> {
        let mut recs = records(dir)?;
        for r in &mut recs {
            if let Record::Epoch(e) = r {
                (e.test_acc, e.test_loss) = (None, None);
            }
        }
        Ok(recs)
    };
    assert_eq!(strip(with.path())?, strip(without.path())?);
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        without.path().join("manifest.json"),
    )?)?;
    assert_eq!(manifest["test_images"].as_u64(), Some(0));
    assert_eq!(manifest["config"]["evaluate_test"], false);
    let scratch = tempfile::tempdir()?;
    let v = verify_run(without.path(), scratch.path(), Path::new("unused"))?;
    assert_eq!(v.first_difference, None, "verify reruns it sealed too");
    // A config written before the key existed reads as evaluating test, with the same id.
    let mut old = serde_json::to_value(&c)?;
    assert!(
        old.get("evaluate_test").is_none(),
        "true is left out of the JSON"
    );
    old.as_object_mut().map(|o| o.remove("evaluate_test"));
    let back: RunConfig = serde_json::from_value(old)?;
    assert_eq!(back.run_id(), c.run_id());
    Ok(())
}

#[test]
fn the_validation_split_depends_on_the_split_seed_never_on_the_run_seed() -> Res {
    let split =
        |seed: u64, split_seed: u64| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
            let dir = tempfile::tempdir()?;
            let mut c = cfg(Strategy::None, 1, 1e-3);
            c.epochs = 1;
            c.seed = seed;
            c.split_seed = split_seed;
            run_to_dir(&c, dir.path(), Path::new("unused"))?;
            let m: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json"))?)?;
            Ok(m["split"].clone())
        };
    let a = split(1, 0)?;
    assert_eq!(a["validation_images"], 96);
    assert_eq!(a, split(2, 0)?, "another run seed, the same split");
    assert_ne!(
        a["validation_indices_sha256"],
        split(1, 5)?["validation_indices_sha256"],
        "another split seed, another split"
    );
    Ok(())
}

#[test]
fn no_validation_split_needs_selection_last() -> Res {
    let dir = tempfile::tempdir()?;
    let mut c = cfg(Strategy::None, 1, 1e-3);
    c.validation = Some(0);
    let msg = run_to_dir(&c, dir.path(), Path::new("unused"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("validation") && msg.contains("selection"),
        "{msg}"
    );
    c.selection = Selection::Last;
    let s = run_to_dir(&c, dir.path(), Path::new("unused"))?;
    assert_eq!(s.selected_epoch, Some(1));
    assert_eq!(s.test_acc_at_selected, s.final_test_acc);
    assert_eq!(s.val_acc_at_selected, None);
    Ok(())
}

#[test]
fn same_config_and_seed_give_identical_metrics_bytes() -> Res {
    let (a, b, c2) = (
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    );
    for s in [Strategy::SoftplusLearnable, Strategy::Pact] {
        run_to_dir(&cfg(s, 1, 1e-3), a.path(), Path::new("unused"))?;
        run_to_dir(&cfg(s, 1, 1e-3), b.path(), Path::new("unused"))?;
        let ma = std::fs::read(a.path().join(METRICS))?;
        assert_eq!(
            ma,
            std::fs::read(b.path().join(METRICS))?,
            "{s}: two runs differ"
        );
        // Our kernels chunk work independently of the thread count, so 2 threads agree too.
        run_to_dir(&cfg(s, 2, 1e-3), c2.path(), Path::new("unused"))?;
        assert_eq!(
            ma,
            std::fs::read(c2.path().join(METRICS))?,
            "{s}: 1 vs 2 threads differ"
        );
        // A different seed changes the metrics (the test can fail).
        let mut other = cfg(s, 1, 1e-3);
        other.seed = 8;
        run_to_dir(&other, b.path(), Path::new("unused"))?;
        assert_ne!(ma, std::fs::read(b.path().join(METRICS))?);
    }
    Ok(())
}

#[test]
fn a_diverging_run_ends_with_a_diverged_record_and_keeps_its_logs() -> Res {
    let dir = tempfile::tempdir()?;
    let mut c = cfg(Strategy::None, 1, 1e6);
    c.optimizer = OptimizerConfig::Sgd {
        lr: 1e6,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 0.0,
        theta_weight_decay: false,
        theta_decay: 0.0,
    };
    c.log_every = 1;
    let s = run_to_dir(&c, dir.path(), Path::new("unused"))?;
    assert_eq!(s.status, RunStatus::Diverged);
    let step = s.diverged_at_step.ok_or("no divergence step")?;
    let recs = records(dir.path())?;
    match recs.last() {
        Some(Record::Diverged(d)) => assert_eq!(d.step, step),
        other => panic!("last record {other:?}"),
    }
    assert!(
        recs.len() as u64 >= step,
        "logs before the divergence were kept"
    );
    assert!(dir.path().join(SUMMARY).exists());
    Ok(())
}

#[test]
fn verify_reproduces_a_run_and_catches_a_changed_byte() -> Res {
    let (run, scratch) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut c = cfg(Strategy::HardClamp, 1, 1e-3);
    c.epochs = 1;
    run_to_dir(&c, run.path(), Path::new("unused"))?;
    let v = verify_run(run.path(), scratch.path(), Path::new("unused"))?;
    assert_eq!(v.first_difference, None);
    assert!(!v.environment_differs(), "{v:?}");
    let kernels = v.current.kernels.clone().ok_or("no kernels recorded")?;
    assert!(
        kernels.contains("[gemm ") && kernels.contains("fused-cpu ["),
        "{kernels}"
    );
    let p = run.path().join(METRICS);
    let text = std::fs::read_to_string(&p)?.replacen("\"loss\":", "\"loss\": ", 1);
    std::fs::write(&p, text)?;
    let v = verify_run(run.path(), scratch.path(), Path::new("unused"))?;
    assert_eq!(v.first_difference, Some(1));
    assert!(!v.environment_differs());
    // A run recorded on other kernels: the mismatch is explained, not just reported.
    let m = run.path().join("manifest.json");
    let text = std::fs::read_to_string(&m)?.replace(&kernels, "cpu-im2col-gemm [gemm portable]");
    std::fs::write(&m, text)?;
    let v = verify_run(run.path(), scratch.path(), Path::new("unused"))?;
    assert!(v.environment_differs());
    assert_eq!(
        v.recorded.kernels.as_deref(),
        Some("cpu-im2col-gemm [gemm portable]")
    );
    Ok(())
}

#[test]
fn bad_configs_are_rejected_before_training_with_the_key_named() {
    let dir = Path::new("/nonexistent/never-written");
    let mut c = cfg(Strategy::None, 1, 1e-3);
    c.epochs = 0;
    c.batch_size = 0;
    let msg = run_to_dir(&c, dir, dir)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("epochs") && msg.contains("batch_size"),
        "{msg}"
    );
    let mut c = cfg(Strategy::None, 1, -1.0);
    c.dataset = DatasetName::FashionMnist;
    c.model.input = [3, 32, 32];
    let msg = run_to_dir(&c, dir, dir)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("optimizer.lr") && msg.contains("model.input"),
        "{msg}"
    );
    assert!(!dir.exists());
}
