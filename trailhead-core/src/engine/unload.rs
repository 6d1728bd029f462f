//! Unloading runs that wait long: a run whose only activity is a `sleep`
//! longer than the engine's threshold gives up its task until it wakes.
//!
//! The sleep's wake-up time is already journaled, so unloading is what a crash
//! would do, on purpose: the run's body is dropped (the run stays "running" in
//! the store), a timer entry of 48 bytes (when, the run's id, and which
//! workflow's resume to call) remembers when to pick it up, and at that time
//! the engine resumes it from its journal. The caller holding the run's handle
//! is answered through a one-shot channel kept by the engine for as long as
//! the run is away; a dropped handle's channel is pruned.

use std::any::Any;
use std::cmp::Ordering as Order;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Engine, Inner, Launch, RunContext, RunEnd};
use crate::{Event, RunId, Workflow};

/// What the engine gives a run's handle once the run, unloaded at least
/// once, has ended: the run's `RunEnd<W>`, boxed.
pub(crate) type Finish = Box<dyn Any + Send>;

/// What a timer calls when it fires: resumes the unloaded run of one
/// workflow (cancelled when the flag says so) on a task of its own. A plain
/// function, one per workflow type, rather than a boxed closure per run: an
/// unloaded run costs its timer entry and its id, nothing more.
type Wake = fn(Engine, RunId, bool) -> tokio::task::JoinHandle<()>;

/// An unloaded run's timer.
struct Timer {
    at: Instant,
    /// The order of timers set for the same instant.
    sequence: u64,
    run: RunId,
    wake: Wake,
}

impl Timer {
    /// Wakes the run now (cancelled when `cancelled`).
    fn fire(self, engine: Engine, cancelled: bool) -> tokio::task::JoinHandle<()> {
        (self.wake)(engine, self.run, cancelled)
    }
}

// Ordered for `BinaryHeap`, a max-heap, so the earliest timer is the greatest.
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> Order {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Order> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}

impl Eq for Timer {}

/// Answer channels of handles whose run is (or was) unloaded.
#[derive(Default)]
struct Finishers {
    senders: HashMap<RunId, oneshot::Sender<Finish>>,
    /// The count of senders at which closed ones are pruned next.
    prune_at: usize,
}

/// The engine's unloaded runs and their timers.
#[derive(Default)]
pub(crate) struct Unloaded {
    finishers: Mutex<Finishers>,
    /// When to wake what, the earliest on top.
    timers: Mutex<BinaryHeap<Timer>>,
    sequence: AtomicU64,
    changed: Arc<Notify>,
    service: OnceLock<()>,
}

/// Senders pruned at the latest when there are this many.
const PRUNE_FROM: usize = 1024;

impl std::fmt::Debug for Unloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unloaded").finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Engine {
    /// The receiving end for the handle of a run being unloaded, the first
    /// time it is; `None` when the handle is already waiting on one.
    pub(crate) fn finisher(&self, run: &RunId) -> Option<oneshot::Receiver<Finish>> {
        let mut finishers = lock(&self.inner.unloaded.finishers);
        if finishers.senders.contains_key(run) {
            return None;
        }
        // The handles of most runs started and left are gone: their senders
        // answer no one. Pruned when their count doubles, so in amortised
        // constant time, and a million fire-and-forget sleepers keep none.
        if finishers.senders.len() >= finishers.prune_at {
            finishers.senders.retain(|_, sender| !sender.is_closed());
            finishers.prune_at = (2 * finishers.senders.len()).max(PRUNE_FROM);
        }
        let (sender, receiver) = oneshot::channel();
        finishers.senders.insert(run.clone(), sender);
        Some(receiver)
    }

    /// Answers the handle of a run that was unloaded; gives `finish` back when
    /// no handle waits through the engine (the run was never unloaded).
    pub(crate) fn finish_unloaded(&self, run: &RunId, finish: Finish) -> Option<Finish> {
        let sender = lock(&self.inner.unloaded.finishers).senders.remove(run);
        match sender {
            Some(sender) => {
                // A dropped handle no longer wants the answer.
                let _ = sender.send(finish);
                None
            }
            None => Some(finish),
        }
    }

    /// Calls `wake` for `run` at `at`, on the engine's timer task.
    fn wake_at(&self, at: Instant, run: RunId, wake: Wake) {
        let unloaded = &self.inner.unloaded;
        let sequence = unloaded.sequence.fetch_add(1, Ordering::Relaxed);
        lock(&unloaded.timers).push(Timer {
            at,
            sequence,
            run,
            wake,
        });
        unloaded.changed.notify_one();
        unloaded.service.get_or_init(|| {
            tokio::spawn(timer_service(Arc::downgrade(&self.inner)));
        });
    }

    /// Takes the timer entry of unloaded run `run`, if it has one: to wake
    /// it now instead (`wake(engine, cancelled)`). Linear in the unloaded
    /// runs, as a cancel of one is rare beside their timers.
    pub(crate) fn take_timer(
        &self,
        run: &RunId,
    ) -> Option<impl FnOnce(Engine, bool) -> tokio::task::JoinHandle<()> + use<>> {
        let mut timers = lock(&self.inner.unloaded.timers);
        let wake = timers.iter().find(|timer| timer.run == *run)?.wake;
        timers.retain(|timer| timer.run != *run);
        let run = run.clone();
        Some(move |engine, cancelled| wake(engine, run, cancelled))
    }

    /// Whether run `run` is unloaded here, waiting for its timer.
    pub(crate) fn is_unloaded(&self, run: &RunId) -> bool {
        lock(&self.inner.unloaded.timers)
            .iter()
            .any(|timer| timer.run == *run)
    }

    /// How many runs are unloaded, waiting for their timer.
    pub fn unloaded_runs(&self) -> usize {
        lock(&self.inner.unloaded.timers).len()
    }

    /// Stops the timer task, for a shutdown: unloaded runs are not woken.
    pub(crate) fn stop_timers(&self) {
        self.inner.unloaded.changed.notify_one();
    }

    /// The unloaded runs, left for `resume`; their handles are answered
    /// that the engine shut down.
    pub(crate) fn leave_unloaded(&self) -> Vec<RunId> {
        lock(&self.inner.unloaded.finishers).senders.clear();
        lock(&self.inner.unloaded.timers)
            .iter()
            .map(|timer| timer.run.clone())
            .collect()
    }
}

