//! Retrying: a failed or cancelled run reopened, its failed entries set
//! aside, its completed ones kept to replay.

use trailhead_core::store::{AfterCompensation, RunOutcome, RunState, RunStatus, Store};
use trailhead_core::{RunId, StoreError};

use crate::backend::Backend;
use crate::fixtures::{assert_unknown_run, ended, failed_step, keys, record, run_of, step, value};

pub(crate) async fn reopening_an_unknown_run_is_refused<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    assert_unknown_run(store.reopen_run(&RunId::new("nope")).await, "nope");
}

pub(crate) async fn a_run_that_has_not_ended_or_completed_cannot_be_reopened<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let records = [
        record("running"),
        record("undoing").with_state(RunState::Compensating(AfterCompensation::Cancelled)),
        ended(
            "completed",
            RunOutcome::Completed(value(serde_json::json!(1))),
            5,
        ),
    ];
    for given in records {
        let id = given.id.clone();
        store.create_run(given.clone()).await.unwrap();
        match store.reopen_run(&id).await {
            Err(StoreError::NotEnded { run }) => assert_eq!(run, id),
            other => panic!("expected NotEnded for `{id}`, got {other:?}"),
        }
        assert_eq!(run_of(&store, id.as_str()).await, given, "`{id}` unchanged");
    }
}

pub(crate) async fn a_reopened_failed_run_runs_again_with_its_failed_entries_set_aside<
    B: Backend,
>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    writer
        .record_step(failed_step("b[1]", "down"))
        .await
        .unwrap();
    writer
        .record_step(step("c", serde_json::json!(3)))
        .await
        .unwrap();
    writer
        .record_step(failed_step("d", "also down"))
        .await
        .unwrap();
    writer
        .finish(RunOutcome::Failed("down".into()))
        .await
        .unwrap();

    store.reopen_run(&RunId::new("r")).await.unwrap();
    let run = run_of(&store, "r").await;
    assert_eq!(run.state, RunState::Running);
    assert_eq!(run.finished_at(), None);
    assert_eq!(
        keys(&store, "r").await,
        ["a", "c"],
        "completed entries stay, in order"
    );

    // The failed steps run and are journaled anew.
    let (read, journal, handle) = store.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(read.state, RunState::Running);
    assert_eq!(
        journal,
        [
            step("a", serde_json::json!(1)),
            step("c", serde_json::json!(3))
        ]
    );
    handle
        .record_step(step("b[1]", serde_json::json!(2)))
        .await
        .unwrap();
    handle
        .record_step(step("d", serde_json::json!(4)))
        .await
        .unwrap();
    assert_eq!(keys(&store, "r").await, ["a", "c", "b[1]", "d"]);
    match handle.record_step(step("a", serde_json::json!(9))).await {
        Err(StoreError::DuplicateStep { run, step }) => {
            assert_eq!(run.as_str(), "r");
            assert_eq!(step.to_string(), "a");
        }
        other => panic!("a kept entry is still journaled: {other:?}"),
    }
}

pub(crate) async fn a_cancelled_run_can_be_reopened<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    writer.finish(RunOutcome::Cancelled).await.unwrap();
    store.reopen_run(&RunId::new("r")).await.unwrap();
    assert_eq!(run_of(&store, "r").await.status(), RunStatus::Running);
    assert_eq!(keys(&store, "r").await, ["a"]);
}

pub(crate) async fn a_reopened_run_can_be_finished_again<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer
        .finish(RunOutcome::Failed("down".into()))
        .await
        .unwrap();
    store.reopen_run(&RunId::new("r")).await.unwrap();
    // Signals are taken again while it runs.
    store
        .send_signal(&RunId::new("r"), "go", value(serde_json::json!(1)))
        .await
        .unwrap();
    let (_, _, handle) = store.open_run(&RunId::new("r")).await.unwrap().unwrap();
    let output = value(serde_json::json!("second time"));
    handle
        .finish(RunOutcome::Completed(output.clone()))
        .await
        .unwrap();
    let run = run_of(&store, "r").await;
    assert_eq!(run.outcome(), Some(&RunOutcome::Completed(output)));
    match store.reopen_run(&RunId::new("r")).await {
        Err(StoreError::NotEnded { run }) => assert_eq!(run.as_str(), "r"),
        other => panic!("a completed run is not retried: {other:?}"),
    }
}
