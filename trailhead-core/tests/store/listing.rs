//! Listing runs: all or by status, oldest first; a run's children.

use trailhead_core::RunId;
use trailhead_core::store::{AfterCompensation, RunOutcome, RunState, Store};

use crate::backend::Backend;
use crate::fixtures::{at, child, ended, ids, record, value};

pub(crate) async fn runs_are_listed_oldest_first<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    // Created out of order, each with its own creation time.
    for (id, secs) in [("b", 20), ("d", 40), ("a", 10), ("c", 30)] {
        store
            .create_run(record(id).with_created_at(at(secs)))
            .await
            .unwrap();
    }
    assert_eq!(
        ids(&store.list_runs(None).await.unwrap()),
        ["a", "b", "c", "d"]
    );
}

pub(crate) async fn runs_are_listed_by_status<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let output = value(serde_json::json!(1));
    let runs = [
        ("running", RunState::Running),
        (
            "compensating",
            RunState::Compensating(AfterCompensation::Cancelled),
        ),
        (
            "completed",
            RunState::ended(RunOutcome::Completed(output.clone()), at(50)),
        ),
        (
            "failed",
            RunState::ended(RunOutcome::Failed("boom".into()), at(50)),
        ),
        ("cancelled", RunState::ended(RunOutcome::Cancelled, at(50))),
        (
            "stuck",
            RunState::ended(
                RunOutcome::CompensationFailed {
                    step: trailhead_core::StepKey::new("charge", &[]),
                    error: "refused".into(),
                    cause: "declined".into(),
                },
                at(50),
            ),
        ),
        (
            "compensated",
            RunState::ended(
                RunOutcome::Compensated {
                    output,
                    cause: "parent undone".into(),
                },
                at(50),
            ),
        ),
    ];
    for (n, (id, state)) in runs.iter().enumerate() {
        store
            .create_run(
                record(id)
                    .with_state(state.clone())
                    .with_created_at(at(n as u64)),
            )
            .await
            .unwrap();
        // A second run of each status, newer, to see the order within one.
        let second = format!("{id}-2");
        store
            .create_run(
                record(&second)
                    .with_state(state.clone())
                    .with_created_at(at(100 + n as u64)),
            )
            .await
            .unwrap();
    }
    for (id, state) in &runs {
        let listed = store.list_runs(Some(state.status())).await.unwrap();
        assert_eq!(ids(&listed), [id.to_string(), format!("{id}-2")], "{id}");
        assert!(listed.iter().all(|run| &run.state == state));
    }
    assert_eq!(store.list_runs(None).await.unwrap().len(), 14);
}

pub(crate) async fn children_are_the_runs_a_run_started_oldest_first<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    store.create_run(record("p")).await.unwrap();
    store.create_run(record("other")).await.unwrap();
    for (id, parent, secs) in [
        ("c2", "p", 20),
        ("c1", "p", 10),
        ("grandchild", "c1", 30),
        ("elsewhere", "other", 5),
    ] {
        store
            .create_run(child(id, parent).with_created_at(at(secs)))
            .await
            .unwrap();
    }
    store
        .create_run(
            ended("c3", RunOutcome::Cancelled, 40)
                .with_parent(RunId::new("p"))
                .with_created_at(at(40)),
        )
        .await
        .unwrap();
    let children = store.children(&RunId::new("p")).await.unwrap();
    assert_eq!(
        ids(&children),
        ["c1", "c2", "c3"],
        "direct children only, ended ones too"
    );
    assert_eq!(children[0], child("c1", "p").with_created_at(at(10)));
    assert_eq!(
        ids(&store.children(&RunId::new("c1")).await.unwrap()),
        ["grandchild"]
    );
    assert!(store.children(&RunId::new("c2")).await.unwrap().is_empty());
}
