//! Making an engine: [`Engine::new`], [`Engine::open`] and the
//! [`EngineBuilder`] that chooses its store, resources, breakers and policies.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{
    Engine, EventBus, Inner, admission, context, retention, runs, shutdown, signal, unload, worker,
};
use crate::breaker::Breaker;
use crate::store::{ADMISSION_QUEUE, MemoryStore, Retention, Store};
use crate::{BreakerConfig, RetryPolicy, StoreError};

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

    /// A builder, to choose the store and the named resources.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            store: None,
            retention: None,
            wall_clock: None,
            config: Config {
                resources: HashMap::new(),
                breakers: HashMap::new(),
                unload_after: Duration::from_secs(60),
                stalled_after: Duration::from_secs(5 * 60),
                panic_restarts: RetryPolicy::attempts(3).with_backoff(crate::Backoff::exponential(
                    Duration::from_secs(1),
                    Duration::from_secs(60),
                )),
                journal_retries: RetryPolicy::attempts(8).with_backoff(
                    crate::Backoff::exponential(
                        Duration::from_millis(100),
                        Duration::from_secs(10),
                    ),
                ),
                event_capacity: super::bus::DEFAULT_CAPACITY,
                worker_concurrency: 64,
                max_runs_in_flight: None,
                queues: Vec::new(),
                poll_interval: Duration::from_secs(1),
                live_pictures: std::sync::atomic::AtomicBool::new(false),
                #[cfg(feature = "testing")]
                stubs: None,
                debugger: None,
            },
        }
    }
}

/// What the builder chose, besides the store: the named resources and
/// breakers every run shares, and the policies runs are driven under.
#[derive(Debug)]
pub(super) struct Config {
    /// Named limits on concurrent attempts, shared by every run.
    pub(super) resources: HashMap<Box<str>, crate::step::place::Resource>,
    /// Named circuit breakers, shared by every run.
    pub(super) breakers: HashMap<Box<str>, Arc<Breaker>>,
    /// Sleeps at least this long unload the run (top-level runs only).
    pub(super) unload_after: Duration,
    /// Runs with no step ended for this long are reported stalled.
    pub(super) stalled_after: Duration,
    /// How often a run whose body panicked is driven (restarted), and after
    /// what delays.
    pub(super) panic_restarts: RetryPolicy,
    /// How journal writes that fail for a store reason are tried again.
    pub(super) journal_retries: RetryPolicy,
    /// How many events the subscribers' ring holds.
    pub(super) event_capacity: usize,
    /// The most claimed runs a worker drives at once.
    pub(super) worker_concurrency: usize,
    /// The most top-level runs the engine drives at once, if limited.
    pub(super) max_runs_in_flight: Option<usize>,
    /// The named queues this worker serves, with their limits.
    pub(super) queues: Vec<crate::store::Queue>,
    /// How often a worker looks for runs to claim, and a run waiting for a
    /// signal looks for one, when the store does not notify.
    pub(super) poll_interval: Duration,
    /// Whether runs keep a live table of their running attempts for their
    /// pictures: from the start if the builder says so, else from the
    /// engine's first picture on.
    pub(super) live_pictures: std::sync::atomic::AtomicBool,
    /// The debugger, on an engine built with one.
    pub(super) debugger: Option<crate::debug::Debugger>,
    /// The test kit's step stubs, for an engine a test made.
    #[cfg(feature = "testing")]
    pub(super) stubs: Option<Arc<crate::testing::Stubs>>,
}

/// Configures an [`Engine`].
///
/// Made by [`Engine::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct EngineBuilder {
    store: Option<Arc<dyn Store>>,
    retention: Option<Retention>,
    wall_clock: Option<std::time::SystemTime>,
    config: Config,
}

