//! Progress of a sweep on stderr: an indicatif bar (runs done / total, ETA, the runs in
//! flight) on a terminal, plain lines otherwise (indicatif draws nothing when stderr is not
//! a terminal, so logs and CI would see nothing).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{Outcome, RunReport};

pub enum Progress {
    Bar(ProgressBar),
    Lines {
        total: usize,
        done: usize,
        fresh: usize,
        started: Instant,
    },
    Quiet,
}

impl Progress {
    /// A bar when stderr is a terminal, else plain lines. `total` runs, `done` of them complete.
    pub fn auto(total: usize, done: usize, jobs: usize) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs, eta {eta} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(done as u64);
            bar.reset_eta();
            bar.enable_steady_tick(Duration::from_millis(200));
            Progress::Bar(bar)
        } else {
            if jobs > 0 {
                eprintln!("{done}/{total} runs complete before this sweep; {jobs} at a time");
            }
            Progress::Lines {
                total,
                done,
                fresh: 0,
                started: Instant::now(),
            }
        }
    }

    /// A message above the bar (or a line).
    pub fn note(&self, msg: &str) {
        match self {
            Progress::Bar(b) => b.println(msg),
            Progress::Lines { .. } => eprintln!("{msg}"),
            Progress::Quiet => {}
        }
    }

    pub fn running(&self, ids: &[&str]) {
        if let Progress::Bar(b) = self {
            b.set_message(format!("running: {}", ids.join(", ")));
        }
    }

    pub fn started(&self, id: &str) {
        if let Progress::Lines { .. } = self {
            eprintln!("start {id}");
        }
    }

    pub fn finished(&mut self, r: &RunReport) {
        let what = match r.outcome {
            Outcome::Completed => "completed",
            Outcome::Diverged => "diverged",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "skipped",
            Outcome::NotRun => "not run",
        };
        let mut line = format!("{what} {}", r.run_id);
        if let Some(a) = r.val_acc {
            line.push_str(&format!(" val_acc {a:.4}"));
        }
        if let Some(w) = r.wall_s {
            line.push_str(&format!(" ({w:.1} s)"));
        }
        if let Some(e) = &r.error {
            line.push_str(&format!(": {e}"));
        }
        match self {
            Progress::Bar(b) => {
                if r.outcome != Outcome::Completed {
                    b.println(&line);
                }
                b.inc(1);
            }
            Progress::Lines {
                total,
                done,
                fresh,
                started,
            } => {
                *done += 1;
                *fresh += 1;
                let left = total.saturating_sub(*done);
                let per = started.elapsed().as_secs_f64() / *fresh as f64;
                let eta = per * left as f64;
                eprintln!("[{done}/{total}] {line}, eta {eta:.0} s");
            }
            Progress::Quiet => {}
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}
