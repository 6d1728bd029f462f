//! The engine: starts runs, hands out their handles, publishes their events.
//!
//! An [`Engine`] owns a [`Store`] and an event fan-out. [`Engine::start`]
//! records a run and spawns a tokio task that runs the workflow body with a
//! [`RunContext`]; the [`RunHandle`] it returns gives the typed result or
//! cancels the run.

mod bus;
mod context;
mod halt;
mod health;
mod live;
mod retention;
mod run;
mod shutdown;
mod signal;
mod suspend;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use std::time::Duration;

use tokio::sync::Semaphore;

pub use context::RunContext;
pub(crate) use halt::halts;
pub use health::{BreakerHealth, FailedCompensation, Health, StalledRun, SuspendedRun};
pub use run::RunHandle;
pub(crate) use run::{Launch, LaunchError, RunEnd, panic_message};

use crate::store::{MemoryStore, Retention, RunRecord, RunStatus, StepOutcome, StepRecord, Store};
use crate::{EngineError, EventReceiver, RunError, RunId, StoreError, Workflow};
use bus::EventBus;
pub(crate) use live::LiveRun;

use crate::breaker::Breaker;
use crate::{BreakerConfig, RetryPolicy};

/// Runs workflows.
///
/// Cheap to clone: clones share the store, the subscribers and the runs.
/// Runs are tokio tasks, so starting one needs a tokio runtime.
///
/// # Dropping an engine, and shutting down
///
/// A run's task holds the engine, so dropping every `Engine` handle does not
/// stop the runs in flight: they go on to their end, are recorded as usual,
/// and their [`RunHandle`]s still give their results. Runs unloaded while they
/// sleep are not woken once the last handle is gone (their timers were the
/// engine's): they stay running in the store, and their handles give
/// [`EngineError::Interrupted`].
///
/// What stops runs is their tokio runtime ending (`main` returning under
/// `#[tokio::main]`, a test ending): each task is dropped at its next
/// `.await`, which for a run is what a crash does. Nothing more is recorded
/// for it (no outcome, no rollback); its journaled steps stay, and a step
/// that was running runs again when it resumes (steps are at-least-once). With
/// a durable store, [`Engine::resume`] in the next process carries it on;
/// with the memory store it is gone.
///
/// To stop on purpose, call [`Engine::shutdown`] with a grace period before
/// the runtime ends: it refuses new work, lets the runs in flight end within
/// the grace, and stops the rest in the same crash-like way, telling their
/// handles ([`EngineError::Interrupted`]) and returning their ids.
///
/// # Examples
///
/// ```
/// # use std::future::Future;
/// # use trailhead_core::{Error, RunContext, Workflow};
/// # #[derive(Clone, Copy)]
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
/// use trailhead_core::{Engine, Event, RunStatus};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::new();
/// let mut events = engine.subscribe();
///
/// let handle = engine.start(Greet, "ada".to_string()).await?;
/// let id = handle.id().clone();
/// assert_eq!(handle.result().await?, "hello, ada");
///
/// assert!(matches!(events.recv().await, Some(Event::RunStarted { .. })));
/// assert!(matches!(events.recv().await, Some(Event::RunCompleted { .. })));
/// let record = engine.run_record(&id).await?.expect("the run is recorded");
/// assert_eq!(record.status(), RunStatus::Completed);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    events: EventBus,
    /// Named limits on concurrent attempts, shared by every run.
    resources: HashMap<Box<str>, Arc<Semaphore>>,
    /// The timeline every run's journal timestamps are read from.
    clock: context::RunClock,
    /// Runs unloaded while they sleep, and their timers.
    suspended: suspend::Suspended,
    /// Sleeps at least this long unload the run (top-level runs only).
    unload_after: Duration,
    /// The runs this engine is running, to cancel them by id and report on them.
    active: std::sync::Mutex<HashMap<RunId, Arc<LiveRun>>>,
    /// Named circuit breakers, shared by every run.
    breakers: HashMap<Box<str>, Arc<Breaker>>,
    /// Runs with no step ended for this long are reported stalled.
    stalled_after: Duration,
    /// How often a run whose body panicked is driven (restarted), and after
    /// what delays.
    restarts: RetryPolicy,
    /// Runs waiting for a signal, woken when one is sent to them.
    signal_waiters: std::sync::Mutex<HashMap<RunId, Arc<tokio::sync::Notify>>>,
    /// How journal writes that fail for a store reason are tried again.
    journal_retries: RetryPolicy,
    /// Runs halted because the store kept failing: left for `resume`.
    suspended_runs: std::sync::Mutex<HashMap<RunId, SuspendedRun>>,
    /// The retention policy, and when finished runs were last swept.
    sweeper: retention::Sweeper,
    /// Whether the engine is shutting down, and the signal to stop runs.
    shutdown: shutdown::Shutdown,
    /// The definitions met so far, to check the signals sent to their runs.
    definitions: signal::Definitions,
}

