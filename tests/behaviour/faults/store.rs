//! Fault injection: a store that fails writes, a journaled record that no
//! longer fits its step's type, a database locked by another process. Each is
//! a typed error naming the run (and the step), and nothing journaled is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use trailhead::store::{
    AfterCompensation, RunOutcome, RunRecord, RunStatus, RunWriter, StepRecord, StoreFuture,
};
use trailhead::{
    DatabaseProblem, Engine, MemoryStore, RunError, RunId, SqliteStore, StepFailure, Store,
    StoreError, workflow,
};

/// A store whose journals accept `allowed` step writes, then fail them as if the disk were full.
#[derive(Debug, Clone)]
struct FailingWrites {
    inner: MemoryStore,
    allowed: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct FailingWriter {
    inner: Arc<dyn RunWriter>,
    run: RunId,
    allowed: Arc<AtomicUsize>,
}

impl RunWriter for FailingWriter {
    fn record_checkpoint(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        self.inner.record_checkpoint(record)
    }

    fn continue_as_new(
        &self,
        input: trailhead::store::Value,
        marker: StepRecord,
    ) -> StoreFuture<'_, ()> {
        self.inner.continue_as_new(input, marker)
    }

    fn record_step(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        if self
            .allowed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return self.inner.record_step(record);
        }
        let run = self.run.clone();
        Box::pin(async move {
            Err(StoreError::Database {
                store: Box::new(trailhead::store::StoreLocation::File("injected.db".into())),
                run: Some(run),
                problem: DatabaseProblem::Full,
            })
        })
    }

    fn finish(&self, outcome: RunOutcome) -> StoreFuture<'_, ()> {
        self.inner.finish(outcome)
    }

    fn release(&self, wake_at: Option<std::time::SystemTime>) -> StoreFuture<'_, ()> {
        self.inner.release(wake_at)
    }
}

impl Store for FailingWrites {
    fn worker(&self) -> &trailhead::store::WorkerId {
        self.inner.worker()
    }

    fn create_run(&self, run: RunRecord) -> StoreFuture<'_, Arc<dyn RunWriter>> {
        Box::pin(async move {
            let id = run.id.clone();
            let inner = self.inner.create_run(run).await?;
            Ok(Arc::new(FailingWriter {
                inner,
                run: id,
                allowed: Arc::clone(&self.allowed),
            }) as Arc<dyn RunWriter>)
        })
    }
    fn open_run(
        &self,
        run: &RunId,
    ) -> StoreFuture<'_, Option<(RunRecord, Vec<StepRecord>, Arc<dyn RunWriter>)>> {
        self.inner.open_run(run)
    }
    fn run(&self, run: &RunId) -> StoreFuture<'_, Option<RunRecord>> {
        self.inner.run(run)
    }
    fn journal(&self, run: &RunId) -> StoreFuture<'_, Vec<StepRecord>> {
        self.inner.journal(run)
    }
    fn list_runs(&self, status: Option<RunStatus>) -> StoreFuture<'_, Vec<RunRecord>> {
        self.inner.list_runs(status)
    }
    fn reopen_run(&self, run: &RunId) -> StoreFuture<'_, ()> {
        self.inner.reopen_run(run)
    }
    fn remove_run(&self, run: &RunId) -> StoreFuture<'_, ()> {
        self.inner.remove_run(run)
    }
    fn begin_compensation(
        &self,
        run: &RunId,
        then: AfterCompensation,
    ) -> StoreFuture<'_, Arc<dyn RunWriter>> {
        self.inner.begin_compensation(run, then)
    }
    fn send_signal(
        &self,
        run: &RunId,
        name: &str,
        payload: trailhead::store::Value,
    ) -> StoreFuture<'_, ()> {
        self.inner.send_signal(run, name, payload)
    }
    fn receive_signal(
        &self,
        run: &RunId,
        name: &str,
        key: &trailhead::StepKey,
    ) -> StoreFuture<'_, Option<trailhead::store::Value>> {
        self.inner.receive_signal(run, name, key)
    }
    fn is_shared(&self) -> bool {
        self.inner.is_shared()
    }
    fn request_cancel(&self, run: &RunId) -> StoreFuture<'_, ()> {
        self.inner.request_cancel(run)
    }
    fn cancel_requests(&self) -> StoreFuture<'_, Vec<RunId>> {
        self.inner.cancel_requests()
    }
    fn enqueue_run(
        &self,
        run: RunRecord,
        options: &trailhead::store::Enqueue,
    ) -> StoreFuture<'_, trailhead::store::Enqueued> {
        self.inner.enqueue_run(run, options)
    }
    fn fleet(&self) -> StoreFuture<'_, trailhead::store::FleetStatus> {
        self.inner.fleet()
    }
    fn claim_runs(
        &self,
        offer: &trailhead::store::ClaimOffer,
    ) -> StoreFuture<'_, trailhead::store::Claimed> {
        self.inner.claim_runs(offer)
    }
}

async fn count(x: u64) -> Result<u64, std::io::Error> {
    Ok(x + 1)
}

