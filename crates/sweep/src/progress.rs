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
        /// Complete before this sweep started (the ETA counts only the runs after).
        done_before: usize,
        done: usize,
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
            // indicatif's own {eta} extrapolates from the position, which starts at the runs
            // complete before this sweep: it read "0s" until the first run of the sweep ended.
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs, eta {sweep_eta}\n  {wide_msg}",
            )
            .map(|st| {
                st.with_key(
                    "sweep_eta",
                    move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let len = s.len().unwrap_or(0) as usize;
                        let text = eta_text(done, s.pos() as usize, len, s.elapsed());
                        let _ = w.write_str(&text);
                    },
                )
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(done as u64);
            bar.enable_steady_tick(Duration::from_millis(200));
            Progress::Bar(bar)
        } else {
            if jobs > 0 {
                eprintln!("{done}/{total} runs complete before this sweep; {jobs} at a time");
            }
            Progress::Lines {
                total,
                done_before: done,
                done,
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
            b.set_message(running_text(ids));
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
                done_before,
                done,
                started,
            } => {
                *done += 1;
                let eta = eta_text(*done_before, *done, *total, started.elapsed());
                eprintln!("[{done}/{total}] {line}, eta {eta}");
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

/// The time left, from the runs finished by this sweep (not those complete before it):
/// "–" until one has finished.
fn eta_text(done_before: usize, pos: usize, len: usize, elapsed: Duration) -> String {
    let fresh = pos.saturating_sub(done_before);
    if fresh == 0 {
        return "–".into();
    }
    let left = len.saturating_sub(pos) as f64;
    let secs = elapsed.as_secs_f64() / fresh as f64 * left;
    if secs >= 3600.0 {
        format!(
            "{}h{:02}m",
            (secs / 3600.0) as u64,
            ((secs % 3600.0) / 60.0) as u64
        )
    } else if secs >= 60.0 {
        format!("{}m{:02}s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!("{secs:.0}s")
    }
}

/// The runs in flight (on the line under the bar), each named without its config hash so
/// that all of them fit: `running 2: none-s1, pact-s3`.
fn running_text(ids: &[&str]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let short: Vec<&str> = ids
        .iter()
        .map(|id| match id.rsplit_once('-') {
            Some((head, hash))
                if hash.len() == 10 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                head
            }
            _ => id,
        })
        .collect();
    format!("running {}: {}", ids.len(), short.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_counts_only_this_sweeps_runs() {
        let s = Duration::from_secs;
        assert_eq!(eta_text(10, 10, 20, s(30)), "–");
        // 2 runs in 30 s, 8 left: 120 s.
        assert_eq!(eta_text(10, 12, 20, s(30)), "2m00s");
        assert_eq!(eta_text(0, 1, 100, s(60)), "1h39m");
        assert_eq!(eta_text(0, 3, 4, s(3)), "1s");
    }

    #[test]
    fn running_names_every_run_without_its_hash() {
        assert_eq!(
            running_text(&["none-s1-7bdcdabf5d", "tanh-learnable-s2-0123456789"]),
            "running 2: none-s1, tanh-learnable-s2"
        );
        assert_eq!(running_text(&["odd-name"]), "running 1: odd-name");
        assert_eq!(running_text(&[]), "");
    }
}