impl Engine {
    /// An engine with a fresh [`MemoryStore`].
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// An engine whose runs are journaled in the SQLite file at `path`
    /// (created if missing): they survive the process, and
    /// [`resume`](Engine::resume) picks up the unfinished ones.
    ///
    /// Shorthand for `Engine::builder().store(SqliteStore::open(path)?).build()`.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`](crate::SqliteStore::open).
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        Ok(Self::builder()
            .store(crate::SqliteStore::open(path)?)
            .build())
    }

    /// Sends signal `name` with `value` to run `run`: kept durably by the store
    /// until the run's `signal "name"` receives it, also when sent before the
    /// run waits for it or while the process running it is down. Signals of
    /// one name are received in the order sent.
    ///
    /// When this engine knows the run's definition (it started or resumed a
    /// run of that workflow, or sent it a signal through the workflow's typed
    /// sender, `review::signal_approval(&engine, &run, value)`), the signal is
    /// checked first and nothing is stored if it is refused. A run whose
    /// definition this process has not met gets the signal unchecked: a value
    /// of the wrong type then fails the receiving step, with a
    /// [`StoreError::Decode`] naming the run and the step. The typed sender
    /// checks the type at compile time instead.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run, with [`StoreError::RunFinished`] if it finished, and with
    /// [`StoreError::Encode`] if `value` does not serialize or would not
    /// read back as it is ([`Value::encode`](crate::store::Value::encode));
    /// for a run of a known definition, [`EngineError::UnknownSignal`] if the
    /// workflow waits for no signal `name` and [`EngineError::SignalType`] if
    /// `value` does not decode as the type it declares.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have sent the signal.
    pub async fn signal<T: serde::Serialize>(
        &self,
        run: &RunId,
        name: &str,
        value: T,
    ) -> Result<(), EngineError> {
        self.signal_of(run, None, name, value).await
    }

    /// Cancels run `run` by its id: a run of this engine stops as with
    /// [`RunHandle::cancel`]; a run recorded as running but not running here
    /// (its process stopped) is recorded as cancelled.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run, with [`StoreError::RunFinished`] if it already finished, and
    /// with [`StoreError::LeaseHeld`] if another live worker
    /// (another process on the same store) is driving it: only its owner can
    /// stop it, and cancelling across workers is not supported yet.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have cancelled the run.
    pub async fn cancel(&self, run: &RunId) -> Result<(), EngineError> {
        let live = self.active_runs().get(run).cloned();
        if let Some(live) = live {
            live.cancel.cancel();
            return Ok(());
        }
        // Unloaded while it slept: woken now, cancelled, to be rolled back
        // (once shutting down, it is cancelled in the store as below).
        if !self.is_shutting_down()
            && let Some(wake) = self.take_timer(run)
        {
            let _ = wake(self.clone(), true).await;
            return Ok(());
        }
        let Some((record, journaled, journal)) = self.store().open_run(run).await? else {
            return Err(StoreError::UnknownRun { run: run.clone() }.into());
        };
        match record.status() {
            RunStatus::Running => {}
            // Already being undone; the engine that resumes it finishes.
            RunStatus::Compensating => return Ok(()),
            _ => {
                return Err(EngineError::Store(StoreError::RunFinished {
                    run: run.clone(),
                }));
            }
        }
        // Its process stopped. With completed steps it may have something to
        // undo: it is left compensating, and `resume` rolls it back (only its
        // workflow knows how). Without, it is simply cancelled.
        let children = self.cancel_gone_children(run).await?;
        let undoable = journaled
            .iter()
            .any(|step| matches!(step.outcome, StepOutcome::Completed(_)));
        if undoable || children {
            self.store()
                .begin_compensation(run, crate::store::AfterCompensation::Cancelled)
                .await?;
        } else {
            journal.finish(crate::store::RunOutcome::Cancelled).await?;
        }
        Ok(())
    }

    /// Cancels the unfinished descendants of `run`, whose process stopped:
    /// left compensating for the parent's rollback to undo. Whether there
    /// were any.
    async fn cancel_gone_children(&self, run: &RunId) -> Result<bool, EngineError> {
        let running = self.store().list_runs(Some(RunStatus::Running)).await?;
        let mut parents = vec![run.clone()];
        let mut any = false;
        while let Some(parent) = parents.pop() {
            for child in running
                .iter()
                .filter(|r| r.parent.as_ref() == Some(&parent))
            {
                self.store()
                    .begin_compensation(&child.id, crate::store::AfterCompensation::Cancelled)
                    .await?;
                parents.push(child.id.clone());
                any = true;
            }
        }
        Ok(any)
    }

    /// Retries a failed (or cancelled) run of `workflow` from its last good
    /// step: the run is running again, its completed steps replay from the
    /// journal, and the steps that failed run anew (their failed entries are
    /// kept aside, not lost). Failed child runs it started are reopened too,
    /// so its calls retry them.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run; [`EngineError::OtherWorkflow`] if the run is not a run of
    /// `workflow`; [`EngineError::Store`] with [`StoreError::NotEnded`] if it
    /// is running or completed; and as
    /// [`Engine::resume`] (a changed definition, an undecodable input).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the run reopened but not running;
    /// [`Engine::resume`] picks it up.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub async fn retry<W: Workflow>(
        &self,
        workflow: W,
        run: &RunId,
    ) -> Result<RunHandle<W>, EngineError> {
        self.refuse_if_shutting_down(W::NAME, Some(run))?;
        let Some(record) = self.store().run(run).await? else {
            return Err(StoreError::UnknownRun { run: run.clone() }.into());
        };
        if record.workflow != W::NAME {
            return Err(EngineError::OtherWorkflow {
                run: run.clone(),
                recorded: record.workflow,
                given: W::NAME,
            });
        }
        self.store().reopen_run(run).await?;
        let prefix = format!("{run}/");
        for child in self.store().list_runs(None).await? {
            if child.id.as_str().starts_with(&prefix)
                && matches!(
                    child.status(),
                    RunStatus::Failed | RunStatus::Cancelled | RunStatus::Compensated
                )
            {
                self.store().reopen_run(&child.id).await?;
            }
        }
        let launch = Launch::new(
            run.clone(),
            None,
            tokio_util::sync::CancellationToken::new(),
        );
        let task = self
            .prepare_resume(&launch, workflow)
            .await
            .map_err(|error| error.into_engine_error(&launch.run))?;
        let task = self.stoppable(launch.run.clone(), task);
        Ok(RunHandle::new(launch, tokio::spawn(task)))
    }

    fn active_runs(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, Arc<LiveRun>>> {
        self.inner
            .active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers a run being driven, to cancel it by id and report on it.
    pub(crate) fn track(&self, ctx: &RunContext) {
        self.active_runs()
            .insert(ctx.run.clone(), Arc::clone(&ctx.live));
        self.suspended_runs().remove(&ctx.run);
    }

    fn suspended_runs(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, SuspendedRun>> {
        self.inner
            .suspended_runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The runs halted by a failing store, for the health report.
    pub(crate) fn suspended_runs_snapshot(&self) -> Vec<SuspendedRun> {
        self.suspended_runs().values().cloned().collect()
    }

    /// Lists a run halted by a failing store, for the health report.
    pub(crate) fn suspended(&self, run: SuspendedRun) {
        self.suspended_runs().insert(run.run.clone(), run);
    }

    /// How journal writes failing for a store reason are tried again.
    pub(crate) fn journal_retries(&self) -> RetryPolicy {
        self.inner.journal_retries
    }

    /// Forgets a run that ended.
    pub(crate) fn untrack(&self, run: &RunId) {
        let mut active = self.active_runs();
        active.remove(run);
        let in_flight = active.len();
        drop(active);
        self.let_go(in_flight);
    }

    /// How runs whose body panicked are restarted.
    pub(crate) fn restarts(&self) -> RetryPolicy {
        self.inner.restarts
    }

    /// The circuit breaker `name`, if the engine has one.
    pub(crate) fn breaker(&self, name: &str) -> Option<&Arc<Breaker>> {
        self.inner.breakers.get(name)
    }

    fn signal_waiters(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<RunId, Arc<tokio::sync::Notify>>> {
        self.inner
            .signal_waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What a run waiting for signals waits on.
    pub(crate) fn signal_waiter(&self, run: &RunId) -> Arc<tokio::sync::Notify> {
        Arc::clone(self.signal_waiters().entry(run.clone()).or_default())
    }

    /// Forgets a finished run's waiter.
    pub(crate) fn forget_signal_waiter(&self, run: &RunId) {
        self.signal_waiters().remove(run);
    }

    /// The engine's wall-clock timeline.
    pub(crate) fn clock(&self) -> context::RunClock {
        self.inner.clock
    }

    /// Sleeps at least this long unload their run.
    pub(crate) fn unload_after(&self) -> Duration {
        self.inner.unload_after
    }

    /// The semaphore of resource `name`, if the engine has one.
    pub(crate) fn resource(&self, name: &str) -> Option<&Arc<Semaphore>> {
        self.inner.resources.get(name)
    }

    /// A builder, to choose the store and the named resources.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            store: None,
            retention: None,
            resources: HashMap::new(),
            breakers: HashMap::new(),
            unload_after: Duration::from_secs(60),
            stalled_after: Duration::from_secs(5 * 60),
            restarts: RetryPolicy::attempts(3).with_backoff(crate::Backoff::exponential(
                Duration::from_secs(1),
                Duration::from_secs(60),
            )),
            journal_retries: RetryPolicy::attempts(8).with_backoff(crate::Backoff::exponential(
                Duration::from_millis(100),
                Duration::from_secs(10),
            )),
        }
    }

    /// Starts a run of `workflow` with `input` under a fresh, time-ordered id.
    ///
    /// Records the run (status running, with its input), emits
    /// [`Event::RunStarted`](crate::Event::RunStarted) and spawns the run's task.
    /// The run goes on if the handle is dropped.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::Encode`] if the input cannot
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
    /// [`EngineError::Store`] with [`StoreError::RunExists`] if the store
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
        self.refuse_if_shutting_down(W::NAME, Some(&id))?;
        let launch = Launch::new(id, None, tokio_util::sync::CancellationToken::new());
        let task = self
            .prepare(&launch, workflow, input)
            .await
            .map_err(|error| error.into_engine_error(&launch.run))?;
        let task = self.stoppable(launch.run.clone(), task);
        Ok(RunHandle::new(launch, tokio::spawn(task)))
    }

    /// Resumes every recorded run of `workflow` that has not finished (a
    /// process that stopped mid-run, killed or crashed, left it so), and
    /// returns their handles. Call it at start-up for each workflow whose runs
    /// should go on.
    ///
    /// Each run's body runs again from the top; steps whose outputs are
    /// journaled return them without running, so the run carries on from its
    /// last journaled step. A step journaled as failed for good gives the same
    /// failure again without running (see
    /// [`StepFailure::FailedBefore`](crate::StepFailure::FailedBefore));
    /// only [`Engine::retry`] runs it again. Steps are at-least-once: one that ran but was not
    /// journaled before the stop runs again. Runs started by `call` are resumed
    /// by their parent, not here.
    ///
    /// A run resumes only under the definition it started with (its
    /// `DEFINITION_HASH`) or one that declares itself compatible with it
    /// (`#[compatible_with(0x…)]`); otherwise its journal's keys might not
    /// mean the same steps. When any unfinished run of this workflow started
    /// under another definition, nothing is resumed and the error names both
    /// hashes: keep the old definition (in a module of its own) and use
    /// [`Engine::resume_only`] with each version.
    ///
    /// # Errors
    ///
    /// - [`EngineError::DefinitionChanged`] as above;
    /// - [`EngineError::Store`] with [`StoreError::Decode`] if a run's recorded
    ///   input no longer fits;
    /// - [`EngineError::Store`] if the store cannot be read.
    ///
    /// Runs are claimed first (see [`store::lease`](crate::store::lease)): a
    /// run another live worker holds (another process on the same SQLite
    /// file) is left to it, and a run this engine is already driving is not
    /// started twice, so calling `resume` again, or from several processes at
    /// once, drives each run exactly once. A run of a worker that died is
    /// taken over.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave some runs resumed and others not; call
    /// it again to resume the rest.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub async fn resume<W: Workflow>(&self, workflow: W) -> Result<Vec<RunHandle<W>>, EngineError> {
        self.resume_matching(workflow, true).await
    }

    /// Like [`Engine::resume`], but leaves alone the runs that started under a
    /// definition this one does not know, for another version of the workflow
    /// to resume. For upgrades with runs in flight:
    /// `engine.resume_only(v1::order)` and `engine.resume_only(order)`.
    ///
    /// # Errors
    ///
    /// As [`Engine::resume`], but never [`EngineError::DefinitionChanged`].
    ///
    /// # Cancel safety
    ///
    /// As [`Engine::resume`].
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub async fn resume_only<W: Workflow>(
        &self,
        workflow: W,
    ) -> Result<Vec<RunHandle<W>>, EngineError> {
        self.resume_matching(workflow, false).await
    }

    async fn resume_matching<W: Workflow>(
        &self,
        workflow: W,
        strict: bool,
    ) -> Result<Vec<RunHandle<W>>, EngineError> {
        self.refuse_if_shutting_down(W::NAME, None)?;
        let known = |hash: u64| hash == W::DEFINITION_HASH || W::COMPATIBLE_WITH.contains(&hash);
        // Runs stopped while undoing their steps finish their rollback.
        let mut runs: Vec<RunRecord> = self.store().list_runs(Some(RunStatus::Running)).await?;
        runs.extend(
            self.store()
                .list_runs(Some(RunStatus::Compensating))
                .await?,
        );
        runs.retain(|run| run.workflow == W::NAME && run.parent.is_none());
        if strict && let Some(run) = runs.iter().find(|run| !known(run.definition_hash)) {
            return Err(EngineError::DefinitionChanged {
                run: run.id.clone(),
                workflow: W::NAME,
                recorded: run.definition_hash,
                current: W::DEFINITION_HASH,
            });
        }
        let mut handles = Vec::with_capacity(runs.len());
        for run in runs.into_iter().filter(|run| known(run.definition_hash)) {
            if self.active_runs().contains_key(&run.id) || self.is_unloaded(&run.id) {
                continue; // Driven (or asleep) here already.
            }
            let launch = Launch::new(run.id, None, tokio_util::sync::CancellationToken::new());
            let task = match self.prepare_resume(&launch, workflow).await {
                Ok(task) => task,
                // Another live worker drives it: it is theirs to finish.
                Err(LaunchError::Store(StoreError::LeaseHeld { run, worker })) => {
                    tracing::info!(%run, %worker, "not resuming a run another worker holds");
                    continue;
                }
                // Another worker finished it since it was listed.
                Err(LaunchError::Store(StoreError::RunFinished { .. })) => continue,
                Err(error) => return Err(error.into_engine_error(&launch.run)),
            };
            let task = self.stoppable(launch.run.clone(), task);
            handles.push(RunHandle::new(launch, tokio::spawn(task)));
        }
        Ok(handles)
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

    /// Subscribes to every event emitted from now on.
    pub fn subscribe(&self) -> EventReceiver {
        self.inner.events.subscribe()
    }

    /// The engine's store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The journal of run `run`, in the order its steps finished.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] with [`StoreError::UnknownRun`] if there is no
    /// such run, and if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn journal(&self, run: &RunId) -> Result<Vec<StepRecord>, EngineError> {
        Ok(self.inner.store.journal(run).await?)
    }

    /// The record of run `run`, if there is one.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] if the store fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn run_record(&self, run: &RunId) -> Result<Option<RunRecord>, EngineError> {
        Ok(self.inner.store.run(run).await?)
    }

    pub(crate) fn events(&self) -> &EventBus {
        &self.inner.events
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.inner.store)
            .field("events", &self.inner.events)
            .finish()
    }
}

