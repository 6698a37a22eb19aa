//! A tuned study through the binary (experiments/tune-smoke.toml, as shipped): the dry run
//! lists both stages (final runs pending until tuning is complete), `clipbench run` tunes,
//! selects on validation, runs the final stage at the selected settings; a runner killed
//! between the stages resumes without retraining anything, and selects the same trials.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

type Res = Result<(), Box<dyn std::error::Error>>;

fn study_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/tune-smoke.toml")
}

fn clipbench(dir: &Path, args: &[&str]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .args(args)
        .current_dir(dir)
        .env_remove("CLIPBENCH_TEST_PANIC_RUN")
        .output()
}

fn ok(out: &Output, what: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn dry_run(dir: &Path, file: &str) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    let out = clipbench(dir, &["run", file, "--dry-run"])?;
    Ok(ok(&out, "dry run")
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?)
}

fn count(lines: &[serde_json::Value], stage: &str, state: &str) -> usize {
    lines
        .iter()
        .filter(|l| l["stage"] == stage && l["state"] == state)
        .count()
}

fn complete_runs(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join("summary.json").exists())
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn tune_then_final_with_dry_run_and_resume_between_the_stages() -> Res {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::copy(study_file(), dir.join("tune-smoke.toml"))?;
    let file = "tune-smoke.toml";
    let root = dir.join("results/tune-smoke");

    // Before anything ran: every strategy × 3 trials × 1 tuning seed, then × 2 final runs
    // whose settings are not known yet.
    let n = clipbench_clip::strategy::REGISTRY.len();
    let (tune, fin) = (3 * n, 2 * n);
    let lines = dry_run(dir, file)?;
    assert_eq!(count(&lines, "tune", "pending"), tune);
    assert_eq!(count(&lines, "final", "pending"), fin);
    let pending_final: Vec<_> = lines.iter().filter(|l| l["stage"] == "final").collect();
    assert!(pending_final.iter().all(|l| l["run_id"].is_null()
        && l["settings"]
            .as_str()
            .is_some_and(|s| s.contains("not known yet"))));
    assert!(lines
        .iter()
        .filter(|l| l["stage"] == "tune")
        .all(|l| l["trial"].is_u64() && l["params"]["optimizer.lr"].is_f64()));

    // Kill the runner as soon as the final stage starts; then resume.
    let mut child = Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .args(["run", file, "--jobs", "2"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let t0 = Instant::now();
    let killed_between = loop {
        if root.join("runs").exists() {
            child.kill()?;
            break true;
        }
        if child.try_wait()?.is_some() {
            break false; // finished before we saw the final stage start
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "tuning took too long"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.wait()?;
    eprintln!("runner killed between the stages: {killed_between}");
    assert_eq!(complete_runs(&root.join("tuning/runs")), tune);
    let selected_first = std::fs::read(root.join("tuning/selected.json"))?;

    if killed_between {
        let lines = dry_run(dir, file)?;
        assert_eq!(count(&lines, "tune", "complete"), tune);
        let finals: Vec<_> = lines.iter().filter(|l| l["stage"] == "final").collect();
        assert_eq!(finals.len(), fin);
        assert!(
            finals.iter().all(|l| l["run_id"].is_string()),
            "settings known now"
        );
    }
    let out = clipbench(dir, &["run", file, "--jobs", "2"])?;
    let text = ok(&out, "resumed run");
    assert!(
        text.contains(&format!("{tune} skipped")) || text.contains(&format!("{tune} complete")),
        "the tuning runs are not retrained:\n{text}"
    );
    assert_eq!(complete_runs(&root.join("runs")), fin);
    assert_eq!(
        std::fs::read(root.join("tuning/selected.json"))?,
        selected_first,
        "the same selection after the resume"
    );

    // The selection: one trial per strategy, made on validation; the final runs use it.
    let sel: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("tuning/selected.json"))?)?;
    let csv = std::fs::read_to_string(root.join("tuning/trials.csv"))?;
    assert_eq!(csv.lines().count(), 1 + tune);
    assert_eq!(csv.lines().filter(|l| l.ends_with(",true")).count(), n);
    for line in dry_run(dir, file)?.iter().filter(|l| l["stage"] == "final") {
        let s = line["strategy"].as_str().ok_or("strategy")?;
        let chosen = &sel["selected"][s];
        assert_eq!(line["trial"], chosen["trial"], "{s}");
        assert_eq!(
            line["config"]["optimizer"]["lr"], chosen["settings"]["optimizer.lr"],
            "{s}: final lr is the selected one"
        );
        assert_eq!(
            line["config"]["epochs"], 2,
            "{s}: the study's epochs, not tuning's"
        );
        assert_eq!(line["state"], "complete");
    }
    let best_trial = |s: &str| -> Option<u64> {
        let trials = sel["trials"].as_array()?;
        let mine: Vec<&serde_json::Value> = trials.iter().filter(|t| t["strategy"] == s).collect();
        let best = mine
            .iter()
            .map(|t| t["val_acc_mean"].as_f64().unwrap_or(f64::NAN))
            .fold(f64::MIN, f64::max);
        mine.iter()
            .find(|t| t["val_acc_mean"].as_f64() == Some(best))
            .and_then(|t| t["trial"].as_u64())
    };
    for s in ["none", "pact", "tanh-learnable"] {
        assert_eq!(sel["selected"][s]["trial"].as_u64(), best_trial(s), "{s}");
    }
    // Test stays sealed in the tuning stage: no trial loaded or evaluated it; every final
    // run did.
    let metrics = |stage: &Path| -> std::io::Result<Vec<String>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(stage)? {
            v.push(std::fs::read_to_string(e?.path().join("metrics.jsonl"))?);
        }
        Ok(v)
    };
    let trials = metrics(&root.join("tuning/runs"))?;
    assert_eq!(trials.len(), tune);
    assert!(trials.iter().all(|m| !m.contains("test_")));
    let finals = metrics(&root.join("runs"))?;
    assert_eq!(finals.len(), fin);
    assert!(finals.iter().all(|m| m.contains("\"test_acc\":")));
    Ok(())
}

/// `clipbench bench-study --whole` runs a study with its tuning stage and reports each stage;
/// --seeds and --epochs cut the final stage only.
#[test]
fn bench_study_whole_measures_both_stages() -> Res {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::copy(study_file(), dir.join("tune-smoke.toml"))?;
    let out = clipbench(
        dir,
        &[
            "bench-study",
            "--study",
            "tune-smoke.toml",
            "--whole",
            "--seeds",
            "1",
            "--epochs",
            "1",
            "--strategies",
            "2",
            "--bench-steps",
            "3",
            "--keep",
            "kept",
            "--json",
            "b.json",
        ],
    )?;
    let text = ok(&out, "bench-study --whole");
    assert!(text.contains("tuning stage: 6 runs") && text.contains("final stage: 2 runs"));
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("b.json"))?)?;
    // 2 strategies × 3 trials × 1 epoch × 512 images, then 2 runs × 1 epoch × 512.
    assert_eq!(b["runs"], 8);
    assert_eq!(b["train_images"], 6 * 512 + 2 * 512);
    assert_eq!(b["stages"]["tuning"]["runs"], 6);
    assert_eq!(b["stages"]["final"]["train_images"], 2 * 512);
    let ratio = b["ratio"].as_f64().ok_or("ratio")?;
    assert!(ratio > 0.0 && ratio.is_finite(), "{ratio}");
    let parts: f64 = b["parts"]
        .as_array()
        .ok_or("parts")?
        .iter()
        .filter_map(|p| p["share"].as_f64())
        .sum();
    assert!(
        (parts - 1.0).abs() < 1e-9,
        "the parts cover the slots: {parts}"
    );
    assert!(dir
        .join("kept/results/bench-study/tuning/selected.json")
        .exists());
    Ok(())
}

#[test]
fn tuning_seeds_overlapping_the_final_seeds_are_refused_before_training() -> Res {
    let tmp = tempfile::tempdir()?;
    let text = std::fs::read_to_string(study_file())?.replace("seeds = [101]", "seeds = [2]");
    std::fs::write(tmp.path().join("t.toml"), text)?;
    let out = clipbench(tmp.path(), &["run", "t.toml"])?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("t.toml:") && err.contains("disjoint"), "{err}");
    assert!(!tmp.path().join("results").exists(), "nothing ran");
    Ok(())
}
