//! Finished runs do not pile up: the engine sweeps them out of its store by
//! its retention policy, as runs finish, without touching runs in flight.

use crate::support;

use std::time::Duration;

use trailhead::store::Retention;
use trailhead::{Engine, MemoryStore, RunId, RunStatus, SqliteStore, Store, workflow};

async fn add_one(x: u64) -> Result<u64, std::io::Error> {
    Ok(x + 1)
}

async fn refuse(x: u64) -> Result<u64, std::io::Error> {
    Err(std::io::Error::other(format!("no {x}")))
}

workflow! {
    workflow short(x: u64) -> Result<u64, trailhead::Error> {
        let y = step add_one(x);
        Ok(y)
    }

    workflow failing(x: u64) -> Result<u64, trailhead::Error> {
        let y = step refuse(x);
        Ok(y)
    }

    workflow child(x: u64) -> Result<u64, trailhead::Error> {
        let y = step add_one(x);
        Ok(y)
    }

    workflow parent(x: u64) -> Result<u64, trailhead::Error> {
        let y = call child(x);
        let go: u64 = signal "go";
        Ok(y + go)
    }
}

async fn runs_in(store: &dyn Store) -> usize {
    store.list_runs(None).await.unwrap().len()
}

/// Lets the sweep a finished run started (a task of its own) run.
async fn let_sweeps_run() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn twenty_thousand_short_runs_leave_at_most_the_default_thousand_in_memory() {
    let store = MemoryStore::new();
    let engine = Engine::builder().store(store.clone()).build();
    let retention = *engine.retention();
    assert_eq!(
        retention,
        Retention::in_memory(),
        "the memory store's default"
    );
    let kept = retention.completed().newest().unwrap();
    // Between sweeps, at most `sweep_every` more runs finish.
    let bound = kept + retention.sweep_every() as usize;
    let mut last = None;
    for i in 0..20_000_u64 {
        let handle = engine.start(short, i).await.unwrap();
        last = Some(handle.id().clone());
        assert_eq!(handle.result().await.unwrap(), i + 1);
        if i % 1_000 == 999 {
            let held = runs_in(&store).await;
            assert!(held <= bound, "after {} runs the store holds {held}", i + 1);
        }
    }
    engine.apply_retention().await.unwrap();
    let runs = store.list_runs(None).await.unwrap();
    assert_eq!(runs.len(), kept);
    assert!(runs.iter().all(|run| run.status() == RunStatus::Completed));
    // The newest are the ones kept.
    let last = last.unwrap();
    assert!(runs.iter().any(|run| run.id == last));
}

#[tokio::test]
async fn failed_runs_are_kept_longer_than_completed_ones() {
    let store = MemoryStore::new();
    let engine = Engine::builder()
        .store(store.clone())
        .retention(
            Retention::new()
                .with_completed_newest(3)
                .with_failed_newest(10)
                .with_sweep_every(1),
        )
        .build();
    for i in 0..10 {
        engine.run(short, i).await.unwrap();
        engine.run(failing, i).await.unwrap_err();
    }
    let_sweeps_run().await;
    let completed = store.list_runs(Some(RunStatus::Completed)).await.unwrap();
    let failed = store.list_runs(Some(RunStatus::Failed)).await.unwrap();
    assert_eq!((completed.len(), failed.len()), (3, 10));
    let inputs: Vec<u64> = completed
        .iter()
        .map(|run| run.input.decode::<u64>().unwrap())
        .collect();
    assert_eq!(inputs, [7, 8, 9], "the newest completed runs stay");
}

#[tokio::test(start_paused = true)]
async fn a_run_finishing_after_the_sweep_interval_sweeps() {
    let store = MemoryStore::new();
    let engine = Engine::builder()
        .store(store.clone())
        .retention(
            Retention::new()
                .with_completed_newest(1)
                .with_sweep_every(1_000)
                .with_sweep_interval(Duration::from_secs(600)),
        )
        .build();
    engine.run(short, 1).await.unwrap();
    engine.run(short, 2).await.unwrap();
    engine.run(short, 3).await.unwrap();
    let_sweeps_run().await;
    assert_eq!(runs_in(&store).await, 3, "no sweep is due yet");
    tokio::time::advance(Duration::from_secs(601)).await;
    let handle = engine.start(short, 4).await.unwrap();
    let newest = handle.id().clone();
    handle.result().await.unwrap();
    let_sweeps_run().await;
    let runs = store.list_runs(None).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, newest);
}

#[tokio::test]
async fn a_child_run_stays_while_its_parent_runs_and_goes_with_it() {
    let store = MemoryStore::new();
    let everything = Retention::new()
        .with_completed_newest(0)
        .with_failed_newest(0)
        .with_sweep_every(1);
    let engine = Engine::builder()
        .store(store.clone())
        .retention(everything)
        .build();
    let mut events = engine.subscribe();
    let handle = engine.start(parent, 1).await.unwrap();
    let run = handle.id().clone();
    support::step_started(&mut events, "go").await;
    // The child completed (and swept); the parent waits for its signal.
    let_sweeps_run().await;
    assert_eq!(engine.apply_retention().await.unwrap(), 0);
    let child_run = RunId::new(format!("{run}/child"));
    let child_record = store.run(&child_run).await.unwrap().expect("kept");
    assert_eq!(child_record.status(), RunStatus::Completed);
    engine.signal(&run, "go", 10_u64).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 12);
    let_sweeps_run().await;
    assert!(store.run(&run).await.unwrap().is_none());
    assert!(store.run(&child_run).await.unwrap().is_none());
    assert_eq!(runs_in(&store).await, 0);
}

#[tokio::test]
async fn the_sqlite_store_keeps_runs_for_days_by_default_and_sweeps_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    assert_eq!(
        Engine::open(&path).unwrap().retention(),
        &Retention::durable()
    );
    let store = SqliteStore::open(&path).unwrap();
    let engine = Engine::builder()
        .store(store.clone())
        .retention(
            Retention::new()
                .with_completed_newest(5)
                .with_sweep_every(10),
        )
        .build();
    for i in 0..50 {
        engine.run(short, i).await.unwrap();
    }
    engine.apply_retention().await.unwrap();
    let runs = store.list_runs(None).await.unwrap();
    let inputs: Vec<u64> = runs
        .iter()
        .map(|run| run.input.decode::<u64>().unwrap())
        .collect();
    assert_eq!(inputs, [45, 46, 47, 48, 49]);
}
