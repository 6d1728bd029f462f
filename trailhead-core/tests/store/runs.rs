//! Runs: creating, reading, opening, finishing.

use std::time::{Duration, SystemTime};

use trailhead_core::store::{AfterCompensation, RunOutcome, RunState, RunStatus, Store};
use trailhead_core::{RunId, StepKey, StoreError};

use crate::backend::Backend;
use crate::fixtures::{
    assert_run_finished, assert_unknown_run, child, ended, keys, record, run_of, step, value,
};

pub(crate) async fn a_created_run_is_recorded_as_given<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let given = child("c", "p");
    store.create_run(given.clone()).await.unwrap();
    let read = run_of(&store, "c").await;
    assert_eq!(read, given, "every field kept");
    assert_eq!(read.definition_hash, u64::MAX - 7, "all 64 bits");
    assert_eq!(read.status(), RunStatus::Running);
}

pub(crate) async fn every_state_a_run_is_created_in_reads_back<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let states = [
        RunState::Running,
        RunState::Compensating(AfterCompensation::Failed("boom".into())),
        RunState::Compensating(AfterCompensation::Cancelled),
        RunState::Compensating(AfterCompensation::Compensated {
            output: value(serde_json::json!(3)),
            cause: "its parent run `p` was undone".into(),
        }),
        RunState::ended(
            RunOutcome::Completed(value(serde_json::json!("ok"))),
            crate::fixtures::at(5),
        ),
        RunState::ended(RunOutcome::Cancelled, crate::fixtures::at(6)),
    ];
    for (n, state) in states.into_iter().enumerate() {
        let given = record(&format!("s{n}")).with_state(state.clone());
        store.create_run(given.clone()).await.unwrap();
        assert_eq!(run_of(&store, &format!("s{n}")).await, given, "state {n}");
    }
}

pub(crate) async fn a_taken_id_is_refused_and_the_first_run_kept<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let first = record("r");
    let writer = store.create_run(first.clone()).await.unwrap();
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    let second = record("r").with_definition_hash(1).with_mermaid("other");
    match store.create_run(second).await {
        Err(StoreError::RunExists { run }) => assert_eq!(run.as_str(), "r"),
        other => panic!("expected RunExists, got {other:?}"),
    }
    assert_eq!(run_of(&store, "r").await, first);
    assert_eq!(keys(&store, "r").await, ["a"], "the journal is untouched");
    // The first run's handle still writes.
    writer
        .record_step(step("b", serde_json::json!(2)))
        .await
        .unwrap();
}

pub(crate) async fn an_unknown_run_has_no_record_and_no_journal<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store.create_run(record("known")).await.unwrap();
    assert_eq!(store.run(&RunId::new("nope")).await.unwrap(), None);
    assert_unknown_run(store.journal(&RunId::new("nope")).await, "nope");
}

pub(crate) async fn opening_an_unknown_run_gives_none<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    assert!(store.open_run(&RunId::new("nope")).await.unwrap().is_none());
}

pub(crate) async fn opening_a_run_gives_its_record_its_journal_in_order_and_a_live_handle<
    B: Backend,
>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let given = record("r");
    let writer = store.create_run(given.clone()).await.unwrap();
    let written = [
        step("z", serde_json::json!(1)),
        step("a[2]", serde_json::json!({"box": "a"})),
        step("m", serde_json::json!([1, 2])),
    ];
    for entry in &written {
        writer.record_step(entry.clone()).await.unwrap();
    }
    let (read, journal, handle) = store.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(read, given);
    assert_eq!(journal, written, "the journal in the order it was written");
    handle
        .record_step(step("late", serde_json::json!(null)))
        .await
        .unwrap();
    assert_eq!(keys(&store, "r").await, ["z", "a[2]", "m", "late"]);
    handle.finish(RunOutcome::Cancelled).await.unwrap();
    assert_eq!(run_of(&store, "r").await.status(), RunStatus::Cancelled);
}

pub(crate) async fn finish_records_the_outcome_at_the_time_it_is_recorded<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    let before = SystemTime::now();
    writer
        .finish(RunOutcome::Failed("boom".into()))
        .await
        .unwrap();
    let after = SystemTime::now();
    let run = run_of(&store, "r").await;
    assert_eq!(run.outcome(), Some(&RunOutcome::Failed("boom".into())));
    assert_eq!(run.status(), RunStatus::Failed);
    let finished = run.finished_at().expect("an end time");
    // The store's clock (a database server's, perhaps) may differ a little.
    let slack = Duration::from_secs(5);
    assert!(
        finished + slack >= before && finished <= after + slack,
        "{finished:?} not between {before:?} and {after:?}"
    );
    assert_eq!(run.created_at, crate::fixtures::at(0), "created_at kept");
}

pub(crate) async fn every_outcome_is_recorded_as_given<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let outcomes = [
        RunOutcome::Completed(value(serde_json::json!({"shipped": true}))),
        RunOutcome::Failed("card declined".into()),
        RunOutcome::Cancelled,
        RunOutcome::CompensationFailed {
            step: StepKey::new("charge", &[2]),
            error: "refund refused".into(),
            cause: "declined".into(),
        },
        RunOutcome::Compensated {
            output: value(serde_json::json!(7)),
            cause: "its parent run `p` was undone".into(),
        },
    ];
    for (n, outcome) in outcomes.into_iter().enumerate() {
        let id = format!("r{n}");
        let writer = store.create_run(record(&id)).await.unwrap();
        writer.finish(outcome.clone()).await.unwrap();
        let run = run_of(&store, &id).await;
        assert_eq!(run.outcome(), Some(&outcome), "outcome {n}");
        assert_eq!(run.status(), outcome.status());
    }
}

pub(crate) async fn finishing_twice_is_refused_and_keeps_the_first_outcome<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer.finish(RunOutcome::Cancelled).await.unwrap();
    let first = run_of(&store, "r").await;
    assert_run_finished(
        writer
            .finish(RunOutcome::Completed(value(serde_json::json!(1))))
            .await,
        "r",
    );
    assert_run_finished(writer.finish(RunOutcome::Cancelled).await, "r");
    assert_eq!(run_of(&store, "r").await, first, "outcome and time kept");
}

pub(crate) async fn an_ended_run_opens_with_a_handle_that_writes_nothing<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store
        .create_run(ended("done", RunOutcome::Cancelled, 3))
        .await
        .unwrap();
    let (read, journal, handle) = store.open_run(&RunId::new("done")).await.unwrap().unwrap();
    assert_eq!(read, ended("done", RunOutcome::Cancelled, 3));
    assert!(journal.is_empty());
    assert_run_finished(
        handle.record_step(step("a", serde_json::json!(1))).await,
        "done",
    );
    assert_run_finished(handle.finish(RunOutcome::Cancelled).await, "done");
    assert!(keys(&store, "done").await.is_empty());
}
