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
    assert!(received.iter().all(|event| event.run() == Some(&run)));
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

async fn count(n: u64) -> Result<u64, std::io::Error> {
    Ok(n)
}

workflow! {
    workflow chatty() -> Result<u64, trailhead::Error> {
        let mut total = 0;
        for n in 0..20u64 {
            total += step count(n);
        }
        Ok(total)
    }
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_a_ring_behind_is_told_what_it_missed_and_reads_on() {
    let engine = Engine::builder().event_capacity(8).build();
    let mut slow = engine.subscribe();
    let handle = engine.start(chatty, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 190);
    // 1 run start, 20 × (started, completed), 1 run completion: 42 events,
    // of which the ring kept the last 8: from the completion of `count[16]`.
    let received = support::drain(&mut slow);
    assert!(
        matches!(received[0], Event::Lagged { missed: 34 }),
        "{:?}",
        received[0]
    );
    assert_eq!(received.len(), 9);
    assert!(matches!(received[8], Event::RunCompleted { .. }));
    assert!(
        matches!(received[1], Event::StepCompleted { ref step, .. } if step.to_string() == "count[16]"),
        "{:?}",
        received[1]
    );
}
