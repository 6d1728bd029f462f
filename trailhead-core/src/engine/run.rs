//! A run's task, from launch to the recorded outcome, and its handle.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::suspend::Finish;
use super::{Engine, RunContext};
use crate::compensation::{Rollback, RollbackFailed};
use crate::store::{AfterCompensation, RunOutcome, RunRecord, RunState, Value};
use crate::{CodecError, EngineError, Event, RunError, RunId, StepKey, StoreError, Workflow};

/// A run about to be launched: who it is, who started it, what cancels it.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) run: RunId,
    pub(crate) parent: Option<RunId>,
    pub(crate) cancel: CancellationToken,
}

impl Launch {
    pub(crate) fn new(run: RunId, parent: Option<RunId>, cancel: CancellationToken) -> Self {
        Self {
            run,
            parent,
            cancel,
        }
    }
}

/// Why a run could not be launched.
#[derive(Debug)]
pub(crate) enum LaunchError {
    /// The input could not be encoded.
    Input(CodecError),
    /// The store could not create the run.
    Store(StoreError),
    /// A recorded run cannot be resumed.
    Resume(EngineError),
}

impl LaunchError {
    pub(crate) fn into_engine_error(self, run: &RunId) -> EngineError {
        match self {
            Self::Input(source) => EngineError::Store(StoreError::Encode {
                run: run.clone(),
                step: None,
                what: "input",
                source: Box::new(source),
            }),
            Self::Store(error) => EngineError::Store(error),
            Self::Resume(error) => error,
        }
    }
}

impl Engine {
    /// Records the run, emits `RunStarted`, and returns the run's task for the
    /// caller to spawn.
    pub(crate) async fn prepare<W: Workflow>(
        &self,
        launch: &Launch,
        workflow: W,
        input: W::Input,
    ) -> Result<impl Future<Output = RunEnd<W>> + Send + 'static, LaunchError> {
        self.learn::<W>();
        let record = RunRecord {
            id: launch.run.clone(),
            workflow: W::NAME.to_owned(),
            definition_hash: W::DEFINITION_HASH,
            parent: launch.parent.clone(),
            input: Value::encode(&input).map_err(LaunchError::Input)?,
            state: RunState::Running,
            mermaid: W::MERMAID.to_owned(),
            created_at: SystemTime::now(),
        };
        let journal = self
            .store()
            .create_run(record)
            .await
            .map_err(LaunchError::Store)?;
        self.events().emit(|| Event::RunStarted {
            run: launch.run.clone(),
            workflow: W::NAME,
            parent: launch.parent.clone(),
        });
        let ctx = RunContext::new(
            self.clone(),
            launch.run.clone(),
            W::NAME,
            journal,
            Vec::new(),
            launch.cancel.clone(),
            launch.parent.is_none(),
        );
        self.track(&ctx);
        let deadline = W::DEADLINE.map(|limit| Instant::now() + limit);
        let span = tracing::info_span!("run", run = %launch.run, workflow = W::NAME);
        Ok(drive(ctx, workflow, Start::Body { input, deadline }, 0).instrument(span))
    }

    /// Picks up a recorded run that has not finished: checks it was started
    /// under this definition, decodes its input, emits `RunResumed`, and
    /// returns its task, which replays the journal.
    pub(crate) async fn prepare_resume<W: Workflow>(
        &self,
        launch: &Launch,
        workflow: W,
    ) -> Result<impl Future<Output = RunEnd<W>> + Send + 'static + use<W>, LaunchError> {
        self.learn::<W>();
        let (ctx, start, journaled) = self
            .load::<W>(&launch.run, launch.cancel.clone(), launch.parent.is_none())
            .await?;
        self.events().emit(|| Event::RunResumed {
            run: launch.run.clone(),
            workflow: W::NAME,
            journaled,
        });
        self.track(&ctx);
        let span = tracing::info_span!("run", run = %launch.run, workflow = W::NAME);
        Ok(drive(ctx, workflow, start, 0).instrument(span))
    }

    /// A context for recorded run `run` with its journal so far, what its
    /// task is to do, and how many entries it replays.
    async fn load<W: Workflow>(
        &self,
        run: &RunId,
        cancel: CancellationToken,
        unloadable: bool,
    ) -> Result<(RunContext, Start<W::Input>, usize), LaunchError> {
        let Some((record, journaled, journal)) = self
            .store()
            .open_run(run)
            .await
            .map_err(LaunchError::Store)?
        else {
            return Err(LaunchError::Resume(EngineError::Store(
                StoreError::UnknownRun { run: run.clone() },
            )));
        };
        if record.state.is_ended() {
            // Another worker finished it since it was listed.
            return Err(LaunchError::Store(StoreError::RunFinished {
                run: run.clone(),
            }));
        }
        if record.definition_hash != W::DEFINITION_HASH
            && !W::COMPATIBLE_WITH.contains(&record.definition_hash)
        {
            return Err(LaunchError::Resume(EngineError::DefinitionChanged {
                run: run.clone(),
                workflow: W::NAME,
                recorded: record.definition_hash,
                current: W::DEFINITION_HASH,
            }));
        }
        let start = if let RunState::Compensating(then) = record.state {
            // Stopped while undoing its steps: the body is not run again.
            Start::Rollback(then.into())
        } else {
            let input = record.input.decode().map_err(|source| {
                LaunchError::Resume(EngineError::Store(StoreError::Decode {
                    run: run.clone(),
                    step: None,
                    what: "input",
                    source: Box::new(source),
                }))
            })?;
            let clock = self.clock();
            let deadline = W::DEADLINE.map(|limit| clock.instant_at(record.created_at + limit));
            Start::Body { input, deadline }
        };
        let count = journaled.len();
        let ctx = RunContext::new(
            self.clone(),
            run.clone(),
            W::NAME,
            journal,
            journaled,
            cancel,
            unloadable,
        );
        Ok((ctx, start, count))
    }
}

