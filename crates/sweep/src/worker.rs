//! One planned run in its own process (`clipbench run-worker`, started by the local pool or
//! by a Slurm array task): a panic, an abort or a SIGKILL here cannot take other runs down.
//!
//! The worker owns its run directory while it holds `plan/<run-id>.lock`: it skips the run
//! if it is already complete, else clears what a killed attempt left and trains.

use std::path::Path;

use clipbench_train::out::run_to_dir;
use clipbench_train::records::Summary;
use clipbench_train::RunConfig;

use crate::error::SweepError;
use crate::layout::{run_lock_file, run_state, RunState};
use crate::lock::FileLock;

/// Exit code of a worker that found its run being written by another process.
pub const EXIT_BUSY: i32 = 75;

#[derive(Debug)]
pub enum WorkerOutcome {
    AlreadyComplete(Box<Summary>),
    Ran(Box<Summary>),
}

/// Dies with the parent: SIGKILL when the runner that started this process exits (however
/// it exits), so no orphan keeps writing a run directory that a rerun is about to clear.
pub fn die_with_parent(parent: u32) -> Result<(), SweepError> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| SweepError::Usage(format!("prctl(PR_SET_PDEATHSIG): {e}")))?;
    // The parent may have died before the prctl: then we were re-parented already.
    if std::os::unix::process::parent_id() != parent {
        return Err(SweepError::Usage(format!(
            "the runner (pid {parent}) exited before this worker started"
        )));
    }
    Ok(())
}

/// How long a worker waits for a run's lock before calling the run busy.
const BUSY_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The run's lock, waiting up to [`BUSY_GRACE`]: a worker of a runner that was just killed
/// is gone from the process table (its memory released) a moment before the kernel closes
/// its files and so its lock; a runner restarted at once must not call that run busy.
fn acquire_soon(path: &Path, what: &str) -> Result<Option<FileLock>, SweepError> {
    let start = std::time::Instant::now();
    loop {
        if let Some(lock) = FileLock::try_acquire(path, what)? {
            return Ok(Some(lock));
        }
        if start.elapsed() >= BUSY_GRACE {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Reads a planned run's config; the run directory's name must be its run id.
pub fn read_config(config: &Path, out: &Path) -> Result<RunConfig, SweepError> {
    let text = std::fs::read_to_string(config).map_err(|e| SweepError::io(config, e))?;
    let cfg: RunConfig =
        serde_json::from_str(&text).map_err(|e| clipbench_train::TrainError::Json {
            path: config.to_path_buf(),
            source: e,
        })?;
    cfg.validate().map_err(clipbench_train::TrainError::from)?;
    let id = cfg.run_id();
    if out.file_name().and_then(|n| n.to_str()) != Some(id.as_str()) {
        return Err(SweepError::Run {
            run_id: id,
            message: format!(
                "output directory {} is not named after the run id",
                out.display()
            ),
        });
    }
    Ok(cfg)
}

/// Runs the planned run `config` into `out` unless it is complete already.
pub fn run_planned(
    config: &Path,
    out: &Path,
    data_dir: &Path,
) -> Result<WorkerOutcome, SweepError> {
    let cfg = read_config(config, out)?;
    let id = cfg.run_id();
    let lock_path = run_lock_file(config);
    let Some(_lock) = acquire_soon(&lock_path, &format!("clipbench run-worker {id}"))? else {
        return Err(SweepError::Busy {
            run_id: id,
            holder: FileLock::holder(&lock_path),
        });
    };
    match run_state(out, &id) {
        RunState::Complete(s) => return Ok(WorkerOutcome::AlreadyComplete(s)),
        RunState::Partial => {
            std::fs::remove_dir_all(out).map_err(|e| SweepError::io(out, e))?;
        }
        RunState::Absent => {}
    }
    let s = run_to_dir(&cfg, out, data_dir)?;
    Ok(WorkerOutcome::Ran(Box::new(s)))
}
