//! The worker's ownership rules: a run whose lock is held elsewhere is refused (busy) after a
//! short grace, a lock released within it is taken, a complete run is skipped, a directory not named after the run is refused.

use std::path::Path;

use clipbench_sweep::layout::{plan_file, run_lock_file, write_plan_files};
use clipbench_sweep::lock::FileLock;
use clipbench_sweep::worker::{run_planned, WorkerOutcome};
use clipbench_sweep::{RunPlan, SweepError};

type Res = Result<(), Box<dyn std::error::Error>>;

fn tiny(results: &Path) -> Result<RunPlan, SweepError> {
    RunPlan::from_text(
        Path::new("w.toml"),
        "dataset = \"synthetic\"\nstrategies = [\"none\"]\nseeds = [1]\nepochs = 1\ntrain_limit = 32\ntest_limit = 16\nbatch_size = 16\n[optimizer]\nkind = \"adam\"\nlr = 0.001\n",
        results,
    )
}

#[test]
fn a_run_locked_by_another_process_is_refused_as_busy() -> Res {
    let dir = tempfile::tempdir()?;
    let plan = tiny(dir.path())?;
    write_plan_files(&plan.root, &plan.runs)?;
    let r = &plan.runs[0];
    let cfg = plan_file(&plan.root, &r.run_id);
    let _held = FileLock::try_acquire(&run_lock_file(&cfg), "a Slurm task")?
        .ok_or("lock should be free")?;
    match run_planned(&cfg, &r.dir, dir.path()) {
        Err(SweepError::Busy { run_id, holder }) => {
            assert_eq!(run_id, r.run_id);
            assert!(holder.contains("a Slurm task"), "{holder}");
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    assert!(!r.dir.exists(), "nothing was written");
    Ok(())
}

#[test]
fn a_lock_released_moments_later_is_waited_for() -> Res {
    // A killed runner's worker releases its lock a moment after it leaves the process table;
    // the restarted runner's worker must take the run, not call it busy.
    let dir = tempfile::tempdir()?;
    let plan = tiny(dir.path())?;
    write_plan_files(&plan.root, &plan.runs)?;
    let r = &plan.runs[0];
    let cfg = plan_file(&plan.root, &r.run_id);
    let held = FileLock::try_acquire(&run_lock_file(&cfg), "a dying worker")?
        .ok_or("lock should be free")?;
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(held);
    });
    let outcome = run_planned(&cfg, &r.dir, dir.path());
    release.join().map_err(|_| "release thread panicked")?;
    assert!(matches!(outcome?, WorkerOutcome::Ran(_)));
    Ok(())
}

#[test]
fn a_complete_run_is_skipped_and_a_wrong_directory_refused() -> Res {
    let dir = tempfile::tempdir()?;
    let plan = tiny(dir.path())?;
    write_plan_files(&plan.root, &plan.runs)?;
    let r = &plan.runs[0];
    let cfg = plan_file(&plan.root, &r.run_id);
    let first = run_planned(&cfg, &r.dir, dir.path())?;
    assert!(matches!(first, WorkerOutcome::Ran(_)));
    let metrics = std::fs::read(r.dir.join("metrics.jsonl"))?;
    match run_planned(&cfg, &r.dir, dir.path())? {
        WorkerOutcome::AlreadyComplete(s) => assert_eq!(s.run_id, r.run_id),
        other => panic!("expected AlreadyComplete, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(r.dir.join("metrics.jsonl"))?,
        metrics,
        "untouched"
    );
    let wrong = dir.path().join("elsewhere");
    let e = run_planned(&cfg, &wrong, dir.path())
        .err()
        .map(|e| e.to_string());
    assert!(e
        .unwrap_or_default()
        .contains("is not named after the run id"));
    Ok(())
}
