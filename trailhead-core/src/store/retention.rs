//! Retention: how long a store keeps the runs that have ended.
//!
//! A finished run's record and journal are only history: nothing replays them
//! again. Left alone they pile up (the memory store holds every one of them in
//! the heap). A [`Retention`] says which to keep; the engine applies it now and
//! then (see [`Retention::with_sweep_every`]) through
//! [`Store::apply_retention`](super::Store::apply_retention), which removes the
//! rest with [`Store::remove_run`](super::Store::remove_run).
//!
//! - Limits are per kind of ending: **completed** runs, and **failed** ones
//!   (failed, cancelled, or whose compensation failed: the runs someone may
//!   want to look at or retry). Each kind may keep its newest `n` runs (by the
//!   time they finished), and/or the runs that finished less than a duration
//!   ago. A run outside any limit of its kind is removed.
//! - Only top-level runs are counted and removed; a child run started by
//!   `call` goes with its parent, never on its own.
//! - A run that has not ended (running, sleeping, or compensating), or that
//!   has a child run that has not ended, is never removed, whatever its age.
//!
//! Each store has a default ([`Store::default_retention`](super::Store::default_retention)):
//! [`Retention::in_memory`] for the [`MemoryStore`](super::MemoryStore), so
//! it does not grow without bound, and [`Retention::durable`] for the
//! [`SqliteStore`](super::SqliteStore). Choose another with
//! [`EngineBuilder::retention`](crate::EngineBuilder::retention).
//!
//! Removed runs are gone: [`Engine::start_with_id`](crate::Engine::start_with_id)
//! with a removed run's id starts it afresh, so a business key (an order id as
//! the run id) guards against duplicate work only while its run is kept.
//!
//! # Examples
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use trailhead_core::{MemoryStore, RunId, RunOutcome, RunRecord, Store};
//! use trailhead_core::store::Retention;
//!
//! const DAY: Duration = Duration::from_secs(24 * 60 * 60);
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), trailhead_core::StoreError> {
//! // The last 500 completed runs, but none older than a day; failed ones for a week.
//! let retention = Retention::new()
//!     .with_completed_newest(500)
//!     .with_completed_for(DAY)
//!     .with_failed_for(7 * DAY);
//!
//! let store = MemoryStore::new();
//! let input = trailhead_core::store::Value::encode(&()).unwrap();
//! let record = RunRecord::new(RunId::new("order-42"), "fulfil", input);
//! let writer = store.create_run(record).await?;
//! writer.finish(RunOutcome::Completed(trailhead_core::store::Value::encode(&"shipped".to_owned()).unwrap())).await?;
//!
//! // Tomorrow the run has expired.
//! let removed = store.apply_retention(&retention, SystemTime::now() + 2 * DAY).await?;
//! assert_eq!(removed, 1);
//! assert!(store.run(&RunId::new("order-42")).await?.is_none());
//! # Ok(())
//! # }
//! ```

use std::cmp::Reverse;
use std::time::{Duration, SystemTime};

use super::RunStatus;
use crate::RunId;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Which finished runs a store keeps, and how often the engine sweeps away
/// the others. See the [module docs](self).
///
/// [`Retention::new`] keeps everything; the `with_*` methods add limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    completed: Keep,
    failed: Keep,
    sweep_every: u32,
    sweep_interval: Duration,
}

/// The limits for one kind of finished run: its newest `n` and/or those that
/// finished less than a duration ago. No limit keeps them all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keep {
    newest: Option<usize>,
    duration: Option<Duration>,
}

impl Keep {
    /// How many of the newest runs are kept, if that is limited.
    pub const fn newest(&self) -> Option<usize> {
        self.newest
    }

    /// How long after they finished runs are kept, if that is limited.
    pub const fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// Whether this keeps every run.
    pub const fn keeps_all(&self) -> bool {
        self.newest.is_none() && self.duration.is_none()
    }
}

impl Retention {
    /// Keeps every finished run; add limits with the `with_*` methods. The
    /// engine sweeps after every 100 finished runs, or after the first to
    /// finish 10 minutes after the last sweep.
    pub const fn new() -> Self {
        Self {
            completed: Keep {
                newest: None,
                duration: None,
            },
            failed: Keep {
                newest: None,
                duration: None,
            },
            sweep_every: 100,
            sweep_interval: Duration::from_secs(10 * 60),
        }
    }

    /// The [`MemoryStore`](super::MemoryStore)'s default: the newest 1,000
    /// completed runs and the newest 10,000 failed ones, so memory stays
    /// bounded however many runs pass through.
    pub const fn in_memory() -> Self {
        Self::new()
            .with_completed_newest(1_000)
            .with_failed_newest(10_000)
    }

