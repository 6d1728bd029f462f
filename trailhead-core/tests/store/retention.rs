//! Retention: which ended top-level runs `apply_retention` removes.

use std::time::Duration;

use trailhead_core::RunId;
use trailhead_core::store::{AfterCompensation, Retention, RunOutcome, RunRecord, RunState, Store};

use crate::backend::Backend;
use crate::fixtures::{at, child, ended, ids, record, value};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn completed(id: &str, secs: u64) -> RunRecord {
    ended(
        id,
        RunOutcome::Completed(value(serde_json::json!(id))),
        secs,
    )
}

/// The ids left in the store, sorted.
async fn left(store: &impl Store) -> Vec<String> {
    let mut left = ids(&store.list_runs(None).await.unwrap());
    left.sort();
    left
}

async fn create(store: &impl Store, runs: impl IntoIterator<Item = RunRecord>) {
    for run in runs {
        store.create_run(run).await.unwrap();
    }
}

pub(crate) async fn a_retention_that_keeps_everything_removes_nothing<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    create(
        &store,
        [
            completed("a", 1),
            ended("b", RunOutcome::Failed("boom".into()), 2),
        ],
    )
    .await;
    let removed = store
        .apply_retention(&Retention::new(), at(0) + 1_000 * DAY)
        .await
        .unwrap();
    assert_eq!(removed, 0);
    assert_eq!(left(&store).await, ["a", "b"]);
}

pub(crate) async fn the_newest_are_kept_per_kind_of_ending<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    create(
        &store,
        [
            completed("c1", 10),
            completed("c2", 30),
            completed("c3", 20),
            ended("f1", RunOutcome::Failed("boom".into()), 15),
            ended("f2", RunOutcome::Cancelled, 25),
            ended(
                "f3",
                RunOutcome::CompensationFailed {
                    step: trailhead_core::StepKey::new("charge", &[]),
                    error: "refused".into(),
                    cause: "declined".into(),
                },
                35,
            ),
        ],
    )
    .await;
    let retention = Retention::new()
        .with_completed_newest(2)
        .with_failed_newest(1);
    let removed = store.apply_retention(&retention, at(40)).await.unwrap();
    assert_eq!(removed, 3, "c1, f1 and f2");
    assert_eq!(left(&store).await, ["c2", "c3", "f3"]);
    // Applying it again finds nothing more to remove.
    assert_eq!(store.apply_retention(&retention, at(40)).await.unwrap(), 0);
}

pub(crate) async fn runs_older_than_their_kinds_duration_are_removed<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let day = DAY.as_secs();
    create(
        &store,
        [
            completed("old", 0),
            completed("new", 3 * day),
            ended("failed-old", RunOutcome::Failed("boom".into()), 0),
            ended("failed-new", RunOutcome::Cancelled, 3 * day),
        ],
    )
    .await;
    // At day 4: completed runs are kept 2 days, failed ones 7.
    let retention = Retention::new()
        .with_completed_for(2 * DAY)
        .with_failed_for(7 * DAY);
    let removed = store
        .apply_retention(&retention, at(4 * day))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(left(&store).await, ["failed-new", "failed-old", "new"]);
    // At day 8 the old failure goes too, and the day-3 completion.
    let removed = store
        .apply_retention(&retention, at(8 * day))
        .await
        .unwrap();
    assert_eq!(removed, 2);
    assert_eq!(left(&store).await, ["failed-new"]);
}

pub(crate) async fn unended_runs_and_parents_of_unended_children_stay<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    create(
        &store,
        [
            record("running"),
            record("undoing").with_state(RunState::Compensating(AfterCompensation::Cancelled)),
            completed("parent", 1),
            child("busy-child", "parent"),
        ],
    )
    .await;
    let everything = Retention::new()
        .with_completed_newest(0)
        .with_failed_newest(0);
    let removed = store
        .apply_retention(&everything, at(0) + 100 * DAY)
        .await
        .unwrap();
    assert_eq!(removed, 0);
    assert_eq!(
        left(&store).await,
        ["busy-child", "parent", "running", "undoing"]
    );
}

pub(crate) async fn child_runs_go_with_their_parent_and_are_not_counted<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    // A parent and its ended children, all completed long ago; a newer
    // top-level run. Only top-level runs count toward the newest 1.
    create(
        &store,
        [
            completed("parent", 1),
            completed("c1", 2).with_parent(RunId::new("parent")),
            completed("c2", 3).with_parent(RunId::new("parent")),
            completed("g", 4).with_parent(RunId::new("c1")),
            completed("newer", 10),
        ],
    )
    .await;
    let retention = Retention::new().with_completed_newest(1);
    let removed = store.apply_retention(&retention, at(20)).await.unwrap();
    assert_eq!(removed, 1, "one top-level run, its children with it");
    assert_eq!(left(&store).await, ["newer"]);
}
