//! SIGINT / SIGTERM as a flag the runner polls: the first stops launching runs, the second
//! kills the runs in flight. Finished runs are kept either way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::SweepError;

#[derive(Debug, Clone)]
pub struct Interrupts {
    flag: Arc<AtomicBool>,
}

impl Interrupts {
    /// Registers the handlers (replacing the default "terminate").
    pub fn install() -> Result<Interrupts, SweepError> {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, Arc::clone(&flag))
                .map_err(|e| SweepError::Usage(format!("installing a signal handler: {e}")))?;
        }
        Ok(Interrupts { flag })
    }

    /// A flag that nothing sets (tests).
    pub fn none() -> Interrupts {
        Interrupts {
            flag: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether a signal came since the last call.
    pub fn take(&self) -> bool {
        self.flag.swap(false, Ordering::SeqCst)
    }
}
