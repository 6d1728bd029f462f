//! The journal: entries in write order, never overwritten, closed at the end.

use trailhead_core::store::{RunOutcome, StepOutcome, Store};
use trailhead_core::{RunId, StepKey, StoreError};

use crate::backend::Backend;
use crate::fixtures::{assert_run_finished, keys, record, step, value};

pub(crate) async fn the_journal_keeps_the_order_steps_were_written_in<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    let order = ["z", "a", "m[3][1]", "b", "a[0]"];
    for (n, key) in order.iter().enumerate() {
        writer
            .record_step(step(key, serde_json::json!(n)))
            .await
            .unwrap();
    }
    assert_eq!(keys(&store, "r").await, order);
    let journal = store.journal(&RunId::new("r")).await.unwrap();
    for (n, entry) in journal.iter().enumerate() {
        assert_eq!(entry, &step(order[n], serde_json::json!(n)), "entry {n}");
    }
}

pub(crate) async fn a_step_journaled_twice_is_refused_and_the_first_entry_kept<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("charge[1]", serde_json::json!("first")))
        .await
        .unwrap();
    match writer
        .record_step(step("charge[1]", serde_json::json!("second")))
        .await
    {
        Err(StoreError::DuplicateStep { run, step }) => {
            assert_eq!(run.as_str(), "r");
            assert_eq!(step, StepKey::new("charge", &[1]));
        }
        other => panic!("expected DuplicateStep, got {other:?}"),
    }
    let journal = store.journal(&RunId::new("r")).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(
        journal[0].outcome,
        StepOutcome::Completed(value(serde_json::json!("first")))
    );
    // The refusal did not break the handle.
    writer
        .record_step(step("ship", serde_json::json!(1)))
        .await
        .unwrap();
    assert_eq!(keys(&store, "r").await, ["charge[1]", "ship"]);
}

pub(crate) async fn the_same_step_name_under_another_path_is_another_step<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    for key in ["s", "s[1]", "s[2]", "s[1][1]"] {
        writer
            .record_step(step(key, serde_json::json!(key)))
            .await
            .unwrap();
    }
    assert_eq!(keys(&store, "r").await, ["s", "s[1]", "s[2]", "s[1][1]"]);
}

pub(crate) async fn a_step_after_finish_is_refused<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    writer
        .finish(RunOutcome::Completed(value(serde_json::json!(1))))
        .await
        .unwrap();
    assert_run_finished(
        writer.record_step(step("b", serde_json::json!(2))).await,
        "r",
    );
    assert_eq!(keys(&store, "r").await, ["a"]);
}

pub(crate) async fn each_runs_journal_is_its_own<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let one = store.create_run(record("one")).await.unwrap();
    let two = store.create_run(record("two")).await.unwrap();
    one.record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    two.record_step(step("a", serde_json::json!(2)))
        .await
        .unwrap();
    two.record_step(step("b", serde_json::json!(3)))
        .await
        .unwrap();
    one.finish(RunOutcome::Cancelled).await.unwrap();
    // Finishing one run closes its journal only.
    two.record_step(step("c", serde_json::json!(4)))
        .await
        .unwrap();
    assert_eq!(keys(&store, "one").await, ["a"]);
    assert_eq!(keys(&store, "two").await, ["a", "b", "c"]);
}

pub(crate) async fn a_steps_retries_read_back_as_written<B: Backend>() {
    use trailhead_core::store::Retry;

    use crate::fixtures::at;
    let backend = B::new().await;
    let store = backend.worker().await;
    let retried = |n: u64| {
        step(&format!("charge[{n}]"), serde_json::json!(n)).with_retries(vec![
            Retry::new(at(10), at(11), at(13), format!("declined {n}")),
            Retry::new(at(13), at(14), at(17), "timed out ✗"),
        ])
    };
    // Alone, then many at once (the group-committed path on PostgreSQL),
    // beside an entry with none.
    let writers: Vec<_> =
        futures::future::join_all((0..8).map(|n| store.create_run(record(&format!("r{n}")))))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    writers[0].record_step(retried(0)).await.unwrap();
    futures::future::join_all(
        writers
            .iter()
            .enumerate()
            .skip(1)
            .map(|(n, writer)| writer.record_step(retried(n as u64))),
    )
    .await
    .into_iter()
    .for_each(Result::unwrap);
    writers[0]
        .record_step(step("ship", serde_json::json!(1)))
        .await
        .unwrap();
    for n in 0..8_u64 {
        let journal = store.journal(&RunId::new(format!("r{n}"))).await.unwrap();
        assert_eq!(journal[0], retried(n), "run r{n}");
        assert_eq!(journal[0].retries.len(), 2);
    }
    let journal = store.journal(&RunId::new("r0")).await.unwrap();
    assert!(journal[1].retries.is_empty(), "{:?}", journal[1]);
}