/// What a run's task does.
pub(crate) enum Start<I> {
    /// Runs the body with `input`, stopping it at `deadline`.
    Body { input: I, deadline: Option<Instant> },
    /// Finishes the rollback of a run recorded compensating; it then ends as
    /// the recorded outcome says.
    Rollback(RunOutcome),
}

/// How a body stopped short of ending.
enum Stopped<T> {
    Returned(T),
    Cancelled,
    DeadlineExceeded,
    /// Unloaded until the time given, to be resumed then.
    Unloaded(Instant),
    /// Halted: the store failed for good or the run was taken over.
    Halted,
}

/// Runs the body until it returns, panics, is cancelled or passes its
/// deadline; rolls the run back if it did not complete; then records how the
/// run ended. A body that panics is driven again from its journal
/// (`restarts` counts how often it was).
async fn drive<W: Workflow>(
    ctx: RunContext,
    workflow: W,
    start: Start<W::Input>,
    restarts: u32,
) -> RunEnd<W> {
    let began = Instant::now();
    let resumed_rollback = matches!(start, Start::Rollback(_));
    let (end, outcome) = match start {
        Start::Body { input, deadline } => {
            let body = async {
                tokio::select! {
                    biased;
                    () = ctx.live.halted() => Stopped::Halted,
                    () = ctx.live.cancel.cancelled() => Stopped::Cancelled,
                    () = passed(deadline) => Stopped::DeadlineExceeded,
                    until = ctx.unload_ready() => Stopped::Unloaded(until),
                    result = workflow.execute(&ctx, input) => Stopped::Returned(result),
                }
            };
            // A panic is recorded as a failure instead of leaving the run "running".
            let ended = AssertUnwindSafe(body).catch_unwind().await;
            // Child runs finish (and are recorded) before their parent.
            ctx.wait_for_children().await;
            if let Some(error) = ctx.live.take_halt() {
                return forget(&ctx, began, RunEnd::Halted(error));
            }
            match ended {
                Ok(Stopped::Returned(Ok(output))) => match Value::encode(&output) {
                    Ok(value) => (RunEnd::Completed(output), RunOutcome::Completed(value)),
                    Err(error) => RunEnd::Unencodable(error).failed(),
                },
                Ok(Stopped::Returned(Err(error))) => RunEnd::Failed(error).failed(),
                Ok(Stopped::Cancelled) => (RunEnd::Cancelled, RunOutcome::Cancelled),
                Ok(Stopped::DeadlineExceeded) => {
                    RunEnd::DeadlineExceeded(W::DEADLINE.unwrap_or_default()).failed()
                }
                Ok(Stopped::Halted) => unreachable!("a halted run has its reason"),
                Ok(Stopped::Unloaded(until)) => {
                    // A deadline before the wake-up wakes it to be stopped.
                    let until = deadline.map_or(until, |deadline| deadline.min(until));
                    return unload(ctx, workflow, until);
                }
                Err(payload) => {
                    let policy = ctx.engine.restarts();
                    if restarts + 1 < policy.max_attempts() {
                        let error = panic_message(&*payload);
                        if let Some((ctx, start)) = reload::<W>(&ctx, restarts + 1, error).await {
                            // Boxed: the future is recursive, and only a restart pays for it.
                            return Box::pin(drive(ctx, workflow, start, restarts + 1)).await;
                        }
                    }
                    RunEnd::Panicked(payload).failed()
                }
            }
        }
        Start::Rollback(then) => (RunEnd::recorded(&then), then),
    };
    let (end, outcome) =
        if W::COMPENSATES && matches!(outcome, RunOutcome::Failed(_) | RunOutcome::Cancelled) {
            match roll_back::<W>(&ctx, end, outcome, resumed_rollback).await {
                Ok(ended) => ended,
                // Left compensating: a resumed engine finishes the rollback.
                Err(error) if super::halt::halts(&error) => {
                    return forget(&ctx, began, RunEnd::Halted(error));
                }
                Err(error) => return forget(&ctx, began, RunEnd::Unrecorded(error)),
            }
        } else {
            (end, outcome)
        };
    let finished =
        super::halt::with_store_retries(&ctx.engine, || ctx.journal.finish(outcome.clone())).await;
    let end = match finished {
        Ok(()) => {
            ctx.engine.run_finished();
            end
        }
        // Left running: a resumed engine records the end.
        Err(error) if super::halt::halts(&error) => RunEnd::Halted(error),
        Err(error) => {
            tracing::error!(%error, "could not record how the run ended");
            match end {
                // An output that is not recorded is not given out.
                RunEnd::Completed(_) => RunEnd::Unrecorded(error),
                end => end,
            }
        }
    };
    forget(&ctx, began, end)
}

