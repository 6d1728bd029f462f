//! Leases, on stores several workers share: one owner per unfinished run, a
//! live owner's runs refused to others, an ended owner's taken over, and the
//! old owner's handles fenced so they write nothing.
//!
//! A lease's epoch is not visible through the API; a takeover under a new
//! epoch shows in what it does: the new owner writes, the old owner's handle
//! is refused with `LeaseLost`, and a third worker is refused naming the new
//! owner.

use trailhead_core::store::{AfterCompensation, RunOutcome, RunState, RunStatus, Store};
use trailhead_core::{RunId, StoreError};

use crate::backend::Shared;
use crate::fixtures::{keys, record, run_of, step, value};

#[track_caller]
fn assert_held_by<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    run: &str,
    holder: &impl Store,
) {
    match result {
        Err(StoreError::LeaseHeld { run: named, worker }) => {
            assert_eq!(named.as_str(), run);
            assert_eq!(&worker, holder.worker(), "the holder is named");
        }
        other => panic!("expected LeaseHeld for `{run}`, got {other:?}"),
    }
}

#[track_caller]
fn assert_lease_lost<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    run: &str,
    loser: &trailhead_core::store::WorkerId,
) {
    match result {
        Err(StoreError::LeaseLost { run: named, worker }) => {
            assert_eq!(named.as_str(), run);
            assert_eq!(&worker, loser, "the worker that lost it is named");
        }
        other => panic!("expected LeaseLost for `{run}`, got {other:?}"),
    }
}

pub(crate) async fn workers_have_their_own_ids<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    assert_ne!(one.worker(), two.worker());
    assert_eq!(one.clone().worker(), one.worker(), "clones are one worker");
}

pub(crate) async fn a_run_held_by_a_live_worker_is_refused_to_another<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    let writer = one.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    assert_held_by(two.open_run(&RunId::new("r")).await, "r", &one);
    assert_held_by(
        two.begin_compensation(&RunId::new("r"), AfterCompensation::Cancelled)
            .await,
        "r",
        &one,
    );
    // Refusing changed nothing, and the owner goes on.
    assert_eq!(run_of(&two, "r").await.state, RunState::Running);
    writer
        .record_step(step("b", serde_json::json!(2)))
        .await
        .unwrap();
    writer.finish(RunOutcome::Cancelled).await.unwrap();
    // Reads are anyone's.
    assert_eq!(keys(&two, "r").await, ["a", "b"]);
    assert_eq!(run_of(&two, "r").await.status(), RunStatus::Cancelled);
}

pub(crate) async fn a_worker_opening_its_own_run_again_keeps_writing<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let first = one.create_run(record("r")).await.unwrap();
    let (_, _, second) = one.open_run(&RunId::new("r")).await.unwrap().unwrap();
    // Its own lease: the same claim, both handles write.
    first
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    second
        .record_step(step("b", serde_json::json!(2)))
        .await
        .unwrap();
    let undo = one
        .begin_compensation(&RunId::new("r"), AfterCompensation::Cancelled)
        .await
        .unwrap();
    undo.record_step(step("undo-a", serde_json::json!(null)))
        .await
        .unwrap();
    first.finish(RunOutcome::Cancelled).await.unwrap();
    assert_eq!(keys(&one, "r").await, ["a", "b", "undo-a"]);
}

pub(crate) async fn an_ended_workers_run_is_taken_over_with_its_journal<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let writer = one.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    drop(writer);
    backend.end(one).await;

    let two = backend.worker().await;
    let (read, journal, taken) = two.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(read, record("r"));
    assert_eq!(journal, [step("a", serde_json::json!(1))]);
    // Now two's: a third worker is refused, naming two.
    let three = backend.worker().await;
    assert_held_by(three.open_run(&RunId::new("r")).await, "r", &two);
    taken
        .record_step(step("b", serde_json::json!(2)))
        .await
        .unwrap();
    taken
        .finish(RunOutcome::Completed(value(serde_json::json!("done"))))
        .await
        .unwrap();
    assert_eq!(keys(&three, "r").await, ["a", "b"]);
    assert_eq!(run_of(&three, "r").await.status(), RunStatus::Completed);
}

pub(crate) async fn a_worker_whose_run_was_taken_over_writes_nothing<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let one_id = one.worker().clone();
    let stale = one.create_run(record("r")).await.unwrap();
    stale
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    // One ends while its handle lives on (a stalled worker's).
    backend.end(one).await;

    let two = backend.worker().await;
    let (_, journal, taken) = two.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(journal.len(), 1);

    assert_lease_lost(
        stale
            .record_step(step("b", serde_json::json!("stale")))
            .await,
        "r",
        &one_id,
    );
    assert_lease_lost(
        stale.finish(RunOutcome::Failed("stale end".into())).await,
        "r",
        &one_id,
    );
    assert_eq!(
        keys(&two, "r").await,
        ["a"],
        "the stale step was not journaled"
    );
    assert_eq!(
        run_of(&two, "r").await.state,
        RunState::Running,
        "nor the stale end"
    );

    // The new owner writes the same step without a duplicate, and ends it.
    taken
        .record_step(step("b", serde_json::json!("fresh")))
        .await
        .unwrap();
    taken
        .finish(RunOutcome::Completed(value(serde_json::json!(2))))
        .await
        .unwrap();
    let journal = two.journal(&RunId::new("r")).await.unwrap();
    assert_eq!(
        journal,
        [
            step("a", serde_json::json!(1)),
            step("b", serde_json::json!("fresh"))
        ]
    );
    assert_eq!(
        run_of(&two, "r").await.outcome(),
        Some(&RunOutcome::Completed(value(serde_json::json!(2))))
    );
}

