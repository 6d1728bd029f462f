//! Applying the retention: the engine sweeps finished runs out of its store
//! now and then, never on a step's path.
//!
//! Each run that finishes counts one; the run that makes the count reach the
//! policy's `sweep_every`, or that finishes `sweep_interval` after the last
//! sweep (or after the engine was built), starts a sweep on a task of its
//! own. At most one sweep runs at a time. The cost per run is an atomic count
//! and a clock read; a run that starts no sweep spawns nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::Engine;
use crate::EngineError;
use crate::store::Retention;

/// The engine's retention policy and when it last swept.
#[derive(Debug)]
pub(crate) struct Sweeper {
    retention: Retention,
    /// Runs finished since the last sweep.
    finished: AtomicU32,
    /// When the last sweep began, in nanoseconds after `base`.
    last: AtomicU64,
    base: Instant,
    /// Whether a sweep is running.
    sweeping: Arc<AtomicBool>,
}

impl Sweeper {
    pub(crate) fn new(retention: Retention) -> Self {
        Self {
            retention,
            finished: AtomicU32::new(0),
            last: AtomicU64::new(0),
            base: Instant::now(),
            sweeping: Arc::new(AtomicBool::new(false)),
        }
    }

    fn since_last(&self, now: Instant) -> Duration {
        let last = self.base + Duration::from_nanos(self.last.load(Ordering::Relaxed));
        now.saturating_duration_since(last)
    }

    fn swept_at(&self, now: Instant) {
        let nanos = now.saturating_duration_since(self.base).as_nanos();
        self.last
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// Clears the "sweeping" flag when the sweep ends, however it ends.
struct Swept(Arc<AtomicBool>);

impl Drop for Swept {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Engine {
    /// The retention policy this engine applies to its store.
    pub fn retention(&self) -> &Retention {
        &self.inner.sweeper.retention
    }

    /// Removes the finished runs the [retention policy](Engine::retention) no
    /// longer keeps, now (the engine also does it by itself as runs finish);
    /// returns how many top-level runs it removed, each with its child runs.
    ///
    /// A run's age is the system clock's time now minus the time the store
    /// recorded it finished. Runs that have not ended are never removed.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave some expired runs removed and others not.
    pub async fn apply_retention(&self) -> Result<usize, EngineError> {
        let retention = *self.retention();
        if retention.keeps_all() {
            return Ok(0);
        }
        let now = std::time::SystemTime::now();
        Ok(self.store().apply_retention(&retention, now).await?)
    }

    /// A run finished (its outcome is recorded): sweeps if one is due.
    pub(crate) fn run_finished(&self) {
        let sweeper = &self.inner.sweeper;
        let retention = &sweeper.retention;
        if retention.keeps_all() {
            return;
        }
        let finished = sweeper.finished.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let due = finished >= retention.sweep_every()
            || sweeper.since_last(now) >= retention.sweep_interval();
        if !due || sweeper.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        sweeper.finished.store(0, Ordering::Relaxed);
        sweeper.swept_at(now);
        let swept = Swept(Arc::clone(&sweeper.sweeping));
        let engine = self.clone();
        tokio::spawn(async move {
            let _swept = swept;
            match engine.apply_retention().await {
                Ok(removed) => tracing::debug!(removed, "removed finished runs past retention"),
                Err(error) => tracing::warn!(%error, "could not remove finished runs"),
            }
        });
    }
}
