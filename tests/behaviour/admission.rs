//! Admission control: an engine with a limit on runs in flight drives at
//! most that many top-level runs at once; runs started beyond it are queued
//! in the store (not in memory), drained first come, first served as runs
//! end, survive a restart, and can be cancelled while they wait. Child runs
//! of a `call` take no place, so a limit of one cannot deadlock a parent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use trailhead::store::Synchronous;
use trailhead::{
    Engine, Event, RunError, RunHandle, RunId, RunStatus, SqliteStore, StoreError, workflow,
};

/// Where the steps of a test wait until the test lets them through, and how
/// many are inside at once.
#[derive(Debug)]
struct Gate {
    permits: Semaphore,
    inside: AtomicUsize,
    most: AtomicUsize,
    entered: AtomicUsize,
    arrived: Notify,
}

impl Gate {
    const fn new() -> Self {
        Self {
            permits: Semaphore::const_new(0),
            inside: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            entered: AtomicUsize::new(0),
            arrived: Notify::const_new(),
        }
    }

    /// Waits at the gate until the test lets this step through.
    async fn pass(&self) {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        // Left when the step goes through, or is stopped at the gate.
        let _leaving = Leaving(&self.inside);
        self.most.fetch_max(now, Ordering::SeqCst);
        self.entered.fetch_add(1, Ordering::SeqCst);
        self.arrived.notify_waiters();
        // A closed gate is an open one: every step goes through.
        if let Ok(permit) = self.permits.acquire().await {
            permit.forget();
        }
    }

    /// Waits until `steps` steps have come to the gate, in all.
    async fn until_entered(&self, steps: usize) {
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if self.entered.load(Ordering::SeqCst) >= steps {
                return;
            }
            arrived.await;
        }
    }

    /// Lets every step through from now on.
    fn open(&self) {
        self.permits.close();
    }

    /// The most steps that were at the gate at once.
    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }

    /// Counts the most steps at once afresh from those at the gate now.
    fn count_afresh(&self) {
        let inside = self.inside.load(Ordering::SeqCst);
        self.most.store(inside, Ordering::SeqCst);
    }
}

/// A step leaving its gate.
struct Leaving<'a>(&'a AtomicUsize);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One gate per test (tests run at once): the first argument of `gated`.
static GATES: [Gate; 7] = [const { Gate::new() }; 7];
const FOUR: usize = 0;
const PRODUCED: usize = 1;
const RESTART: usize = 2;
const RESTART_BY_START: usize = 3;
const CANCEL: usize = 4;
const TAKEN: usize = 5;
const RESUMED: usize = 6;

/// How often each input's step ran, across engines.
static RAN: Mutex<Vec<u64>> = Mutex::new(Vec::new());

async fn at_gate(gate: u64, x: u64) -> Result<u64, std::io::Error> {
    GATES[usize::try_from(gate).unwrap()].pass().await;
    Ok(x * 10)
}

async fn note(x: u64) -> Result<u64, std::io::Error> {
    RAN.lock().unwrap().push(x);
    Ok(x + 1)
}

async fn add_one(x: u64) -> Result<u64, std::io::Error> {
    Ok(x + 1)
}

workflow! {
    /// Waits at gate `gate` of `GATES` (a run that holds its place until
    /// the test opens it), then gives `x * 10`.
    workflow gated(gate: u64, x: u64) -> Result<u64, trailhead::Error> {
        let y = step at_gate(gate, x);
        Ok(y)
    }

    workflow noted(x: u64) -> Result<u64, trailhead::Error> {
        let y = step note(x);
        Ok(y)
    }

    workflow child(x: u64) -> Result<u64, trailhead::Error> {
        let y = step add_one(x);
        Ok(y)
    }

    workflow parent(x: u64) -> Result<u64, trailhead::Error> {
        let a = call child(x);
        let b = call child(a);
        Ok(b)
    }
}