impl EngineBuilder {
    /// Builds the engine with a [debugger](crate::debug) (off by default):
    /// breakpoints on steps, pauses, step-through
    /// ([`Engine::debugger`](crate::Engine::debugger)). Each step then also
    /// describes its arguments and looks the breakpoints up; without it,
    /// steps pay one branch.
    pub fn debugger(mut self, on: bool) -> Self {
        self.config.debugger = on.then(crate::debug::Debugger::default);
        self
    }

    /// Stands the test kit's stubs in for steps (`testing::TestEngine`).
    #[cfg(feature = "testing")]
    pub(crate) fn stubs(mut self, stubs: Arc<crate::testing::Stubs>) -> Self {
        self.config.stubs = Some(stubs);
        self
    }

    /// How many events the ring shared by [subscribers](Engine::subscribe)
    /// holds at least (default 4096; from 1 to 16 Mi, rounded up to a power
    /// of two). It is allocated whole, about 150 bytes an event, on the first
    /// subscription. A subscriber that falls this many
    /// events behind loses the oldest and receives
    /// [`Event::Lagged`](crate::Event::Lagged) in their place: see
    /// [`EventReceiver`](crate::EventReceiver#a-slow-subscriber). The ring
    /// is allocated on the first subscription.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.config.event_capacity = capacity;
        self
    }

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
    /// # Across the fleet
    ///
    /// On a `PgStore` (feature `postgres`) the limit holds for all the
    /// store's workers together: each attempt also takes one of the
    /// resource's `limit` places in the database (see
    /// [`store::resource`](crate::store::resource)), so workers sharing a
    /// resource should give it the same limit (the asking worker's counts).
    /// A worker that is gone frees its places; one waiting for a place asks
    /// again every 5 to 50 ms. The cost is two commits per attempt (one
    /// transaction to take the place, one statement to leave it) besides the
    /// journal's, and up to 50 ms more wait after a place came free.
    ///
    /// On the memory and SQLite stores each engine keeps the limit alone:
    /// several processes on one SQLite file each run up to `limit` attempts.
    /// [Circuit breakers](Self::breaker) are per engine on every store.
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
        self.config.resources.insert(
            name.into_boxed_str(),
            crate::step::place::Resource::new(limit),
        );
        self
    }

    /// Whether the runs' live attempts (running, retrying, replayed) are kept
    /// for their [pictures](crate::picture) from the start (`true`), or only
    /// from the engine's first [`Engine::picture`](crate::Engine::picture)
    /// (or `diagram`, `picture_of`, `diagram_of`) on (`false`, the default).
    ///
    /// Keeping them costs a step two uncontended locks (about 8% of a
    /// trivial in-memory step, BENCHMARKS.md), so an engine no tool looks at
    /// does not pay it. Without it, an attempt that began before the first
    /// picture shows as not reached until its step settles, and steps
    /// replayed before it as completed.
    pub fn live_pictures(mut self, on: bool) -> Self {
        *self.config.live_pictures.get_mut() = on;
        self
    }

    /// Runs that sleep at least `after` (default one minute) with nothing
    /// else running give up their task and memory until they wake: the
    /// engine keeps a timer entry and resumes them from their journal then.
    pub fn unload_sleeps_after(mut self, after: Duration) -> Self {
        self.config.unload_after = after;
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
        self.config.breakers.insert(name.into_boxed_str(), breaker);
        self
    }

    /// Runs whose last step ended at least `after` ago (default five
    /// minutes) are reported as stalled by [`Engine::health`].
    pub fn stalled_after(mut self, after: Duration) -> Self {
        self.config.stalled_after = after;
        self
    }

    /// How a run whose body panics outside its steps is driven again:
    /// `policy.max_attempts()` drives in all (default 3), the delays of its
    /// backoff apart (default 1 s, 2 s, … up to a minute). A restarted run
    /// resumes from its journal, as after a crash, with an
    /// [`Event::RunRestarting`](crate::Event::RunRestarting); once the
    /// attempts are spent the panic fails the run. (A panic inside a step is
    /// that step's failure, under the step's own retry policy.)
    pub fn panic_restarts(mut self, policy: RetryPolicy) -> Self {
        self.config.panic_restarts = policy;
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
        self.config.journal_retries = policy;
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

    /// The most runs this engine, as a [worker](Engine::register), claims
    /// and drives at once (default 64; 0 is taken as 1). Runs it
    /// [starts](Engine::start) itself are not counted: they are driven here
    /// whatever the limit (a [limit on runs in flight](Self::max_runs_in_flight)
    /// counts them).
    pub fn worker_concurrency(mut self, runs: usize) -> Self {
        self.config.worker_concurrency = runs.max(1);
        self
    }

    /// At most `runs` top-level runs driven by this engine at once (0 is
    /// taken as 1; default: no limit). A run started beyond it is queued
    /// durably and driven once a run ends, so that memory stays bounded
    /// however fast runs are started.
    ///
    /// The limit counts the runs this engine [starts](Engine::start) (and
    /// [`run`](Engine::run)s), the ones it [resumes](Engine::resume) or
    /// [reruns](Engine::rerun), and those its claim loop claims as a
    /// [worker](Engine::register) (under
    /// [`worker_concurrency`](Self::worker_concurrency) too). Child runs of
    /// a `call` are not counted and never wait: a parent holding a place
    /// while its child waited for one could wait for ever. A run asleep and
    /// handed back to the store holds no place until it wakes.
    ///
    /// - **Queued, not held.** [`Engine::start`] with no place free records
    ///   the run in the store as enqueued to the queue
    ///   [`ADMISSION_QUEUE`](crate::store::ADMISSION_QUEUE), with an
    ///   [`Event::RunQueued`](crate::Event::RunQueued), and returns its
    ///   handle at once: no task, no input kept here (on SQLite or
    ///   PostgreSQL it is in the database). Its
    ///   [`result`](crate::RunHandle::result) waits for the run's end, read
    ///   from the store, as an [enqueued](Engine::enqueue) run's does.
    /// - **First come, first served.** The engine becomes a
    ///   [worker](Engine::register) of the workflows whose runs it queues,
    ///   and claims the queue's runs oldest first as its runs end; while
    ///   some wait, a new run queues behind them even if a place is free.
    ///   Any worker of the store that has the workflow may claim them too.
    /// - **Durable.** A queued run survives the process: a new engine on the
    ///   store that registers the workflow (or queues a run of it) drains
    ///   the queue. A recorded run resumed beyond the limit is handed back
    ///   to the store and claimed likewise.
    /// - **Visible.** [`Health::queued`](crate::Health::queued) counts the
    ///   runs waiting in the store for a place.
    /// - A queued run [cancelled](Engine::cancel) ends cancelled without
    ///   running a step; [`Engine::start_with_id`] with a taken id fails
    ///   with [`StoreError::RunExists`], queued or not.
    ///
    /// Without a limit the start path is unchanged. With one, a start costs
    /// an atomic update of the count, and a queued run one more store write
    /// and a claim.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::future::Future;
    /// # use trailhead_core::{Error, RunContext, Workflow};
    /// # #[derive(Clone, Copy, Default)]
    /// # struct Double;
    /// # impl Workflow for Double {
    /// #     type Input = u64;
    /// #     type Output = u64;
    /// #     type Error = Error;
    /// #     const NAME: &'static str = "double";
    /// #     const MERMAID: &'static str = "";
    /// #     const DEFINITION_HASH: u64 = 0;
    /// #     fn execute<'a>(self, _: &'a RunContext, x: u64)
    /// #         -> impl Future<Output = Result<u64, Error>> + Send + 'a {
    /// #         async move { Ok(2 * x) }
    /// #     }
    /// # }
    /// use trailhead_core::Engine;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Two runs at a time; the other eight wait in the store.
    /// let engine = Engine::builder().max_runs_in_flight(2).build();
    /// let mut handles = Vec::new();
    /// for x in 0..10 {
    ///     handles.push(engine.start(Double, x).await?);
    /// }
    /// for (x, handle) in (0..).zip(handles) {
    ///     assert_eq!(handle.result().await?, 2 * x);
    /// }
    /// assert_eq!(engine.health().await?.queued, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_runs_in_flight(mut self, runs: usize) -> Self {
        self.config.max_runs_in_flight = Some(runs.max(1));
        self
    }

    /// Serves the named queue `queue` as a [worker](Engine::register):
    /// claims runs [enqueued to it](Engine::enqueue_with), under its
    /// limits, which hold for all the workers of the store together. Declare
    /// it with the same limits on every worker that serves it; runs of a
    /// queue no worker declares wait. See [`store::queue`](crate::store::queue).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use trailhead_core::{Engine, store::Queue};
    ///
    /// let engine = Engine::builder()
    ///     .queue(Queue::new("emails").with_concurrency(10).with_rate(50, Duration::from_secs(30)))
    ///     .build();
    /// # drop(engine);
    /// ```
    pub fn queue(mut self, queue: crate::store::Queue) -> Self {
        self.config
            .queues
            .retain(|known| known.name() != queue.name());
        self.config.queues.push(queue);
        self
    }

    /// How often a [worker](Engine::register) looks for runs to claim when
    /// nothing woke it, and a run waiting for a signal looks for one sent
    /// from another process (default 1 s). A store that notifies (the
    /// in-memory store; PostgreSQL with notifications on) wakes them at
    /// once; on a SQLite file shared by processes this is how soon another
    /// process's enqueue or signal is seen. At least 1 ms.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.config.poll_interval = every.max(Duration::from_millis(1));
        self
    }

    /// Sets the engine's wall clock: it reads `now` at build, then advances
    /// with tokio's clock (the default reads the system time at build).
    /// Journal timestamps, sleeps' wake-up times and schedule ticks are read
    /// from it.
    ///
    /// Tests on tokio's paused clock use it to keep one timeline across
    /// engines: a second engine built after the clock was advanced an hour
    /// (a restart after downtime) must see the hour gone, which the system
    /// time, not advanced by a paused clock, would not show. It also starts
    /// a test on a chosen date (a daylight saving day).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use tokio::time::Instant;
    /// use trailhead_core::Engine;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    /// let began = Instant::now();
    /// let first = Engine::builder().wall_clock(start).build();
    /// # drop(first);
    /// tokio::time::sleep(Duration::from_secs(3600)).await; // down for an hour
    /// let second = Engine::builder().wall_clock(start + began.elapsed()).build();
    /// # drop(second);
    /// # }
    /// ```
    pub fn wall_clock(mut self, now: std::time::SystemTime) -> Self {
        self.wall_clock = Some(now);
        self
    }

    /// Builds the engine.
    pub fn build(self) -> Engine {
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::default()));
        let retention = self.retention.unwrap_or_else(|| store.default_retention());
        let mut config = self.config;
        // Every engine serves the admission queue, so that any worker of a
        // workflow drains the runs an engine with a limit queued.
        config
            .queues
            .retain(|queue| queue.name() != ADMISSION_QUEUE);
        config
            .queues
            .push(crate::store::Queue::new(ADMISSION_QUEUE));
        Engine {
            inner: Arc::new(Inner {
                store,
                sweeper: retention::Sweeper::new(retention),
                shutdown: shutdown::Shutdown::default(),
                events: EventBus::with_capacity(config.event_capacity),
                definitions: signal::Definitions::default(),
                runs: runs::Runs::default(),
                unloaded: unload::Unloaded::default(),
                fleet: worker::Fleet::default(),
                schedules: super::schedule::Schedules::default(),
                clock: self
                    .wall_clock
                    .map_or_else(context::RunClock::start, context::RunClock::anchored),
                admission: config
                    .max_runs_in_flight
                    .map(|limit| Arc::new(admission::Admission::new(limit))),
                config,
            }),
        }
    }
}
