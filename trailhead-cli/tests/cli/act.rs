//! `trailhead cancel` and `trailhead signal`: acting on runs that another
//! process started.

use std::time::Duration;

use trailhead::RunId;
use trailhead::store::RunStatus;

use crate::support::{self, code, json, on, on_blocking, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_reaches_the_run_waiting_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let engine = support::engine(&path);
    let handle = engine
        .start_with_id(RunId::new("review-1"), support::review, "spec".to_owned())
        .await
        .unwrap();
    let sent = on_blocking(
        &path,
        &[
            "signal",
            "review-1",
            "approval",
            "--json",
            r#"{"by": "ada"}"#,
        ],
    )
    .await;
    assert_eq!(code(&sent), 0, "{}", stderr(&sent));
    assert_eq!(stdout(&sent), "signal `approval` sent to run `review-1`\n");
    let published = tokio::time::timeout(Duration::from_secs(10), handle.result())
        .await
        .expect("the run got its signal")
        .unwrap();
    assert_eq!(published, "spec approved by ada");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_the_workflow_does_not_wait_for_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let engine = support::engine(&path);
    let _handle = engine
        .start_with_id(RunId::new("review-2"), support::review, "spec".to_owned())
        .await
        .unwrap();
    let refused = on_blocking(&path, &["signal", "review-2", "aproval", "--json", "1"]).await;
    assert_eq!(code(&refused), 1);
    let message = stderr(&refused);
    assert!(message.contains("no signal `aproval`"), "{message}");
    assert!(
        message.contains("approval"),
        "lists what it waits for: {message}"
    );
    let bad_json = on_blocking(&path, &["signal", "review-2", "approval", "--json", "{by"]).await;
    assert_eq!(code(&bad_json), 2, "not JSON is a usage error");
    let gone = on_blocking(&path, &["signal", "nope", "approval", "--json", "1"]).await;
    assert_eq!(code(&gone), 3);
    engine.shutdown(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_ends_a_run_its_stopped_process_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    {
        let engine = support::engine(&path);
        engine
            .start_with_id(RunId::new("review-3"), support::review, "spec".to_owned())
            .await
            .unwrap();
        // Stopped while it waits: the run is left running, owned by no one.
        let left = engine.shutdown(Duration::ZERO).await;
        assert_eq!(left, [RunId::new("review-3")]);
    }
    let before = json(&on(&path, &["show", "review-3", "--json"]));
    assert_eq!(before["run"]["status"], "running");
    let cancelled = on_blocking(&path, &["cancel", "review-3"]).await;
    assert_eq!(code(&cancelled), 0, "{}", stderr(&cancelled));
    assert_eq!(stdout(&cancelled), "run `review-3` cancelled\n");
    let after = json(&on(&path, &["show", "review-3", "--json"]));
    assert_eq!(after["run"]["status"], "cancelled");
    let store = trailhead::SqliteStore::open_read_only(&path).unwrap();
    let record = trailhead::store::Store::run(&store, &RunId::new("review-3"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status(), RunStatus::Cancelled);

    let again = on_blocking(&path, &["cancel", "review-3"]).await;
    assert_eq!(code(&again), 1);
    assert!(
        stderr(&again).contains("has finished"),
        "{}",
        stderr(&again)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_stops_a_run_a_live_worker_drives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let engine = support::engine(&path);
    let handle = engine
        .start_with_id(RunId::new("review-4"), support::review, "spec".to_owned())
        .await
        .unwrap();
    // The CLI is another process: it asks, the engine here stops the run.
    let asked = on_blocking(&path, &["cancel", "review-4"]).await;
    assert_eq!(code(&asked), 0, "{}", stderr(&asked));
    let line = stdout(&asked);
    assert!(
        line == "run `review-4` asked to cancel: the worker that drives it stops it\n"
            || line == "run `review-4` cancelled\n",
        "{line}"
    );
    let ended = tokio::time::timeout(Duration::from_secs(20), handle.result())
        .await
        .expect("the live worker stopped the run");
    assert!(
        matches!(ended, Err(trailhead::RunError::Cancelled { .. })),
        "{ended:?}"
    );
    let after = json(&on(&path, &["show", "review-4", "--json"]));
    assert_eq!(after["run"]["status"], "cancelled");
}