/// Loads run `ctx` again from its journal, after the restart policy's
/// delay, to drive it again: its body panicked (the task driving it died),
/// which may have been a passing fault. `None` if it cannot be loaded.
async fn reload<W: Workflow>(
    ctx: &RunContext,
    restart: u32,
    error: &str,
) -> Option<(RunContext, Start<W::Input>)> {
    let engine = &ctx.engine;
    let run = ctx.run_id();
    let delay = engine
        .restarts()
        .backoff()
        .delays()
        .nth(restart as usize - 1)
        .unwrap_or_default();
    tracing::warn!(%run, restart, ?delay, %error, "the run's body panicked; restarting it from its journal");
    engine.events().emit(|| Event::RunRestarting {
        run: run.clone(),
        workflow: W::NAME,
        restart,
        delay,
        error: error.to_owned(),
    });
    // A cancellation meanwhile is not kept waiting: the next drive sees it.
    tokio::select! {
        () = tokio::time::sleep(delay) => {}
        () = ctx.live.cancel.cancelled() => {}
    }
    match engine
        .load::<W>(run, ctx.live.cancel.clone(), ctx.unloadable)
        .await
    {
        Ok((ctx, start, _)) => {
            engine.track(&ctx);
            Some((ctx, start))
        }
        Err(failure) => {
            let failure = failure.into_engine_error(run);
            tracing::error!(%run, %failure, "could not restart the run");
            None
        }
    }
}

