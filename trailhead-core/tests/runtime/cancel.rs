//! Cancelling runs, and what dropping a handle does not do.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Boom, drain, retry_any};
use tokio::time::Instant;
use trailhead_core::__private::{StepSpec, no_decode, text_only};
use trailhead_core::{Engine, RunError, RunId, RunOutcome, RunStatus, StepError, StepPolicy};

/// Set when the `nap` step's future is dropped before it finishes.
static NAP_DROPPED: AtomicBool = AtomicBool::new(false);

/// Sets [`NAP_DROPPED`] when dropped without being disarmed.
struct DropFlag(Option<&'static AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        if let Some(flag) = self.0 {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

// Sleeps `input` seconds in one step.
impl_workflow!(Sleeper("sleeper"): u64 => u64, StepError<Boom>, |ctx, secs| {
    ctx.step(
        StepSpec::new("nap", &[], StepPolicy::DEFAULT),
        || async move {
            let mut flag = DropFlag(Some(&NAP_DROPPED));
            tokio::time::sleep(Duration::from_secs(secs)).await;
            flag.0 = None;
            Ok(secs)
        },
        retry_any, text_only, no_decode,
    )
    .await
});

#[tokio::test(start_paused = true)]
async fn a_cancelled_run_drops_its_body_and_is_recorded_as_cancelled() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let began = Instant::now();
    let id = RunId::new("r");
    let handle = engine
        .start_with_id(id.clone(), Sleeper, 3_600)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!NAP_DROPPED.load(Ordering::SeqCst));

    handle.cancel();
    assert!(matches!(handle.result().await, Err(RunError::Cancelled { run }) if run == id));
    assert!(
        NAP_DROPPED.load(Ordering::SeqCst),
        "the step's future was dropped"
    );
    assert!(began.elapsed() < Duration::from_secs(2));

    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Cancelled);
    assert_eq!(record.outcome().cloned(), Some(RunOutcome::Cancelled));
    assert!(engine.journal(&id).await.unwrap().is_empty());
    assert_eq!(
        drain(&mut events),
        [
            "r started (sleeper)",
            "r nap#1 started",
            "r nap#1 cancelled",
            "r cancelled"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_does_not_cancel_the_run() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let id = RunId::new("r");
    drop(engine.start_with_id(id.clone(), Sleeper, 10).await.unwrap());

    tokio::time::sleep(Duration::from_secs(11)).await;
    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Completed);
    assert_eq!(drain(&mut events).last().unwrap(), "r completed");
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_finished_run_changes_nothing() {
    let engine = Engine::new();
    let id = RunId::new("r");
    let handle = engine.start_with_id(id.clone(), Sleeper, 1).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    handle.cancel();
    assert_eq!(handle.result().await.unwrap(), 1);
    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Completed);
}
