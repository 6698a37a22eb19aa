//! What Slurm says about a study's earlier submissions (`slurm/<n>/submission.json`): each
//! array task's state from `sacct` (finished tasks too), else from `squeue` (pending and
//! running ones only). Both commands are optional: where neither exists (a laptop with a copy
//! of the results) the view is empty and carries a note saying so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::slurm::Submission;

/// The programs to ask (tests point them at fakes).
#[derive(Clone, Debug)]
pub struct SlurmTools {
    pub squeue: PathBuf,
    pub sacct: PathBuf,
}

impl Default for SlurmTools {
    fn default() -> Self {
        SlurmTools {
            squeue: "squeue".into(),
            sacct: "sacct".into(),
        }
    }
}

/// One submission and the state of each of its array tasks (None: unknown).
#[derive(Clone, Debug, PartialEq)]
pub struct JobView {
    pub job_id: String,
    pub dir: PathBuf,
    /// Array index → run id.
    pub runs: Vec<String>,
    pub states: Vec<Option<String>>,
}

impl JobView {
    /// Tasks per state (`UNKNOWN` where neither command said).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for s in &self.states {
            *m.entry(s.clone().unwrap_or_else(|| "UNKNOWN".into()))
                .or_default() += 1;
        }
        m
    }

    /// The task's log (`#SBATCH --output=<dir>/logs/%A_%a.log`).
    pub fn log(&self, index: usize) -> PathBuf {
        self.dir
            .join("logs")
            .join(format!("{}_{index}.log", self.job_id))
    }
}

/// Every submission of one stage directory, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlurmView {
    pub jobs: Vec<JobView>,
    /// Why task states are missing (commands not installed or failing), for the output.
    pub notes: Vec<String>,
}

/// States in which a task is queued or running (Slurm's long names).
pub fn is_active(state: &str) -> bool {
    matches!(
        state,
        "PENDING"
            | "RUNNING"
            | "CONFIGURING"
            | "COMPLETING"
            | "REQUEUED"
            | "RESIZING"
            | "SUSPENDED"
    )
}

impl SlurmView {
    /// Reads `root/slurm/*/submission.json` and asks sacct / squeue about their jobs.
    pub fn load(root: &Path, tools: &SlurmTools) -> SlurmView {
        let subs = crate::slurm::submissions(root);
        let mut view = SlurmView::default();
        if subs.is_empty() {
            return view;
        }
        for sub in subs {
            view.jobs.push(job_view(sub, tools, &mut view.notes));
        }
        view.notes.sort();
        view.notes.dedup();
        view
    }

    /// The last submission holding `run_id` and the run's array index in it.
    pub fn last_task(&self, run_id: &str) -> Option<(&JobView, usize)> {
        self.jobs
            .iter()
            .rev()
            .find_map(|j| j.runs.iter().position(|r| r == run_id).map(|i| (j, i)))
    }
}

fn job_view(sub: Submission, tools: &SlurmTools, notes: &mut Vec<String>) -> JobView {
    let mut states = vec![None; sub.runs.len()];
    // sacct knows finished tasks as well; squeue only the queued and running ones.
    match ask(
        &tools.sacct,
        &["-n", "-P", "-X", "-j", &sub.job_id, "-o", "JobID,State"],
    ) {
        Ok(out) => {
            for line in out.lines() {
                let Some((id, state)) = line.split_once('|') else {
                    continue;
                };
                if let Some(i) = task_index(id, &sub.job_id) {
                    // "CANCELLED by 0" → CANCELLED
                    let s = state.split_whitespace().next().unwrap_or(state);
                    if let Some(slot) = states.get_mut(i) {
                        *slot = Some(s.to_string());
                    }
                }
            }
        }
        Err(note) => notes.push(note),
    }
    if states.iter().all(Option::is_none) {
        match ask(
            &tools.squeue,
            &["-h", "-r", "-j", &sub.job_id, "-o", "%i %T"],
        ) {
            Ok(out) => {
                for line in out.lines() {
                    let mut f = line.split_whitespace();
                    let (Some(id), Some(state)) = (f.next(), f.next()) else {
                        continue;
                    };
                    if let Some(i) = task_index(id, &sub.job_id) {
                        if let Some(slot) = states.get_mut(i) {
                            *slot = Some(state.to_string());
                        }
                    }
                }
            }
            Err(note) => notes.push(note),
        }
    }
    JobView {
        job_id: sub.job_id,
        dir: sub.dir,
        runs: sub.runs,
        states,
    }
}

/// `123_4` → 4 for job 123.
fn task_index(id: &str, job: &str) -> Option<usize> {
    id.strip_prefix(job)?.strip_prefix('_')?.parse().ok()
}

/// The command's stdout, or a note on why there is none.
fn ask(program: &Path, args: &[&str]) -> Result<String, String> {
    let name = program.display();
    match Command::new(program).args(args).output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        // A job Slurm has forgotten: nothing to say about it, not an error.
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("Invalid job id") => Ok(String::new()),
        Ok(o) => Err(format!(
            "{name} failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("{name} not found: Slurm array states not shown"))
        }
        Err(e) => Err(format!("{name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_belong_to_their_job_only() {
        assert_eq!(task_index("123_4", "123"), Some(4));
        assert_eq!(task_index("1234_4", "123"), None);
        assert_eq!(task_index("123_[5-9]", "123"), None);
        assert_eq!(task_index("123", "123"), None);
    }
}
