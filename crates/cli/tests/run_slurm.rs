//! The Slurm backend against a REAL single-node Slurm (scripts/slurm-up.sh brings it up).
//!
//!     sudo bash scripts/slurm-up.sh
//!     CLIPBENCH_SLURM=1 cargo test -p clipbench --test run_slurm -- --ignored --nocapture
//!
//! Ignored by a plain `cargo test` (which lists it as ignored); .ci/run brings Slurm up and
//! runs it. Success is judged by the result files (every run's summary.json), never by job
//! states: a misconfigured Slurm reports COMPLETED while running nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

type Res = Result<(), Box<dyn std::error::Error>>;

fn study_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/smoke.toml")
}

fn clipbench(results: &Path, extra: &[&str]) -> std::io::Result<Output> {
    let study = study_file();
    let mut c = Command::new(env!("CARGO_BIN_EXE_clipbench"));
    c.arg("run")
        .arg(&study)
        .arg("--results")
        .arg(results)
        .args(extra);
    c.env_remove("CLIPBENCH_TEST_PANIC_RUN").output()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const WAIT: [&str; 6] = [
    "--backend",
    "slurm",
    "--wait",
    "--poll-s",
    "0.5",
    "--array-throttle",
];

fn slurm_enabled() -> bool {
    if std::env::var("CLIPBENCH_SLURM").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("SKIPPED: set CLIPBENCH_SLURM=1 (after `sudo bash scripts/slurm-up.sh`) to run");
    false
}

fn summaries(runs: &Path, ids: &BTreeSet<String>) -> Result<usize, Box<dyn std::error::Error>> {
    let mut n = 0;
    for id in ids {
        let p = runs.join(id).join("summary.json");
        if let Ok(b) = std::fs::read(&p) {
            let s: serde_json::Value = serde_json::from_slice(&b)?;
            assert_eq!(s["run_id"], id.as_str());
            assert_eq!(s["status"], "completed", "{id}");
            n += 1;
        }
    }
    Ok(n)
}

#[test]
#[ignore = "needs a real Slurm: sudo bash scripts/slurm-up.sh; CLIPBENCH_SLURM=1 cargo test -p clipbench --test run_slurm -- --ignored"]
fn the_smoke_study_runs_as_a_slurm_array_and_resubmits_only_incomplete_runs() -> Res {
    if !slurm_enabled() {
        return Ok(());
    }
    // Slurm's daemons (root) read and write here.
    let tmp = tempfile::Builder::new()
        .prefix("clipbench-slurm-")
        .tempdir_in("/tmp")?;
    let results = tmp.path().join("results");
    let plan = clipbench(&results, &["--dry-run"])?;
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let ids: BTreeSet<String> = text(&plan.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["run_id"].as_str().map(str::to_string))
        .collect();
    let runs = results.join("smoke/runs");

    // 1. The whole study, with every option, waited for.
    let mut args = WAIT.to_vec();
    args.extend([
        "2",
        "--partition",
        "debug",
        "--time",
        "00:10:00",
        "--sbatch-line",
        "--comment=clipbench-test",
    ]);
    let out = clipbench(&results, &args)?;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{} submitted as job", ids.len())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} completed, 0 diverged, 0 failed", ids.len())),
        "{stdout}"
    );
    assert_eq!(
        summaries(&runs, &ids)?,
        ids.len(),
        "every run has its summary.json"
    );
    let subs: Vec<PathBuf> = std::fs::read_dir(results.join("smoke/slurm"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    assert_eq!(subs.len(), 1);
    let script = std::fs::read_to_string(subs[0].join("array.sbatch"))?;
    for want in [
        format!("#SBATCH --array=0-{}%2", ids.len() - 1),
        "#SBATCH --partition=debug".into(),
        "#SBATCH --time=00:10:00".into(),
        "#SBATCH --comment=clipbench-test".into(),
        "#SBATCH --cpus-per-task=1".into(),
    ] {
        assert!(script.contains(&want), "{want} not in\n{script}");
    }
    let logs = std::fs::read_dir(subs[0].join("logs"))?.count();
    assert_eq!(logs, ids.len(), "one log per array task");

    // 2. Resubmitting a complete study submits nothing.
    let out = clipbench(&results, &WAIT[..5])?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("nothing to submit"),
        "{}",
        text(&out.stdout)
    );

    // 3. Two runs made partial (one killed before its summary, one with a corrupt one): only
    //    they are submitted; one of them panics, and the failure is reported from the files.
    let ids_v: Vec<&String> = ids.iter().collect();
    let (a, b) = (ids_v[0], ids_v[5]);
    std::fs::remove_file(runs.join(a).join("summary.json"))?;
    std::fs::write(runs.join(b).join("summary.json"), "{\"run_id\": ")?;
    let out = Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .arg("run")
        .arg(study_file())
        .arg("--results")
        .arg(&results)
        .args(&WAIT[..5])
        .env("CLIPBENCH_TEST_PANIC_RUN", b)
        .output()?;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    println!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 submitted as job"), "{stdout}");
    assert!(
        stdout.contains("2 runs: 1 completed, 0 diverged, 1 failed"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "1 of 2 runs failed:\n  {b}: no summary.json; task log:"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("test hook panics"), "{stderr}");

    // 4. Submitted without --wait, then resubmitted at once: the queued run is not submitted
    //    twice; --wait then waits for the earlier job.
    let out = clipbench(&results, &["--backend", "slurm"])?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 submitted as job"),
        "{}",
        text(&out.stdout)
    );
    let out = clipbench(&results, &WAIT[..5])?;
    let stdout = text(&out.stdout);
    println!("{stdout}{}", text(&out.stderr));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("1 already queued in Slurm, nothing to submit")
            || stdout.contains("nothing to submit"),
        "{stdout}"
    );
    assert_eq!(summaries(&runs, &ids)?, ids.len());
    Ok(())
}

