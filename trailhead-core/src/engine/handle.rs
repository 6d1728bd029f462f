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
pub struct RunHandle<W: Workflow> {
    run: RunId,
    cancel: CancellationToken,
    task: JoinHandle<RunEnd<W>>,
}

impl<W: Workflow> RunHandle<W> {
    pub(crate) fn new(launch: Launch, task: JoinHandle<RunEnd<W>>) -> Self {
        Self {
            run: launch.run,
            cancel: launch.cancel,
            task,
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
        match self.task.await {
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
        self.cancel.cancel();
    }
}

impl<W: Workflow> fmt::Debug for RunHandle<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunHandle")
            .field("run", &self.run)
            .field("workflow", &W::NAME)
            .field("cancelled", &self.cancel.is_cancelled())
            .field("finished", &self.task.is_finished())
            .finish()
    }
}
