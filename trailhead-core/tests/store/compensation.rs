//! Rollbacks: a run being undone, how it ends, and a rollback resumed.

use trailhead_core::RunId;
use trailhead_core::store::{AfterCompensation, RunOutcome, RunState, RunStatus, Store};

use crate::backend::Backend;
use crate::fixtures::{
    assert_run_finished, assert_unknown_run, child, ended, keys, record, run_of, step, value,
};

pub(crate) async fn a_running_run_is_undone_through_the_handle_it_gets<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("book", serde_json::json!(1)))
        .await
        .unwrap();
    let then = AfterCompensation::Failed("card declined".into());
    let undo = store
        .begin_compensation(&RunId::new("r"), then.clone())
        .await
        .unwrap();
    assert_eq!(
        run_of(&store, "r").await.state,
        RunState::Compensating(then.clone())
    );
    assert_eq!(
        store
            .list_runs(Some(RunStatus::Compensating))
            .await
            .unwrap()
            .len(),
        1
    );
    undo.record_step(step("unbook", serde_json::json!(null)))
        .await
        .unwrap();
    undo.finish(then.into()).await.unwrap();
    let run = run_of(&store, "r").await;
    assert_eq!(
        run.outcome(),
        Some(&RunOutcome::Failed("card declined".into()))
    );
    assert!(run.finished_at().is_some());
    assert_eq!(keys(&store, "r").await, ["book", "unbook"]);
    assert_run_finished(
        undo.record_step(step("late", serde_json::json!(1))).await,
        "r",
    );
}

pub(crate) async fn a_completed_child_run_is_undone_with_its_output_kept<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store.create_run(record("p")).await.unwrap();
    let output = value(serde_json::json!({"booked": 7}));
    let writer = store.create_run(child("c", "p")).await.unwrap();
    writer
        .finish(RunOutcome::Completed(output.clone()))
        .await
        .unwrap();
    let then = AfterCompensation::Compensated {
        output: output.clone(),
        cause: "its parent run `p` was undone".into(),
    };
    let undo = store
        .begin_compensation(&RunId::new("c"), then.clone())
        .await
        .unwrap();
    assert_eq!(
        run_of(&store, "c").await.state,
        RunState::Compensating(then.clone())
    );
    undo.finish(then.into()).await.unwrap();
    let run = run_of(&store, "c").await;
    assert_eq!(run.status(), RunStatus::Compensated);
    assert_eq!(
        run.outcome(),
        Some(&RunOutcome::Compensated {
            output,
            cause: "its parent run `p` was undone".into()
        })
    );
}

pub(crate) async fn a_resumed_rollback_keeps_the_outcome_recorded_first<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let writer = store.create_run(record("r")).await.unwrap();
    writer
        .record_step(step("book", serde_json::json!(1)))
        .await
        .unwrap();
    let first = AfterCompensation::Cancelled;
    let undo = store
        .begin_compensation(&RunId::new("r"), first.clone())
        .await
        .unwrap();
    undo.record_step(step("unbook", serde_json::json!(null)))
        .await
        .unwrap();
    // Resumed (after a restart, say) with another idea of how it ends.
    let again = store
        .begin_compensation(&RunId::new("r"), AfterCompensation::Failed("other".into()))
        .await
        .unwrap();
    assert_eq!(
        run_of(&store, "r").await.state,
        RunState::Compensating(first)
    );
    again
        .record_step(step("unpay", serde_json::json!(null)))
        .await
        .unwrap();
    again.finish(RunOutcome::Cancelled).await.unwrap();
    assert_eq!(keys(&store, "r").await, ["book", "unbook", "unpay"]);
    assert_eq!(run_of(&store, "r").await.status(), RunStatus::Cancelled);
}

pub(crate) async fn a_failed_or_cancelled_run_cannot_be_undone<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    for (id, outcome) in [
        ("failed", RunOutcome::Failed("boom".into())),
        ("cancelled", RunOutcome::Cancelled),
    ] {
        let given = ended(id, outcome, 5);
        store.create_run(given.clone()).await.unwrap();
        assert_run_finished(
            store
                .begin_compensation(&RunId::new(id), AfterCompensation::Cancelled)
                .await,
            id,
        );
        assert_eq!(run_of(&store, id).await, given, "`{id}` unchanged");
    }
}

pub(crate) async fn a_completed_top_level_run_cannot_be_undone<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let given = ended(
        "done",
        RunOutcome::Completed(value(serde_json::json!(7))),
        5,
    );
    store.create_run(given.clone()).await.unwrap();
    // A worker that lost the race to finish it must not roll it back.
    assert_run_finished(
        store
            .begin_compensation(
                &RunId::new("done"),
                AfterCompensation::Failed("late".into()),
            )
            .await,
        "done",
    );
    assert_eq!(run_of(&store, "done").await, given, "unchanged");
}

pub(crate) async fn a_run_whose_compensation_ended_cannot_be_undone_again<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let ends = [
        (
            "compensated",
            RunOutcome::Compensated {
                output: value(serde_json::json!(1)),
                cause: "parent undone".into(),
            },
        ),
        (
            "stuck",
            RunOutcome::CompensationFailed {
                step: trailhead_core::StepKey::new("charge", &[]),
                error: "refund refused".into(),
                cause: "declined".into(),
            },
        ),
    ];
    for (id, outcome) in ends {
        let given = child(id, "p").with_state(RunState::ended(outcome, crate::fixtures::at(5)));
        store.create_run(given.clone()).await.unwrap();
        let then = AfterCompensation::Compensated {
            output: value(serde_json::json!(1)),
            cause: "parent undone again".into(),
        };
        assert_run_finished(store.begin_compensation(&RunId::new(id), then).await, id);
        assert_eq!(run_of(&store, id).await, given, "`{id}` unchanged");
    }
}

pub(crate) async fn undoing_an_unknown_run_is_refused<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    assert_unknown_run(
        store
            .begin_compensation(&RunId::new("nope"), AfterCompensation::Cancelled)
            .await,
        "nope",
    );
}
