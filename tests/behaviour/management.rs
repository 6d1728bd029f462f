//! Run management: list runs by status, read a run's journal, cancel a run by
//! its id, retry a failed run from its last good step.

use std::sync::atomic::{AtomicU32, Ordering};

use trailhead::{Engine, EngineError, RunId, RunStatus, StepOutcome, StoreError, workflow};

static FLAKY_CALLS: AtomicU32 = AtomicU32::new(0);
static CHEAP_CALLS: AtomicU32 = AtomicU32::new(0);
static CHILD_CALLS: AtomicU32 = AtomicU32::new(0);

async fn cheap(x: u64) -> Result<u64, std::io::Error> {
    CHEAP_CALLS.fetch_add(1, Ordering::SeqCst);
    Ok(x + 1)
}

/// Fails on its first call (a dependency was down), works after.
async fn flaky(x: u64) -> Result<u64, std::io::Error> {
    if FLAKY_CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(std::io::Error::other("the dependency is down"));
    }
    Ok(x * 10)
}

/// Like `flaky`, for the child run of `retried_parent`.
async fn flaky_child_step(x: u64) -> Result<u64, std::io::Error> {
    if CHILD_CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(std::io::Error::other("the dependency is down"));
    }
    Ok(x + 100)
}

async fn forever() -> Result<u64, std::io::Error> {
    std::future::pending().await
}

workflow! {
    workflow pipeline(x: u64) -> Result<u64, trailhead::Error> {
        let a = step cheap(x);
        let b = step flaky(a);
        Ok(b)
    }

    workflow flaky_child(x: u64) -> Result<u64, trailhead::Error> {
        let y = step flaky_child_step(x);
        Ok(y)
    }

    workflow retried_parent(x: u64) -> Result<u64, trailhead::Error> {
        let y = call flaky_child(x);
        Ok(y)
    }

    workflow stuck() -> Result<u64, trailhead::Error> {
        let x = step forever();
        Ok(x)
    }
}

#[tokio::test]
async fn a_failed_run_is_retried_from_its_last_good_step() {
    let engine = Engine::new();
    let handle = engine.start(pipeline, 1).await.unwrap();
    let run = handle.id().clone();
    assert!(
        handle.result().await.is_err(),
        "the first attempt fails at `flaky`"
    );
    assert_eq!(
        engine
            .store()
            .list_runs(Some(RunStatus::Failed))
            .await
            .unwrap()
            .len(),
        1
    );
    let journal = engine.journal(&run).await.unwrap();
    assert!(matches!(journal[1].outcome, StepOutcome::Failed(_)));

    let retried = engine.rerun(pipeline, &run).await.unwrap();
    assert_eq!(retried.result().await.unwrap(), 20);
    assert_eq!(
        CHEAP_CALLS.load(Ordering::SeqCst),
        1,
        "the good step replayed, not ran again"
    );
    let journal = engine.journal(&run).await.unwrap();
    assert_eq!(journal.len(), 2);
    assert!(
        journal
            .iter()
            .all(|entry| matches!(entry.outcome, StepOutcome::Completed(_)))
    );
    assert_eq!(
        engine.run_record(&run).await.unwrap().unwrap().status(),
        RunStatus::Completed
    );
    // A completed run is not retried.
    assert!(matches!(
        engine.rerun(pipeline, &run).await,
        Err(EngineError::Store(StoreError::NotEnded { .. }))
    ));
    assert!(matches!(
        engine.rerun(stuck, &run).await,
        Err(EngineError::OtherWorkflow { .. })
    ));
}

#[tokio::test]
async fn retrying_a_run_reopens_its_failed_child() {
    let engine = Engine::new();
    let handle = engine.start(retried_parent, 1).await.unwrap();
    let run = handle.id().clone();
    assert!(
        handle.result().await.is_err(),
        "the child fails the first time"
    );
    let failed = engine
        .store()
        .list_runs(Some(RunStatus::Failed))
        .await
        .unwrap();
    let child = failed
        .iter()
        .find(|record| record.parent.as_ref() == Some(&run))
        .expect("the child run failed too")
        .id
        .clone();

    let retried = engine.rerun(retried_parent, &run).await.unwrap();
    assert_eq!(retried.result().await.unwrap(), 101);
    assert_eq!(
        CHILD_CALLS.load(Ordering::SeqCst),
        2,
        "the child's step ran again"
    );
    assert_eq!(
        engine.run_record(&child).await.unwrap().unwrap().status(),
        RunStatus::Completed,
        "the child was reopened and completed"
    );
}

#[tokio::test]
async fn a_run_is_cancelled_by_its_id() {
    let engine = Engine::new();
    let handle = engine.start(stuck, ()).await.unwrap();
    let run = handle.id().clone();
    tokio::task::yield_now().await;
    engine.cancel(&run).await.unwrap();
    assert!(matches!(
        handle.result().await,
        Err(trailhead::RunError::Cancelled { .. })
    ));
    assert_eq!(
        engine.run_record(&run).await.unwrap().unwrap().status(),
        RunStatus::Cancelled
    );
    assert!(matches!(
        engine.cancel(&RunId::new("no-such-run")).await,
        Err(EngineError::Store(StoreError::UnknownRun { .. }))
    ));
    assert!(matches!(
        engine.cancel(&run).await,
        Err(EngineError::Store(StoreError::RunFinished { .. }))
    ));
}