/// Configures an [`Engine`].
///
/// Made by [`Engine::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct EngineBuilder {
    store: Option<Arc<dyn Store>>,
    retention: Option<Retention>,
    resources: HashMap<Box<str>, Arc<Semaphore>>,
    breakers: HashMap<Box<str>, Arc<Breaker>>,
    unload_after: Duration,
    stalled_after: Duration,
    restarts: RetryPolicy,
    journal_retries: RetryPolicy,
}

impl EngineBuilder {
    /// Records runs in `store` (default: a fresh [`MemoryStore`]).
    pub fn store(self, store: impl Store) -> Self {
        Self {
            store: Some(Arc::new(store)),
            ..self
        }
    }

    /// Adds the named resource `name`: at most `limit` attempts of steps that
    /// use it (`.resource("name")`) run at once, across all runs of the engine,
    /// e.g. for an API that allows so many calls at a time. A `limit` of 0 is
    /// taken as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use trailhead_core::Engine;
    ///
    /// let engine = Engine::builder().resource("payments", 4).build();
    /// # drop(engine);
    /// ```
    pub fn resource(mut self, name: impl Into<String>, limit: usize) -> Self {
        let name: String = name.into();
        self.resources.insert(
            name.into_boxed_str(),
            Arc::new(Semaphore::new(limit.max(1))),
        );
        self
    }

