//! A fleet on PostgreSQL: workers are woken by `LISTEN`/`NOTIFY`, not polls
//! (the poll interval here is a minute, so a missed notice shows as a
//! timeout), a cancel by id from another process reaches the run's owner by
//! notice, and a drained worker's run is finished by a live one.

use std::sync::Mutex;
use std::time::Duration;

use trailhead::{Engine, PgStore, workflow};

/// The steps run, by input.
static RAN: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn ran_for(x: u64) -> usize {
    RAN.lock().unwrap().iter().filter(|&&ran| ran == x).count()
}

async fn note_pg(x: u64) -> Result<u64, std::io::Error> {
    RAN.lock().unwrap().push(x);
    Ok(x + 1)
}

/// The steps undone, by input.
static UNDONE: Mutex<Vec<u64>> = Mutex::new(Vec::new());

async fn undo_pg(x: u64) -> Result<(), std::io::Error> {
    UNDONE.lock().unwrap().push(x);
    Ok(())
}

workflow! {
    workflow approved(x: u64) -> Result<u64, trailhead::Error> {
        let a = step note_pg(x);
        let extra: u64 = signal "extra";
        Ok(a + extra)
    }

    workflow undoable(x: u64) -> Result<u64, trailhead::Error> {
        let a = step note_pg(x).compensate(undo_pg);
        let extra: u64 = signal "extra";
        Ok(a + extra)
    }
}

async fn pg_worker(schema: &str) -> Engine {
    let store = PgStore::builder(trailhead_test_postgres::url())
        .schema(schema)
        .lease(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    Engine::builder()
        .store(store)
        .poll_interval(Duration::from_secs(60))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_enqueued_and_signalled_from_another_process_is_woken_by_notices() {
    let schema = trailhead_test_postgres::unique_schema("fleet");
    let client = pg_worker(&schema).await;
    let worker = pg_worker(&schema).await;
    worker.register(approved);
    let handle = client.enqueue(approved, 41).await.unwrap();
    let id = handle.id().clone();
    // The worker claims at once (notified) and waits for the signal.
    let ran = async {
        while ran_for(41) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), ran)
        .await
        .expect("the enqueue woke the worker");
    client.signal(&id, "extra", 100_u64).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), handle.result()).await;
    assert_eq!(
        ended.expect("the signal and the end were noticed").unwrap(),
        142
    );
    let fleet = client.health().await.unwrap().fleet;
    assert!(
        fleet
            .workers
            .iter()
            .any(|w| &w.worker == worker.store().worker() && w.alive),
        "{fleet:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_workers_run_is_taken_over_by_a_live_one() {
    let schema = trailhead_test_postgres::unique_schema("fleet");
    let client = pg_worker(&schema).await;
    let first = pg_worker(&schema).await;
    first.register(approved);
    let handle = client.enqueue(approved, 51).await.unwrap();
    // Its first step journaled, it waits for the signal.
    let ran = async {
        while client.journal(handle.id()).await.unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), ran)
        .await
        .unwrap();
    // Waiting for its signal, the first worker drains and goes.
    first.shutdown(Duration::ZERO).await;
    drop(first);
    let second = pg_worker(&schema).await;
    second.register(approved);
    client.signal(handle.id(), "extra", 1_u64).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), handle.result()).await;
    assert_eq!(ended.expect("the second worker finished it").unwrap(), 53);
    // The first step was journaled before the hand-back: it ran once.
    assert_eq!(ran_for(51), 1);
}

/// Cancels `handle`'s run from `client` once its first step ran on its
/// owner, and checks the owner stopped it at once (told by notice: the poll
/// interval is a minute) and undid the step once.
async fn cancelled_from_elsewhere(client: &Engine, handle: trailhead::RunHandle<undoable>, x: u64) {
    let ran = async {
        while ran_for(x) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), ran)
        .await
        .expect("the run started");
    client.cancel(handle.id()).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), handle.result())
        .await
        .expect("the cancel was noticed");
    assert!(
        matches!(ended, Err(trailhead::RunError::Cancelled { .. })),
        "{ended:?}"
    );
    let undone = UNDONE
        .lock()
        .unwrap()
        .iter()
        .filter(|&&u| u == x + 1)
        .count();
    assert_eq!(undone, 1, "the step was undone once");
    assert_eq!(ran_for(x), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cancelled_by_id_from_another_process_is_stopped_by_its_worker() {
    let schema = trailhead_test_postgres::unique_schema("fleet");
    let client = pg_worker(&schema).await;
    let worker = pg_worker(&schema).await;
    worker.register(undoable);
    let handle = client.enqueue(undoable, 61).await.unwrap();
    cancelled_from_elsewhere(&client, handle, 61).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cancelled_by_id_from_another_process_is_stopped_by_the_engine_that_started_it() {
    let schema = trailhead_test_postgres::unique_schema("fleet");
    let client = pg_worker(&schema).await;
    let starter = pg_worker(&schema).await;
    let handle = starter.start(undoable, 71).await.unwrap();
    cancelled_from_elsewhere(&client, handle, 71).await;
}
