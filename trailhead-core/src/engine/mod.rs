//! The engine: starts runs, hands out their handles, publishes their events.
//!
//! An [`Engine`] owns a [`Store`] and an event fan-out. [`Engine::start`]
//! records a run and spawns a tokio task that runs the workflow body with a
//! [`RunContext`]; the [`RunHandle`] it returns gives the typed result or
//! cancels the run.
//!
//! One idea per file: `builder` makes an engine; `start`, `resume` and
//! `manage` (cancel or rerun by id) are what users ask of it, `query` and
//! `health` what they read; `launch` turns a request into a run's task,
//! `drive` runs that task to its `end`, and `handle` gives the end to the
//! caller. `runs` is where a live run is found; `unload` unloads sleeping
//! runs, `halt` suspends those whose store fails, `shutdown` stops them all.
//! `bus` fans events out, `signal` delivers signals, `retention` sweeps.
//! `worker` makes the engine a worker of a shared store: registered
//! workflows, the claim loop, enqueued runs; `cancel_requests` stops the
//! runs it drives that another process cancelled by id; `admission` limits
//! the runs in flight and queues the rest in the store. `schedule` registers
//! schedules, whose `ticker`s start a run per tick.

mod admission;
mod builder;
mod bus;
mod cancel_requests;
pub(crate) mod context;
mod continued;
mod drive;
mod end;
mod halt;
mod handle;
mod health;
mod launch;
mod live;
mod manage;
mod picture;
mod query;
mod resume;
mod retention;
mod runs;
mod schedule;
mod shutdown;
mod signal;
mod start;
mod ticker;
mod unload;
mod worker;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use builder::EngineBuilder;
pub use context::RunContext;
pub use continued::Generation;
pub(crate) use end::{RunEnd, panic_message};
pub(crate) use halt::halts;
pub use handle::RunHandle;
pub use health::{BreakerHealth, FailedCompensation, Health, PausedRun, StalledRun, SuspendedRun};
pub(crate) use launch::{Launch, LaunchError};

use crate::breaker::Breaker;
use crate::store::Store;
use crate::{EventReceiver, RetryPolicy, RunId};
use bus::EventBus;
pub(crate) use live::LiveRun;

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
/// [`EngineError::Interrupted`](crate::EngineError::Interrupted).
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
/// handles ([`EngineError::Interrupted`](crate::EngineError::Interrupted)) and returning their ids.
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

/// What an engine's clones share: what it is made of, then its live state.
struct Inner {
    store: Arc<dyn Store>,
    events: EventBus,
    /// The timeline every run's journal timestamps are read from.
    clock: context::RunClock,
    /// The named resources and breakers, and the policies, as built.
    config: builder::Config,
    /// The runs this engine drives, their signal waiters, and the runs it
    /// halted: where a live run is found.
    runs: runs::Runs,
    /// Runs unloaded while they sleep, and their timers.
    unloaded: unload::Unloaded,
    /// Whether the engine is shutting down, and the signal to stop runs.
    shutdown: shutdown::Shutdown,
    /// The retention policy, and when finished runs were last swept.
    sweeper: retention::Sweeper,
    /// The definitions met so far, to check the signals sent to their runs.
    definitions: signal::Definitions,
    /// The workflows registered as a worker, and the claim loop's state.
    fleet: worker::Fleet,
    /// The places of an engine with a limit on runs in flight.
    admission: Option<Arc<admission::Admission>>,
    /// The schedules this engine ticks.
    schedules: schedule::Schedules,
}

impl Engine {
    /// Remembers a run being driven, to cancel it by id and report on it.
    pub(crate) fn track(&self, ctx: &RunContext) {
        self.inner.runs.track(&ctx.run, &ctx.live);
        self.hear_cancels();
    }

    /// How journal writes failing for a store reason are tried again.
    pub(crate) fn journal_retries(&self) -> RetryPolicy {
        self.inner.config.journal_retries
    }

    /// Forgets a run that ended (or is no longer driven here), and its
    /// signal waiter.
    pub(crate) fn untrack(&self, run: &RunId) {
        let in_flight = self.inner.runs.untrack(run);
        self.let_go(in_flight);
    }

    /// How runs whose body panicked are restarted.
    pub(crate) fn panic_restarts(&self) -> RetryPolicy {
        self.inner.config.panic_restarts
    }

    /// The circuit breaker `name`, if the engine has one.
    pub(crate) fn breaker(&self, name: &str) -> Option<&Arc<Breaker>> {
        self.inner.config.breakers.get(name)
    }

    /// What a run waiting for signals waits on.
    pub(crate) fn signal_waiter(&self, run: &RunId) -> Arc<tokio::sync::Notify> {
        self.inner.runs.signal_waiter(run)
    }

    /// The engine's wall-clock timeline.
    pub(crate) fn clock(&self) -> context::RunClock {
        self.inner.clock
    }

    /// How often to look again for what the store does not notify.
    pub(crate) fn poll_interval(&self) -> Duration {
        self.inner.config.poll_interval
    }

    /// Whether runs keep their live attempts for their pictures.
    pub(crate) fn pictures_live(&self) -> bool {
        self.inner
            .config
            .live_pictures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The engine's debugger, if it was built with one
    /// ([`EngineBuilder::debugger`]).
    pub fn debugger(&self) -> Option<&crate::debug::Debugger> {
        self.inner.config.debugger.as_ref()
    }

    /// The test kit's stubs, on an engine a test made.
    #[cfg(feature = "testing")]
    pub(crate) fn stubs(&self) -> Option<&crate::testing::Stubs> {
        self.inner.config.stubs.as_deref()
    }

    /// Run `run`'s live table, if this engine drives it and keeps live
    /// attempts.
    pub(crate) fn live_run(&self, run: &RunId) -> Option<Arc<live::LiveRun>> {
        self.pictures_live()
            .then(|| self.inner.runs.get(run))
            .flatten()
    }

    /// Keeps the runs' live attempts from now on (a picture was asked for).
    pub(crate) fn keep_pictures_live(&self) {
        self.inner
            .config
            .live_pictures
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sleeps at least this long unload their run.
    pub(crate) fn unload_after(&self) -> Duration {
        self.inner.config.unload_after
    }

    /// Resource `name`, if the engine has one.
    pub(crate) fn resource(&self, name: &str) -> Option<&crate::step::place::Resource> {
        self.inner.config.resources.get(name)
    }

    /// Subscribes to every event emitted from now on.
    pub fn subscribe(&self) -> EventReceiver {
        self.inner.events.subscribe()
    }

    /// The engine's store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
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
