//! Cancelling a run of a generated workflow: the run stops at once, its record
//! says so, and the result is `RunError::Cancelled`.

use crate::support;

use std::time::Duration;

use trailhead::{Engine, RunError, RunStatus, workflow};

async fn wait(secs: u64) -> Result<u64, std::io::Error> {
    tokio::time::sleep(Duration::from_secs(secs)).await;
    Ok(secs)
}

workflow! {
    workflow slow() -> Result<u64, trailhead::Error> {
        let a = step wait(1);
        let b = step wait(a * 3600).name("long");
        Ok(a + b)
    }
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_run_in_the_middle_of_a_step() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine.start(slow, ()).await.unwrap();
    let run = handle.id().clone();
    // Wait until the long step has started, then cancel.
    support::step_started(&mut events, "long").await;
    let started = tokio::time::Instant::now();
    handle.cancel();
    let error = handle.result().await.unwrap_err();
    assert!(
        matches!(error, RunError::Cancelled { run: ref r } if *r == run),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "did not wait for the step"
    );
    let record = engine
        .run_record(&run)
        .await
        .unwrap()
        .expect("the run is recorded");
    assert_eq!(record.status(), RunStatus::Cancelled);
    let journal = engine.journal(&run).await.unwrap();
    assert_eq!(journal.len(), 1, "only the finished step is journaled");
}