workflow! {
    workflow three(x: u64) -> Result<u64, trailhead::Error> {
        let a = step count(x);
        let b = step count(a).name("second");
        let c = step count(b).name("third");
        Ok(c)
    }
}

fn step_error(error: RunError<trailhead::Error>) -> trailhead::StepError<std::io::Error> {
    let RunError::Failed { error, .. } = error else {
        panic!("expected the workflow's failure, got {error}");
    };
    *error.into_inner().downcast().expect("a step error")
}

/// A journal write the store keeps failing (the disk is full) is not the
/// business failing: the run is suspended, not failed and not rolled back, and
/// continues from its last journaled step once the store is well.
#[tokio::test(start_paused = true)]
async fn a_store_that_keeps_failing_suspends_the_run_instead_of_failing_it() {
    let store = FailingWrites {
        inner: MemoryStore::new(),
        allowed: Arc::new(AtomicUsize::new(1)),
    };
    let engine = Engine::builder()
        .store(store.clone())
        .journal_retries(trailhead::RetryPolicy::attempts(3))
        .build();
    let handle = engine.start(three, 1).await.unwrap();
    let run = handle.id().clone();
    match handle.result().await.unwrap_err() {
        RunError::Suspended {
            run: suspended,
            cause,
        } => {
            assert_eq!(suspended, run);
            assert!(
                matches!(
                    &cause,
                    StoreError::Database {
                        problem: DatabaseProblem::Full,
                        run: Some(named),
                        ..
                    } if *named == run
                ),
                "{cause}"
            );
        }
        other => panic!("expected the run to be suspended, got {other}"),
    }
    // Not failed, not rolled back: still running, with what it journaled.
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Running);
    let journal = engine.journal(&run).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].key.to_string(), "count");
    let health = engine.health().await.unwrap();
    assert_eq!(health.suspended.len(), 1, "{health:?}");
    assert_eq!(health.suspended[0].run, run);
    assert!(health.suspended[0].error.contains("disk is full"));
    assert!(!health.is_healthy());

    // Space is freed: resuming finishes it from its last journaled step.
    store.allowed.store(usize::MAX, Ordering::SeqCst);
    let handles = engine.resume(three).await.unwrap();
    assert_eq!(handles.len(), 1);
    assert_eq!(
        handles.into_iter().next().unwrap().result().await.unwrap(),
        4
    );
    assert!(engine.health().await.unwrap().suspended.is_empty());
}

/// A write that fails once (a passing lock, a brief full disk) is tried again
/// and the run goes on as if nothing happened.
#[tokio::test(start_paused = true)]
async fn a_passing_store_failure_is_retried_and_the_run_completes() {
    let store = FailingWrites {
        inner: MemoryStore::new(),
        allowed: Arc::new(AtomicUsize::new(1)),
    };
    let engine = Engine::builder().store(store.clone()).build();
    let handle = engine.start(three, 1).await.unwrap();
    // The first retry comes after 100 ms of (paused) time; free the disk first.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    store.allowed.store(usize::MAX, Ordering::SeqCst);
    assert_eq!(handle.result().await.unwrap(), 4);
}

#[test]
fn a_journaled_record_that_no_longer_fits_its_type_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("r");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&path).unwrap();
        let input = trailhead::store::Value::encode(&serde_json::json!(1)).unwrap();
        let record = RunRecord::new(run.clone(), "three", input)
            .with_definition_hash(three::DEFINITION_HASH);
        let journal = store.create_run(record).await.unwrap();
        // `count` returns a u64; a string was journaled (an older type, say).
        journal
            .record_step(StepRecord::new(
                "count".parse().unwrap(),
                trailhead::StepOutcome::Completed(
                    trailhead::store::Value::encode(&serde_json::json!("two")).unwrap(),
                ),
                1,
                std::time::SystemTime::now(),
                std::time::SystemTime::now(),
            ))
            .await
            .unwrap();
        let engine = Engine::builder().store(store).build();
        let handle = engine.resume(three).await.unwrap().pop().unwrap();
        let failure = step_error(handle.result().await.unwrap_err());
        assert_eq!(failure.run, run);
        assert_eq!(failure.step.to_string(), "count");
        assert!(
            matches!(
                &failure.failure,
                StepFailure::Journal(StoreError::Decode { .. })
            ),
            "{failure}"
        );
        // The record is kept as it was, not overwritten.
        let kept = engine.journal(&run).await.unwrap();
        assert_eq!(
            kept[0].outcome,
            trailhead::StepOutcome::Completed(
                trailhead::store::Value::encode(&serde_json::json!("two")).unwrap()
            )
        );
    });
}

#[test]
fn a_database_locked_by_another_process_is_reported_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).unwrap());
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Database {
                problem: DatabaseProblem::Locked,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("locked"), "{error}");
    other.execute_batch("ROLLBACK").unwrap();
    assert!(
        SqliteStore::open(&path).is_ok(),
        "usable once the lock is gone"
    );
}
