//! The engine as a worker of a shared store (see
//! [`store::lease`](crate::store::lease)): the workflows it
//! [registered](Engine::register), the claim loop that takes their runs from
//! the store, runs [enqueued](Engine::enqueue) for any worker, and the
//! notices that wake the loop.
//!
//! The claim loop claims up to the engine's free
//! [worker concurrency](crate::EngineBuilder::worker_concurrency) at a time
//! (and no more than its free places under a
//! [limit on runs in flight](crate::EngineBuilder::max_runs_in_flight)):
//! runs enqueued by any process, runs handed back while they sleep whose
//! wake-up time has come, and runs of workers that are gone. It is woken by
//! the store's notices (a database that notifies: within milliseconds of the
//! enqueue), by this engine's own enqueues and hand-backs, when one of its
//! runs ends, at the next due wake-up the store reported, and otherwise polls
//! every [poll interval](crate::EngineBuilder::poll_interval).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::signal::Definition;
use super::{Engine, Inner, Launch, LaunchError};
use crate::store::{ClaimOffer, Enqueue, Enqueued, Notice, RunRecord};
use crate::{RunId, StoreError, Workflow};

/// Resumes a claimed run of a registered workflow on a task of its own.
type Launcher =
    Arc<dyn Fn(Engine, RunId) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What the engine needs as a worker: its registered workflows and the loop