    /// The [`SqliteStore`](super::SqliteStore)'s default: completed runs for
    /// 7 days after they finished, failed ones for 30 days.
    pub const fn durable() -> Self {
        Self::new()
            .with_completed_for(Duration::from_secs(7 * DAY.as_secs()))
            .with_failed_for(Duration::from_secs(30 * DAY.as_secs()))
    }

    /// Keeps only the newest `n` completed runs (by the time they finished).
    #[must_use]
    pub const fn with_completed_newest(mut self, n: usize) -> Self {
        self.completed.newest = Some(n);
        self
    }

    /// Keeps completed runs only until `duration` after they finished.
    #[must_use]
    pub const fn with_completed_for(mut self, duration: Duration) -> Self {
        self.completed.duration = Some(duration);
        self
    }

    /// Keeps only the newest `n` failed runs (failed, cancelled, or whose
    /// compensation failed), by the time they finished.
    #[must_use]
    pub const fn with_failed_newest(mut self, n: usize) -> Self {
        self.failed.newest = Some(n);
        self
    }

    /// Keeps failed runs (failed, cancelled, or whose compensation failed)
    /// only until `duration` after they finished.
    #[must_use]
    pub const fn with_failed_for(mut self, duration: Duration) -> Self {
        self.failed.duration = Some(duration);
        self
    }

    /// Sweeps after every `n` runs that finish (default 100; 0 counts as 1).
    ///
    /// With a limit of the newest `k` runs, a store holds at most about
    /// `k + n` of them between sweeps. A sweep looks at every finished run
    /// the memory store holds, so with a large `k` a larger `n` (a tenth of
    /// `k`, say) keeps its cost per run small.
    #[must_use]
    pub const fn with_sweep_every(mut self, n: u32) -> Self {
        self.sweep_every = if n == 0 { 1 } else { n };
        self
    }

    /// Also sweeps when a run finishes `interval` or more after the last
    /// sweep (default 10 minutes), so that runs past their duration go even
    /// when few runs finish. The interval is measured on tokio's clock; ages
    /// on the system clock, against the finish times the store recorded.
    #[must_use]
    pub const fn with_sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval;
        self
    }

    /// The limits for completed runs.
    pub const fn completed(&self) -> Keep {
        self.completed
    }

    /// The limits for failed, cancelled and compensation-failed runs.
    pub const fn failed(&self) -> Keep {
        self.failed
    }

    /// How many finished runs between sweeps.
    pub const fn sweep_every(&self) -> u32 {
        self.sweep_every
    }

    /// The longest time between sweeps while runs finish.
    pub const fn sweep_interval(&self) -> Duration {
        self.sweep_interval
    }

    /// Whether this keeps every finished run (sweeping would remove nothing).
    pub const fn keeps_all(&self) -> bool {
        self.completed.keeps_all() && self.failed.keeps_all()
    }

    /// The limits for runs that ended with `status`; `None` for a run that
    /// has not ended, which is always kept.
    pub const fn limits_for(&self, status: RunStatus) -> Option<Keep> {
        match status {
            RunStatus::Completed | RunStatus::Compensated => Some(self.completed),
            RunStatus::Failed | RunStatus::Cancelled | RunStatus::CompensationFailed => {
                Some(self.failed)
            }
            RunStatus::Running | RunStatus::Compensating => None,
        }
    }

    /// Of the ended top-level runs `ended` (id, status, when it finished), the
    /// ones this no longer keeps at `now`. The order of `ended` does not matter.
    pub(crate) fn expired(
        &self,
        mut ended: Vec<(RunId, RunStatus, SystemTime)>,
        now: SystemTime,
    ) -> Vec<RunId> {
        // Newest first (ties by id, so the choice does not depend on the input order).
        ended.sort_by(|a, b| (Reverse(a.2), Reverse(&a.0)).cmp(&(Reverse(b.2), Reverse(&b.0))));
        let (mut completed, mut failed) = (0_usize, 0_usize);
        let mut expired = Vec::new();
        for (id, status, finished_at) in ended {
            let Some(keep) = self.limits_for(status) else {
                continue;
            };
            let seen = if status == RunStatus::Completed {
                &mut completed
            } else {
                &mut failed
            };
            *seen += 1;
            let too_many = keep.newest.is_some_and(|newest| *seen > newest);
            let too_old = keep.duration.is_some_and(|duration| {
                now.duration_since(finished_at)
                    .is_ok_and(|age| age > duration)
            });
            if too_many || too_old {
                expired.push(id);
            }
        }
        expired
    }
}

impl Default for Retention {
    /// [`Retention::new`]: keeps everything.
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests;
