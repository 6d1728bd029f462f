//! Cancels asked from other processes: a run this engine drives stops when
//! any engine on the same store cancels it by id
//! ([`Engine::cancel`]), which records the request in the store
//! ([`Store::request_cancel`](crate::store::Store::request_cancel)).
//!
//! The owner learns of it three ways, so a request is never lost:
//!
//! - a [`Notice::Cancel`](crate::store::Notice::Cancel), where the store
//!   notifies (PostgreSQL, the memory store): within milliseconds;
//! - by asking the store for the requests on the runs it holds
//!   ([`Store::cancel_requests`](crate::store::Store::cancel_requests)) every
//!   [poll interval](crate::EngineBuilder::poll_interval): in the claim loop
//!   of a worker, or, for an engine that drives runs without registering
//!   workflows on a store that does not notify (SQLite), on a task of its
//!   own that only polls while it drives runs;
//! - when it claims or opens the run (a sleeping run woken, a run taken
//!   over), its record says so and the run is cancelled before its body
//!   starts (see `launch`).
//!
//! However it learns, the run is cancelled as [`RunHandle::cancel`](super::RunHandle::cancel)
//! cancels it here: its completed steps are compensated and it ends
//! cancelled.

use std::sync::{Arc, Weak};

use tokio::sync::Notify;

use super::{Engine, Inner};
use crate::RunId;

impl Engine {
    /// Cancels run `run` if this engine drives it: a cancel was asked for it.
    /// Whether it does.
    pub(crate) fn cancel_if_driven(&self, run: &RunId) -> bool {
        match self.inner.runs.get(run) {
            Some(live) => {
                live.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels run `run` if this engine drives it or holds it unloaded (it
    /// sleeps, woken now to be cancelled): a cancel was asked for it from
    /// elsewhere. Whether it does.
    pub(crate) fn cancel_if_here(&self, run: &RunId) -> bool {
        if self.cancel_if_driven(run) {
            return true;
        }
        if !self.is_shutting_down()
            && let Some(wake) = self.take_timer(run)
        {
            drop(wake(self.clone(), true));
            return true;
        }
        false
    }

    /// Whether this engine drives no run and holds none unloaded: no cancel
    /// asked can be for it.
    fn holds_none(&self) -> bool {
        self.inner.runs.none_driven() && self.unloaded_runs() == 0
    }

    /// Asks the store which runs this worker holds have a cancel asked, and
    /// cancels those here. Nothing to ask while it holds none.
    pub(crate) async fn cancel_asked_runs(&self) {
        if self.holds_none() {
            return;
        }
        match self.store().cancel_requests().await {
            Ok(runs) => {
                for run in &runs {
                    self.cancel_if_here(run);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the cancels asked; trying again at the next poll");
            }
        }
    }

    /// Makes sure this engine hears of cancels asked for the runs it drives:
    /// called when it starts driving one. On a store other processes share,
    /// listens to the store's notices where it has them and polls where it
    /// has none (unless the claim loop does); on one that lives in this
    /// process, every cancel is this process's own.
    pub(crate) fn hear_cancels(&self) {
        let fleet = &self.inner.fleet;
        fleet.driving.notify_one();
        fleet.cancel_watch.get_or_init(|| {
            if self.store().is_shared() && !self.listen_to_store() {
                tokio::spawn(poll_cancels(
                    Arc::downgrade(&self.inner),
                    Arc::clone(&fleet.driving),
                ));
            }
        });
    }
}

/// Polls for cancels asked, every poll interval while the engine drives
/// (or holds unloaded) runs and its claim loop (which polls for them too)
/// does not run; waits for `driving` otherwise. Ends when the engine is
/// dropped or shuts down.
async fn poll_cancels(engine: Weak<Inner>, driving: Arc<Notify>) {
    loop {
        let Some(inner) = engine.upgrade() else {
            return;
        };
        if inner.shutdown.is_closed() {
            return;
        }
        let poll = inner.config.poll_interval;
        let handle = Engine { inner };
        let idle = handle.holds_none();
        if !idle && handle.inner.fleet.started.get().is_none() {
            handle.cancel_asked_runs().await;
        }
        // Not held while waiting: a dropped engine ends the task.
        drop(handle);
        if idle {
            // Until the engine drives a run again, looking every poll
            // interval whether it was dropped meanwhile (the task then ends).
            let _ = tokio::time::timeout(poll, driving.notified()).await;
        } else {
            tokio::time::sleep(poll).await;
        }
    }
}