    /// Runs that sleep at least `after` (default one minute) with nothing
    /// else running give up their task and memory until they wake: the
    /// engine keeps a timer entry and resumes them from their journal then.
    pub fn unload_sleeps_after(mut self, after: Duration) -> Self {
        self.unload_after = after;
        self
    }

    /// Adds the circuit breaker `name`, shared by every run of the engine:
    /// steps that name it (`.breaker("name")`) fail fast with
    /// [`StepFailure::BreakerOpen`](crate::StepFailure::BreakerOpen), without
    /// being called, while it is open. See [`BreakerConfig`] for when it opens
    /// and closes; every change is an
    /// [`Event::BreakerChanged`](crate::Event::BreakerChanged) and shows in
    /// [`Engine::health`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use trailhead_core::{BreakerConfig, Engine};
    ///
    /// // Open after 5 failures within a minute; try again after 30 s.
    /// let engine = Engine::builder()
    ///     .breaker("payments", BreakerConfig::new(5, Duration::from_secs(60)))
    ///     .build();
    /// # drop(engine);
    /// ```
    pub fn breaker(mut self, name: impl Into<String>, config: BreakerConfig) -> Self {
        let name: String = name.into();
        let breaker = Arc::new(Breaker::new(name.as_str(), config));
        self.breakers.insert(name.into_boxed_str(), breaker);
        self
    }