/// state.
#[derive(Default)]
pub(super) struct Fleet {
    registered: RwLock<Vec<Registered>>,
    /// Wakes the claim loop: something may be claimable, or capacity freed.
    poke: Arc<Notify>,
    /// Runs claimed by the loop and still driven here.
    claimed: Arc<AtomicUsize>,
    /// The claim loop, started at the first registration.
    pub(super) started: OnceLock<()>,
    /// Poked when the engine starts driving a run (see `cancel_requests`).
    pub(super) driving: Arc<Notify>,
    /// Whether the engine listens or polls for cancels asked of its runs.
    pub(super) cancel_watch: OnceLock<()>,
    /// The notice listener, started when first needed.
    listening: OnceLock<()>,
    /// Whether the store notifies (the listener runs).
    notifies: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("claimed", &self.claimed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

struct Registered {
    name: &'static str,
    definition: Definition,
    launch: Launcher,
}

impl Engine {
    /// Makes this engine a worker for `workflow`: from now on it claims the
    /// workflow's runs that any process [enqueued](Engine::enqueue), the ones
    /// whose sleep ended while no worker held them, and those of workers
    /// that died, and drives them. Call it once per workflow (and once per
    /// version kept for runs in flight: `register(v1::order)` and
    /// `register(order)`), at start-up, on every worker process.
    ///
    /// A run is claimed only by a worker that has its definition (the hash
    /// it started under, or one that declares itself compatible): during a
    /// rolling deploy, runs started by the new version wait for workers that
    /// have it. A registered workflow's runs that sleep past the engine's
    /// [unload threshold](crate::EngineBuilder::unload_sleeps_after) are handed
    /// back to the store ([`RunWriter::release`](crate::store::RunWriter::release))
    /// and hold no lease while they sleep: whichever worker is free wakes
    /// them on time.
    ///
    /// Registering replaces [`Engine::resume`] for the workflow: the claim
    /// loop picks up this worker's unfinished runs after a restart too.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub fn register<W: Workflow>(&self, workflow: W) {
        self.learn::<W>();
        let launch: Launcher = Arc::new(move |engine: Engine, run: RunId| {
            Box::pin(async move {
                let launch = Launch::new(run, None, CancellationToken::new());
                match engine.prepare_resume(&launch, workflow).await {
                    // Its end is recorded; a handle here hears of it.
                    Ok(task) => drop(task.await),
                    // Taken by another worker, or finished, since it was claimed.
                    Err(LaunchError::Store(
                        StoreError::LeaseHeld { .. } | StoreError::RunFinished { .. },
                    )) => {}
                    Err(error) => {
                        let error = error.into_engine_error(&launch.run);
                        tracing::error!(run = %launch.run, %error, "could not drive a claimed run");
                    }
                }
            })
        });
        {
            let mut registered = self
                .inner
                .fleet
                .registered
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let definition = Definition::of::<W>();
            registered.retain(|known| {
                !(known.name == W::name() && known.definition.hash() == definition.hash())
            });
            registered.push(Registered {
                name: W::name(),
                definition,
                launch,
            });
        }
        self.listen_to_store();
        self.inner.fleet.started.get_or_init(|| {
            tokio::spawn(claim_loop(Arc::downgrade(&self.inner)));
            if let Some(expiries) = self.store().lease_expiries() {
                tokio::spawn(watch_expiries(Arc::downgrade(&self.inner), expiries));
            }
        });
        self.poke_claims();
    }

    /// Records a run of `workflow` with `input` for any worker of the store
    /// to claim and drive (one that [registered](Engine::register) the
    /// workflow; this engine too, if it did), under a fresh id; returns its
    /// handle at once. The starting process need not run it: the handle's
    /// [`result`](super::RunHandle::result) arrives when whichever worker
    /// finishes the run, read from the store.
    ///
    /// # Errors
    ///
    /// As [`Engine::start`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped before it completes, the run may or may not
    /// be recorded.
    pub async fn enqueue<W: Workflow>(
        &self,
        workflow: W,
        input: W::Input,
    ) -> Result<super::RunHandle<W>, crate::EngineError> {
        self.enqueue_with_id(RunId::generate(), workflow, input)
            .await
    }

    /// Like [`Engine::enqueue`], under the id `id`: enqueuing the same id
    /// twice gives [`StoreError::RunExists`] the second time, so a business
    /// id makes the enqueue idempotent.
    ///
    /// # Errors
    ///
    /// As [`Engine::start_with_id`].
    ///
    /// # Cancel safety
    ///
    /// As [`Engine::enqueue`].
    pub async fn enqueue_with_id<W: Workflow>(
        &self,
        id: RunId,
        workflow: W,
        input: W::Input,
    ) -> Result<super::RunHandle<W>, crate::EngineError> {
        self.enqueue_as(id, workflow, input, &Enqueue::new()).await
    }

    /// Like [`Engine::enqueue`], to a named [queue](crate::store::queue),
    /// with a priority and a deduplication key: a second enqueue with the
    /// same key to the same queue gives a handle to the run the first one
    /// made (while it is kept), and records nothing.
    ///
    /// ```
    /// # use trailhead_core::{Engine, Workflow};
    /// use trailhead_core::store::Enqueue;
    /// # async fn example<W: Workflow<Input = u64>>(engine: &Engine, welcome: W) -> Result<(), trailhead_core::EngineError> {
    /// let options = Enqueue::to("emails").with_priority(5).with_dedup_key("welcome:ada");
    /// let first = engine.enqueue_with(welcome, 7, &options).await?;
    /// let again = engine.enqueue_with(welcome, 7, &options).await?;
    /// assert_eq!(first.id(), again.id());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Engine::start`].
    ///
    /// # Cancel safety
    ///
    /// As [`Engine::enqueue`].
    pub async fn enqueue_with<W: Workflow>(
        &self,
        workflow: W,
        input: W::Input,
        options: &Enqueue,
    ) -> Result<super::RunHandle<W>, crate::EngineError> {
        self.enqueue_as(RunId::generate(), workflow, input, options)
            .await
    }

    pub(super) async fn enqueue_as<W: Workflow>(
        &self,
        id: RunId,
        _workflow: W,
        input: W::Input,
        options: &Enqueue,
    ) -> Result<super::RunHandle<W>, crate::EngineError> {
        self.refuse_if_shutting_down(W::name(), Some(&id))?;
        self.learn::<W>();
        let input = crate::step::Journaled::to_journal(&input)
            .map_err(|source| StoreError::encode(id.clone(), None, "input", source))?;
        let record = RunRecord::new(id.clone(), W::name(), input)
            .with_definition_hash(W::definition_hash())
            .with_mermaid(crate::picture::recorded_mermaid(W::mermaid(), W::GRAPH));
        let run = match self.store().enqueue_run(record, options).await? {
            Enqueued::Existing(existing) => existing,
            _ => {
                self.poke_claims();
                id
            }
        };
        Ok(super::RunHandle::elsewhere(self.clone(), run))
    }

    /// A handle to run `run` of `workflow`, wherever it is driven: its
    /// [`result`](super::RunHandle::result) is read from the store when the
    /// run ends (whichever worker ends it), and
    /// [`cancel`](super::RunHandle::cancel) cancels it as
    /// [`Engine::cancel`] does.
    pub fn handle<W: Workflow>(&self, _workflow: W, run: RunId) -> super::RunHandle<W> {
        super::RunHandle::elsewhere(self.clone(), run)
    }

    /// Whether this engine registered `W`'s definition as a worker.
    pub(crate) fn works_on<W: Workflow>(&self) -> bool {
        self.registered()
            .iter()
            .any(|known| known.name == W::name() && known.definition.hash() == W::definition_hash())
    }

    fn registered(&self) -> std::sync::RwLockReadGuard<'_, Vec<Registered>> {
        self.inner
            .fleet
            .registered
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes the claim loop: a run may be claimable, or capacity freed.
    pub(crate) fn poke_claims(&self) {
        self.inner.fleet.poke.notify_one();
    }

    /// What wakes the claim loop, for a place under the limit to wake it
    /// when it frees.
    pub(super) fn claims_poke(&self) -> &Arc<Notify> {
        &self.inner.fleet.poke
    }

    /// What the engine offers the store to claim: every registered
    /// definition, up to `limit` runs.
    fn offer(&self, limit: usize) -> ClaimOffer {
        let definitions = self
            .registered()
            .iter()
            .flat_map(|known| {
                known
                    .definition
                    .hashes()
                    .map(|hash| (known.name.to_owned(), hash))
            })
            .collect();
        ClaimOffer::new(definitions, limit).with_queues(self.inner.config.queues.clone())
    }

    /// The launcher of a claimed run's definition.
    pub(super) fn launcher(&self, record: &RunRecord) -> Option<Launcher> {
        self.registered()
            .iter()
            .find(|known| {
                known.name == record.workflow && known.definition.runs(record.definition_hash)
            })
            .map(|known| Arc::clone(&known.launch))
    }

    /// Claims what the store has for this worker and launches it; when to
    /// look again at the latest.
    async fn claim_once(&self) -> Option<SystemTime> {
        let fleet = &self.inner.fleet;
        let room = self
            .inner
            .config
            .worker_concurrency
            .saturating_sub(fleet.claimed.load(Ordering::Acquire));
        // Under the limit on runs in flight too, if there is one.
        let mut places = self.places_for_claim(room);
        let limit = places.room;
        if limit == 0 {
            return None;
        }
        let claimed = match self.store().claim_runs(&self.offer(limit)).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "could not claim runs; trying again at the next poll");
                return None;
            }
        };
        if claimed.runs.len() < limit {
            places.drained();
        }
        for record in claimed.runs {
            let Some(launch) = self.launcher(&record) else {
                continue; // Unregistered since the offer: the lease expires.
            };
            fleet.claimed.fetch_add(1, Ordering::AcqRel);
            let engine = self.clone();
            let counter = Arc::clone(&fleet.claimed);
            let place = places.one();
            tokio::spawn(async move {
                launch(engine.clone(), record.id).await;
                drop(place);
                counter.fetch_sub(1, Ordering::AcqRel);
                engine.poke_claims();
            });
        }
        claimed.next_due
    }
}

