//! Sub-workflows: `call` runs another workflow as a child run with its own record
//! and journal; every workflow is also a typed function for plain Rust.

use crate::support;

use support::journal_keys;
use trailhead::{Engine, RunError, RunStatus, workflow};

#[derive(Debug, thiserror::Error)]
#[error("bad input: {0}")]
struct BadInput(u32);

async fn check(x: u32) -> Result<u32, BadInput> {
    if x == 13 { Err(BadInput(x)) } else { Ok(x) }
}

async fn add(a: u32, b: u32) -> Result<u32, BadInput> {
    Ok(a + b)
}

workflow! {
    /// Checks a number (a child workflow).
    pub workflow checked(x: u32) -> Result<u32, trailhead::Error> {
        let x = step check(x);
        Ok(x)
    }

    /// Checks both numbers through the child and adds them.
    pub workflow checked_sum(a: u32, b: u32) -> Result<u32, trailhead::Error> {
        let a = call checked(a);
        let b = call checked(b);
        let sum = step add(a, b);
        Ok(sum)
    }

    /// Calls the child once per item: calls inside loops are keyed by iteration.
    pub workflow checked_all(xs: Vec<u32>) -> Result<u32, trailhead::Error> {
        let mut total = 0;
        for x in xs {
            total += call checked(x);
        }
        Ok(total)
    }
}

#[tokio::test]
async fn a_call_runs_a_child_with_its_own_record_and_journal() {
    let engine = Engine::new();
    let handle = engine.start(checked_sum, (2, 3)).await.unwrap();
    let parent = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), 5);

    assert_eq!(
        journal_keys(&engine, &parent).await,
        ["checked", "checked#2", "add"]
    );
    let children: Vec<_> = engine
        .store()
        .list_runs(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|run| run.parent.as_ref() == Some(&parent))
        .collect();
    assert_eq!(children.len(), 2);
    for child in &children {
        assert_eq!(child.workflow, "checked");
        assert_eq!(child.status(), RunStatus::Completed);
        assert_eq!(journal_keys(&engine, &child.id).await, ["check"]);
    }
}

#[tokio::test]
async fn a_failing_child_fails_the_parent_naming_the_call() {
    let engine = Engine::new();
    let handle = engine.start(checked_sum, (2, 13)).await.unwrap();
    let parent = handle.id().clone();
    let error = handle.result().await.unwrap_err();
    let RunError::Failed { run, error } = error else {
        panic!("expected the workflow's own error, got {error}")
    };
    assert_eq!(run, parent);
    let text = error.to_string();
    assert!(text.contains("checked#2"), "{text}");
    assert!(text.contains("bad input: 13"), "{text}");
    assert_eq!(
        journal_keys(&engine, &parent).await,
        ["checked", "checked#2"]
    );
}

#[tokio::test]
async fn calls_in_loops_get_one_child_per_iteration() {
    let engine = Engine::new();
    let handle = engine.start(checked_all, vec![1, 2, 3]).await.unwrap();
    let parent = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), 6);
    assert_eq!(
        journal_keys(&engine, &parent).await,
        ["checked[0]", "checked[1]", "checked[2]"]
    );
}

#[tokio::test]
async fn every_workflow_is_a_typed_function() {
    let engine = Engine::new();
    let sum: u32 = checked_sum::run(&engine, 20, 22).await.unwrap();
    assert_eq!(sum, 42);
    assert!(matches!(
        checked::run(&engine, 13).await,
        Err(RunError::Failed { .. })
    ));
}
