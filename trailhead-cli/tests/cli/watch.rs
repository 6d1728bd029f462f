//! `trailhead watch RUN`: follows a run another process drives until it
//! ends, and exits with how it ended.

use std::process::{Command, Stdio};
use std::time::Duration;

use trailhead::RunId;

use crate::support::{self, code, filled, on, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn watching_a_run_that_completes_meanwhile_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let engine = support::engine(&path);
    let handle = engine
        .start_with_id(RunId::new("review-1"), support::review, "spec".to_owned())
        .await
        .unwrap();
    let mut watching = Command::new(env!("CARGO_BIN_EXE_trailhead"))
        .args(["--store", path.to_str().unwrap(), "watch", "review-1"])
        .env_remove("TRAILHEAD_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run waits for its signal: the watch must still be watching.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        watching.try_wait().unwrap().is_none(),
        "watch exited before the run ended"
    );
    let approval = support::Approval { by: "ada".into() };
    engine
        .signal(&RunId::new("review-1"), "approval", approval)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "spec approved by ada");
    let watched = tokio::task::spawn_blocking(move || watching.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code(&watched), 0, "{}", stderr(&watched));
    let line = stdout(&watched);
    assert!(line.starts_with("run `review-1` completed after"), "{line}");
    assert!(line.contains("2 steps journaled"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watching_a_failed_run_exits_five_with_its_error() {
    let (_dir, path) = filled().await;
    let watched = on(&path, &["watch", "buy-2"]);
    assert_eq!(code(&watched), 5);
    let line = stdout(&watched);
    assert!(line.contains("run `buy-2` failed"), "{line}");
    assert!(line.contains("card declined"), "{line}");
    let unknown = on(&path, &["watch", "nope"]);
    assert_eq!(code(&unknown), 3);
}
