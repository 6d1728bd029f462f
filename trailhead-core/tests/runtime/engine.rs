//! Starting runs, what the store records about them, and the events they emit.

use crate::common;

use common::{Boom, drain, retry_any, value};
use futures::StreamExt;
use serde_json::json;
use trailhead_core::__private::{StepSpec, no_decode, text_only, transient};
use trailhead_core::{
    Engine, EngineError, Error, RunError, RunId, RunOutcome, RunStatus, StepError, StepFailure,
    StepKey, StepOutcome, StepPolicy, StoreError,
};

// Parses the input, doubles it once per loop iteration, then adds them up.
impl_workflow!(Pipeline("pipeline"): String => u64, Error, |ctx, text| {
    let n: u64 = ctx
        .step_once(
            StepSpec::new("parse", &[], StepPolicy::DEFAULT),
            || async move { text.trim().parse::<u64>().map_err(Error::new) },
            transient,
            text_only,
            no_decode,
        )
        .await?;
    let mut total = 0;
    for i in 0..2_u32 {
        total += ctx
            .step(
                StepSpec::new("double", &[i], StepPolicy::DEFAULT),
                || async move { Ok::<_, Boom>(n * 2) },
                retry_any, text_only, no_decode,
            )
            .await?;
    }
    Ok(total)
});

// Runs step `a` twice: the journal must refuse the second entry.
impl_workflow!(Twice("twice"): () => u32, StepError<Boom>, |ctx, ()| {
    let first = ctx
        .step(StepSpec::new("a", &[], StepPolicy::DEFAULT), || async { Ok(1) }, retry_any, text_only, no_decode)
        .await?;
    let second = ctx
        .step(StepSpec::new("a", &[], StepPolicy::DEFAULT), || async { Ok(2) }, retry_any, text_only, no_decode)
        .await?;
    Ok(first + second)
});

/// `Some(None)` would read back as `None`: the journal refuses it.
type Unencodable = Option<Option<u32>>;

impl_workflow!(BadStepOutput("bad_step_output"): () => u32, StepError<Boom>, |ctx, ()| {
    let map = ctx
        .step(
            StepSpec::new("map", &[], StepPolicy::DEFAULT),
            || async { Ok::<Unencodable, Boom>(Some(None)) },
            retry_any, text_only, no_decode,
        )
        .await?;
    Ok(map.flatten().unwrap_or_default())
});

impl_workflow!(BadOutput("bad_output"): () => Unencodable, Error, |_ctx, ()| {
    Ok(Some(None))
});

impl_workflow!(BadInput("bad_input"): Unencodable => (), Error, |_ctx, _input| { Ok(()) });

impl_workflow!(Panics("panics"): () => (), Error, |_ctx, ()| {
    panic!("kaboom");
});

#[tokio::test(start_paused = true)]
async fn a_run_is_recorded_with_its_input_output_and_journal() {
    let engine = Engine::new();
    let id = RunId::new("r");
    let handle = engine
        .start_with_id(id.clone(), Pipeline, " 21 ".into())
        .await
        .unwrap();
    assert_eq!(handle.id(), &id);
    assert!(format!("{handle:?}").contains("\"r\""));
    assert_eq!(handle.result().await.unwrap(), 84);

    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.workflow, "pipeline");
    assert_eq!(record.definition_hash, 0x5eed);
    assert_eq!(record.mermaid, "flowchart TD\n  pipeline");
    assert_eq!(record.input, value(json!(" 21 ")));
    assert_eq!(record.parent, None);
    assert_eq!(record.status(), RunStatus::Completed);
    assert_eq!(
        record.outcome().cloned(),
        Some(RunOutcome::Completed(value(json!(84))))
    );
    assert!(record.finished_at().unwrap() >= record.created_at);

    let journal = engine.journal(&id).await.unwrap();
    let entries: Vec<_> = journal
        .iter()
        .map(|step| (step.key.to_string(), step.outcome.clone(), step.attempts))
        .collect();
    let completed = |n| StepOutcome::Completed(value(json!(n)));
    assert_eq!(
        entries,
        [
            ("parse".into(), completed(21), 1),
            ("double[0]".into(), completed(42), 1),
            ("double[1]".into(), completed(42), 1),
        ]
    );
    assert!(
        journal
            .iter()
            .all(|step| step.finished_at >= step.started_at)
    );
}