/// The input of a run of `gated` at gate `gate`.
fn at(gate: usize, x: u64) -> (u64, u64) {
    (u64::try_from(gate).unwrap(), x)
}

/// How often the step of input `x` ran.
fn runs_of(x: u64) -> usize {
    RAN.lock().unwrap().iter().filter(|&&ran| ran == x).count()
}

/// An engine on the SQLite file `path` driving at most `limit` runs at once.
fn on_file(path: &std::path::Path, limit: usize) -> Engine {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .max_runs_in_flight(limit)
        .poll_interval(Duration::from_millis(20))
        .build()
}

/// Starts run `id` of `gated` at gate `gate`, and waits until it holds its
/// place there (the engine's only one, under a limit of one).
async fn hold_the_place(engine: &Engine, id: &str, gate: usize) -> RunHandle<gated> {
    let handle = engine
        .start_with_id(RunId::new(id), gated, at(gate, 0))
        .await
        .unwrap();
    within("the run holding the place", GATES[gate].until_entered(1)).await;
    handle
}

/// Fails the test instead of hanging it if `future` never ends.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), future)
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"))
}

#[tokio::test]
async fn runs_beyond_the_limit_wait_in_the_store_until_a_place_frees() {
    let engine = Engine::builder().max_runs_in_flight(4).build();
    let mut events = engine.subscribe();
    let mut handles = Vec::new();
    for x in 0..200 {
        handles.push(engine.start(gated, at(FOUR, x)).await.unwrap());
    }
    within("four runs at the gate", GATES[FOUR].until_entered(4)).await;

    // Four places, all held: the other 196 runs are records in the store.
    let health = engine.health().await.unwrap();
    assert_eq!(health.in_flight, 4);
    assert_eq!(health.queued, 196);
    let admission = health
        .fleet
        .queues
        .iter()
        .find(|queue| queue.queue.as_deref() == Some(trailhead::store::ADMISSION_QUEUE))
        .expect("the admission queue is in the store");
    assert_eq!(admission.waiting, 196);
    let running = engine
        .store()
        .list_runs(Some(RunStatus::Running))
        .await
        .unwrap();
    assert_eq!(running.len(), 200, "every run is recorded, queued or not");

    GATES[FOUR].open();
    for (x, handle) in (0..).zip(handles) {
        assert_eq!(
            within("a run's end", handle.result()).await.unwrap(),
            x * 10
        );
    }
    assert_eq!(GATES[FOUR].most(), 4, "never more than four runs in flight");
    let health = engine.health().await.unwrap();
    assert_eq!((health.in_flight, health.queued), (0, 0));
    // Each run was either started at once or queued, and said so.
    // Unconstrained: tokio's budget would stop the draining at 128 events.
    let events = tokio::task::unconstrained(async { crate::support::drain(&mut events) }).await;
    let queued = events
        .iter()
        .filter(|event| matches!(event, Event::RunQueued { .. }))
        .count();
    let started = events
        .iter()
        .filter(|event| matches!(event, Event::RunStarted { .. }))
        .count();
    assert_eq!(queued + started, 200);
    assert!(queued >= 196, "only {queued} runs were queued");
}

