//! `clipbench run` with the local backend, end to end on tiny synthetic studies: the plan,
//! failures and divergence recorded without stopping the sweep, resume, clearing of partial
//! runs, the lock, and SIGINT.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

type Res = Result<(), Box<dyn std::error::Error>>;

fn study(strategies: &str, seeds: &str, extra: &str) -> String {
    format!(
        r#"name = "t"
dataset = "synthetic"
strategies = [{strategies}]
seeds = [{seeds}]
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
{extra}"#
    )
}

fn cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clipbench"));
    c.args(args)
        .current_dir(dir)
        .env_remove("CLIPBENCH_TEST_PANIC_RUN");
    c
}

fn run(dir: &Path, args: &[&str]) -> std::io::Result<Output> {
    cmd(dir, args).output()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The plan's run ids, from `--dry-run`.
fn plan_ids(dir: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let out = run(dir, &["run", "study.toml", "--dry-run"])?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut ids = Vec::new();
    for line in text(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        ids.push(v["run_id"].as_str().unwrap_or_default().to_string());
    }
    Ok(ids)
}

fn runs_dir(dir: &Path) -> std::path::PathBuf {
    dir.join("results/t/runs")
}

fn summary(dir: &Path, id: &str) -> Option<serde_json::Value> {
    let b = std::fs::read(runs_dir(dir).join(id).join("summary.json")).ok()?;
    serde_json::from_slice(&b).ok()
}

#[test]
fn dry_run_prints_one_json_object_per_run_with_grid_values() -> Res {
    let dir = tempfile::tempdir()?;
    let s = study(
        "\"none\", { name = \"pact\", theta0 = [10.0, 10.0] }",
        "1, 2, 3",
        "[grid]\n\"optimizer.lr\" = [0.001, 0.01]\n\"model.clip.beta\" = [1.0, 5.0]\n",
    );
    std::fs::write(dir.path().join("study.toml"), s)?;
    let out = run(dir.path(), &["run", "study.toml", "--dry-run"])?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 2 * 3 * 2 * 2);
    let ids: BTreeSet<&str> = lines.iter().filter_map(|l| l["run_id"].as_str()).collect();
    assert_eq!(ids.len(), lines.len(), "run ids are unique");
    for l in &lines {
        assert_eq!(l["state"], "pending");
        assert_eq!(l["study"], "t");
        let id = l["run_id"].as_str().unwrap_or_default();
        assert!(l["dir"]
            .as_str()
            .unwrap_or_default()
            .ends_with(&format!("results/t/runs/{id}")));
        assert_eq!(l["config"]["optimizer"]["lr"], l["params"]["optimizer.lr"]);
        assert_eq!(
            l["config"]["model"]["clip"]["beta"],
            l["params"]["model.clip.beta"]
        );
        if l["strategy"] == "pact" {
            assert_eq!(
                l["config"]["model"]["clip"]["theta0"],
                serde_json::json!([10.0, 10.0])
            );
        }
    }
    // Seeds outermost: the first 8 runs are seed 1.
    assert!(lines[..8].iter().all(|l| l["seed"] == 1));
    // The plan is stable: the same ids on a second call.
    let again = run(dir.path(), &["run", "study.toml", "--dry-run"])?;
    assert_eq!(again.stdout, out.stdout);
    assert!(
        !dir.path().join("results").exists(),
        "--dry-run writes nothing"
    );
    Ok(())
}

