//! Signals are typed at the sender: each workflow has a typed sender per
//! signal (`review::signal_approval(&engine, &run, approval)`), and
//! `engine.signal(..)` checks name and type against the run's definition when
//! the engine knows it, storing nothing it refuses.

use crate::support;

use serde::{Deserialize, Serialize};
use trailhead::{
    Engine, EngineError, RunError, RunId, StepFailure, StoreError, Workflow, workflow,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Approval {
    by: String,
    approved: bool,
}

fn approval(by: &str) -> Approval {
    Approval {
        by: by.into(),
        approved: true,
    }
}

workflow! {
    workflow review(doc: String) -> Result<String, trailhead::Error> {
        let approval: Approval = signal "approval";
        // The same signal again, later: one entry in `SIGNALS`.
        let second: Option<Approval> = signal "approval".timeout(1ms);
        let seconded = second.map_or_else(String::new, |again| format!(", then {}", again.by));
        Ok(format!("{doc} approved by {}{seconded}", approval.by))
    }

    workflow count(start: u64) -> Result<u64, trailhead::Error> {
        let more: u64 = signal "manager approval";
        Ok(start + more)
    }
}

#[test]
fn a_workflow_lists_each_signal_once_with_its_declared_type() {
    let signals = <review as Workflow>::SIGNALS;
    let listed: Vec<(&str, &str)> = signals
        .iter()
        .map(|spec| (spec.name(), spec.type_name()))
        .collect();
    assert_eq!(listed, [("approval", "Approval")]);
    let listed: Vec<(&str, &str)> = <count as Workflow>::SIGNALS
        .iter()
        .map(|spec| (spec.name(), spec.type_name()))
        .collect();
    assert_eq!(listed, [("manager approval", "u64")]);
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_refused_and_nothing_is_stored() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine.start(review, "spec".to_owned()).await.unwrap();
    let run = handle.id().clone();
    support::step_started(&mut events, "approval").await;

    let refused = engine.signal(&run, "approval", "yes please").await;
    let Err(EngineError::SignalType {
        run: refused_run,
        workflow,
        signal,
        expected,
        ..
    }) = &refused
    else {
        panic!("expected a typed refusal, got {refused:?}")
    };
    assert_eq!(refused_run, &run);
    assert_eq!(workflow, "review");
    assert_eq!(signal, "approval");
    assert_eq!(*expected, "Approval");
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("is declared as `Approval`"), "{message}");

    // Had the refused value been stored, the run would receive it first and
    // fail; it receives the right one instead.
    engine
        .signal(&run, "approval", approval("ada"))
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "spec approved by ada");
}

#[tokio::test]
async fn a_signal_the_workflow_does_not_wait_for_is_refused() {
    let engine = Engine::new();
    let handle = engine.start(count, 1).await.unwrap();
    let run = handle.id().clone();

    let refused = engine.signal(&run, "manager aproval", 2_u64).await;
    let Err(EngineError::UnknownSignal {
        workflow,
        signal,
        declared,
        ..
    }) = &refused
    else {
        panic!("expected an unknown signal, got {refused:?}")
    };
    assert_eq!(workflow, "count");
    assert_eq!(signal, "manager aproval");
    assert_eq!(declared, &["manager approval"]);
    let message = refused.unwrap_err().to_string();
    assert!(
        message.contains("waits for no signal `manager aproval`; its signals: `manager approval`"),
        "{message}"
    );

    // The typed sender of a name that is not an identifier.
    count::signal_manager_approval(&engine, &run, 2)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 3);
}

#[tokio::test]
async fn the_typed_sender_refuses_a_run_of_another_workflow() {
    let engine = Engine::new();
    let handle = engine.start(count, 1).await.unwrap();
    let run = handle.id().clone();
    let refused = review::signal_approval(&engine, &run, approval("ada")).await;
    assert!(
        matches!(
            &refused,
            Err(EngineError::OtherWorkflow { recorded, given: "review", .. }) if recorded == "count"
        ),
        "{refused:?}"
    );
    count::signal_manager_approval(&engine, &run, 1)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 2);
}

/// Runs `review` as `run` in a process of its own (a runtime and an engine
/// on the file at `path`), which stops while the run waits for its signal.
fn start_and_stop_waiting(path: &std::path::Path, run: &RunId) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Engine::open(path).unwrap();
        let mut events = engine.subscribe();
        let _handle = engine
            .start_with_id(run.clone(), review, "spec".to_owned())
            .await
            .unwrap();
        support::step_started(&mut events, "approval").await;
    });
}

#[test]
fn the_typed_sender_works_across_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("doc-1");
    start_and_stop_waiting(&path, &run);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // A new process, which has not met `review` yet: the typed sender
        // knows its type, and teaches the engine the definition.
        let engine = Engine::open(&path).unwrap();
        review::signal_approval(&engine, &run, approval("cy"))
            .await
            .unwrap();
        assert!(matches!(
            engine.signal(&run, "approval", 7).await,
            Err(EngineError::SignalType { .. })
        ));
        let handle = engine.resume(review).await.unwrap().pop().unwrap();
        assert_eq!(handle.result().await.unwrap(), "spec approved by cy");
    });
}

#[test]
fn a_run_whose_definition_the_engine_has_not_met_gets_the_signal_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("doc-2");
    start_and_stop_waiting(&path, &run);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Engine::open(&path).unwrap();
        // Nothing here knows what `review` declares: sent as it is...
        engine.signal(&run, "approval", "yes please").await.unwrap();
        // ...and the step that receives it fails, naming the run and the step.
        let handle = engine.resume(review).await.unwrap().pop().unwrap();
        let RunError::Failed { error, .. } = handle.result().await.unwrap_err() else {
            panic!("expected the step's failure")
        };
        let failure = error
            .into_inner()
            .downcast::<trailhead::StepError<std::convert::Infallible>>()
            .expect("a step error");
        assert_eq!(failure.run, run);
        assert_eq!(failure.step.to_string(), "approval");
        assert!(matches!(
            failure.failure,
            StepFailure::Journal(StoreError::Decode { .. })
        ));
    });
}
