//! Blocking steps run on tokio's blocking pool.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{Boom, retry_any};
use trailhead_core::__private::{StepSpec, no_decode, text_only};
use trailhead_core::{
    Backoff, Engine, RetryPolicy, RunError, RunId, RunOutcome, StepError, StepFailure, StepPolicy,
};

// Returns the name of the thread the step ran on.
impl_workflow!(WhereAmI("where_am_i"): () => String, StepError<Boom>, |ctx, ()| {
    ctx.step_blocking(
        StepSpec::new("where", &[], StepPolicy::DEFAULT),
        || Ok(format!("{:?}", std::thread::current().id())),
        retry_any, text_only, no_decode,
    )
    .await
});

// Fails on the first `input` calls.
impl_workflow!(FlakyBlocking("flaky_blocking"): u32 => u32, StepError<Boom>, |ctx, failures| {
    let calls = Arc::new(AtomicU32::new(0));
    let policy = StepPolicy::new()
        .with_retry(RetryPolicy::attempts(5).with_backoff(Backoff::fixed(Duration::from_millis(10))));
    ctx.step_blocking(
        StepSpec::new("compute", &[], policy),
        move || {
            let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
            if call <= failures { Err(Boom(call)) } else { Ok(call) }
        },
        retry_any, text_only, no_decode,
    )
    .await
});

impl_workflow!(PanicsBlocking("panics_blocking"): () => (), StepError<Boom>, |ctx, ()| {
    ctx.step_blocking(
        StepSpec::new("explode", &[], StepPolicy::DEFAULT),
        || -> Result<(), Boom> { panic!("blocking kaboom") },
        retry_any, text_only, no_decode,
    )
    .await
});

#[tokio::test(start_paused = true)]
async fn a_blocking_step_runs_on_another_thread() {
    let engine = Engine::new();
    let here = format!("{:?}", std::thread::current().id());
    let there = engine.run(WhereAmI, ()).await.unwrap();
    assert_ne!(here, there);
}

#[tokio::test(start_paused = true)]
async fn a_blocking_step_is_retried() {
    let engine = Engine::new();
    let id = RunId::new("r");
    let result = engine
        .start_with_id(id.clone(), FlakyBlocking, 2)
        .await
        .unwrap()
        .result()
        .await;
    assert_eq!(result.unwrap(), 3);
    assert_eq!(engine.journal(&id).await.unwrap()[0].attempts, 3);
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_a_blocking_step_fails_the_step() {
    let engine = Engine::new();
    let id = RunId::new("r");
    let result = engine
        .start_with_id(id.clone(), PanicsBlocking, ())
        .await
        .unwrap()
        .result()
        .await;
    let Err(RunError::Failed { error, .. }) = result else {
        panic!("expected the step's failure, got {result:?}");
    };
    assert_eq!(error.step.to_string(), "explode");
    assert_eq!(error.attempts, 1);
    assert!(
        matches!(&error.failure, StepFailure::Panicked(message) if message == "blocking kaboom"),
        "{error}"
    );
    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(
        record.outcome().cloned(),
        Some(RunOutcome::Failed(
            "step `explode` of run `r` failed after 1 attempt(s): the step panicked: blocking kaboom"
                .into()
        ))
    );
}
