//! Workers sharing one store: runs enqueued by one engine are claimed and
//! driven by another that registered the workflow; a sleeping run holds no
//! lease and is woken by whichever worker is free; a run of a worker that
//! died is claimed by the next; a worker leaves alone the runs of a
//! definition it does not have.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use trailhead::{Engine, RunError, RunStatus, SqliteStore, StoreError, workflow};

/// Which worker ran which step, in order.
static RAN: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

/// Set once the first worker of a test is gone: steps say whether it was.
static FIRST_GONE: AtomicBool = AtomicBool::new(false);

async fn note(x: u64) -> Result<u64, std::io::Error> {
    let phase = if FIRST_GONE.load(Ordering::SeqCst) {
        "after"
    } else {
        "before"
    };
    RAN.lock().unwrap().push((phase.to_owned(), x));
    Ok(x + 1)
}

workflow! {
    workflow double_note(x: u64) -> Result<u64, trailhead::Error> {
        let a = step note(x);
        sleep 300ms;
        let b = step note(a * 10);
        Ok(b)
    }

    workflow once(x: u64) -> Result<u64, trailhead::Error> {
        let a = step note(x);
        Ok(a)
    }
}

fn ran_for(xs: &[u64]) -> Vec<(String, u64)> {
    RAN.lock()
        .unwrap()
        .iter()
        .filter(|(_, x)| xs.contains(x))
        .cloned()
        .collect()
}

/// A worker engine on the file at `path`, polling often and unloading
/// sleeps of 100 ms or more.
fn worker(path: &std::path::Path) -> Engine {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .poll_interval(Duration::from_millis(20))
        .unload_sleeps_after(Duration::from_millis(100))
        .build()
}

#[tokio::test]
async fn an_enqueued_run_is_driven_by_the_worker_that_registered_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let client = worker(&path);
    let busy = worker(&path);
    busy.register(once);

    let handle = client.enqueue(once, 7001).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 7002);
    // The client never registered `once`: the worker ran the step.
    let ran = ran_for(&[7001]);
    assert_eq!(ran.len(), 1, "the step ran once: {ran:?}");
    drop(busy);
}

#[tokio::test]
async fn a_sleeping_run_is_handed_back_and_woken_by_another_worker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let first = worker(&path);
    first.register(double_note);
    let handle = first.enqueue(double_note, 8001).await.unwrap();
    let id = handle.id().clone();
    // The first worker claims and runs the first step, then sleeps: the run
    // is handed back, with no owner, until it wakes.
    let mut waited = 0;
    while ran_for(&[8001]).is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
        assert!(waited < 500, "the first worker never claimed the run");
    }
    // The first worker goes away; a second one registers and wakes the run.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let record = first.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Running, "asleep, not ended");
    first.shutdown(Duration::ZERO).await;
    drop(first);
    FIRST_GONE.store(true, Ordering::SeqCst);
    let second = worker(&path);
    second.register(double_note);
    assert_eq!(handle.result().await.unwrap(), 80_021);
    let ran = ran_for(&[8001, 80_020]);
    assert_eq!(
        ran,
        vec![("before".to_owned(), 8001), ("after".to_owned(), 80_020)],
        "each step ran once, the second on the worker that woke the run"
    );
    let record = second.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Completed);
}

#[tokio::test]
async fn a_worker_leaves_runs_of_a_definition_it_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let client = worker(&path);
    let other = worker(&path);
    // `other` has `double_note` but not `once`.
    other.register(double_note);
    let handle = client.enqueue(once, 9001).await.unwrap();
    let id = handle.id().clone();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(ran_for(&[9001]).is_empty(), "no worker had `once`");
    let record = client.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Running);
    // A worker that has it comes up and takes it.
    let late = worker(&path);
    late.register(once);
    assert_eq!(handle.result().await.unwrap(), 9002);
}

#[tokio::test]
async fn enqueuing_the_same_id_twice_gives_the_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let client = worker(&path);
    let id = trailhead::RunId::new("order-4711");
    client.enqueue_with_id(id.clone(), once, 1).await.unwrap();
    let again = client.enqueue_with_id(id.clone(), once, 2).await;
    assert!(
        matches!(
            again,
            Err(trailhead::EngineError::Store(StoreError::RunExists { ref run })) if *run == id
        ),
        "{again:?}"
    );
    let record = client.run_record(&id).await.unwrap().unwrap();
    assert_eq!(
        record.input.decode::<u64>().unwrap(),
        1,
        "the first input is kept"
    );
}

