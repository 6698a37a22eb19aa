//! SIGKILL the local runner at several moments, rerun until the plan is complete, then check
//! that every planned run exists exactly once, every file parses, nothing partial was ever
//! taken for complete, no worker outlived its runner, and the resumed runs are byte-identical
//! to an uninterrupted sweep. Run with `--nocapture` to see the table of kill points.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Res = Result<(), Box<dyn std::error::Error>>;

const STUDY: &str = r#"name = "k"
dataset = "synthetic"
strategies = ["none", "tanh-learnable", "pact", "hard-clamp"]
seeds = [1, 2, 3]
epochs = 2
batch_size = 32
log_every = 2
train_limit = 160
test_limit = 64

[model]
input = [3, 32, 32]

[optimizer]
kind = "adam"
lr = 0.001
"#;

const EPOCHS: usize = 2;

fn clipbench(dir: &Path, results: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clipbench"));
    c.args(["run", "study.toml", "--results", results])
        .args(extra)
        .current_dir(dir)
        .env_remove("CLIPBENCH_TEST_PANIC_RUN");
    c
}

/// Worker processes whose command line mentions `needle` (to find orphans).
fn workers_mentioning(needle: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .filter(|c| c.contains("run-worker") && c.contains(needle))
        .collect()
}

fn parse_json(path: &Path) -> Result<serde_json::Value, String> {
    let b = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every run directory with a summary must be whole: all files parse, all epochs logged.
/// Returns the ids of complete runs.
fn check_complete_runs(runs: &Path) -> Result<BTreeSet<String>, String> {
    let mut done = BTreeSet::new();
    let Ok(rd) = std::fs::read_dir(runs) else {
        return Ok(done);
    };
    for e in rd {
        let dir = e.map_err(|e| e.to_string())?.path();
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.join("summary.json").exists() {
            continue;
        }
        let s = parse_json(&dir.join("summary.json"))?;
        if s["run_id"] != id.as_str() || s["status"] != "completed" {
            return Err(format!("{id}: bad summary {s}"));
        }
        let m = parse_json(&dir.join("manifest.json"))?;
        if m["run_id"] != id.as_str() {
            return Err(format!("{id}: manifest of {}", m["run_id"]));
        }
        let mut epochs = 0;
        for f in ["metrics.jsonl", "timing.jsonl"] {
            let text =
                std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{id}/{f}: {e}"))?;
            if !text.ends_with('\n') {
                return Err(format!("{id}/{f}: last line is cut"));
            }
            for (i, line) in text.lines().enumerate() {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| format!("{id}/{f}:{}: {e}", i + 1))?;
                if f == "metrics.jsonl" && v["kind"] == "epoch" {
                    epochs += 1;
                }
            }
        }
        if epochs != EPOCHS {
            return Err(format!("{id}: {epochs} epoch records, expected {EPOCHS}"));
        }
        for f in std::fs::read_dir(&dir).map_err(|e| e.to_string())? {
            let name = f.map_err(|e| e.to_string())?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".tmp") {
                return Err(format!("{id}: temp file {name} beside a summary"));
            }
        }
        done.insert(id);
    }
    Ok(done)
}

fn count_summaries(runs: &Path) -> usize {
    std::fs::read_dir(runs)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().join("summary.json").exists())
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn sigkill_at_any_moment_loses_no_finished_run_and_reruns_complete_the_plan() -> Res {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("study.toml"), STUDY)?;
    let plan = clipbench(dir.path(), "killed", &["--dry-run"]).output()?;
    assert!(plan.status.success());
    let ids: BTreeSet<String> = String::from_utf8_lossy(&plan.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["run_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 12);
    let runs = dir.path().join("killed/k/runs");
    let needle = dir.path().join("killed").to_string_lossy().into_owned();

    // Kill points: ms after the start (before the lock, while writing the plan, while the
    // first workers load data, mid-training), then "just after the next summary appears"
    // (the other worker is mid-run, its summary perhaps being written).
    let kill_points: Vec<Option<u64>> = [0u64, 15, 60, 250, 700, 1200]
        .into_iter()
        .map(Some)
        .chain([None, None, None])
        .collect();
    println!("kill at        | complete before | complete after | partial dirs | orphans");
    let mut before = 0;
    for point in kill_points {
        let mut child = clipbench(dir.path(), "killed", &["--jobs", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        match point {
            Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
            None => {
                let t = Instant::now();
                // Nothing left to wait for once every planned run is complete (a fast machine
                // gets there before the last timed kill point).
                while count_summaries(&runs) <= before
                    && count_summaries(&runs) < ids.len()
                    && t.elapsed() < Duration::from_secs(60)
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        child.kill()?; // SIGKILL
        child.wait()?;
        // Workers die with the runner (PR_SET_PDEATHSIG): give the kernel a moment.
        let t = Instant::now();
        let mut orphans = workers_mentioning(&needle);
        while !orphans.is_empty() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
            orphans = workers_mentioning(&needle);
        }
        let done = check_complete_runs(&runs)?;
        let dirs = std::fs::read_dir(&runs).map(|r| r.count()).unwrap_or(0);
        let at = point.map_or("next summary".to_string(), |ms| format!("{ms} ms"));
        println!(
            "{at:>14} | {before:>15} | {:>14} | {:>12} | {}",
            done.len(),
            dirs - done.len(),
            orphans.len()
        );
        assert!(
            orphans.is_empty(),
            "workers outlived the runner: {orphans:?}"
        );
        assert!(done.len() >= before, "a finished run was lost");
        assert!(done.is_subset(&ids), "unplanned run directories: {done:?}");
        before = done.len();
    }

    // Rerun until complete (one rerun must do it; allow a few in case of a slow machine).
    let mut reruns = 0;
    loop {
        reruns += 1;
        let out = clipbench(dir.path(), "killed", &["--jobs", "2"]).output()?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!("rerun {reruns}: {}", stdout.trim());
        assert!(stdout.contains(&format!("{before} skipped")), "{stdout}");
        if check_complete_runs(&runs)?.len() == ids.len() || reruns == 3 {
            break;
        }
    }
    let done = check_complete_runs(&runs)?;
    assert_eq!(done, ids, "every planned run exists and is complete");
    let entries: Vec<String> = std::fs::read_dir(&runs)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    assert_eq!(entries.len(), ids.len(), "exactly once: {entries:?}");
    parse_json(&dir.path().join("killed/k/sweep.json"))?;
    let again = clipbench(dir.path(), "killed", &[]).output()?;
    assert!(String::from_utf8_lossy(&again.stdout)
        .contains("0 completed, 0 diverged, 0 failed, 12 skipped"));

    // The same study without interruption gives byte-identical metrics.
    let clean = clipbench(dir.path(), "clean", &["--jobs", "2"]).output()?;
    assert!(clean.status.success());
    for id in &ids {
        let a = std::fs::read(runs.join(id).join("metrics.jsonl"))?;
        let b = std::fs::read(
            dir.path()
                .join("clean/k/runs")
                .join(id)
                .join("metrics.jsonl"),
        )?;
        assert!(a == b, "{id}: metrics.jsonl differs after kill/resume");
    }
    Ok(())
}
