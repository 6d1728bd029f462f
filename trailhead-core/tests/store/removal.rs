//! Removing a run: everything recorded for it and its descendants, and only
//! once it and everything around it has ended.

use trailhead_core::store::{RunOutcome, Store};
use trailhead_core::{RunId, StoreError};

use crate::backend::Backend;
use crate::fixtures::{assert_unknown_run, child, ended, ids, keys, record, run_of, step, value};

/// `run` (a child of `parent`, if given) with one step and one signal, ended.
async fn ended_with_history(store: &impl Store, run: &str, parent: Option<&str>) {
    let given = match parent {
        Some(parent) => child(run, parent),
        None => record(run),
    };
    let writer = store.create_run(given).await.unwrap();
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    store
        .send_signal(&RunId::new(run), "go", value(serde_json::json!(1)))
        .await
        .unwrap();
    writer.finish(RunOutcome::Cancelled).await.unwrap();
}

#[track_caller]
fn assert_not_removable(result: Result<(), StoreError>, run: &str, unended: &str) {
    match result {
        Err(StoreError::NotRemovable {
            run: named,
            unended: blocking,
        }) => {
            assert_eq!(named.as_str(), run);
            assert_eq!(blocking.as_str(), unended);
        }
        other => panic!("expected NotRemovable({run}, {unended}), got {other:?}"),
    }
}

pub(crate) async fn removing_an_unknown_run_is_refused<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    assert_unknown_run(store.remove_run(&RunId::new("nope")).await, "nope");
}

pub(crate) async fn a_removed_run_is_gone_with_its_journal_signals_and_descendants<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    ended_with_history(&store, "p", None).await;
    ended_with_history(&store, "c", Some("p")).await;
    ended_with_history(&store, "g", Some("c")).await;
    ended_with_history(&store, "other", None).await;
    store.remove_run(&RunId::new("p")).await.unwrap();
    for gone in ["p", "c", "g"] {
        assert_eq!(store.run(&RunId::new(gone)).await.unwrap(), None, "{gone}");
        assert_unknown_run(store.journal(&RunId::new(gone)).await, gone);
    }
    assert_eq!(ids(&store.list_runs(None).await.unwrap()), ["other"]);
    assert_eq!(keys(&store, "other").await, ["a"], "other runs untouched");
    assert_unknown_run(store.remove_run(&RunId::new("p")).await, "p");
}

pub(crate) async fn a_removed_id_can_be_used_again<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    ended_with_history(&store, "r", None).await;
    store.remove_run(&RunId::new("r")).await.unwrap();
    let writer = store.create_run(record("r")).await.unwrap();
    assert!(keys(&store, "r").await.is_empty(), "a fresh journal");
    writer
        .record_step(step("a", serde_json::json!(2)))
        .await
        .unwrap();
    // The removed run's signal went with it.
    let received = store
        .receive_signal(&RunId::new("r"), "go", &crate::fixtures::key("wait"))
        .await
        .unwrap();
    assert_eq!(received, None);
}

pub(crate) async fn a_run_that_has_not_ended_is_not_removable<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    assert_not_removable(store.remove_run(&RunId::new("r")).await, "r", "r");
    assert_eq!(run_of(&store, "r").await, record("r"));
    assert_eq!(keys(&store, "r").await, ["a"]);
}

pub(crate) async fn a_run_with_a_descendant_that_has_not_ended_is_not_removable<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    ended_with_history(&store, "p", None).await;
    ended_with_history(&store, "c", Some("p")).await;
    store.create_run(child("g", "c")).await.unwrap();
    assert_not_removable(store.remove_run(&RunId::new("p")).await, "p", "g");
    assert_eq!(
        ids(&store.list_runs(None).await.unwrap()).len(),
        3,
        "nothing removed"
    );
    assert_eq!(keys(&store, "p").await, ["a"]);
    assert_eq!(keys(&store, "c").await, ["a"]);
}

pub(crate) async fn a_child_whose_parent_has_not_ended_is_not_removable<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store.create_run(record("p")).await.unwrap();
    ended_with_history(&store, "c", Some("p")).await;
    assert_not_removable(store.remove_run(&RunId::new("c")).await, "c", "p");
    assert_eq!(keys(&store, "c").await, ["a"]);
}

pub(crate) async fn a_child_of_an_ended_parent_is_removed_alone<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store
        .create_run(ended("p", RunOutcome::Cancelled, 5))
        .await
        .unwrap();
    ended_with_history(&store, "c", Some("p")).await;
    ended_with_history(&store, "d", Some("p")).await;
    store.remove_run(&RunId::new("c")).await.unwrap();
    let mut left = ids(&store.list_runs(None).await.unwrap());
    left.sort();
    assert_eq!(left, ["d", "p"]);
    assert_eq!(ids(&store.children(&RunId::new("p")).await.unwrap()), ["d"]);
}