#[tokio::test(start_paused = true)]
async fn events_follow_the_run_in_order() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    engine
        .start_with_id(RunId::new("r"), Pipeline, "1".into())
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(
        drain(&mut events),
        [
            "r started (pipeline)",
            "r parse#1 started",
            "r parse#1 completed",
            "r double[0]#1 started",
            "r double[0]#1 completed",
            "r double[1]#1 started",
            "r double[1]#1 completed",
            "r completed",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn subscribers_get_only_later_events_and_each_gets_all_of_them() {
    let engine = Engine::new();
    engine.run(Pipeline, "1".into()).await.unwrap();
    let mut first = engine.subscribe();
    let second = engine.subscribe();
    engine
        .start_with_id(RunId::new("later"), Twice, ())
        .await
        .unwrap()
        .result()
        .await
        .unwrap_err();
    drop(engine);

    let from_first = drain(&mut first);
    assert_eq!(from_first.first().unwrap(), "later started (twice)");
    // The stream ends once the engine and its runs are gone.
    let from_second: Vec<_> = second.map(|event| common::describe(&event)).collect().await;
    assert_eq!(from_first, from_second);
    assert_eq!(from_first.len(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_taken_run_id_is_refused() {
    let engine = Engine::new();
    let id = RunId::new("r");
    engine
        .start_with_id(id.clone(), Pipeline, "1".into())
        .await
        .unwrap();
    let error = engine
        .start_with_id(id.clone(), Pipeline, "2".into())
        .await
        .unwrap_err();
    assert!(matches!(&error, EngineError::Store(StoreError::RunExists { run }) if *run == id));
    assert_eq!(error.run(), Some(&id));
    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(
        record.input,
        value(json!("1")),
        "the first run's record is kept"
    );
}

#[tokio::test]
async fn unknown_runs_have_no_record_and_no_journal() {
    let engine = Engine::new();
    let id = RunId::new("nope");
    assert!(engine.run_record(&id).await.unwrap().is_none());
    assert!(matches!(
        engine.journal(&id).await,
        Err(EngineError::Store(StoreError::UnknownRun { run })) if run == id
    ));
}

#[tokio::test(start_paused = true)]
async fn a_step_key_recorded_twice_is_refused() {
    let engine = Engine::new();
    let id = RunId::new("r");
    let result = engine
        .start_with_id(id.clone(), Twice, ())
        .await
        .unwrap()
        .result()
        .await;

    let Err(RunError::Failed { error, .. }) = result else {
        panic!("the run should fail");
    };
    assert_eq!(error.step, StepKey::new("a", &[]));
    assert!(matches!(
        &error.failure,
        StepFailure::Journal(StoreError::DuplicateStep { run, step })
            if *run == id && step.name() == "a"
    ));
    let journal = engine.journal(&id).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(
        journal[0].outcome,
        StepOutcome::Completed(value(json!(1))),
        "not overwritten"
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_output_that_cannot_be_journaled_fails_the_step() {
    let engine = Engine::new();
    let result = engine.run(BadStepOutput, ()).await;
    let Err(RunError::Failed { error, .. }) = result else {
        panic!("the run should fail");
    };
    assert!(matches!(
        &error.failure,
        StepFailure::Journal(StoreError::Encode { step: Some(step), what: "output", .. }) if step.name() == "map"
    ));
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test(start_paused = true)]
async fn an_output_that_cannot_be_encoded_fails_the_run() {
    let engine = Engine::new();
    let handle = engine.start(BadOutput, ()).await.unwrap();
    let id = handle.id().clone();
    let result = handle.result().await;
    assert!(matches!(
        result,
        Err(RunError::Engine(EngineError::Store(StoreError::Encode { run, step: None, what: "output", .. }))) if run == id
    ));
    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Failed);
    assert!(matches!(
        record.outcome().cloned(),
        Some(RunOutcome::Failed(text)) if text.starts_with("could not encode the output")
    ));
}

#[tokio::test]
async fn an_input_that_cannot_be_encoded_starts_nothing() {
    let engine = Engine::new();
    let id = RunId::new("r");
    let error = engine
        .start_with_id(id.clone(), BadInput, Some(None))
        .await
        .unwrap_err();
    assert!(
        matches!(error, EngineError::Store(StoreError::Encode { run, step: None, what: "input", .. }) if run == id)
    );
    assert!(engine.run_record(&id).await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_panicking_workflow_is_recorded_as_failed() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let id = RunId::new("r");
    let result = engine
        .start_with_id(id.clone(), Panics, ())
        .await
        .unwrap()
        .result()
        .await;

    let Err(RunError::Engine(EngineError::TaskFailed { run, message })) = result else {
        panic!("the run should fail");
    };
    assert_eq!(
        (run, message.as_str()),
        (id.clone(), "the run panicked: kaboom")
    );
    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(
        record.outcome().cloned(),
        Some(RunOutcome::Failed("the run panicked: kaboom".into()))
    );
    assert_eq!(
        drain(&mut events).last().unwrap(),
        "r failed: the run panicked: kaboom"
    );
}

#[tokio::test(start_paused = true)]
async fn the_store_lists_runs_by_status() {
    let engine = Engine::new();
    engine
        .start_with_id(RunId::new("ok"), Pipeline, "1".into())
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    engine
        .start_with_id(RunId::new("bad"), Pipeline, "x".into())
        .await
        .unwrap()
        .result()
        .await
        .unwrap_err();
    let failed = engine
        .store()
        .list_runs(Some(RunStatus::Failed))
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id.as_str(), "bad");
    assert_eq!(engine.store().list_runs(None).await.unwrap().len(), 2);
}
