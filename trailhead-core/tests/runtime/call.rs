//! Sub-workflows: `call` starts a child run with its own record and journal.

use crate::common;

use std::time::Duration;

use common::{Boom, drain, retry_any, value};
use serde_json::json;
use trailhead_core::__private::{StepSpec, no_decode, text_only};
use trailhead_core::{
    Engine, Error, RunError, RunId, RunOutcome, RunStatus, StepError, StepFailure, StepKey,
    StepOutcome, StepPolicy,
};

// Multiplies by ten; fails on zero; naps `input` seconds first when above 100.
impl_workflow!(Child("child"): u64 => u64, StepError<Boom>, |ctx, n| {
    ctx.step(
        StepSpec::new("work", &[], StepPolicy::DEFAULT),
        || async move {
            if n > 100 {
                tokio::time::sleep(Duration::from_secs(n)).await;
            }
            if n == 0 { Err(Boom(0)) } else { Ok(n * 10) }
        },
        retry_any, text_only, no_decode,
    )
    .await
});

// Prepares, then ships through the child workflow.
impl_workflow!(Parent("parent"): u64 => u64, Error, |ctx, n| {
    let n = ctx
        .step(
            StepSpec::new("prepare", &[], StepPolicy::DEFAULT),
            || async move { Ok::<_, Boom>(n) },
            retry_any, text_only, no_decode,
        )
        .await?;
    Ok(ctx.call("ship", &[], Child, n).await?)
});

// Calls the child from inside a loop, at iteration 2.
impl_workflow!(Looping("looping"): u64 => u64, Error, |ctx, n| {
    Ok(ctx.call("ship", &[2], Child, n).await?)
});

#[tokio::test(start_paused = true)]
async fn a_child_run_has_its_own_record_and_journal() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let parent = RunId::new("p");
    let handle = engine
        .start_with_id(parent.clone(), Parent, 4)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 40);

    let child = RunId::new("p/ship");
    let record = engine.run_record(&child).await.unwrap().unwrap();
    assert_eq!(record.workflow, "child");
    assert_eq!(record.parent, Some(parent.clone()));
    assert_eq!(record.input, value(json!(4)));
    assert_eq!(record.status(), RunStatus::Completed);
    assert_eq!(
        record.outcome().cloned(),
        Some(RunOutcome::Completed(value(json!(40))))
    );

    let keys = |journal: Vec<trailhead_core::StepRecord>| {
        journal
            .into_iter()
            .map(|step| (step.key.to_string(), step.outcome))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(engine.journal(&child).await.unwrap()),
        [("work".into(), StepOutcome::Completed(value(json!(40))))]
    );
    // The child's output is journaled in the parent too, under the call's key.
    assert_eq!(
        keys(engine.journal(&parent).await.unwrap()),
        [
            ("prepare".into(), StepOutcome::Completed(value(json!(4)))),
            ("ship".into(), StepOutcome::Completed(value(json!(40)))),
        ]
    );
    assert_eq!(
        drain(&mut events),
        [
            "p started (parent)",
            "p prepare#1 started",
            "p prepare#1 completed",
            "p ship#1 started",
            "p/ship started (child) by p",
            "p/ship work#1 started",
            "p/ship work#1 completed",
            "p/ship completed",
            "p ship#1 completed",
            "p completed",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_child_fails_the_call_with_its_error() {
    let engine = Engine::new();
    let parent = RunId::new("p");
    let result = engine
        .start_with_id(parent.clone(), Parent, 0)
        .await
        .unwrap()
        .result()
        .await;

    let Err(RunError::Failed { error, .. }) = result else {
        panic!("the run should fail");
    };
    let error = error
        .into_inner()
        .downcast::<StepError<StepError<Boom>>>()
        .unwrap();
    assert_eq!(error.step, StepKey::new("ship", &[]));
    let StepFailure::Error(child_error) = &error.failure else {
        panic!("the call should fail with the child's error");
    };
    assert_eq!(child_error.run.as_str(), "p/ship");
    assert_eq!(
        error.to_string(),
        "step `ship` of run `p` failed after 1 attempt(s): \
         step `work` of run `p/ship` failed after 1 attempt(s): boom 0"
    );
    let child = engine
        .run_record(&RunId::new("p/ship"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(child.status(), RunStatus::Failed);
    let journal = engine.journal(&parent).await.unwrap();
    assert_eq!(journal[1].key.name(), "ship");
    assert!(
        matches!(&journal[1].outcome, StepOutcome::Failed(failed) if failed.message.ends_with("boom 0"))
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_parent_cancels_the_child_first() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let parent = RunId::new("p");
    let handle = engine
        .start_with_id(parent.clone(), Parent, 3_600)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;

    handle.cancel();
    assert!(matches!(
        handle.result().await,
        Err(RunError::Cancelled { .. })
    ));
    let child = engine
        .run_record(&RunId::new("p/ship"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(child.status(), RunStatus::Cancelled);
    assert_eq!(
        drain(&mut events)[4..],
        [
            "p/ship started (child) by p",
            "p/ship work#1 started",
            "p/ship work#1 cancelled",
            "p/ship cancelled",
            "p ship#1 cancelled",
            "p cancelled",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_inside_a_loop_names_the_child_after_its_key() {
    let engine = Engine::new();
    let handle = engine
        .start_with_id(RunId::new("p"), Looping, 1)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 10);
    let child = engine.run_record(&RunId::new("p/ship[2]")).await.unwrap();
    assert_eq!(child.unwrap().status(), RunStatus::Completed);
}
