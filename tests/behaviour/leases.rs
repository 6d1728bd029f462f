//! Leases: a run has one owner at a time. A worker whose run was taken over
//! drops it without writing (and without rolling anything back); a run held
//! by a live worker is left to it; a dead worker's runs are taken over.

use crate::support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use trailhead::{Engine, RunError, RunId, RunStatus, SqliteStore, StoreError, workflow};

static EXECUTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static OPEN: AtomicBool = AtomicBool::new(false);
static OPENED: tokio::sync::Notify = tokio::sync::Notify::const_new();

async fn book(x: u64) -> Result<u64, std::io::Error> {
    EXECUTED.lock().unwrap().push(format!("book({x})"));
    Ok(x + 1)
}

async fn unbook(x: u64) -> Result<(), std::io::Error> {
    EXECUTED.lock().unwrap().push(format!("unbook({x})"));
    Ok(())
}

async fn wait_for_gate(x: u64) -> Result<u64, std::io::Error> {
    EXECUTED.lock().unwrap().push(format!("gate({x})"));
    while !OPEN.load(Ordering::SeqCst) {
        OPENED.notified().await;
    }
    Ok(x)
}

workflow! {
    workflow trip(x: u64) -> Result<u64, trailhead::Error> {
        let booked = step book(x).compensate(unbook);
        let passed = step wait_for_gate(booked);
        Ok(passed)
    }
}

fn executed() -> Vec<String> {
    std::mem::take(&mut EXECUTED.lock().unwrap())
}

fn open_gate() {
    OPEN.store(true, Ordering::SeqCst);
    OPENED.notify_waiters();
}

/// An engine on the store file at `path`: a worker of its own.
fn worker(path: &std::path::Path) -> Engine {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .build()
}

/// Gives `run`'s lease to `owner` under the next epoch, behind its holder's
/// back (as a worker that found the holder dead would take it).
fn hand_over(path: &std::path::Path, run: &RunId, owner: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute(
            "UPDATE runs SET lease_owner = ?2, lease_epoch = lease_epoch + 1 WHERE id = ?1",
            [run.as_str(), owner],
        )
        .unwrap();
}

/// One test: the statics above are shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_fence_writes_and_leave_live_workers_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");

    // Worker one starts a run that waits at the gate.
    let one = worker(&path);
    let mut events = one.subscribe();
    let run = RunId::new("trip-1");
    let handle = one.start_with_id(run.clone(), trip, 1).await.unwrap();
    support::step_started(&mut events, "wait_for_gate").await;
    while EXECUTED.lock().unwrap().len() < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert_eq!(executed(), ["book(1)", "gate(2)"]);

    // Worker two, on the same file, while worker one lives: the run is not
    // its to resume, and claiming it names the holder.
    let two_store = SqliteStore::open(&path).unwrap();
    let two = Engine::builder().store(two_store.clone()).build();
    assert!(two.resume(trip).await.unwrap().is_empty());
    match trailhead::Store::open_run(&two_store, &run).await {
        Err(StoreError::LeaseHeld { run: held, worker }) => {
            assert_eq!(held, run);
            assert_eq!(&worker, trailhead::Store::worker(one.store().as_ref()));
        }
        other => panic!("expected the lease to be held, got {other:?}"),
    }

    // Someone takes the run over behind worker one's back (as a worker that
    // found it dead would): worker one's next write is refused, and it drops
    // the run without journaling the gate or undoing the booking.
    hand_over(&path, &run, "thief");
    open_gate();
    match handle.result().await.unwrap_err() {
        RunError::LeaseLost { run: lost, worker } => {
            assert_eq!(lost, run);
            assert_eq!(&worker, trailhead::Store::worker(one.store().as_ref()));
        }
        other => panic!("expected the lease to be lost, got {other}"),
    }
    assert_eq!(executed(), Vec::<String>::new(), "nothing was compensated");
    let journal = one.journal(&run).await.unwrap();
    let keys: Vec<String> = journal.iter().map(|entry| entry.key.to_string()).collect();
    assert_eq!(keys, ["book"], "the gate's output was not journaled");
    let record = one.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Running, "left to its new owner");
    assert!(
        one.health().await.unwrap().suspended.is_empty(),
        "a run taken over is not suspended here"
    );

    // The thief is no live worker (it has no lock): worker two takes the
    // run over and finishes it from its journal.
    let resumed = two.resume(trip).await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(
        resumed.into_iter().next().unwrap().result().await.unwrap(),
        2
    );
    assert_eq!(executed(), ["gate(2)"], "the booking replayed");
    let record = two.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Completed);
}

static UNDONE: Mutex<Vec<u64>> = Mutex::new(Vec::new());

async fn reserve(x: u64) -> Result<u64, std::io::Error> {
    Ok(x)
}

async fn release(x: u64) -> Result<(), std::io::Error> {
    UNDONE.lock().unwrap().push(x);
    Ok(())
}

async fn never() -> Result<(), std::io::Error> {
    std::future::pending().await
}

workflow! {
    workflow reserved_forever(x: u64) -> Result<(), trailhead::Error> {
        let reserved = step reserve(x).compensate(release);
        step never().after(reserved);
        Ok(())
    }
}

/// A takeover first noticed when the run is claimed again for its rollback
/// (no journal write in between) is the same situation as a refused write,
/// and reads the same: `LeaseLost`, nothing undone, nothing suspended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_found_by_the_rollback_is_a_lost_lease() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let one = worker(&path);
    let mut events = one.subscribe();
    let run = RunId::new("held-1");
    let handle = one
        .start_with_id(run.clone(), reserved_forever, 7)
        .await
        .unwrap();
    support::step_started(&mut events, "never").await;

    // A live worker on the same file holds the run now.
    let two_store = SqliteStore::open(&path).unwrap();
    let two = trailhead::Store::worker(&two_store).to_string();
    hand_over(&path, &run, &two);

    // Cancelling starts the rollback, whose claim finds worker two.
    handle.cancel();
    match handle.result().await.unwrap_err() {
        RunError::LeaseLost { run: lost, worker } => {
            assert_eq!(lost, run);
            assert_eq!(&worker, trailhead::Store::worker(one.store().as_ref()));
        }
        other => panic!("expected the lease to be lost, got {other}"),
    }
    assert!(UNDONE.lock().unwrap().is_empty(), "nothing was compensated");
    assert!(
        one.health().await.unwrap().suspended.is_empty(),
        "a run taken over is not suspended here"
    );
    drop(two_store);
}
