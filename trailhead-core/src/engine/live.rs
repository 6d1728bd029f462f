//! What the engine knows about each run it is driving: how to cancel it and
//! when it last made progress (for the health report).

use std::sync::Mutex;
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
    /// Fired when the engine stops driving the run without ending it: the
    /// store failed for good, or another worker took the run over.
    halt: tokio::sync::Notify,
    /// Why the run was halted (the first reason).
    halted: Mutex<Option<crate::StoreError>>,
    /// Its running attempts and replayed steps, for its picture.
    pub(crate) steps: crate::picture::LiveSteps,
}

impl LiveRun {
    pub(crate) fn new(cancel: CancellationToken, workflow: &'static str) -> Self {
        Self {
            cancel,
            workflow,
            began: Instant::now(),
            progressed: AtomicU64::new(0),
            halt: tokio::sync::Notify::new(),
            halted: Mutex::new(None),
            steps: crate::picture::LiveSteps::default(),
        }
    }

    /// Stops driving the run because of `error`: its body is dropped at once
    /// and nothing more is written for it (the first reason is kept).
    pub(crate) fn halt(&self, error: crate::StoreError) {
        let mut halted = self
            .halted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if halted.is_none() {
            *halted = Some(error);
        }
        drop(halted);
        self.halt.notify_waiters();
    }

    /// Resolves once the run was halted.
    pub(crate) async fn halted(&self) {
        loop {
            let notified = self.halt.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Checked once when the run starts and once per notice: the run's
            // task polls the parked `notified` otherwise.
            let halted = self
                .halted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_some();
            if halted {
                return;
            }
            notified.await;
        }
    }

    /// Why the run was halted, if it was (taken once).
    pub(crate) fn take_halt(&self) -> Option<crate::StoreError> {
        self.halted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// A step of the run ended (completed or failed for good) at `at`.
    pub(crate) fn progressed(&self, at: Instant) {
        let nanos =
            u64::try_from(at.saturating_duration_since(self.began).as_nanos()).unwrap_or(u64::MAX);
        // A load and a store, not a read-modify-write: a run's steps end on
        // its own task, one at a time, so no other write comes between.
        if nanos > self.progressed.load(Ordering::Relaxed) {
            self.progressed.store(nanos, Ordering::Relaxed);
        }
    }

    /// When the run last made progress (or began, if no step ended yet).
    pub(crate) fn last_progress(&self) -> Instant {
        self.began + std::time::Duration::from_nanos(self.progressed.load(Ordering::Relaxed))
    }
}
