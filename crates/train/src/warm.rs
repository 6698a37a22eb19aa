//! Keeps the other threads of the current rayon pool awake through a training step.
//!
//! A step alternates parallel kernels with short serial stretches (the linear layer, the
//! loss, the optimizer's bookkeeping). Idle rayon workers spin for a few dozen yields and then
//! sleep, so each parallel kernel after a serial stretch began on one thread while the
//! kernel woke the others (futex wake, then the scheduler's latency). [`KeepWarm`] parks one
//! job per other worker that runs whatever rayon work appears and otherwise spins until the
//! guard drops. Only which thread runs a task changes, never what it computes, so results
//! keep their bits.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Spinners running now, in every pool (the tests watch it).
static SPINNING: AtomicUsize = AtomicUsize::new(0);

/// While alive, the pool's other workers spin instead of sleeping. A no-op outside a rayon
/// pool or in a one-thread pool.
pub struct KeepWarm {
    stop: Arc<AtomicBool>,
}

impl KeepWarm {
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        if let Some(me) = rayon::current_thread_index() {
            for _ in 1..rayon::current_num_threads() {
                let stop = stop.clone();
                rayon::spawn(move || {
                    // The spawning thread must never run a spinner: its own step, suspended
                    // below it, is what would stop the spinner.
                    if rayon::current_thread_index() == Some(me) {
                        return;
                    }
                    SPINNING.fetch_add(1, Ordering::AcqRel);
                    while !stop.load(Ordering::Acquire) {
                        if rayon::yield_now() != Some(rayon::Yield::Executed) {
                            std::hint::spin_loop();
                        }
                    }
                    SPINNING.fetch_sub(1, Ordering::AcqRel);
                });
            }
        }
        KeepWarm { stop }
    }
}

impl Drop for KeepWarm {
    fn drop(&mut self) {
        // The spinners end at their next check (after any task they are running).
        self.stop.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;
    use std::time::{Duration, Instant};

    fn wait_for(what: &str, cond: impl Fn() -> bool) {
        let start = Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// In a 2-thread pool the other worker spins while the guard lives, parallel work inside
    /// gets the same results, and the spinner stops once the guard drops. (One test, so no
    /// other test's spinners share the counter.)
    #[test]
    fn the_other_worker_spins_while_the_guard_lives_and_stops_after() {
        let want: f64 = (0..100_000).map(|i| i as f64).sum();
        for threads in [2, 1] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a rayon pool");
            for round in 0..50 {
                let got = pool.install(|| {
                    let _warm = KeepWarm::start();
                    match threads {
                        2 => wait_for("the spinner to start", || {
                            SPINNING.load(Ordering::Acquire) == 1
                        }),
                        _ => assert_eq!(SPINNING.load(Ordering::Acquire), 0, "round {round}"),
                    }
                    let v: Vec<f64> = (0..100_000).map(|i| i as f64).collect();
                    v.par_chunks(1000)
                        .map(|c| c.iter().sum::<f64>())
                        .collect::<Vec<_>>()
                });
                assert_eq!(got.iter().sum::<f64>(), want);
                wait_for("the spinner to stop", || {
                    SPINNING.load(Ordering::Acquire) == 0
                });
            }
        }
        // Outside any pool the guard does nothing.
        drop(KeepWarm::start());
        assert_eq!(SPINNING.load(Ordering::Acquire), 0);
    }
}
