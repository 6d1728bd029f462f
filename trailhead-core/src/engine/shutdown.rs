//! Graceful shutdown: stop taking work, give the runs in flight a bounded
//! time to end, and leave the rest to `resume`.
//!
//! Every run's task is wrapped so that, once the grace has run out, it stops
//! at its next poll the way a crash would stop it: its future is dropped
//! where it stands, nothing more is written for it (no outcome, no
//! rollback), and what it journaled stays. The wrapper costs one atomic load
//! per poll.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;
use tokio::time::Instant;

use super::{Engine, RunEnd};
use crate::{EngineError, RunId, Workflow};

/// Where the engine is in shutting down.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    /// Shutdown began: no new starts, resumes, retries or timer wake-ups.
    closed: AtomicBool,
    /// The grace ran out: run tasks stop at their next poll.
    stopping: AtomicBool,
    /// Rung when `stopping` is set (shared with each run's wait for it).
    stop: Arc<Notify>,
    /// Rung, while shutting down, when the last run in flight is let go.
    idle: Notify,
}

impl Shutdown {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

impl Engine {
    /// Shuts the engine down gracefully: it starts, resumes and retries no
    /// more runs (they fail with [`EngineError::ShuttingDown`]) and wakes no
    /// more sleeping runs; the runs in flight get up to `grace` to end as
    /// usual. Those still going then are stopped as a crash would stop them:
    /// nothing more is recorded for them (no outcome, no rollback), what they
    /// journaled stays, their handles' [`result`](super::RunHandle::result)
    /// gives [`EngineError::Interrupted`] naming the run, and
    /// [`Engine::resume`] in the next process carries them on from their
    /// journal. Runs unloaded while they sleep are left for `resume` too.
    /// The runs left are handed back to the store
    /// ([`RunWriter::release`](crate::store::RunWriter::release)): another
    /// worker of the store claims them at once, without waiting for this one
    /// to be found gone.
    ///
    /// Returns the runs left unfinished (stopped, or unloaded), child runs
    /// included, sorted. Steps on the blocking pool that were stopped finish
    /// on their threads and their results are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::future::Future;
    /// # use trailhead_core::{Error, RunContext, Workflow};
    /// # #[derive(Clone, Copy, Default)]
    /// # struct Greet;
    /// # impl Workflow for Greet {
    /// #     type Input = String;
    /// #     type Output = String;
    /// #     type Error = Error;
    /// #     const NAME: &'static str = "greet";
    /// #     const MERMAID: &'static str = "";
    /// #     const DEFINITION_HASH: u64 = 0;
    /// #     fn execute<'a>(self, _: &'a RunContext, name: String)
    /// #         -> impl Future<Output = Result<String, Error>> + Send + 'a {
    /// #         async move { Ok(format!("hello, {name}")) }
    /// #     }
    /// # }
    /// use std::time::Duration;
    /// use trailhead_core::{Engine, EngineError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let engine = Engine::new();
    /// let handle = engine.start(Greet, "ada".to_owned()).await.unwrap();
    /// // E.g. on SIGTERM: up to 10 s for the runs in flight, then stop.
    /// let left = engine.shutdown(Duration::from_secs(10)).await;
    /// assert!(left.is_empty(), "the greeting ended within the grace");
    /// assert_eq!(handle.result().await.unwrap(), "hello, ada");
    /// assert!(matches!(
    ///     engine.start(Greet, "bob".to_owned()).await,
    ///     Err(EngineError::ShuttingDown { .. })
    /// ));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the engine refusing new work, with the runs
    /// in flight going on (until the engine's runtime ends).
    pub async fn shutdown(&self, grace: Duration) -> Vec<RunId> {
        let shutdown = &self.inner.shutdown;
        shutdown.closed.store(true, Ordering::SeqCst);
        self.stop_timers();
        self.stop_schedules();
        let deadline = Instant::now() + grace;
        // Timed out or not, what is still in flight is stopped next.
        let _ = tokio::time::timeout_at(deadline, self.until_idle()).await;
        let mut left: Vec<RunId> = self.inner.runs.driven();
        shutdown.stopping.store(true, Ordering::SeqCst);
        shutdown.stop.notify_waiters();
        // Each stopped task lets its run go at its next poll.
        self.until_idle().await;
        left.extend(self.leave_unloaded());
        left.sort();
        left.dedup();
        self.hand_back(&left).await;
        left
    }

