//! Starting runs: [`Engine::start`], [`Engine::start_with_id`] and
//! [`Engine::run`].

use super::admission::Admitted;
use super::{Engine, Launch, RunHandle};
use crate::{EngineError, RunError, RunId, Workflow};

impl Engine {
    /// Starts a run of `workflow` with `input` under a fresh, time-ordered id.
    ///
    /// Records the run (status running, with its input), emits
    /// [`Event::RunStarted`](crate::Event::RunStarted) and spawns the run's task.
    /// The run goes on if the handle is dropped.
    ///
    /// On an engine with a limit on runs in flight
    /// ([`EngineBuilder::max_runs_in_flight`](crate::EngineBuilder::max_runs_in_flight))
    /// and no place free, the run is queued in the store instead, with an
    /// [`Event::RunQueued`](crate::Event::RunQueued), and the handle
    /// returned at once waits for it to be driven and end.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::Encode`](crate::StoreError::Encode) if the input cannot
    /// be serialized, and [`EngineError::Store`] if the store fails to record
    /// the run.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped before it completes, the run may be recorded
    /// as running but never started.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub async fn start<W: Workflow>(
        &self,
        workflow: W,
        input: W::Input,
    ) -> Result<RunHandle<W>, EngineError> {
        self.start_with_id(RunId::generate(), workflow, input).await
    }

    /// Like [`Engine::start`], under the id `id`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::RunExists`](crate::StoreError::RunExists) if the store
    /// already has a run `id`, and the errors of [`Engine::start`].
    ///
    /// # Cancel safety
    ///
    /// As for [`Engine::start`].
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub async fn start_with_id<W: Workflow>(
        &self,
        id: RunId,
        workflow: W,
        input: W::Input,
    ) -> Result<RunHandle<W>, EngineError> {
        self.refuse_if_shutting_down(W::name(), Some(&id))?;
        let place = match self.admit() {
            Admitted::Unlimited => None,
            Admitted::Place(place) => Some(place),
            Admitted::Queue => return self.queue_for_admission(id, workflow, input).await,
        };
        let launch = Launch::new(id, None, tokio_util::sync::CancellationToken::new());
        let task = self
            .prepare(&launch, workflow, input)
            .await
            .map_err(|error| error.into_engine_error(&launch.run))?;
        Ok(RunHandle::new(launch, Self::spawn_holding(place, task)))
    }

    /// Starts a run and waits for its result.
    ///
    /// # Errors
    ///
    /// [`RunError::Failed`] with the workflow's error, and
    /// [`RunError::Engine`] when the run could not be started or recorded.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not cancel a started run; as for
    /// [`Engine::start`] otherwise.
    pub async fn run<W: Workflow>(
        &self,
        workflow: W,
        input: W::Input,
    ) -> Result<W::Output, RunError<W::Error>> {
        self.start(workflow, input).await?.result().await
    }
}