/// Resolves at `deadline`; never without one.
async fn passed(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Runs the compensations of the run's completed steps; gives the run's end
/// and outcome after them. An error if the store could not record the
/// rollback (the run is then left compensating).
async fn roll_back<W: Workflow>(
    ctx: &RunContext,
    end: RunEnd<W>,
    outcome: RunOutcome,
    resumed: bool,
) -> Result<(RunEnd<W>, RunOutcome), StoreError> {
    let rollback = Rollback {
        engine: &ctx.engine,
        resumed,
    };
    let Ok(then) = AfterCompensation::try_from(outcome.clone()) else {
        return Ok((end, outcome)); // not an end a rollback leads to
    };
    let undone = rollback
        .undo_run(ctx.run_id(), W::NAME, then, W::compensation)
        .await?;
    match undone.result {
        Ok(()) => Ok((end, outcome)),
        Err(RollbackFailed::Compensation { step, error }) => {
            let cause = end.to_string();
            let outcome = RunOutcome::CompensationFailed {
                step: step.clone(),
                error: error.clone(),
                cause: cause.clone(),
            };
            Ok((RunEnd::CompensationFailed { step, error, cause }, outcome))
        }
        Err(RollbackFailed::Store(error)) => Err(error),
    }
}

/// The engine's last word on a run that ended (or was left to be resumed):
/// forgets it, emits its end, and gives the end to whoever waits.
fn forget<W: Workflow>(ctx: &RunContext, began: Instant, end: RunEnd<W>) -> RunEnd<W> {
    ctx.engine.forget_signal_waiter(ctx.run_id());
    ctx.engine.untrack(ctx.run_id());
    if let RunEnd::Halted(error) = &end
        && !matches!(error, StoreError::LeaseLost { .. })
    {
        ctx.engine.suspended(super::SuspendedRun {
            run: ctx.run_id().clone(),
            workflow: W::NAME,
            error: error.to_string(),
            since: SystemTime::now(),
        });
    }
    ctx.engine
        .events()
        .emit(|| end.event(ctx.run_id().clone(), W::NAME, began.elapsed()));
    // A handle that saw its run unloaded waits through the engine.
    match ctx.engine.finish_suspended(ctx.run_id(), Box::new(end)) {
        Some(end) => *end.downcast::<RunEnd<W>>().expect("the run's own end"),
        None => RunEnd::Forwarded,
    }
}

/// Gives up the run's task until `until`: the run stays "running" in the
/// store, and the engine resumes it from its journal at that time.
fn unload<W: Workflow>(ctx: RunContext, workflow: W, until: Instant) -> RunEnd<W> {
    let engine = ctx.engine.clone();
    let run = ctx.run_id().clone();
    engine.events().emit(|| Event::RunUnloaded {
        run: run.clone(),
        workflow: W::NAME,
        until: ctx.clock.wall_time(until),
    });
    engine.forget_signal_waiter(&run);
    engine.untrack(&run);
    let finisher = engine.finisher(&run);
    drop(ctx);
    let resumed = run.clone();
    engine.wake_at(
        until,
        run,
        Box::new(move |engine: Engine, cancelled: bool| {
            tokio::spawn(async move {
                let cancel = CancellationToken::new();
                if cancelled {
                    cancel.cancel();
                }
                let launch = Launch::new(resumed, None, cancel);
                match engine.prepare_resume(&launch, workflow).await {
                    Ok(task) => drop(engine.stoppable(launch.run.clone(), task).await),
                    Err(error) => {
                        let error = error.into_engine_error(&launch.run);
                        tracing::error!(run = %launch.run, %error, "could not resume an unloaded run");
                    }
                }
            })
        }),
    );
    RunEnd::Unloaded(finisher)
}

/// How a run ended, once recorded.
pub(crate) enum RunEnd<W: Workflow> {
    Completed(W::Output),
    Failed(W::Error),
    Cancelled,
    Panicked(Box<dyn Any + Send>),
    /// The run passed its deadline (this long after it started).
    DeadlineExceeded(Duration),
    /// The run was undone and the compensation of `step` failed for good.
    CompensationFailed {
        step: StepKey,
        error: String,
        cause: String,
    },
    /// The run had failed before this process resumed its rollback: its
    /// error is known only as recorded text.
    FailedEarlier(String),
    /// The output could not be encoded; the run is recorded as failed.
    Unencodable(CodecError),
    /// The store could not record the outcome.
    Unrecorded(StoreError),
    /// The engine stopped driving the run without ending it: the store
    /// failed for good (suspended, left for `resume`) or another worker took
    /// the run over.
    Halted(StoreError),
    /// The run gave up its task until it wakes; its handle waits on this
    /// (`None` when a handle already waits through the engine).
    Unloaded(Option<tokio::sync::oneshot::Receiver<Finish>>),
    /// The end was given to the handle through the engine.
    Forwarded,
    /// The engine shut down before the run ended; it is left for `resume`.
    Stopped,
}

impl<W: Workflow> RunEnd<W> {
    /// The end a recorded outcome stands for, for a run resumed to finish its
    /// rollback.
    fn recorded(outcome: &RunOutcome) -> Self {
        match outcome {
            RunOutcome::Cancelled => Self::Cancelled,
            RunOutcome::Completed(value) => match value.decode() {
                Ok(output) => Self::Completed(output),
                Err(error) => Self::FailedEarlier(format!("could not decode its output: {error}")),
            },
            RunOutcome::Compensated { cause, .. } => {
                Self::FailedEarlier(format!("it completed and was then undone: {cause}"))
            }
            RunOutcome::Failed(error) | RunOutcome::CompensationFailed { cause: error, .. } => {
                Self::FailedEarlier(error.clone())
            }
        }
    }

    /// This failed end with the outcome to record for it.
    fn failed(self) -> (Self, RunOutcome) {
        let text = self.to_string();
        (self, RunOutcome::Failed(text))
    }

    fn event(&self, run: RunId, workflow: &'static str, duration: std::time::Duration) -> Event {
        match self {
            Self::Completed(_) => Event::RunCompleted {
                run,
                workflow,
                duration,
            },
            Self::Cancelled => Event::RunCancelled { run, workflow },
            Self::Halted(error) => Event::RunHalted {
                run,
                workflow,
                error: error.to_string(),
            },
            failed => Event::RunFailed {
                run,
                workflow,
                error: failed.to_string(),
                duration,
            },
        }
    }

    /// The typed result a [`RunHandle`] gives.
    pub(crate) fn into_result(self, run: RunId) -> Result<W::Output, RunError<W::Error>> {
        Err(match self {
            Self::Completed(output) => return Ok(output),
            Self::Failed(error) => RunError::Failed { run, error },
            Self::Cancelled => RunError::Cancelled { run },
            Self::DeadlineExceeded(deadline) => RunError::DeadlineExceeded { run, deadline },
            Self::CompensationFailed { step, error, cause } => RunError::CompensationFailed {
                run,
                step,
                error,
                cause,
            },
            Self::FailedEarlier(error) => RunError::FailedEarlier { run, error },
            Self::Panicked(payload) => RunError::Engine(EngineError::TaskFailed {
                run,
                message: format!("the run panicked: {}", panic_message(&*payload)),
            }),
            Self::Unencodable(source) => RunError::Engine(EngineError::Store(StoreError::Encode {
                run,
                step: None,
                what: "output",
                source: Box::new(source),
            })),
            Self::Unrecorded(error) => RunError::Engine(EngineError::Store(error)),
            Self::Halted(StoreError::LeaseLost { worker, .. }) => {
                RunError::LeaseLost { run, worker }
            }
            Self::Halted(cause) => RunError::Suspended { run, cause },
            Self::Stopped => RunError::Engine(EngineError::Interrupted { run }),
            Self::Unloaded(_) | Self::Forwarded => RunError::Engine(EngineError::TaskFailed {
                run,
                message: "the run's end was given elsewhere".to_owned(),
            }),
        })
    }
}

impl<W: Workflow> fmt::Display for RunEnd<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed(_) => f.write_str("completed"),
            Self::Failed(error) => error.fmt(f),
            Self::Cancelled => f.write_str("cancelled"),
            Self::DeadlineExceeded(deadline) => {
                write!(f, "the run passed its deadline of {deadline:?}")
            }
            Self::CompensationFailed { step, error, cause } => write!(
                f,
                "the compensation of step `{step}` failed: {error} (undoing the run because: {cause})"
            ),
            Self::FailedEarlier(error) => error.fmt(f),
            Self::Panicked(payload) => write!(f, "the run panicked: {}", panic_message(&**payload)),
            Self::Unencodable(error) => write!(f, "could not encode the output: {error}"),
            Self::Unrecorded(error) => error.fmt(f),
            Self::Halted(error) => write!(f, "halted: {error}"),
            Self::Unloaded(_) => f.write_str("unloaded until it wakes"),
            Self::Forwarded => f.write_str("ended"),
            Self::Stopped => f.write_str("stopped by the engine's shutdown"),
        }
    }
}

/// The message of a panic payload, when it has one.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// A started run: its id, its result, and a way to cancel it.
///
/// Made by [`Engine::start`]. Dropping the handle does **not** cancel the run;
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
    ///   [`StoreError::Encode`] if the output cannot be serialized, [`EngineError::Store`] if the outcome
    ///   cannot be recorded.
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
    /// cancellation only when it wakes; [`Engine::cancel`] stops it at once.
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
