//! What the engine knows about each run it is driving: how to cancel it and
//! when it last made progress (for the health report).

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A run this engine is driving.
#[derive(Debug)]
pub(crate) struct LiveRun {
    pub(crate) cancel: CancellationToken,
    pub(crate) workflow: &'static str,
    /// When the run (or its latest resume) began.
    began: Instant,
    /// Nanoseconds after `began` of the last step that ended.
    progressed: AtomicU64,
}

impl LiveRun {
    pub(crate) fn new(cancel: CancellationToken, workflow: &'static str) -> Self {
        Self {
            cancel,
            workflow,
            began: Instant::now(),
            progressed: AtomicU64::new(0),
        }
    }

    /// A step of the run ended (completed or failed for good) at `at`.
    pub(crate) fn progressed(&self, at: Instant) {
        let nanos =
            u64::try_from(at.saturating_duration_since(self.began).as_nanos()).unwrap_or(u64::MAX);
        self.progressed.fetch_max(nanos, Ordering::Relaxed);
    }

    /// When the run last made progress (or began, if no step ended yet).
    pub(crate) fn last_progress(&self) -> Instant {
        self.began + std::time::Duration::from_nanos(self.progressed.load(Ordering::Relaxed))
    }
}
