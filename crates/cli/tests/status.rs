//! `clipbench status` and `clipbench run --retry-failed` through the binary, on a small
//! synthetic study where one run panics (test hook), half the runs diverge (lr 1e30), and the
//! test then leaves one run partial, one pending and one running (its lock held here): every
//! state is read back from `--json` and the table, and a retry reruns the failed run only.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

const STUDY: &str = r#"name = "t"
dataset = "synthetic"
strategies = ["none", "seed-softplus"]
seeds = [1, 2]
epochs = 1
batch_size = 32
log_every = 2
train_limit = 128
test_limit = 64

[model]
input = [3, 32, 32]

[optimizer]
kind = "sgd"
lr = 0.01

[grid]
"optimizer.lr" = [0.01, 1e30]
"#;

fn run(dir: &Path, args: &[&str], panic_run: &str) -> Res<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .args(args)
        .current_dir(dir)
        .env("CLIPBENCH_TEST_PANIC_RUN", panic_run)
        .output()?)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) -> Res<String> {
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    Ok(text(&out.stdout))
}

fn status_json(dir: &Path) -> Res<serde_json::Value> {
    let out = run(dir, &["status", "results/t", "--json"], "")?;
    Ok(serde_json::from_str(&ok(&out)?)?)
}

/// run id → state, from `--json`.
fn states(v: &serde_json::Value) -> BTreeMap<String, String> {
    v["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["runs"].as_array().into_iter().flatten())
        .map(|r| {
            (
                r["run_id"].as_str().unwrap_or_default().to_string(),
                r["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn status_names_every_state_and_retry_failed_reruns_only_failed_runs() -> Res {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::write(dir.join("study.toml"), STUDY)?;
    let out = run(dir, &["run", "study.toml", "--dry-run"], "")?;
    let ids: Vec<String> = ok(&out)?
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .map(|v| v["run_id"].as_str().unwrap_or_default().to_string())
        })
        .collect::<Result<_, _>>()?;
    assert_eq!(ids.len(), 8);
    // Order: seed, strategy, lr: even indices train at lr 0.01, odd ones diverge at 1e30.
    let victim = ids[2].clone();
    let out = run(dir, &["run", "study.toml", "--jobs", "2"], &victim)?;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--retry-failed"),
        "{}",
        text(&out.stderr)
    );

    let runs = dir.join("results/t/runs");
    // ids[0]: partial (its summary lost); ids[4]: pending (never started); ids[6]: running.
    std::fs::remove_file(runs.join(&ids[0]).join("summary.json"))?;
    std::fs::remove_dir_all(runs.join(&ids[4]))?;
    std::fs::remove_file(runs.join(&ids[6]).join("summary.json"))?;
    let lock = std::fs::File::create(dir.join(format!("results/t/plan/{}.lock", ids[6])))?;
    lock.try_lock()?;

    let v = status_json(dir)?;
    let got = states(&v);
    let mut want: BTreeMap<String, String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                id.clone(),
                if i % 2 == 1 { "diverged" } else { "complete" }.to_string(),
            )
        })
        .collect();
    want.insert(ids[0].clone(), "partial".into());
    want.insert(victim.clone(), "failed".into());
    want.insert(ids[4].clone(), "pending".into());
    want.insert(ids[6].clone(), "running".into());
    assert_eq!(got, want);
    let t = &v["totals"];
    assert_eq!(
        [
            t["runs"].as_u64(),
            t["complete"].as_u64(),
            t["diverged"].as_u64(),
            t["failed"].as_u64(),
            t["running"].as_u64(),
            t["partial"].as_u64(),
            t["pending"].as_u64()
        ],
        [
            Some(8),
            Some(0),
            Some(4),
            Some(1),
            Some(1),
            Some(1),
            Some(1)
        ]
    );
    let stage = &v["stages"][0];
    assert_eq!(stage["stage"], "final", "no tuning stage");
    assert_eq!(stage["by_strategy"]["seed-softplus"]["failed"], 1);
    assert_eq!(stage["by_strategy"]["seed-softplus"]["running"], 1);
    assert_eq!(stage["by_strategy"]["none"]["diverged"], 2);
    assert_eq!(stage["by_strategy"]["none"]["pending"], 1);
    let failed = stage["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["run_id"] == victim.as_str())
        .ok_or("no failed run")?;
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("test hook panics")),
        "the end of its log: {failed}"
    );
    assert!(Path::new(dir)
        .join(failed["log"].as_str().ok_or("log")?)
        .is_file());

    // The table: aligned columns and the totals line.
    let table = ok(&run(dir, &["status", "results/t"], "")?)?;
    assert!(
        table.contains(
            "results/t: 8 runs: 0 complete, 4 diverged, 1 failed, 1 running, 1 partial, 1 pending"
        ),
        "{table}"
    );
    let col = |l: &str| {
        l.find(" complete")
            .or_else(|| l.find(" diverged"))
            .or_else(|| l.find(" failed"))
            .or_else(|| l.find(" running"))
            .or_else(|| l.find(" partial"))
            .or_else(|| l.find(" pending"))
    };
    let header = table.lines().next().ok_or("empty")?;
    let state_at = header.find(" state").ok_or("no state column")?;
    for l in table.lines().skip(1).take(8) {
        assert_eq!(col(l), Some(state_at), "aligned: {l:?}\n{table}");
    }

    // --retry-failed: the failed run only; partial, pending and running runs stay as they are.
    drop(lock);
    let before: Vec<Option<Vec<u8>>> = ids
        .iter()
        .map(|id| std::fs::read(runs.join(id).join("summary.json")).ok())
        .collect();
    let out = ok(&run(dir, &["run", "study.toml", "--retry-failed"], "")?)?;
    assert!(
        out.contains(&format!("retrying 1 failed of 8 runs: {victim}")),
        "{out}"
    );
    for (i, id) in ids.iter().enumerate() {
        let now = std::fs::read(runs.join(id).join("summary.json")).ok();
        if *id == victim {
            assert!(now.is_some(), "the failed run was rerun");
        } else {
            assert_eq!(now, before[i], "{id} untouched");
        }
    }
    assert!(!runs.join(&ids[4]).exists(), "a pending run is not started");
    let got = states(&status_json(dir)?);
    assert_eq!(got[&victim], "complete");
    assert_eq!(got[&ids[0]], "partial");
    let out = ok(&run(dir, &["run", "study.toml", "--retry-failed"], "")?)?;
    assert!(out.contains("no failed runs among 8"), "{out}");

    // Bad input: a directory that is no study, and a flag combination that makes no sense.
    let out = run(dir, &["status", "results/nothing"], "")?;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("results/nothing") && err.contains("plan/") && err.contains("runs/"),
        "{err}"
    );
    let out = run(
        dir,
        &["run", "study.toml", "--retry-failed", "--dry-run"],
        "",
    )?;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("clipbench status"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

const TUNED: &str = r#"name = "tt"
dataset = "synthetic"
strategies = ["none", "tanh-learnable"]
seeds = [1]
epochs = 1
batch_size = 32
log_every = 2
train_limit = 128
test_limit = 64

[model]
input = [3, 32, 32]

[optimizer]
kind = "sgd"
lr = 0.01

[tune]
budget = 2
seeds = [1001]
[tune.space]
"optimizer.lr" = { log = [0.001, 0.1] }
"#;

/// A tuned study: status shows the tuning stage (before the final stage is planned), and
/// `--retry-failed` retries a failed tuning run, selects, and leaves the final stage's
/// never-started runs to a plain rerun instead of running them.
#[test]
fn retry_failed_in_a_tuned_study_retries_tuning_runs_and_starts_nothing_else() -> Res {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::write(dir.join("study.toml"), TUNED)?;
    let out = run(dir, &["run", "study.toml", "--dry-run"], "")?;
    let tune_ids: Vec<String> = ok(&out)?
        .lines()
        .map(serde_json::from_str::<serde_json::Value>)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|v| v["stage"] == "tune")
        .filter_map(|v| v["run_id"].as_str().map(String::from))
        .collect();
    assert_eq!(tune_ids.len(), 4);
    let victim = tune_ids[1].clone();
    let out = run(dir, &["run", "study.toml"], &victim)?;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));

    let out = run(dir, &["status", "results/tt", "--json"], "")?;
    let v: serde_json::Value = serde_json::from_str(&ok(&out)?)?;
    assert_eq!(v["stages"][0]["stage"], "tune");
    assert_eq!(v["stages"][0]["counts"]["failed"], 1);
    assert_eq!(v["stages"][0]["counts"]["complete"], 3);
    assert_eq!(v["stages"][1]["stage"], "final");
    assert_eq!(v["stages"][1]["counts"]["runs"], 0, "not planned yet");
    assert_eq!(states(&v)[&victim], "failed");

    let out = ok(&run(dir, &["run", "study.toml", "--retry-failed"], "")?)?;
    assert!(
        out.contains(&format!("retrying 1 failed of 4 runs: {victim}")),
        "{out}"
    );
    assert!(out.contains("selection written"), "{out}");
    assert!(out.contains("no failed runs among 2"), "{out}");
    assert!(
        !dir.join("results/tt/runs").exists(),
        "the final stage's runs are not started by --retry-failed"
    );
    let out = ok(&run(dir, &["run", "study.toml"], "")?)?;
    assert!(out.contains("final stage, 2 runs"), "{out}");
    let out = run(dir, &["status", "results/tt", "--json"], "")?;
    let v: serde_json::Value = serde_json::from_str(&ok(&out)?)?;
    assert_eq!(v["totals"]["complete"], 6);
    Ok(())
}
