//! Step entries written in batches (`batch`): many runs' entries share a
//! statement, and each is still fenced and checked on its own.

use std::sync::Arc;

use futures::FutureExt;

use super::*;
use crate::store::{Store, StoreFuture};

fn step_at(run: usize, index: usize) -> StepRecord {
    let name: &'static str = Box::leak(format!("s{run}_{index}").into_boxed_str());
    step(name, u32::try_from(index).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_runs_journal_at_once_and_every_entry_lands_once() {
    let schema = fresh("batches").await;
    let store = store_in(&schema).await;
    let mut writers = Vec::new();
    for run in 0..64 {
        writers.push(store.create_run(record(&format!("r{run}"))).await.unwrap());
    }
    // 64 runs, 20 entries each, all in flight together: they go in batches.
    let mut tasks = Vec::new();
    for (run, writer) in writers.iter().enumerate() {
        let writer = Arc::clone(writer);
        tasks.push(tokio::spawn(async move {
            for index in 0..20 {
                writer.record_step(step_at(run, index)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for run in 0..64 {
        let journal = store.journal(&RunId::new(format!("r{run}"))).await.unwrap();
        let keys: Vec<String> = journal.iter().map(|entry| entry.key.to_string()).collect();
        let wanted: Vec<String> = (0..20).map(|index| format!("s{run}_{index}")).collect();
        assert_eq!(keys, wanted, "run r{run}'s entries, each once and in order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_entry_fails_alone_in_its_batch() {
    let schema = fresh("batch_fence").await;
    let one = store_in(&schema).await;
    let two = store_in(&schema).await;
    let good = one.create_run(record("good")).await.unwrap();
    let dup = one.create_run(record("dup")).await.unwrap();
    let lost = one.create_run(record("lost")).await.unwrap();
    dup.record_step(step("a", 1)).await.unwrap();
    // `lost` is taken over by `two` (one's worker row expired).
    exec(format!(
        "UPDATE {schema}.workers SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        one.worker()
    ))
    .await;
    two.open_run(&RunId::new("lost")).await.unwrap().unwrap();
    let writes: Vec<StoreFuture<'_, ()>> = vec![
        good.record_step(step("a", 1)),
        dup.record_step(step("a", 2)),
        lost.record_step(step("a", 3)),
        good.record_step(step("b", 4)),
    ];
    let results = futures::future::join_all(writes).await;
    // `good`'s fence still holds: the expiry only lets others take its runs.
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        matches!(&results[1], Err(StoreError::DuplicateStep { run, step })
            if run.as_str() == "dup" && step.to_string() == "a"),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(&results[2], Err(StoreError::LeaseLost { run, .. }) if run.as_str() == "lost"),
        "{:?}",
        results[2]
    );
    assert!(results[3].is_ok(), "{:?}", results[3]);
    let dup_journal = one.journal(&RunId::new("dup")).await.unwrap();
    assert_eq!(dup_journal.len(), 1, "the duplicate overwrote nothing");
    assert_eq!(dup_journal[0].outcome, step("a", 1).outcome);
    assert!(one.journal(&RunId::new("lost")).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_whose_writer_stopped_waiting_is_settled_before_a_rollback_reads() {
    let schema = fresh("batch_settle").await;
    let store = store_in(&schema).await;
    let writer = store.create_run(record("r")).await.unwrap();
    // Polled exactly once (handed to the batcher), then dropped, as a
    // cancelled run's step is. (`timeout(ZERO, ..)` may poll it again once
    // the batch lands, which made this flaky.)
    let dropped = writer.record_step(step("a", 1)).now_or_never();
    assert!(
        dropped.is_none(),
        "the write was still in flight: {dropped:?}"
    );
    writer.settled().await.unwrap();
    let journal = store.journal(&RunId::new("r")).await.unwrap();
    assert_eq!(
        journal.len(),
        1,
        "the entry landed before settled() returned"
    );
}
