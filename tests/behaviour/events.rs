//! The event stream: what a run did, in order, typed.

use crate::support;

use std::time::Duration;

use trailhead::{Engine, Event, workflow};

async fn wait(ms: u64) -> Result<u64, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

async fn fail_once(flag: &std::sync::atomic::AtomicBool) -> Result<(), std::io::Error> {
    if flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
        Ok(())
    } else {
        Err(std::io::Error::other("first time fails"))
    }
}

static FLAG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

workflow! {
    workflow observed() -> Result<u64, trailhead::Error> {
        let a = step wait(100);
        step fail_once(&FLAG).retry(2, backoff = 10ms, jitter = false).after(a);
        let b = step wait(50).name("short").after(fail_once);
        Ok(a + b)
    }
}

/// The events reduced to comparable text.
fn describe(event: &Event) -> String {
    match event {
        Event::RunStarted { workflow, .. } => format!("run started {workflow}"),
        Event::RunCompleted { duration, .. } => format!("run completed {duration:?}"),
        Event::StepStarted { step, attempt, .. } => format!("{step} started #{attempt}"),
        Event::StepCompleted { step, duration, .. } => format!("{step} completed {duration:?}"),
        Event::StepRetrying {
            step,
            attempt,
            delay,
            ..
        } => {
            format!("{step} retrying after #{attempt} in {delay:?}")
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn events_arrive_in_order_with_keys_attempts_and_durations() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine.start(observed, ()).await.unwrap();
    let run = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), 150);
    let received = support::drain(&mut events);
    assert!(received.iter().all(|event| event.run() == &run));
    let described: Vec<String> = received.iter().map(describe).collect();
    assert_eq!(
        described,
        [
            "run started observed",
            "wait started #1",
            "wait completed 100ms",
            "fail_once started #1",
            "fail_once retrying after #1 in 10ms",
            "fail_once started #2",
            "fail_once completed 0ns",
            "short started #1",
            "short completed 50ms",
            "run completed 160ms",
        ]
    );
}