    /// Runs whose last step ended at least `after` ago (default five
    /// minutes) are reported as stalled by [`Engine::health`].
    pub fn stalled_after(mut self, after: Duration) -> Self {
        self.stalled_after = after;
        self
    }

    /// How a run whose body panics outside its steps is driven again:
    /// `policy.max_attempts()` drives in all (default 3), the delays of its
    /// backoff apart (default 1 s, 2 s, … up to a minute). A restarted run
    /// resumes from its journal, as after a crash, with an
    /// [`Event::RunRestarting`](crate::Event::RunRestarting); once the
    /// attempts are spent the panic fails the run. (A panic inside a step is
    /// that step's failure, under the step's own retry policy.)
    pub fn restarts(mut self, policy: RetryPolicy) -> Self {
        self.restarts = policy;
        self
    }

    /// How a journal write that fails for a store reason (the disk is full,
    /// the database locked or unreachable) is tried again before the run is
    /// suspended: `policy.max_attempts()` tries in all (default 8), its
    /// backoff's delays apart (default 100 ms doubling up to 10 s, about 13 s
    /// in all). A suspended run is not failed and not rolled back: it stays
    /// running in the store, is listed in [`Engine::health`], and
    /// [`Engine::resume`] continues it once the store is well.
    pub fn journal_retries(mut self, policy: RetryPolicy) -> Self {
        self.journal_retries = policy;
        self
    }