    /// Releases the leases of `runs`, left by a shutdown or halted when the
    /// worker's lease lapsed, so that another worker (or the next process's
    /// `resume`) claims them at once rather than when this worker is found
    /// gone. A run another worker took meanwhile is left to it.
    pub(super) async fn hand_back(&self, runs: &[RunId]) {
        for run in runs {
            if let Err(error) = self.hand_back_one(run).await {
                tracing::warn!(%run, %error, "could not hand a run back at shutdown");
            }
        }
    }

    /// Releases the lease of unfinished run `run`, claimable by any worker
    /// at once: whether it did (not if it ended, or another worker took it).
    pub(super) async fn hand_back_one(&self, run: &RunId) -> Result<bool, crate::StoreError> {
        let released = match self.store().open_run(run).await {
            Ok(Some((record, _, writer))) if !record.state.is_ended() => writer.release(None).await,
            Ok(_) => return Ok(false),
            Err(error) => Err(error),
        };
        match released {
            Ok(()) => Ok(true),
            // Taken over or ended meanwhile: not ours to hand back.
            Err(crate::StoreError::LeaseHeld { .. } | crate::StoreError::LeaseLost { .. }) => {
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// Whether [`shutdown`](Engine::shutdown) was called: the engine takes
    /// no more runs.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.is_closed()
    }

    /// Refuses new work once shutdown began.
    pub(crate) fn refuse_if_shutting_down(
        &self,
        workflow: &'static str,
        run: Option<&RunId>,
    ) -> Result<(), EngineError> {
        if self.is_shutting_down() {
            return Err(EngineError::ShuttingDown {
                workflow,
                run: run.cloned(),
            });
        }
        Ok(())
    }

    /// The run `run`'s task, stopped where it stands once the shutdown's
    /// grace runs out.
    pub(crate) fn stoppable<W: Workflow, F>(&self, run: RunId, task: F) -> Stoppable<F>
    where
        F: Future<Output = RunEnd<W>> + Send + 'static,
    {
        let stop = Arc::clone(&self.inner.shutdown.stop).notified_owned();
        Stoppable {
            task,
            stop,
            listening: false,
            engine: self.clone(),
            run,
        }
    }

    /// A run in flight was let go: wakes a shutdown waiting for the last.
    pub(crate) fn let_go(&self, in_flight: usize) {
        if in_flight == 0 && self.is_shutting_down() {
            self.inner.shutdown.idle.notify_waiters();
        }
    }

    /// Waits until no run is in flight.
    async fn until_idle(&self) {
        loop {
            let idle = self.inner.shutdown.idle.notified();
            let mut idle = std::pin::pin!(idle);
            idle.as_mut().enable();
            if self.inner.runs.none_driven() {
                return;
            }
            idle.await;
        }
    }
}

pin_project_lite::pin_project! {
    /// A run's task that stops at its next poll once the shutdown's grace
    /// ran out. A future of its own rather than an `async` block: a block
    /// would hold the task twice (as what it captured and as what it
    /// polls), doubling every run's task cell.
    pub(crate) struct Stoppable<F> {
        #[pin]
        task: F,
        #[pin]
        stop: OwnedNotified,
        // A task's waker is the same on every poll: registering it once is
        // enough, and spares the lock of polling `stop`.
        listening: bool,
        engine: Engine,
        run: RunId,
    }
}

impl<W: Workflow, F: Future<Output = RunEnd<W>>> Future for Stoppable<F> {
    type Output = RunEnd<W>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RunEnd<W>> {
        let this = self.project();
        let stopped = this.engine.inner.shutdown.stopping.load(Ordering::SeqCst) || {
            let first = !*this.listening;
            *this.listening = true;
            first && this.stop.poll(cx).is_ready()
        };
        if stopped {
            tracing::info!(run = %this.run, "stopped by the engine's shutdown; resume carries it on");
            this.engine.untrack(this.run);
            return Poll::Ready(RunEnd::Stopped);
        }
        this.task.poll(cx)
    }
}