#[test]
fn a_panicking_run_and_diverging_runs_do_not_stop_the_sweep_and_resume_retries() -> Res {
    let dir = tempfile::tempdir()?;
    let s = study(
        "\"none\", \"seed-softplus\"",
        "1, 2",
        // lr 1e30 makes the unbounded (relu-like) strategies overflow within 4 steps.
        "[grid]\n\"optimizer.lr\" = [0.01, 1e30]\n",
    );
    std::fs::write(dir.path().join("study.toml"), s)?;
    let ids = plan_ids(dir.path())?;
    assert_eq!(ids.len(), 8);
    // Panic in a run that would otherwise complete (lr 0.01 is the first grid value).
    let victim = ids[2].clone();
    let out = cmd(dir.path(), &["run", "study.toml", "--jobs", "2"])
        .env("CLIPBENCH_TEST_PANIC_RUN", &victim)
        .output()?;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("t: 8 runs: 3 completed, 4 diverged, 1 failed, 0 skipped"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("1 of 8 runs failed:\n  {victim}")),
        "{stderr}"
    );
    assert!(stderr.contains("test hook panics"), "{stderr}");
    assert!(
        !stderr.contains("panicked at") || stderr.contains("log"),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results/t/sweep.json"))?)?;
    let outcomes: Vec<&str> = report["runs"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["outcome"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(outcomes.iter().filter(|o| **o == "diverged").count(), 4);
    assert_eq!(outcomes.iter().filter(|o| **o == "failed").count(), 1);
    for id in &ids {
        let s = summary(dir.path(), id);
        if *id == victim {
            assert!(s.is_none(), "the panicked run has no summary");
        } else {
            let s = s.ok_or(format!("{id} has no summary"))?;
            let lr = if ids.iter().position(|i| i == id).unwrap_or(0) % 2 == 1 {
                "diverged"
            } else {
                "completed"
            };
            assert_eq!(s["status"], lr, "{id}");
        }
    }
    // Resume: only the failed run runs again.
    let out = run(dir.path(), &["run", "study.toml", "--jobs", "2"])?;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("t: 8 runs: 1 completed, 0 diverged, 0 failed, 7 skipped"),
        "{stdout}"
    );
    assert!(summary(dir.path(), &victim).is_some());
    Ok(())
}

#[test]
fn partial_and_corrupt_runs_are_cleared_and_rerun() -> Res {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("study.toml"),
        study("\"none\", \"pact\"", "1, 2", ""),
    )?;
    let ids = plan_ids(dir.path())?;
    let out = run(dir.path(), &["run", "study.toml"])?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let metrics0 = std::fs::read(runs_dir(dir.path()).join(&ids[0]).join("metrics.jsonl"))?;
    // A run killed before its summary: files without summary.json, plus junk.
    let a = runs_dir(dir.path()).join(&ids[0]);
    std::fs::remove_file(a.join("summary.json"))?;
    std::fs::write(a.join("junk.tmp"), "left by a killed run")?;
    std::fs::write(a.join("metrics.jsonl"), "{\"kind\":\"step\",\"st")?;
    // A truncated summary, and one of another run.
    let b = runs_dir(dir.path()).join(&ids[1]);
    let full = std::fs::read(b.join("summary.json"))?;
    std::fs::write(b.join("summary.json"), &full[..full.len() / 2])?;
    let c = runs_dir(dir.path()).join(&ids[2]);
    std::fs::copy(
        runs_dir(dir.path()).join(&ids[3]).join("summary.json"),
        c.join("summary.json"),
    )?;
    let dry = run(dir.path(), &["run", "study.toml", "--dry-run"])?;
    let states: Vec<String> = text(&dry.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["state"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(states, ["partial", "partial", "partial", "complete"]);
    let out = run(dir.path(), &["run", "study.toml"])?;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("4 runs: 3 completed, 0 diverged, 0 failed, 1 skipped"),
        "{stdout}"
    );
    assert!(
        !a.join("junk.tmp").exists(),
        "partial run directories are cleared"
    );
    assert_eq!(
        std::fs::read(a.join("metrics.jsonl"))?,
        metrics0,
        "rerun is identical"
    );
    for id in &ids {
        assert_eq!(
            summary(dir.path(), id).map(|s| s["run_id"].clone()),
            Some(id.as_str().into())
        );
    }
    Ok(())
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Res {
    let t = Instant::now();
    while !f() {
        if t.elapsed() > timeout {
            return Err(format!("timed out waiting for {what}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn spawn(dir: &Path, args: &[&str]) -> std::io::Result<Child> {
    cmd(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

fn complete_count(dir: &Path, ids: &[String]) -> usize {
    ids.iter().filter(|id| summary(dir, id).is_some()).count()
}

#[test]
fn a_second_runner_is_refused_and_a_killed_one_leaves_no_stale_lock() -> Res {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("study.toml"),
        study("\"none\", \"pact\", \"tanh-fixed\"", "1, 2", ""),
    )?;
    let ids = plan_ids(dir.path())?;
    let mut first = spawn(dir.path(), &["run", "study.toml", "--jobs", "1"])?;
    let lock = dir.path().join("results/t/.lock");
    wait_for("the lock", Duration::from_secs(30), || {
        std::fs::read_to_string(&lock).is_ok_and(|s| s.contains("pid"))
    })?;
    let second = run(dir.path(), &["run", "study.toml", "--jobs", "1"])?;
    let err = text(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(
        err.contains("results/t is in use by another `clipbench run`"),
        "{err}"
    );
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    first.kill()?;
    first.wait()?;
    let third = run(dir.path(), &["run", "study.toml", "--jobs", "2"])?;
    assert!(third.status.success(), "{}", text(&third.stderr));
    assert_eq!(complete_count(dir.path(), &ids), ids.len());
    Ok(())
}

#[test]
fn sigint_stops_launching_keeps_finished_runs_and_exits_non_zero() -> Res {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("study.toml"),
        study("\"none\", \"pact\", \"tanh-fixed\"", "1, 2, 3", ""),
    )?;
    let ids = plan_ids(dir.path())?;
    let child = spawn(dir.path(), &["run", "study.toml", "--jobs", "1"])?;
    wait_for("a first complete run", Duration::from_secs(60), || {
        complete_count(dir.path(), &ids) >= 1
    })?;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()?;
    assert!(status.success());
    let out = child.wait_with_output()?;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("interrupted: starting no more runs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rerun the same command to resume"),
        "{stderr}"
    );
    assert!(stdout.contains("(interrupted)"), "{stdout}");
    let done = complete_count(dir.path(), &ids);
    assert!(done >= 1 && done < ids.len(), "{done} complete");
    // The run in flight was allowed to finish: every run directory is complete.
    for e in std::fs::read_dir(runs_dir(dir.path()))? {
        let e = e?;
        assert!(
            e.path().join("summary.json").exists(),
            "{} is partial",
            e.path().display()
        );
    }
    let out = run(dir.path(), &["run", "study.toml", "--jobs", "2"])?;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains(&format!("{done} skipped")), "{stdout}");
    assert_eq!(complete_count(dir.path(), &ids), ids.len());
    Ok(())
}