#[tokio::test]
async fn a_producer_faster_than_its_runs_keeps_the_engine_to_its_limit() {
    const RUNS: u64 = 3_000;
    const LIMIT: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    // No fsync per commit: the limit is under test, not the disk.
    let store = SqliteStore::open_with(dir.path().join("runs.db"), Synchronous::Normal).unwrap();
    let engine = Engine::builder()
        .store(store)
        .max_runs_in_flight(LIMIT)
        .build();

    // The engine's run table, watched while the runs are produced and drain.
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = tokio::spawn({
        let (engine, watching) = (engine.clone(), std::sync::Arc::clone(&watching));
        async move {
            let mut most = 0;
            while watching.load(Ordering::SeqCst) {
                most = most.max(engine.health().await.unwrap().in_flight);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            most
        }
    });

    // The first half is produced while no run can finish: all but eight
    // wait in the store. The second half while the runs drain.
    let mut handles = Vec::new();
    for x in 0..RUNS / 2 {
        handles.push(engine.start(gated, at(PRODUCED, x)).await.unwrap());
    }
    within(
        "eight runs at the gate",
        GATES[PRODUCED].until_entered(LIMIT),
    )
    .await;
    let health = engine.health().await.unwrap();
    assert_eq!(health.in_flight, LIMIT);
    assert_eq!(health.queued, RUNS as usize / 2 - LIMIT);
    GATES[PRODUCED].open();
    for x in RUNS / 2..RUNS {
        handles.push(engine.start(gated, at(PRODUCED, x)).await.unwrap());
    }

    for (x, handle) in (0..).zip(handles) {
        assert_eq!(
            within("a run's end", handle.result()).await.unwrap(),
            x * 10
        );
    }
    watching.store(false, Ordering::SeqCst);
    let most_in_flight = watcher.await.unwrap();
    assert!(
        most_in_flight <= LIMIT,
        "{most_in_flight} runs were in flight"
    );
    assert_eq!(
        GATES[PRODUCED].most(),
        LIMIT,
        "never more than {LIMIT} steps at once"
    );
    let health = engine.health().await.unwrap();
    assert_eq!((health.in_flight, health.queued), (0, 0));
}

#[tokio::test]
async fn queued_runs_survive_a_restart_and_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let first = on_file(&path, 1);
    let blocker = hold_the_place(&first, "blocker-1", RESTART).await;
    let mut queued: Vec<RunId> = Vec::new();
    for x in 1001..=1005 {
        queued.push(first.start(noted, x).await.unwrap().id().clone());
    }
    assert_eq!(first.health().await.unwrap().queued, 5);
    // The process stops with the blocker in flight and five runs queued.
    first.shutdown(Duration::ZERO).await;
    drop(first);
    drop(blocker);

    let second = on_file(&path, 2);
    assert_eq!(
        second.health().await.unwrap().queued,
        5,
        "the queue is in the file"
    );
    second.register(noted);
    for (x, run) in (1001..).zip(&queued) {
        let handle = second.handle(noted, run.clone());
        assert_eq!(
            within("a queued run's end", handle.result()).await.unwrap(),
            x + 1
        );
        assert_eq!(runs_of(x), 1, "run {run}'s step ran once");
    }
    assert_eq!(second.health().await.unwrap().queued, 0);
}

#[tokio::test]
async fn a_new_engine_that_starts_a_run_drains_the_queue_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let first = on_file(&path, 1);
    let blocker = hold_the_place(&first, "blocker-2", RESTART_BY_START).await;
    let left = first.start(noted, 2001).await.unwrap().id().clone();
    first.shutdown(Duration::ZERO).await;
    drop((first, blocker));

    // No `register`: starting a run of the workflow is enough.
    let second = on_file(&path, 1);
    let started = second.start(noted, 2002).await.unwrap();
    assert_eq!(
        within("the new run's end", started.result()).await.unwrap(),
        2003
    );
    let handle = second.handle(noted, left);
    assert_eq!(
        within("the left run's end", handle.result()).await.unwrap(),
        2002
    );
    assert_eq!((runs_of(2001), runs_of(2002)), (1, 1));
}

#[tokio::test]
async fn runs_resumed_beyond_the_limit_are_driven_as_places_free() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    // A process without a limit stops with three runs at the gate.
    let first = Engine::builder()
        .store(SqliteStore::open(&path).unwrap())
        .build();
    for x in 1..=3 {
        drop(first.start(gated, at(RESUMED, x)).await.unwrap());
    }
    within("three runs at the gate", GATES[RESUMED].until_entered(3)).await;
    first.shutdown(Duration::ZERO).await;
    drop(first);
    GATES[RESUMED].count_afresh();

    let second = on_file(&path, 1);
    let handles = second.resume(gated).await.unwrap();
    assert_eq!(handles.len(), 3, "each run has a handle");
    within(
        "the resumed run at the gate",
        GATES[RESUMED].until_entered(4),
    )
    .await;
    let health = second.health().await.unwrap();
    assert_eq!(
        health.in_flight, 1,
        "one place: the others were handed back"
    );
    GATES[RESUMED].open();
    let mut ended: Vec<u64> = Vec::new();
    for handle in handles {
        ended.push(
            within("a resumed run's end", handle.result())
                .await
                .unwrap(),
        );
    }
    ended.sort_unstable();
    assert_eq!(ended, [10, 20, 30]);
    assert_eq!(GATES[RESUMED].most(), 1, "one run at a time");
}

