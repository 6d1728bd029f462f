//! A run that sleeps long gives up its task and memory until it wakes: the
//! engine keeps a timer entry and resumes it from its journal then.

use crate::support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use trailhead::{Engine, Event, RunError, workflow};

static BEFORE: AtomicU32 = AtomicU32::new(0);
static AFTER: AtomicU32 = AtomicU32::new(0);

async fn before() -> Result<u32, std::io::Error> {
    Ok(BEFORE.fetch_add(1, Ordering::SeqCst) + 1)
}

async fn after(x: u32) -> Result<u32, std::io::Error> {
    AFTER.fetch_add(1, Ordering::SeqCst);
    Ok(x + 100)
}

async fn quick(x: u32) -> Result<u32, std::io::Error> {
    Ok(x)
}

workflow! {
    workflow nap_a_day() -> Result<u32, trailhead::Error> {
        let a = step before();
        sleep 24h;
        let b = step after(a);
        Ok(b)
    }

    workflow short_nap() -> Result<u32, trailhead::Error> {
        let a = step quick(1);
        sleep 10s;
        let b = step quick(a).name("again");
        Ok(b)
    }

    workflow long_nap() -> Result<u32, trailhead::Error> {
        sleep 2h;
        Ok(7)
    }
}

#[tokio::test(start_paused = true)]
async fn a_day_long_sleep_holds_no_task_and_the_run_wakes_on_time() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let started = tokio::time::Instant::now();
    let handle = engine.start(nap_a_day, ()).await.unwrap();
    let run = handle.id().clone();
    support::until(&mut events, |event| {
        matches!(event, Event::RunUnloaded { .. })
    })
    .await;
    assert_eq!(engine.unloaded_runs(), 1);
    // Only the engine's timer task is alive: the run's task is gone.
    assert_eq!(
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        1
    );
    let output = handle.result().await.unwrap();
    assert_eq!(output, 101);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(24 * 3_600),
        "woke on time"
    );
    assert_eq!(
        BEFORE.load(Ordering::SeqCst),
        1,
        "the step before the sleep replayed"
    );
    assert_eq!(AFTER.load(Ordering::SeqCst), 1);
    assert_eq!(engine.unloaded_runs(), 0);
    let keys = support::journal_keys(&engine, &run).await;
    assert_eq!(keys, ["before", "sleep", "after"]);
}

#[tokio::test(start_paused = true)]
async fn a_short_sleep_keeps_its_task() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    assert_eq!(short_nap::run(&engine).await.unwrap(), 1);
    assert!(
        !support_any(&mut events, |event| matches!(
            event,
            Event::RunUnloaded { .. }
        )),
        "10s is under the one-minute threshold"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unloaded_run_can_be_cancelled_by_id() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine.start(long_nap, ()).await.unwrap();
    let run = handle.id().clone();
    support::until(&mut events, |event| {
        matches!(event, Event::RunUnloaded { .. })
    })
    .await;
    engine.cancel(&run).await.unwrap();
    assert!(matches!(
        handle.result().await,
        Err(RunError::Cancelled { .. })
    ));
    assert_eq!(engine.unloaded_runs(), 0, "its timer is gone");
}

fn support_any(events: &mut trailhead::EventReceiver, test: impl Fn(&Event) -> bool) -> bool {
    std::iter::from_fn(|| events.try_recv()).any(|event| test(&event))
}

workflow! {
    /// Sleeps `hours`, then gives them back.
    workflow nap_for(hours: u64) -> Result<u64, trailhead::Error> {
        sleep Duration::from_secs(hours * 3_600);
        let hours = step echo(hours);
        Ok(hours)
    }
}

async fn echo(x: u64) -> Result<u64, std::io::Error> {
    Ok(x)
}

#[tokio::test(start_paused = true)]
async fn many_unloaded_runs_wake_in_order_and_kept_handles_are_answered() {
    let engine = Engine::new();
    let began = tokio::time::Instant::now();
    // Every tenth handle kept, the rest dropped at once: the engine prunes
    // the answer channels of dropped handles as they pile up (from 1,024),
    // and must keep those of the handles still held.
    let mut kept = Vec::new();
    for i in 0..1_500_u64 {
        let hours = 1_500 - i; // started last, wakes first
        let handle = engine.start(nap_for, hours).await.unwrap();
        if i % 10 == 0 {
            kept.push((hours, handle));
        }
    }
    while engine.unloaded_runs() < 1_500 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Each woke at its own hour (its sleep began within the first second),
    // the earliest first.
    let mut woken = Vec::new();
    for (hours, handle) in kept.into_iter().rev() {
        assert_eq!(handle.result().await.unwrap(), hours);
        let at = began.elapsed();
        let due = Duration::from_secs(hours * 3_600);
        assert!(
            at >= due && at <= due + Duration::from_secs(1),
            "{hours} h: woke at {at:?}"
        );
        woken.push(hours);
    }
    assert_eq!(woken, (1..=150).map(|k| 10 * k).collect::<Vec<u64>>());
    // By the last hour every timer has fired.
    assert_eq!(engine.unloaded_runs(), 0);
}
