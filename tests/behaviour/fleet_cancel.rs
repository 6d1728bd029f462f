//! Cancelling a run by id from another engine on the same store (another
//! process, another worker): the engine that drives the run stops it, its
//! completed steps are compensated once, and it ends cancelled; a run that
//! sleeps handed back to the store is woken and cancelled by the worker that
//! claims it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use trailhead::{Engine, RunError, RunId, RunStatus, SqliteStore, workflow};

/// What the tests' steps did, `("booked" | "unbooked" | "held", x)`.
static DID: Mutex<Vec<(&'static str, u64)>> = Mutex::new(Vec::new());

fn did(what: &'static str, x: u64) -> usize {
    DID.lock()
        .unwrap()
        .iter()
        .filter(|done| **done == (what, x))
        .count()
}

async fn book(x: u64) -> Result<u64, std::io::Error> {
    DID.lock().unwrap().push(("booked", x));
    Ok(x)
}

async fn unbook(x: u64) -> Result<(), std::io::Error> {
    DID.lock().unwrap().push(("unbooked", x));
    Ok(())
}

/// Never returns unless `RELEASED` is set: the run is busy in this step
/// when it is cancelled.
static RELEASED: AtomicBool = AtomicBool::new(false);

async fn hold(x: u64) -> Result<u64, std::io::Error> {
    DID.lock().unwrap().push(("held", x));
    while !RELEASED.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(x)
}

workflow! {
    workflow book_then_hold(x: u64) -> Result<u64, trailhead::Error> {
        let booked = step book(x).compensate(unbook);
        let held = step hold(booked);
        Ok(held)
    }

    workflow book_then_sleep(x: u64) -> Result<u64, trailhead::Error> {
        let booked = step book(x).compensate(unbook);
        sleep 1h;
        Ok(booked)
    }
}

/// An engine on the file at `path` (a worker of its own), polling often and
/// unloading sleeps of 100 ms or more.
fn engine(path: &std::path::Path) -> Engine {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .poll_interval(Duration::from_millis(20))
        .unload_sleeps_after(Duration::from_millis(100))
        .build()
}

/// Waits (up to 10 s) until `done` says so.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Cancels the run of `handle` from `canceller`, and checks that it ended
/// cancelled with step `x`'s booking undone once.
async fn cancel_and_check<W: trailhead::Workflow<Output = u64>>(
    canceller: &Engine,
    handle: trailhead::RunHandle<W>,
    x: u64,
) where
    W::Error: std::fmt::Debug,
{
    canceller.cancel(handle.id()).await.unwrap();
    check_cancelled(canceller, handle, x).await;
}

/// Checks that the run of `handle` ends cancelled with step `x`'s booking
/// undone once, as `reader` reads it.
async fn check_cancelled<W: trailhead::Workflow<Output = u64>>(
    reader: &Engine,
    handle: trailhead::RunHandle<W>,
    x: u64,
) where
    W::Error: std::fmt::Debug,
{
    let run = handle.id().clone();
    let ended = tokio::time::timeout(Duration::from_secs(10), handle.result())
        .await
        .expect("the owner stopped the run");
    assert!(
        matches!(ended, Err(RunError::Cancelled { run: ref r }) if *r == run),
        "{ended:?}"
    );
    assert_eq!(did("booked", x), 1);
    assert_eq!(did("unbooked", x), 1, "the booking was undone once");
    let record = reader.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Cancelled);
    assert!(record.cancel_requested);
    // Cancelling it again: it ended.
    assert!(reader.cancel(&run).await.is_err());
}

#[tokio::test]
async fn a_worker_stops_a_run_another_engine_cancels_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let owner = engine(&path);
    owner.register(book_then_hold);
    let other = engine(&path);
    let handle = owner.enqueue(book_then_hold, 11_001).await.unwrap();
    until("the run is busy in its step", || did("held", 11_001) == 1).await;
    cancel_and_check(&other, handle, 11_001).await;
    assert_eq!(did("held", 11_001), 1, "the step was not run again");
}

#[tokio::test]
async fn an_engine_that_started_a_run_stops_it_when_another_cancels_it_by_id() {
    // The owner is no worker: it started the run itself, and polls for
    // cancels only because it drives a run.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let owner = engine(&path);
    let other = engine(&path);
    let handle = owner.start(book_then_hold, 11_002).await.unwrap();
    until("the run is busy in its step", || did("held", 11_002) == 1).await;
    cancel_and_check(&other, handle, 11_002).await;
}

#[tokio::test]
async fn a_sleeping_run_handed_back_is_woken_and_cancelled_by_its_worker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let owner = engine(&path);
    owner.register(book_then_sleep);
    let other = engine(&path);
    let handle = owner.enqueue(book_then_sleep, 11_003).await.unwrap();
    until("the booking is made", || did("booked", 11_003) == 1).await;
    // Asleep for an hour, handed back: held by no worker.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let fleet = owner.store().fleet().await.unwrap();
        if fleet.workers.iter().all(|worker| worker.runs == 0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never handed back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cancel_and_check(&other, handle, 11_003).await;
}

#[tokio::test]
async fn a_run_whose_worker_is_gone_is_cancelled_and_rolled_back_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let gone = engine(&path);
    let handle = gone.start(book_then_hold, 11_004).await.unwrap();
    let run: RunId = handle.id().clone();
    until("the run is busy in its step", || did("held", 11_004) == 1).await;
    gone.shutdown(Duration::ZERO).await;
    drop((handle, gone));
    // Nobody holds it now; cancelling leaves it compensating, for the
    // worker of its workflow to roll back.
    let other = engine(&path);
    other.cancel(&run).await.unwrap();
    let worker = engine(&path);
    worker.register(book_then_hold);
    let elsewhere = worker.handle(book_then_hold, run.clone());
    check_cancelled(&other, elsewhere, 11_004).await;
}
