//! `status` of a study submitted to Slurm, with fake `sacct` / `squeue` scripts (a real Slurm
//! is tested in crates/cli/tests/run_slurm.rs where one exists): a task that ended without a
//! summary is failed with its log's last lines, a pending task is running, a complete run is
//! complete whatever Slurm says; and without any Slurm command the states are skipped with a
//! note, a task that left a log still counting as failed and the rest as pending.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use clipbench_sweep::slurm_state::SlurmTools;
use clipbench_sweep::status::{failed_runs, study_status, RunCondition};
use clipbench_train::records::{RunStatus, Summary, SCHEMA_VERSION};

type Res = Result<(), Box<dyn std::error::Error>>;

const IDS: [&str; 3] = [
    "none-s1-aaaaaaaaaa",
    "pact-s1-bbbbbbbbbb",
    "none-s2-cccccccccc",
];

fn summary(run_id: &str) -> Summary {
    Summary {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.into(),
        status: RunStatus::Completed,
        strategy: "pact".into(),
        seed: 1,
        epochs_completed: 1,
        steps: 2,
        selection: "best-val".into(),
        selected_epoch: Some(0),
        val_acc_at_selected: Some(0.5),
        test_acc_at_selected: Some(0.5),
        test_loss_at_selected: Some(1.0),
        final_test_acc: Some(0.5),
        final_test_loss: Some(1.0),
        final_val_acc: Some(0.5),
        final_train_loss: Some(1.0),
        diverged_at_step: None,
        final_theta: BTreeMap::new(),
        theta_projected: BTreeMap::new(),
        max_grad_norm: 1.0,
        train_wall_s: 0.1,
        eval_wall_s: Some(0.05),
        run_wall_s: Some(0.2),
        load_wall_s: None,
    }
}

/// A study directory as `clipbench run --backend slurm` leaves it: plan files, one
/// submission (job 77) of three runs, task 0's log (it ran and died), run 1 complete.
fn study(root: &Path) -> Res {
    std::fs::create_dir_all(root.join("plan"))?;
    for id in IDS {
        std::fs::write(root.join(format!("plan/{id}.json")), "{}")?;
    }
    let sub = root.join("slurm/1-0");
    std::fs::create_dir_all(sub.join("logs"))?;
    std::fs::write(
        sub.join("submission.json"),
        serde_json::to_vec(&serde_json::json!({
            "job_id": "77", "runs": IDS, "submitted_unix_s": 0, "dir": sub,
        }))?,
    )?;
    std::fs::write(
        sub.join("logs/77_0.log"),
        "clipbench: array task 0: run none-s1-aaaaaaaaaa on node1\nerror: out of memory\n",
    )?;
    std::fs::create_dir_all(root.join("runs").join(IDS[0]))?;
    let done = root.join("runs").join(IDS[1]);
    std::fs::create_dir_all(&done)?;
    std::fs::write(
        done.join("summary.json"),
        serde_json::to_vec(&summary(IDS[1]))?,
    )?;
    Ok(())
}

fn script(path: &Path, body: &str) -> Res {
    std::fs::write(path, format!("#!/bin/sh\n{body}"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

#[test]
fn slurm_task_states_decide_running_and_failed() -> Res {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("results/s");
    study(&root)?;
    let sacct = tmp.path().join("sacct");
    // Task 1 failed in Slurm's eyes, but its run has a summary: the files win.
    script(
        &sacct,
        "echo '77_0|OUT_OF_MEMORY'\necho '77_1|FAILED'\necho '77_2|PENDING'\n",
    )?;
    let tools = SlurmTools {
        squeue: tmp.path().join("no-squeue"),
        sacct,
    };
    let stages = study_status(&root, &tools)?;
    assert_eq!(stages.len(), 1);
    let s = &stages[0];
    let state = |id: &str| s.runs.iter().find(|r| r.run_id == id).map(|r| r.state);
    assert_eq!(state(IDS[0]), Some(RunCondition::Failed));
    assert_eq!(state(IDS[1]), Some(RunCondition::Complete));
    assert_eq!(state(IDS[2]), Some(RunCondition::Running));
    let failed = s.runs.iter().find(|r| r.run_id == IDS[0]).ok_or("run 0")?;
    let err = failed.error.as_deref().unwrap_or_default();
    assert!(
        err.contains("77_0 (OUT_OF_MEMORY)") && err.contains("error: out of memory"),
        "{err}"
    );
    assert_eq!(
        s.slurm.jobs[0].counts(),
        BTreeMap::from([
            ("FAILED".to_string(), 1),
            ("OUT_OF_MEMORY".to_string(), 1),
            ("PENDING".to_string(), 1)
        ])
    );
    assert!(
        s.slurm.notes.is_empty(),
        "sacct answered: {:?}",
        s.slurm.notes
    );
    assert_eq!(
        failed_runs(&root, &tools)?.into_iter().collect::<Vec<_>>(),
        vec![IDS[0].to_string()]
    );
    Ok(())
}

#[test]
fn without_slurm_commands_a_task_log_still_marks_a_failure() -> Res {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("results/s");
    study(&root)?;
    let tools = SlurmTools {
        squeue: tmp.path().join("no-squeue"),
        sacct: tmp.path().join("no-sacct"),
    };
    let s = &study_status(&root, &tools)?[0];
    let state = |id: &str| s.runs.iter().find(|r| r.run_id == id).map(|r| r.state);
    assert_eq!(state(IDS[0]), Some(RunCondition::Failed));
    assert_eq!(
        state(IDS[2]),
        Some(RunCondition::Pending),
        "no log, no Slurm: pending"
    );
    assert!(
        s.slurm.notes.iter().any(|n| n.contains("not found")),
        "{:?}",
        s.slurm.notes
    );
    Ok(())
}

#[test]
fn a_directory_without_plan_or_runs_is_no_study() -> Res {
    let tmp = tempfile::tempdir()?;
    let e = study_status(tmp.path(), &SlurmTools::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains(&tmp.path().display().to_string())
            && e.contains("plan/")
            && e.contains("runs/")
            && e.contains("clipbench run"),
        "{e}"
    );
    Ok(())
}

/// Slurm without accounting (as scripts/slurm-up.sh sets it up): sacct fails, squeue has
/// forgotten the finished job; the task that left a log is failed all the same.
#[test]
fn sacct_without_accounting_and_a_finished_job_still_mark_the_failure() -> Res {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("results/s");
    study(&root)?;
    let (sacct, squeue) = (tmp.path().join("sacct"), tmp.path().join("squeue"));
    script(
        &sacct,
        "echo 'sacct: error: Slurm accounting storage is disabled' >&2\nexit 1\n",
    )?;
    script(&squeue, "exit 0\n")?;
    let s = &study_status(&root, &SlurmTools { squeue, sacct })?[0];
    let state = |id: &str| s.runs.iter().find(|r| r.run_id == id).map(|r| r.state);
    assert_eq!(state(IDS[0]), Some(RunCondition::Failed));
    assert_eq!(state(IDS[2]), Some(RunCondition::Pending));
    assert!(
        s.slurm
            .notes
            .iter()
            .any(|n| n.contains("accounting storage is disabled")),
        "{:?}",
        s.slurm.notes
    );
    Ok(())
}