#[tokio::test]
async fn a_handle_from_any_engine_gives_the_recorded_failure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let client = worker(&path);
    let handle = client.enqueue(once, 1).await.unwrap();
    client.cancel(handle.id()).await.unwrap();
    let elsewhere = client.handle(once, handle.id().clone());
    assert!(
        matches!(elsewhere.result().await, Err(RunError::Cancelled { .. })),
        "a cancelled run reads as cancelled"
    );
}

static GATE: tokio::sync::Notify = tokio::sync::Notify::const_new();
static GATE_OPEN: AtomicBool = AtomicBool::new(false);

async fn held(x: u64) -> Result<u64, std::io::Error> {
    RAN.lock().unwrap().push(("held".to_owned(), x));
    while !GATE_OPEN.load(Ordering::SeqCst) {
        GATE.notified().await;
    }
    Ok(x)
}

workflow! {
    workflow drained(x: u64) -> Result<u64, trailhead::Error> {
        let y = step held(x);
        Ok(y)
    }
}

#[tokio::test]
async fn a_worker_that_shuts_down_hands_its_runs_to_a_live_one_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let leaving = worker(&path);
    leaving.register(drained);
    let handle = leaving.enqueue(drained, 6001).await.unwrap();
    while ran_for(&[6001]).is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Stopped mid-step; `leaving` stays alive (its store is open), so
    // without the hand-back its lease would hold the run until it exits.
    let left = leaving.shutdown(Duration::ZERO).await;
    assert_eq!(left, vec![handle.id().clone()]);
    let record = leaving.run_record(handle.id()).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Running);
    GATE_OPEN.store(true, Ordering::SeqCst);
    GATE.notify_waiters();
    let staying = worker(&path);
    staying.register(drained);
    let ended = tokio::time::timeout(Duration::from_secs(20), handle.result()).await;
    assert_eq!(
        ended.expect("the live worker claimed the run").unwrap(),
        6001
    );
    assert_eq!(
        ran_for(&[6001]).len(),
        2,
        "the stopped step ran again, once"
    );
    drop(leaving);
}

mod queues {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use trailhead::store::{ClaimOffer, Enqueue, Queue, RunRecord, Store, Value};
    use trailhead::{MemoryStore, RunId};

    static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
    static MOST: AtomicUsize = AtomicUsize::new(0);

    async fn busy(x: u64) -> Result<u64, std::io::Error> {
        let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
        MOST.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        Ok(x)
    }

    workflow! {
        workflow limited(x: u64) -> Result<u64, trailhead::Error> {
            let y = step busy(x);
            Ok(y)
        }
    }

    fn queued_worker(path: &std::path::Path) -> Engine {
        Engine::builder()
            .store(SqliteStore::open(path).unwrap())
            .poll_interval(Duration::from_millis(10))
            .queue(Queue::new("pdf").with_concurrency(2))
            .build()
    }