#[tokio::test]
async fn a_queued_run_cancelled_ends_cancelled_without_running_its_step() {
    let engine = Engine::builder().max_runs_in_flight(1).build();
    let blocker = hold_the_place(&engine, "blocker-3", CANCEL).await;
    let by_id = engine.start(noted, 3001).await.unwrap();
    let by_handle = engine.start(noted, 3002).await.unwrap();
    assert_eq!(engine.health().await.unwrap().queued, 2);

    engine.cancel(by_id.id()).await.unwrap();
    by_handle.cancel();
    // Both end while the only place is still held: they needed none.
    for handle in [by_id, by_handle] {
        let run = handle.id().clone();
        let ended = within("a cancelled run's end", handle.result()).await;
        assert!(
            matches!(ended, Err(RunError::Cancelled { .. })),
            "{run}: {ended:?}"
        );
        let record = engine.run_record(&run).await.unwrap().unwrap();
        assert_eq!(record.status(), RunStatus::Cancelled);
        assert!(engine.journal(&run).await.unwrap().is_empty());
    }
    assert_eq!((runs_of(3001), runs_of(3002)), (0, 0), "no step ran");
    assert_eq!(engine.health().await.unwrap().queued, 0);
    GATES[CANCEL].open();
    assert_eq!(
        within("the blocker's end", blocker.result()).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn a_taken_id_is_refused_whether_its_run_is_queued_or_not() {
    let engine = Engine::builder().max_runs_in_flight(1).build();
    let blocker = hold_the_place(&engine, "taken-4", TAKEN).await;
    let queued = engine
        .start_with_id(RunId::new("queued-4"), noted, 4001)
        .await
        .unwrap();
    for id in ["taken-4", "queued-4"] {
        let again = engine.start_with_id(RunId::new(id), noted, 4002).await;
        assert!(
            matches!(
                again,
                Err(trailhead::EngineError::Store(StoreError::RunExists { .. }))
            ),
            "{id}: {again:?}"
        );
    }
    GATES[TAKEN].open();
    assert_eq!(
        within("the blocker's end", blocker.result()).await.unwrap(),
        0
    );
    assert_eq!(
        within("the queued run's end", queued.result())
            .await
            .unwrap(),
        4002
    );
    assert_eq!((runs_of(4001), runs_of(4002)), (1, 0));
}

#[tokio::test]
async fn a_parent_and_its_calls_complete_under_a_limit_of_one() {
    let engine = Engine::builder().max_runs_in_flight(1).build();
    let mut handles = Vec::new();
    for x in [10, 20, 30] {
        handles.push(engine.start(parent, x).await.unwrap());
    }
    for (x, handle) in [10, 20, 30].into_iter().zip(handles) {
        assert_eq!(
            within("a parent's end", handle.result()).await.unwrap(),
            x + 2
        );
    }
    let runs = engine.store().list_runs(None).await.unwrap();
    let children = runs.iter().filter(|run| run.parent.is_some()).count();
    assert_eq!(children, 6, "each parent called its child twice");
    let per_workflow: HashMap<&str, usize> = runs.iter().fold(HashMap::new(), |mut seen, run| {
        *seen.entry(run.workflow.as_str()).or_default() += 1;
        seen
    });
    assert_eq!(per_workflow.get("parent"), Some(&3));
}