impl Definition {
    /// The recorded hashes this definition runs: its own and those it is
    /// compatible with.
    fn hashes(&self) -> impl Iterator<Item = u64> + '_ {
        std::iter::once(self.hash()).chain(self.compatible().iter().copied())
    }
}

/// Claims until the engine is dropped or shuts down.
async fn claim_loop(engine: Weak<Inner>) {
    loop {
        let Some(inner) = engine.upgrade() else {
            return;
        };
        if inner.shutdown.is_closed() {
            return;
        }
        let poke = Arc::clone(&inner.fleet.poke);
        let notified = poke.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let poll = inner.config.poll_interval;
        let handle = Engine { inner };
        let next_due = handle.claim_once().await;
        // Cancels asked of its runs that no notice told of.
        handle.cancel_asked_runs().await;
        // Not held while waiting: a dropped engine ends the loop.
        drop(handle);
        let wait = next_due
            .and_then(|due| due.duration_since(SystemTime::now()).ok())
            .map_or(poll, |until| until.min(poll));
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(wait.max(Duration::from_millis(1))) => {}
        }
    }
}

/// Passes the store's notices on until the engine is dropped: a runnable
/// run wakes the claim loop, a signal the run waiting for it here, a cancel
/// asked cancels the run if it is driven here (and wakes the claim loop if
/// not: the run may be claimable).
async fn listen(engine: Weak<Inner>, mut notices: tokio::sync::broadcast::Receiver<Notice>) {
    loop {
        let notice = notices.recv().await;
        let Some(inner) = engine.upgrade() else {
            return;
        };
        match notice {
            Ok(Notice::Runnable) => inner.fleet.poke.notify_one(),
            Ok(Notice::Signal(run)) => inner.runs.wake_signal_waiter(&run),
            Ok(Notice::Cancel(run)) => {
                let here = Engine { inner };
                // Not driven here: if no worker holds it, it is claimable now.
                if !here.cancel_if_here(&run) {
                    here.poke_claims();
                }
            }
            Ok(_) => {}
            // Missed some: every waiter looks again, and so does the loop,
            // and the cancels asked are read.
            Err(RecvError::Lagged(_)) => {
                for run in inner.runs.driven() {
                    inner.runs.wake_signal_waiter(&run);
                }
                inner.fleet.poke.notify_one();
                let engine = Engine { inner };
                tokio::spawn(async move { engine.cancel_asked_runs().await });
            }
            Err(RecvError::Closed) => {
                inner.fleet.notifies.store(false, Ordering::Release);
                return;
            }
        }
    }
}