    /// Which finished runs the store keeps (default: the store's own,
    /// [`Store::default_retention`]: for the [`MemoryStore`] the newest 1,000
    /// completed and 10,000 failed runs, for the
    /// [`SqliteStore`](crate::SqliteStore) completed runs for 7 days and
    /// failed ones for 30). The engine removes the others as runs finish,
    /// every [`sweep_every`](Retention::with_sweep_every) runs, and on
    /// [`Engine::apply_retention`]. [`Retention::new`] keeps everything.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use trailhead_core::{Engine, store::Retention};
    ///
    /// const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    ///
    /// // The last 500 completed runs, none older than a day; failed ones a week.
    /// let retention = Retention::new()
    ///     .with_completed_newest(500)
    ///     .with_completed_for(DAY)
    ///     .with_failed_for(7 * DAY);
    /// let engine = Engine::builder().retention(retention).build();
    /// assert_eq!(engine.retention(), &retention);
    /// ```
    pub fn retention(self, retention: Retention) -> Self {
        Self {
            retention: Some(retention),
            ..self
        }
    }

    /// Builds the engine.
    pub fn build(self) -> Engine {
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::default()));
        let retention = self.retention.unwrap_or_else(|| store.default_retention());
        Engine {
            inner: Arc::new(Inner {
                store,
                sweeper: retention::Sweeper::new(retention),
                shutdown: shutdown::Shutdown::default(),
                events: EventBus::default(),
                resources: self.resources,
                signal_waiters: std::sync::Mutex::default(),
                definitions: signal::Definitions::default(),
                active: std::sync::Mutex::default(),
                suspended: suspend::Suspended::default(),
                clock: context::RunClock::start(),
                unload_after: self.unload_after,
                breakers: self.breakers,
                stalled_after: self.stalled_after,
                restarts: self.restarts,
                journal_retries: self.journal_retries,
                suspended_runs: std::sync::Mutex::default(),
            }),
        }
    }
}