    #[tokio::test]
    async fn a_queue_limit_holds_for_all_workers_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let (a, b) = (queued_worker(&path), queued_worker(&path));
        a.register(limited);
        b.register(limited);
        let mut handles = Vec::new();
        for x in 0..8 {
            handles.push(
                a.enqueue_with(limited, x, &Enqueue::to("pdf"))
                    .await
                    .unwrap(),
            );
        }
        for (x, handle) in (0..8).zip(handles) {
            assert_eq!(handle.result().await.unwrap(), x);
        }
        // Two workers with room for 64 runs each, and never more than the
        // queue's two at once.
        assert_eq!(MOST.load(Ordering::SeqCst), 2);
    }

    fn record(id: &str) -> RunRecord {
        RunRecord::new(RunId::new(id), "job", Value::encode(&1_u64).unwrap())
    }

    fn offer(queue: Queue) -> ClaimOffer {
        ClaimOffer::new(vec![("job".to_owned(), 0)], 10).with_queues(vec![queue])
    }

    /// The claims a store makes for a queue's limits, priorities and keys.
    async fn claims_follow_the_queue(store: &dyn Store) {
        let rated = Queue::new("mail").with_rate(2, Duration::from_secs(3600));
        for (id, priority) in [("m1", 0), ("m2", 0), ("m3", 9), ("m4", 0)] {
            let options = Enqueue::to("mail").with_priority(priority);
            store.enqueue_run(record(id), &options).await.unwrap();
        }
        // Not served: a worker without the queue claims none of its runs.
        let unserved = ClaimOffer::new(vec![("job".to_owned(), 0)], 10);
        assert!(store.claim_runs(&unserved).await.unwrap().runs.is_empty());
        // Two per hour: the highest priority first, then the oldest.
        let first = store.claim_runs(&offer(rated.clone())).await.unwrap();
        let ids: Vec<_> = first
            .runs
            .iter()
            .map(|run| run.id.as_str().to_owned())
            .collect();
        assert_eq!(ids, ["m3", "m1"]);
        assert!(
            store
                .claim_runs(&offer(rated))
                .await
                .unwrap()
                .runs
                .is_empty()
        );

        // A key enqueued twice is one run.
        let keyed = Enqueue::to("mail").with_dedup_key("invoice-7");
        let made = store.enqueue_run(record("k1"), &keyed).await.unwrap();
        assert_eq!(made, trailhead::store::Enqueued::New);
        let again = store.enqueue_run(record("k2"), &keyed).await.unwrap();
        assert_eq!(
            again,
            trailhead::store::Enqueued::Existing(RunId::new("k1"))
        );
        assert!(store.run(&RunId::new("k2")).await.unwrap().is_none());
        // The same key in another queue is another run.
        let elsewhere = Enqueue::to("other").with_dedup_key("invoice-7");
        let other = store.enqueue_run(record("k3"), &elsewhere).await.unwrap();
        assert_eq!(other, trailhead::store::Enqueued::New);
    }

    #[tokio::test]
    async fn the_memory_store_claims_by_queue_priority_and_rate() {
        claims_follow_the_queue(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn the_sqlite_store_claims_by_queue_priority_and_rate() {
        let dir = tempfile::tempdir().unwrap();
        claims_follow_the_queue(&SqliteStore::open(dir.path().join("runs.db")).unwrap()).await;
    }
}

static WATCHED: tokio::sync::Notify = tokio::sync::Notify::const_new();
static WATCHED_OPEN: AtomicBool = AtomicBool::new(false);

async fn watched_step(x: u64) -> Result<u64, std::io::Error> {
    RAN.lock().unwrap().push(("watched".to_owned(), x));
    while !WATCHED_OPEN.load(Ordering::SeqCst) {
        WATCHED.notified().await;
    }
    Ok(x)
}

workflow! {
    workflow watched(x: u64) -> Result<u64, trailhead::Error> {
        let y = step watched_step(x);
        Ok(y)
    }
}

#[tokio::test]
async fn health_shows_the_workers_their_runs_and_the_queue_depths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let client = worker(&path);
    let holder = worker(&path);
    holder.register(watched);
    let held = holder.enqueue(watched, 6101).await.unwrap();
    // Waits: no worker serves `later`.
    client
        .enqueue_with(once, 1, &trailhead::store::Enqueue::to("later"))
        .await
        .unwrap();
    while ran_for(&[6101]).is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let fleet = client.health().await.unwrap().fleet;
    let me = client.store().worker().clone();
    let other = holder.store().worker().clone();
    let ids: Vec<_> = fleet.workers.iter().map(|w| w.worker.clone()).collect();
    assert!(ids.contains(&me) && ids.contains(&other), "{fleet:?}");
    let holding = fleet.workers.iter().find(|w| w.worker == other).unwrap();
    assert!(holding.alive);
    assert_eq!(holding.runs, 1);
    assert!(holding.oldest_lease.is_some());
    let later = fleet
        .queues
        .iter()
        .find(|q| q.queue.as_deref() == Some("later"))
        .unwrap();
    assert_eq!((later.waiting, later.in_flight), (1, 0));
    let default = fleet.queues.iter().find(|q| q.queue.is_none()).unwrap();
    assert_eq!((default.waiting, default.in_flight), (0, 1));
    WATCHED_OPEN.store(true, Ordering::SeqCst);
    WATCHED.notify_waiters();
    held.result().await.unwrap();
}
