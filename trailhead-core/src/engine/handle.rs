//! [`RunHandle`]: a started run's id, result, and cancellation.

use std::fmt;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Launch, RunEnd};
use crate::{EngineError, RunError, RunId, Workflow};

/// A started run: its id, its result, and a way to cancel it.
///
/// Made by [`Engine::start`](super::Engine::start). Dropping the handle does **not** cancel the run;
/// it goes on and is recorded as usual.
///
/// A handle from [`Engine::enqueue`](super::Engine::enqueue) or
/// [`Engine::handle`](super::Engine::handle) is for a run driven by
/// whichever worker claims it: its result is read from the store once the
/// run ended there.
pub struct RunHandle<W: Workflow> {
    run: RunId,
    driver: Driver<W>,
}

/// Who drives the run: this engine's task, or any worker of the store.
enum Driver<W: Workflow> {
    Here {
        cancel: CancellationToken,
        task: JoinHandle<RunEnd<W>>,
    },
    Elsewhere(super::Engine),
}

impl<W: Workflow> RunHandle<W> {
    pub(crate) fn new(launch: Launch, task: JoinHandle<RunEnd<W>>) -> Self {
        Self {
            run: launch.run,
            driver: Driver::Here {
                cancel: launch.cancel,
                task,
            },
        }
    }

    /// A handle to run `run`, driven by whichever worker holds it.
    pub(crate) fn elsewhere(engine: super::Engine, run: RunId) -> Self {
        Self {
            run,
            driver: Driver::Elsewhere(engine),
        }
    }

    /// The run's id.
    pub fn id(&self) -> &RunId {
        &self.run
    }

    /// Waits for the run to end and gives its output.
    ///
    /// By then the outcome is recorded and the run's last event emitted.
    ///
    /// # Errors
    ///
    /// - [`RunError::Failed`] with the workflow's error;
    /// - [`RunError::Cancelled`] after [`RunHandle::cancel`];
    /// - [`RunError::Engine`]: [`EngineError::TaskFailed`] if the workflow
    ///   panicked (the run is recorded as failed), [`EngineError::Store`] with
    ///   [`StoreError::Encode`](crate::StoreError::Encode) if the output cannot be serialized, and
    ///   [`EngineError::Store`] if the outcome cannot be recorded.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not cancel the run, but the result is lost:
    /// the handle is consumed.
    pub async fn result(self) -> Result<W::Output, RunError<W::Error>> {
        let task = match self.driver {
            Driver::Here { task, .. } => task,
            Driver::Elsewhere(engine) => return engine.ended_elsewhere::<W>(self.run).await,
        };
        match task.await {
            // Handed back to the store while it sleeps: any worker ends it.
            Ok(RunEnd::Released(engine)) => engine.ended_elsewhere::<W>(self.run).await,
            // Unloaded while it slept: its end comes through the engine.
            Ok(RunEnd::Unloaded(Some(finisher))) => match finisher.await {
                Ok(end) => match end.downcast::<RunEnd<W>>() {
                    Ok(end) => end.into_result(self.run),
                    Err(_) => Err(RunError::Engine(EngineError::TaskFailed {
                        run: self.run,
                        message: "the resumed run ended as another workflow".to_owned(),
                    })),
                },
                // The engine shut down (or was dropped) before it woke.
                Err(_) => Err(RunError::Engine(EngineError::Interrupted { run: self.run })),
            },
            Ok(end) => end.into_result(self.run),
            // Only a runtime shutting down aborts a run's task.
            Err(error) if error.is_cancelled() => {
                Err(RunError::Engine(EngineError::Interrupted { run: self.run }))
            }
            Err(error) => Err(RunError::Engine(EngineError::TaskFailed {
                run: self.run,
                message: error.to_string(),
            })),
        }
    }

    /// Cancels the run, and with it the child runs it started.
    ///
    /// Cooperative: the workflow body is dropped at its next suspension point,
    /// the run is recorded as cancelled and
    /// [`Event::RunCancelled`](crate::Event::RunCancelled) is emitted.
    /// [`RunHandle::result`] then gives [`RunError::Cancelled`]. Has no effect
    /// on a run that already ended. A run unloaded while it sleeps notices the
    /// cancellation only when it wakes; [`Engine::cancel`](super::Engine::cancel) stops it at once.
    pub fn cancel(&self) {
        match &self.driver {
            Driver::Here { cancel, .. } => cancel.cancel(),
            Driver::Elsewhere(engine) => {
                let (engine, run) = (engine.clone(), self.run.clone());
                tokio::spawn(async move {
                    if let Err(error) = engine.cancel(&run).await {
                        tracing::warn!(%run, %error, "could not cancel the run");
                    }
                });
            }
        }
    }
}

impl<W: Workflow> fmt::Debug for RunHandle<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("RunHandle");
        f.field("run", &self.run).field("workflow", &W::name());
        match &self.driver {
            Driver::Here { cancel, task } => f
                .field("cancelled", &cancel.is_cancelled())
                .field("finished", &task.is_finished()),
            Driver::Elsewhere(_) => f.field("driven", &"by any worker"),
        }
        .finish()
    }
}

impl super::Engine {
    /// Waits until run `run` ended in the store, whichever worker ended it,
    /// and gives its result as recorded: the output decoded, a failure as
    /// its recorded text ([`RunError::FailedEarlier`]).
    pub(crate) async fn ended_elsewhere<W: Workflow>(
        &self,
        run: RunId,
    ) -> Result<W::Output, RunError<W::Error>> {
        match self.recorded_end(&run).await {
            Ok(outcome) => RunEnd::<W>::recorded(&outcome).into_result(run),
            Err(error) => Err(RunError::Engine(EngineError::Store(error))),
        }
    }

    /// Waits until run `run` ended in the store, whichever worker ended it:
    /// its recorded outcome. Woken by this engine's events and the store's
    /// notices, and otherwise polls, backing off up to the poll interval.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownRun`](crate::StoreError::UnknownRun) if there is
    /// no such run, and what reading it fails with.
    pub(crate) async fn recorded_end(
        &self,
        run: &RunId,
    ) -> Result<crate::store::RunOutcome, crate::StoreError> {
        let mut events = self.subscribe();
        let mut notices = self.store().notices();
        if notices.is_some() {
            // Before the first read: an end after it is noticed.
            self.store().watch_end(run).await?;
        }
        let mut delay = std::time::Duration::from_millis(2);
        loop {
            let Some(record) = self.store().run(run).await? else {
                return Err(crate::StoreError::UnknownRun { run: run.clone() });
            };
            if let crate::store::RunState::Ended { outcome, .. } = record.state {
                return Ok(outcome);
            }
            let ours = async {
                while let Some(event) = events.recv().await {
                    if event.run() == Some(run) {
                        return;
                    }
                }
                std::future::pending().await
            };
            let noticed = async {
                match notices.as_mut() {
                    Some(receiver) => loop {
                        match receiver.recv().await {
                            Ok(crate::store::Notice::Ended(ended)) if &ended == run => return,
                            Ok(_) => {}
                            Err(_) => return,
                        }
                    },
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = ours => {}
                () = noticed => {}
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.poll_interval());
        }
    }
}
