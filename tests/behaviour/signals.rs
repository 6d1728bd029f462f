//! Signals: a run waits for a typed value sent from outside with
//! `engine.signal(run, name, value)`; the store keeps signals, so one may come
//! before the run waits or while its process is down. (How the value's type
//! is checked: `signal_types.rs`.)

use crate::support;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::{Engine, EngineError, RunId, StoreError, workflow};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Approval {
    by: String,
    approved: bool,
}

async fn publish(doc: &str, by: &str) -> Result<String, std::io::Error> {
    Ok(format!("{doc} approved by {by}"))
}

workflow! {
    workflow review(doc: String) -> Result<String, trailhead::Error> {
        let approval: Approval = signal "approval";
        let outcome = if approval.approved {
            step publish(&doc, &approval.by)
        } else {
            format!("{doc} rejected by {}", approval.by)
        };
        Ok(outcome)
    }

    workflow maybe_review(doc: String) -> Result<String, trailhead::Error> {
        let approval: Option<Approval> = signal "approval".timeout(1h);
        Ok(match approval {
            Some(approval) => format!("{doc}: {}", approval.by),
            None => format!("{doc}: nobody answered"),
        })
    }
}

#[tokio::test]
async fn a_run_waits_for_its_signal_and_gets_the_typed_value() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine.start(review, "spec".to_owned()).await.unwrap();
    let run = handle.id().clone();
    support::step_started(&mut events, "approval").await;
    engine
        .signal(
            &run,
            "approval",
            Approval {
                by: "ada".into(),
                approved: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "spec approved by ada");
    let keys = support::journal_keys(&engine, &run).await;
    assert_eq!(keys, ["approval", "publish"]);
}

#[tokio::test]
async fn a_signal_sent_before_the_run_waits_is_kept() {
    let engine = Engine::new();
    let run = RunId::new("early");
    // The run exists but has not reached its `signal` yet when the signal comes:
    // start it, signal at once.
    let handle = engine
        .start_with_id(run.clone(), review, "spec".to_owned())
        .await
        .unwrap();
    engine
        .signal(
            &run,
            "approval",
            Approval {
                by: "bob".into(),
                approved: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "spec rejected by bob");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_gives_none() {
    let engine = Engine::new();
    let started = tokio::time::Instant::now();
    assert_eq!(
        maybe_review::run(&engine, "memo".into()).await.unwrap(),
        "memo: nobody answered"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(3_600));
}

#[tokio::test]
async fn unknown_and_finished_runs_are_typed_errors() {
    let engine = Engine::new();
    assert!(matches!(
        engine.signal(&RunId::new("nobody"), "approval", true).await,
        Err(EngineError::Store(StoreError::UnknownRun { .. }))
    ));
    let handle = engine.start(review, "spec".to_owned()).await.unwrap();
    let run = handle.id().clone();
    review::signal_approval(
        &engine,
        &run,
        Approval {
            by: "ada".into(),
            approved: true,
        },
    )
    .await
    .unwrap();
    handle.result().await.unwrap();
    // A finished run takes no more signals.
    assert!(matches!(
        engine.signal(&run, "approval", true).await,
        Err(EngineError::Store(StoreError::RunFinished { .. }))
    ));
}

#[test]
fn a_signal_sent_while_the_process_is_down_is_received_after_resuming() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("doc-1");
    {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let engine = Engine::open(&path).unwrap();
            let mut events = engine.subscribe();
            let _handle = engine
                .start_with_id(run.clone(), review, "spec".to_owned())
                .await
                .unwrap();
            support::step_started(&mut events, "approval").await;
        });
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Engine::open(&path).unwrap();
        // Sent while no process runs the workflow...
        engine
            .signal(
                &run,
                "approval",
                Approval {
                    by: "cy".into(),
                    approved: true,
                },
            )
            .await
            .unwrap();
        // ...and received once it resumes.
        let handle = engine.resume(review).await.unwrap().pop().unwrap();
        assert_eq!(handle.result().await.unwrap(), "spec approved by cy");
    });
}