fn complete(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join("summary.json").is_file())
                .count()
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "needs a real Slurm: sudo bash scripts/slurm-up.sh; CLIPBENCH_SLURM=1 cargo test -p clipbench --test run_slurm -- --ignored"]
fn a_tuned_study_runs_its_two_stages_on_slurm() -> Res {
    if !slurm_enabled() {
        return Ok(());
    }
    let tmp = tempfile::Builder::new()
        .prefix("clipbench-slurm-tune-")
        .tempdir_in("/tmp")?;
    let results = tmp.path().join("results");
    let study = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/tune-smoke.toml");
    let run = |extra: &[&str]| -> std::io::Result<Output> {
        Command::new(env!("CARGO_BIN_EXE_clipbench"))
            .arg("run")
            .arg(&study)
            .arg("--results")
            .arg(&results)
            .args(extra)
            .env_remove("CLIPBENCH_TEST_PANIC_RUN")
            .output()
    };
    let n = clipbench_clip::strategy::REGISTRY.len();
    let (tune, fin) = (3 * n, 2 * n);
    // Without --wait: only the tuning array can be submitted; the command says what next.
    let out = run(&["--backend", "slurm"])?;
    let stdout = text(&out.stdout);
    println!("{stdout}{}", text(&out.stderr));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("{tune} submitted as job")),
        "{stdout}"
    );
    assert!(stdout.contains("rerun"), "{stdout}");
    assert!(
        !results.join("tune-smoke/runs").exists(),
        "no final run yet"
    );
    // With --wait: waits for the queued tuning array, selects, submits the final stage, waits.
    let out = run(&WAIT[..5])?;
    let stdout = text(&out.stdout);
    println!("{stdout}{}", text(&out.stderr));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("{tune} already queued in Slurm")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("final stage, {fin} runs")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{fin} submitted as job")),
        "{stdout}"
    );
    assert_eq!(complete(&results.join("tune-smoke/tuning/runs")), tune);
    assert_eq!(complete(&results.join("tune-smoke/runs")), fin);
    assert!(results.join("tune-smoke/tuning/selected.json").is_file());
    Ok(())
}