impl Engine {
    /// Starts passing the store's notices on, once; whether the store
    /// notifies (otherwise what it would tell is polled for).
    pub(crate) fn listen_to_store(&self) -> bool {
        let fleet = &self.inner.fleet;
        fleet.listening.get_or_init(|| {
            if let Some(notices) = self.store().notices() {
                fleet.notifies.store(true, Ordering::Release);
                tokio::spawn(listen(Arc::downgrade(&self.inner), notices));
            }
        });
        fleet.notifies.load(Ordering::Acquire)
    }
}

/// Halts every run this engine drives when the store says the worker's
/// leases expired: another worker may have taken them over. The claim loop
/// claims them again if they are still free.
async fn watch_expiries(engine: Weak<Inner>, mut expiries: tokio::sync::watch::Receiver<u64>) {
    while expiries.changed().await.is_ok() {
        let Some(inner) = engine.upgrade() else {
            return;
        };
        let handle = Engine { inner };
        let worker = handle.store().worker().clone();
        let halted = handle.inner.runs.driven();
        for run in &halted {
            if let Some(live) = handle.inner.runs.get(run) {
                tracing::warn!(%run, %worker, "the worker's lease expired: halting the run");
                live.halt(StoreError::LeaseLost {
                    run: run.clone(),
                    worker: worker.clone(),
                });
            }
        }
        // Once their tasks let them go, the runs still this worker's are
        // handed back: claimed again (here or elsewhere) from their journal.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while halted.iter().any(|run| handle.inner.runs.is_driven(run))
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handle.hand_back(&halted).await;
        handle.poke_claims();
    }
}
