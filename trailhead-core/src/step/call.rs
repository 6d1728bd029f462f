//! Sub-workflow calls: a step whose work is a child run.

use std::future::Future;

use std::sync::Arc;

use futures::future::Either;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::site::StepSite;
use crate::engine::{Launch, LaunchError, RunEnd};
use crate::key::KeyRef;
use crate::step::Journaled;
use crate::store::{RunOutcome, RunState, Store};
use crate::{
    CodecError, EngineError, RunContext, RunId, StepError, StepFailure, StoreError, Workflow,
};

/// A child run found already recorded.
enum Existing<F, W: Workflow> {
    /// Not finished: its resumed task.
    Running(F),
    /// Finished: how.
    Ended(RunEnd<W>),
}

impl RunContext {
    /// Runs `workflow` with `input` as a child run, as step `name` at loop
    /// indices `path` of this run.
    ///
    /// The child run has its own record and journal, id
    /// `"{this run}/{step key}"` and this run as parent. Its output is also
    /// journaled here under the step's key, so a resumed parent does not run
    /// the child again. The child is a task of its own: cancelling this run,
    /// or dropping this future, cancels it, and this run ends only after it.
    /// A child run that panicked fails this step with
    /// [`StepFailure::Panicked`]. Calls are not retried.
    #[doc(hidden)]
    pub async fn call<W: Workflow>(
        &self,
        name: &'static str,
        path: &[u32],
        workflow: W,
        input: W::Input,
    ) -> Result<W::Output, StepError<W::Error>> {
        let key = KeyRef { name, path };
        // A child's error is journaled as text: it replays as `FailedBefore`.
        if let Some(output) = self.journaled(key, |_, _| {}).await? {
            return Ok(output);
        }
        let gate = self
            .engine
            .debugger()
            .and_then(crate::debug::Debugger::gate);
        if let Some(gate) = &gate {
            gate.before(self, key, None).await;
        }
        let result = self.call_once(key, workflow, input).await;
        if let Some(gate) = &gate {
            gate.after(self, key, result.is_err(), || super::settled(&result))
                .await;
        }
        result
    }

    /// The call's one attempt: the child run launched, awaited, journaled.
    async fn call_once<W: Workflow>(
        &self,
        key: KeyRef<'_>,
        workflow: W,
        input: W::Input,
    ) -> Result<W::Output, StepError<W::Error>> {
        let site = StepSite::new(self, key);
        let began = site.begin(1);
        let span = tracing::info_span!(
            "step",
            run = %self.run,
            workflow = self.workflow(),
            key = %key,
            attempt = 1_i64
        );
        let failure = match self.run_child(key, workflow, input).instrument(span).await {
            Ok(RunEnd::Completed(output)) => return site.complete(1, began, output, &[]).await,
            Ok(RunEnd::Failed(error)) => StepFailure::Error(error),
            Ok(RunEnd::Cancelled) => StepFailure::Cancelled,
            Ok(
                end @ (RunEnd::DeadlineExceeded(_)
                | RunEnd::CompensationFailed { .. }
                | RunEnd::FailedEarlier(_)),
            ) => StepFailure::ChildFailed(end.to_string()),
            Ok(RunEnd::Panicked(payload)) => StepFailure::panicked(&*payload),
            Ok(RunEnd::Unencodable(source)) => {
                StepFailure::Journal(self.encode_error(key, "output", source))
            }
            Ok(RunEnd::Unloaded(_) | RunEnd::Forwarded | RunEnd::Released(_)) => {
                unreachable!("child runs are not unloaded")
            }
            // The child stopped because the store failed: so does this run.
            Ok(RunEnd::Halted(error)) => return self.halt(error).await,
            // The engine is shutting down: this run is being stopped too,
            // and nothing is to be recorded for either.
            Ok(RunEnd::Stopped) => return std::future::pending().await,
            Ok(RunEnd::Unrecorded(error)) | Err(LaunchError::Store(error)) => {
                if crate::engine::halts(&error) {
                    return self.halt(error).await;
                }
                StepFailure::Journal(error)
            }
            Err(LaunchError::Input(source)) => {
                StepFailure::Journal(self.encode_error(key, "input", source))
            }
            Err(LaunchError::Resume(error)) => StepFailure::Resume(error),
        };
        Err(site.fail_plain(1, began, failure, &[]).await)
    }

