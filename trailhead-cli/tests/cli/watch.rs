//! `trailhead watch RUN`: follows a run another process drives until it
//! ends, and exits with how it ended.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use trailhead::RunId;

use crate::support::{self, code, filled, on, stderr, stdout};

/// `trailhead watch RUN` on the store at `path`, started as a child
/// process that another process's run progresses under.
fn watching_from_outside(path: &std::path::Path, run: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_trailhead"))
        .args(["--store", path.to_str().unwrap(), "watch", run])
        .env_remove("TRAILHEAD_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What `watching` printed once it exited.
async fn ended(watching: Child) -> Output {
    tokio::task::spawn_blocking(move || watching.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn watching_a_run_that_completes_meanwhile_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let engine = support::engine(&path);
    let handle = engine
        .start_with_id(RunId::new("review-1"), support::review, "spec".to_owned())
        .await
        .unwrap();
    let mut watching = watching_from_outside(&path, "review-1");
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
    let watched = ended(watching).await;
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

async fn pack(box_number: u32) -> Result<u32, trailhead::Error> {
    tokio::time::sleep(Duration::from_millis(150)).await;
    Ok(box_number)
}

async fn label(box_number: u32) -> Result<String, trailhead::Error> {
    Ok(format!("box {box_number}"))
}

trailhead::workflow! {
    /// Packs and labels boxes one at a time.
    pub workflow packing(boxes: u32) -> Result<u32, trailhead::Error> {
        let mut packed = 0;
        for n in 0..boxes {
            let number = step pack(n);
            let _text = step label(number);
            packed += 1;
        }
        Ok(packed)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn off_a_terminal_each_loop_step_is_a_line_as_it_progresses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let engine = support::engine(&path);
    let handle = engine
        .start_with_id(RunId::new("pack-1"), packing, 6)
        .await
        .unwrap();
    let watching = watching_from_outside(&path, "pack-1");
    assert_eq!(handle.result().await.unwrap(), 6);
    let watched = ended(watching).await;
    assert_eq!(code(&watched), 0, "{}", stderr(&watched));
    let lines = stderr(&watched);
    // Each site's lines, in order: its count grows to the loop's six items.
    for site in ["pack", "label"] {
        let counts: Vec<(u32, u32)> = lines
            .lines()
            .filter_map(|line| line.strip_prefix(&format!("{site} ×")))
            .map(|rest| {
                let (of, rest) = rest.split_once(": ").unwrap();
                let done = rest.split(' ').next().unwrap();
                (of.parse().unwrap(), done.parse().unwrap())
            })
            .collect();
        assert_eq!(counts.last(), Some(&(6, 6)), "{site} in:\n{lines}");
        assert!(
            counts.windows(2).all(|pair| pair[0].1 <= pair[1].1),
            "{site} never goes back:\n{lines}"
        );
        assert!(
            lines.contains(&format!("{site} ×6: 6 done, 0 failed")),
            "{lines}"
        );
    }
}