/// Fires due timers; sleeps until the next one or until one is added. Holds
/// the engine only while firing, so a dropped engine ends it.
async fn timer_service(engine: Weak<Inner>) {
    loop {
        let Some(inner) = engine.upgrade() else {
            return;
        };
        if inner.shutdown.is_closed() {
            return;
        }
        let notify = Arc::clone(&inner.unloaded.changed);
        let changed = notify.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let now = Instant::now();
        let mut due = Vec::new();
        let next = {
            let mut timers = lock(&inner.unloaded.timers);
            while let Some(timer) = timers.peek_mut() {
                if timer.at > now {
                    break;
                }
                due.push(std::collections::binary_heap::PeekMut::pop(timer));
            }
            timers.peek().map(|timer| timer.at)
        };
        let handle = Engine { inner };
        for timer in due {
            drop(timer.fire(handle.clone(), false));
        }
        drop(handle);
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = &mut changed => {}
                }
            }
            None => changed.await,
        }
    }
}

/// Gives up the run's task until `until`: the run stays "running" in the
/// store, and the engine resumes it from its journal at that time.
pub(super) fn unload<W: Workflow>(ctx: RunContext, until: Instant) -> RunEnd<W> {
    let engine = ctx.engine.clone();
    let run = ctx.run_id().clone();
    engine.events().emit(|| Event::RunUnloaded {
        run: run.clone(),
        workflow: W::name(),
        until: ctx.clock.wall_time(until),
    });
    engine.untrack(&run);
    let finisher = engine.finisher(&run);
    drop(ctx);
    // A workflow is a stateless definition (`Copy + Default`): the timer
    // keeps which resume to call, not a value.
    engine.wake_at(until, run, wake::<W>);
    RunEnd::Unloaded(finisher)
}

/// Resumes unloaded run `run` of `W` from its journal, on a task of its own.
fn wake<W: Workflow>(engine: Engine, run: RunId, cancelled: bool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let cancel = CancellationToken::new();
        if cancelled {
            cancel.cancel();
        }
        let launch = Launch::new(run, None, cancel);
        match engine.prepare_resume(&launch, W::default()).await {
            Ok(task) => drop(task.await),
            Err(error) => {
                let error = error.into_engine_error(&launch.run);
                tracing::error!(run = %launch.run, %error, "could not resume an unloaded run");
            }
        }
    })
}

/// Hands the run back to the store until `until`, for any worker of the
/// store to wake: the run of a registered workflow holds no lease while it
/// sleeps. Its handle then reads its end from the store.
pub(super) async fn release<W: Workflow>(
    ctx: RunContext,
    began: Instant,
    until: Instant,
) -> RunEnd<W> {
    let engine = ctx.engine.clone();
    let run = ctx.run_id().clone();
    let wake = ctx.clock.wall_time(until);
    let released =
        super::halt::with_store_retries(&engine, || ctx.journal.release(Some(wake))).await;
    if let Err(error) = released {
        // Still held here (or taken over): as any failed write of the run.
        return super::drive::forget(&ctx, began, RunEnd::Halted(error));
    }
    engine.events().emit(|| Event::RunUnloaded {
        run: run.clone(),
        workflow: W::name(),
        until: wake,
    });
    engine.untrack(&run);
    drop(ctx);
    engine.poke_claims();
    RunEnd::Released(engine)
}