    /// Launches the child run and waits for its end.
    async fn run_child<W: Workflow>(
        &self,
        key: KeyRef<'_>,
        workflow: W,
        input: W::Input,
    ) -> Result<RunEnd<W>, LaunchError> {
        let cancel = self.live.cancel.child_token();
        // Dropping this future (the parent was cancelled, or stopped waiting)
        // cancels the child.
        let _cancel_on_drop = cancel.clone().drop_guard();
        let launch = Launch::new(self.lineage().child_at(key), Some(self.run.clone()), cancel);
        let task = match self.engine.prepare(&launch, workflow, input).await {
            Ok(task) => Either::Left(task),
            // A resumed parent meets the child it had started before the stop.
            Err(LaunchError::Store(StoreError::RunExists { .. })) => {
                match self.existing_child(&launch, workflow).await? {
                    Existing::Running(task) => Either::Right(task),
                    Existing::Ended(end) => return Ok(end),
                }
            }
            Err(error) => return Err(error),
        };
        match self.children().spawn(task).await {
            Ok(end) => Ok(end),
            // The child's task catches panics, so only a runtime shutting down
            // stops it, and that drops this task too.
            Err(_) => std::future::pending().await,
        }
    }

    /// A child run recorded before this run was resumed: resumed if it had not
    /// finished, else how it ended.
    async fn existing_child<W: Workflow>(
        &self,
        launch: &Launch,
        workflow: W,
    ) -> Result<Existing<impl Future<Output = RunEnd<W>> + Send + 'static + use<W>, W>, LaunchError>
    {
        let child = &launch.run;
        let record = self
            .engine
            .store()
            .run(child)
            .await
            .map_err(LaunchError::Store)?
            .ok_or_else(|| {
                LaunchError::Resume(EngineError::Store(StoreError::UnknownRun {
                    run: child.clone(),
                }))
            })?;
        let RunState::Ended { outcome, .. } = record.state else {
            // Running, or undoing its steps: either way it goes on, here, or
            // where another live worker took it over while this run's worker
            // was cut off. Then its end is awaited, and the child taken over
            // here if that worker dies first. This run cancelled meanwhile
            // (the wait is dropped) asks that worker to cancel the child.
            let _ask = AskCancelOnDrop {
                store: Arc::clone(self.engine.store()),
                child: child.clone(),
                cancel: launch.cancel.clone(),
            };
            // One wait for its end (asked for once), while the take-over is
            // tried again every poll interval.
            let ended = self.engine.recorded_end(child);
            tokio::pin!(ended);
            loop {
                match self.engine.prepare_resume(launch, workflow).await {
                    // Another's, or ended there since it was read: its end is
                    // read below.
                    Err(LaunchError::Store(
                        StoreError::LeaseHeld { .. } | StoreError::RunFinished { .. },
                    )) => {}
                    resumed => return resumed.map(Existing::Running),
                }
                let within = self.engine.poll_interval();
                if let Ok(ended) = tokio::time::timeout(within, &mut ended).await {
                    let outcome = ended.map_err(LaunchError::Store)?;
                    return Ok(Existing::Ended(RunEnd::recorded(&outcome)));
                }
            }
        };
        Ok(match outcome {
            RunOutcome::Completed(value) => {
                let output = Journaled::from_journal(&value).map_err(|source| {
                    LaunchError::Resume(EngineError::Store(StoreError::decode(
                        child.clone(),
                        None,
                        "output",
                        source,
                    )))
                })?;
                Existing::Ended(RunEnd::Completed(output))
            }
            RunOutcome::Cancelled => Existing::Ended(RunEnd::Cancelled),
            RunOutcome::Failed(text)
            | RunOutcome::CompensationFailed { cause: text, .. }
            | RunOutcome::Compensated { cause: text, .. } => {
                return Err(LaunchError::Resume(EngineError::TaskFailed {
                    run: child.clone(),
                    message: format!("it had already failed: {text}"),
                }));
            }
        })
    }

    fn encode_error(&self, key: KeyRef<'_>, what: &'static str, source: CodecError) -> StoreError {
        StoreError::encode(self.run.clone(), Some(key.to_key()), what, source)
    }
}

/// Asks the worker holding a child run to cancel it, if the parent's wait
/// for it is dropped because the parent was cancelled (not when this engine
/// stops: the child then goes on).
struct AskCancelOnDrop {
    store: Arc<dyn Store>,
    child: RunId,
    cancel: CancellationToken,
}

impl Drop for AskCancelOnDrop {
    fn drop(&mut self) {
        if !self.cancel.is_cancelled() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (store, child) = (Arc::clone(&self.store), self.child.clone());
        runtime.spawn(async move {
            match store.request_cancel(&child).await {
                Ok(()) | Err(StoreError::RunFinished { .. }) => {}
                Err(error) => {
                    tracing::warn!(run = %child, %error, "could not ask for a child run held elsewhere to be cancelled");
                }
            }
        });
    }
}