pub(crate) async fn a_rollback_taken_over_fences_the_first_workers_compensations<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let one_id = one.worker().clone();
    let writer = one.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("book", serde_json::json!(1)))
        .await
        .unwrap();
    let first = AfterCompensation::Failed("declined".into());
    let stale = one
        .begin_compensation(&RunId::new("r"), first.clone())
        .await
        .unwrap();
    stale
        .record_step(step("unbook", serde_json::json!(null)))
        .await
        .unwrap();
    drop(writer);
    backend.end(one).await;

    // Two resumes the rollback: the outcome recorded first stays.
    let two = backend.worker().await;
    let taken = two
        .begin_compensation(&RunId::new("r"), AfterCompensation::Cancelled)
        .await
        .unwrap();
    assert_eq!(
        run_of(&two, "r").await.state,
        RunState::Compensating(first.clone())
    );
    assert_lease_lost(
        stale
            .record_step(step("unpay", serde_json::json!(null)))
            .await,
        "r",
        &one_id,
    );
    assert_lease_lost(stale.finish(first.clone().into()).await, "r", &one_id);
    assert_eq!(keys(&two, "r").await, ["book", "unbook"]);
    taken
        .record_step(step("unpay", serde_json::json!(null)))
        .await
        .unwrap();
    taken.finish(first.into()).await.unwrap();
    assert_eq!(keys(&two, "r").await, ["book", "unbook", "unpay"]);
    assert_eq!(run_of(&two, "r").await.status(), RunStatus::Failed);
}

pub(crate) async fn a_reopened_run_belongs_to_the_worker_that_reopened_it<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    let writer = one.create_run(record("r")).await.unwrap();
    writer
        .finish(RunOutcome::Failed("down".into()))
        .await
        .unwrap();
    two.reopen_run(&RunId::new("r")).await.unwrap();
    assert_held_by(one.open_run(&RunId::new("r")).await, "r", &two);
    let (_, _, handle) = two.open_run(&RunId::new("r")).await.unwrap().unwrap();
    handle
        .record_step(step("again", serde_json::json!(1)))
        .await
        .unwrap();
    handle.finish(RunOutcome::Cancelled).await.unwrap();
    assert_eq!(keys(&one, "r").await, ["again"]);
}

pub(crate) async fn a_finished_run_is_held_by_no_one<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    let writer = one.create_run(record("r")).await.unwrap();
    writer
        .finish(RunOutcome::Failed("down".into()))
        .await
        .unwrap();
    // Finishing released the lease: another live worker reads and retries it.
    let (read, _, handle) = two.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(read.status(), RunStatus::Failed);
    match handle.record_step(step("a", serde_json::json!(1))).await {
        Err(StoreError::RunFinished { run }) => assert_eq!(run.as_str(), "r"),
        other => panic!("expected RunFinished, got {other:?}"),
    }
    two.reopen_run(&RunId::new("r")).await.unwrap();
    assert_eq!(run_of(&one, "r").await.status(), RunStatus::Running);
}

/// Any worker may ask to cancel any run; each is told of the requests for
/// the runs it holds, and a worker that takes a run over, of its request.
pub(crate) async fn each_worker_is_told_only_of_the_runs_it_holds<B: Shared>() {
    let backend = B::new().await;
    let one = backend.worker().await;
    let two = backend.worker().await;
    one.create_run(record("mine")).await.unwrap();
    two.create_run(record("theirs")).await.unwrap();
    // Any worker may ask, of any run.
    two.request_cancel(&RunId::new("mine")).await.unwrap();
    one.request_cancel(&RunId::new("theirs")).await.unwrap();
    assert_eq!(crate::cancels::asked(&one).await, ["mine"]);
    assert_eq!(crate::cancels::asked(&two).await, ["theirs"]);
    // The worker that takes a run over is told of it with the run.
    backend.end(two).await;
    let three = backend.worker().await;
    let (taken, _, _) = three
        .open_run(&RunId::new("theirs"))
        .await
        .unwrap()
        .unwrap();
    assert!(taken.cancel_requested);
    assert_eq!(crate::cancels::asked(&three).await, ["theirs"]);
    assert_eq!(crate::cancels::asked(&one).await, ["mine"]);
}
