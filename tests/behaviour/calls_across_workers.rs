//! A `call`'s child run on another worker: a parent taken over by one
//! worker while a second live worker holds its child waits for the child's
//! end there, and takes the child over if that worker dies first.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use trailhead::store::{RunOutcome, RunWriter, Store, Value};
use trailhead::{Engine, RunId, SqliteStore, workflow};

/// The inputs `gated` ran with.
static RAN: Mutex<Vec<u64>> = Mutex::new(Vec::new());
static GATE: tokio::sync::Notify = tokio::sync::Notify::const_new();
/// Lets `gated(7002)` through (`gated(7001)` never ends: its worker stops).
static GATE_OPEN: AtomicBool = AtomicBool::new(false);

async fn gated(x: u64) -> Result<u64, std::io::Error> {
    RAN.lock().unwrap().push(x);
    while !(x == 7002 && GATE_OPEN.load(Ordering::SeqCst)) {
        GATE.notified().await;
    }
    Ok(x + 1)
}

workflow! {
    workflow called(x: u64) -> Result<u64, trailhead::Error> {
        let y = step gated(x);
        Ok(y)
    }

    workflow caller(x: u64) -> Result<u64, trailhead::Error> {
        let y = call called(x);
        Ok(y * 10)
    }
}

fn worker(path: &std::path::Path) -> Engine {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .poll_interval(Duration::from_millis(20))
        .build()
}

fn ran(x: u64) -> usize {
    RAN.lock().unwrap().iter().filter(|&&y| y == x).count()
}

/// Starts `caller(x)` on a first worker, stops that worker with the child
/// in its step (both runs handed back), and has a second worker, `holder`,
/// claim the child without driving it: the child's id and its lease.
async fn child_held_elsewhere(
    path: &std::path::Path,
    x: u64,
) -> (RunId, RunId, SqliteStore, std::sync::Arc<dyn RunWriter>) {
    let first = worker(path);
    first.register(caller);
    let handle = first.enqueue(caller, x).await.unwrap();
    while ran(x) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut left = first.shutdown(Duration::ZERO).await;
    left.sort();
    let child = RunId::new(format!("{}/called", handle.id()));
    assert_eq!(left, vec![handle.id().clone(), child.clone()]);
    let holder = SqliteStore::open(path).unwrap();
    let (_, _, lease) = holder.open_run(&child).await.unwrap().unwrap();
    (handle.id().clone(), child, holder, lease)
}

#[tokio::test]
async fn a_taken_over_parent_waits_for_its_child_on_another_live_worker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let (parent, child, _holder, lease) = child_held_elsewhere(&path, 7001).await;
    let next = worker(&path);
    next.register(caller);
    let handle = next.handle(caller, parent.clone());
    let result = tokio::spawn(handle.result());
    // The parent is resumed but its child is another live worker's: not
    // driven here (its step does not run again) and not failed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!result.is_finished(), "the parent waits for its child");
    assert_eq!(ran(7001), 1);
    // The holder ends the child: the parent goes on with its output.
    lease
        .finish(RunOutcome::Completed(Value::encode(&5_u64).unwrap()))
        .await
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(20), result)
        .await
        .expect("the parent ended after its child")
        .unwrap();
    assert_eq!(output.unwrap(), 50);
    assert_eq!(
        ran(7001),
        1,
        "the child's step ran on the first worker only"
    );
    let record = next.run_record(&child).await.unwrap().unwrap();
    assert!(record.state.is_ended());
}

#[tokio::test]
async fn a_child_whose_worker_died_is_taken_over_by_its_waiting_parent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let (parent, _child, holder, lease) = child_held_elsewhere(&path, 7002).await;
    GATE_OPEN.store(true, Ordering::SeqCst);
    GATE.notify_waiters();
    let next = worker(&path);
    next.register(caller);
    let handle = next.handle(caller, parent);
    let result = tokio::spawn(handle.result());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!result.is_finished(), "the parent waits for its child");
    // The holder's process dies (its store closes): the waiting parent's
    // worker takes the child over and drives it.
    drop(lease);
    drop(holder);
    let output = tokio::time::timeout(Duration::from_secs(20), result)
        .await
        .expect("the child was taken over")
        .unwrap();
    assert_eq!(output.unwrap(), 70030);
    assert_eq!(ran(7002), 2, "the stopped step ran again, once");
}

#[tokio::test]
async fn cancelling_a_parent_asks_the_worker_holding_its_child_to_cancel_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let (parent, child, holder, lease) = child_held_elsewhere(&path, 7003).await;
    let next = worker(&path);
    next.register(caller);
    let handle = next.handle(caller, parent.clone());
    let result = tokio::spawn(handle.result());
    tokio::time::sleep(Duration::from_millis(200)).await;
    next.cancel(&parent).await.unwrap();
    // The holder (a bare store here, where a worker would hear of it) finds
    // the request on the child's record, and ends the child cancelled.
    let mut asked = false;
    for _ in 0..400 {
        asked = holder.run(&child).await.unwrap().unwrap().cancel_requested;
        if asked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(asked, "the child's holder was asked to cancel it");
    lease.finish(RunOutcome::Cancelled).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), result)
        .await
        .expect("the parent ended after its child")
        .unwrap();
    assert!(
        matches!(ended, Err(trailhead::RunError::Cancelled { .. })),
        "{ended:?}"
    );
    assert_eq!(ran(7003), 1);
}
