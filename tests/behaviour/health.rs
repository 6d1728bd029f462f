//! The engine's health report (`Engine::health`): runs in flight and unloaded,
//! stalled runs, breakers, failed compensations; and the automatic restart of
//! a run whose body (not a step) panics, which keeps a passing fault from
//! failing the run.

use crate::support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use support::{Calls, drain, journal_keys, step_started, until};
use trailhead::{
    Backoff, BreakerConfig, BreakerState, Engine, EngineError, Error, Event, RetryPolicy, RunError,
    RunId, RunStatus, workflow,
};

/// How many times each tag's function was called.
static COUNTS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

/// Counts a call under `tag`; gives the count so far.
fn count(tag: &str) -> u32 {
    let mut counts = COUNTS.lock().unwrap();
    let n = counts.entry(tag.to_owned()).or_default();
    *n += 1;
    *n
}

fn counted(tag: &str) -> u32 {
    COUNTS.lock().unwrap().get(tag).copied().unwrap_or(0)
}

/// Takes `secs` (paused) seconds, then gives them.
async fn nap(secs: u64) -> Result<u64, Error> {
    tokio::time::sleep(Duration::from_secs(secs)).await;
    Ok(secs)
}

workflow! {
    /// One step of `secs` seconds.
    workflow napping(secs: u64) -> Result<u64, Error> {
        let slept = step nap(secs);
        Ok(slept)
    }

    /// Two steps of ten minutes each.
    workflow two_naps() -> Result<u64, Error> {
        let first = step nap(600).name("first");
        let second = step nap(first).name("second");
        Ok(first + second)
    }

    /// A durable sleep long enough to unload the run.
    workflow long_sleep() -> Result<u32, Error> {
        sleep 2h;
        Ok(7)
    }
}

#[tokio::test(start_paused = true)]
async fn a_fresh_engine_is_healthy() {
    let engine = Engine::builder()
        .breaker("payments", BreakerConfig::default())
        .build();
    let health = engine.health().await.unwrap();
    assert!(health.is_healthy());
    assert_eq!(health.in_flight, 0);
    assert_eq!(health.unloaded, 0);
    assert!(health.stalled.is_empty());
    assert!(health.failed_compensations.is_empty());
    assert_eq!(health.breakers.len(), 1);
    assert_eq!(health.breakers[0].name, "payments");
    assert_eq!(health.breakers[0].state, BreakerState::Closed);
    assert_eq!(health.open_breakers().count(), 0);
    // A memory store answers at once (timed on the real clock).
    assert!(health.store_latency < Duration::from_secs(1));

    let bare = Engine::new().health().await.unwrap();
    assert!(bare.is_healthy());
    assert!(bare.breakers.is_empty());
}

#[tokio::test(start_paused = true)]
async fn in_flight_counts_the_runs_being_driven() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let mut handles = Vec::new();
    for secs in [10, 20, 30] {
        handles.push(engine.start(napping, secs).await.unwrap());
    }
    for _ in 0..3 {
        until(&mut events, |event| {
            matches!(event, Event::StepStarted { .. })
        })
        .await;
    }
    let health = engine.health().await.unwrap();
    assert_eq!(health.in_flight, 3);
    assert_eq!(health.unloaded, 0);
    assert!(health.is_healthy(), "running is not stalled");

    let first = handles.remove(0);
    assert_eq!(first.result().await.unwrap(), 10);
    assert_eq!(engine.health().await.unwrap().in_flight, 2);
    for handle in handles {
        handle.result().await.unwrap();
    }
    assert_eq!(engine.health().await.unwrap().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn an_unloaded_run_is_counted_apart() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine.start(long_sleep, ()).await.unwrap();
    until(&mut events, |event| {
        matches!(event, Event::RunUnloaded { .. })
    })
    .await;
    let health = engine.health().await.unwrap();
    assert_eq!((health.in_flight, health.unloaded), (0, 1));
    assert!(health.stalled.is_empty(), "an unloaded run is not stalled");
    assert_eq!(handle.result().await.unwrap(), 7);
    let health = engine.health().await.unwrap();
    assert_eq!((health.in_flight, health.unloaded), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_run_without_progress_for_stalled_after_is_stalled_until_a_step_ends() {
    let engine = Engine::builder()
        .stalled_after(Duration::from_secs(60))
        .build();
    let mut events = engine.subscribe();
    let handle = engine.start(two_naps, ()).await.unwrap();
    let run = handle.id().clone();
    step_started(&mut events, "first").await;

    tokio::time::advance(Duration::from_secs(59)).await;
    let health = engine.health().await.unwrap();
    assert!(health.stalled.is_empty(), "{:?}", health.stalled);
    assert!(health.is_healthy());

    tokio::time::advance(Duration::from_secs(1)).await;
    let health = engine.health().await.unwrap();
    assert_eq!(health.stalled.len(), 1, "{:?}", health.stalled);
    assert_eq!(health.stalled[0].run, run);
    assert_eq!(health.stalled[0].workflow, "two_naps");
    assert_eq!(health.stalled[0].idle, Duration::from_secs(60));
    assert!(!health.is_healthy());
    assert_eq!(health.in_flight, 1);

    // The first step ends (at 10 min): progress, so no longer stalled.
    until(
        &mut events,
        |event| matches!(event, Event::StepCompleted { step, .. } if step.to_string() == "first"),
    )
    .await;
    let health = engine.health().await.unwrap();
    assert!(health.stalled.is_empty(), "{:?}", health.stalled);
    assert_eq!(health.in_flight, 1);

    // Idle is counted from that step's end: stalled again a minute later.
    tokio::time::advance(Duration::from_secs(59)).await;
    assert!(engine.health().await.unwrap().stalled.is_empty());
    tokio::time::advance(Duration::from_secs(1)).await;
    let health = engine.health().await.unwrap();
    assert_eq!(health.stalled.len(), 1);
    assert_eq!(health.stalled[0].idle, Duration::from_secs(60));

    assert_eq!(handle.result().await.unwrap(), 1200);
    let health = engine.health().await.unwrap();
    assert!(health.stalled.is_empty());
    assert_eq!(health.in_flight, 0);
    assert!(health.is_healthy());
}

#[tokio::test(start_paused = true)]
async fn stalled_runs_are_listed_longest_stalled_first() {
    let engine = Engine::builder()
        .stalled_after(Duration::from_secs(60))
        .build();
    let mut events = engine.subscribe();
    let older = engine.start(napping, 3_600).await.unwrap();
    step_started(&mut events, "nap").await;
    tokio::time::advance(Duration::from_secs(30)).await;
    let newer = engine.start(napping, 3_600).await.unwrap();
    step_started(&mut events, "nap").await;
    tokio::time::advance(Duration::from_secs(60)).await;

    let health = engine.health().await.unwrap();
    let stalled: Vec<(RunId, Duration)> = health
        .stalled
        .iter()
        .map(|run| (run.run.clone(), run.idle))
        .collect();
    assert_eq!(
        stalled,
        [
            (older.id().clone(), Duration::from_secs(90)),
            (newer.id().clone(), Duration::from_secs(60)),
        ]
    );
    older.cancel();
    newer.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_default_stalled_after_is_five_minutes() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine.start(napping, 3_600).await.unwrap();
    step_started(&mut events, "nap").await;
    tokio::time::advance(Duration::from_secs(299)).await;
    assert!(engine.health().await.unwrap().stalled.is_empty());
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(engine.health().await.unwrap().stalled.len(), 1);
    handle.cancel();
}

// ---- failed compensations -----------------------------------------------------

async fn reserve(n: u32) -> Result<u32, Error> {
    Ok(n)
}

async fn refuse() -> Result<u32, Error> {
    Err(Error::msg("the card was declined"))
}

async fn refund_never(_n: u32) -> Result<(), Error> {
    count("refund_never");
    Err(Error::msg("the refund API is gone"))
}

workflow! {
    /// A seat whose release always fails (one attempt), then a declined payment.
    workflow stuck_refund() -> Result<u32, Error> {
        let seat = step reserve(5).name("seat").compensate(refund_never, retry(1));
        let paid = step refuse().name("pay").after(seat);
        Ok(seat + paid)
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_compensation_failed_is_reported_with_its_step() {
    let engine = Engine::new();
    let handle = engine.start(stuck_refund, ()).await.unwrap();
    let run = handle.id().clone();
    let error = handle.result().await.unwrap_err();
    assert!(
        matches!(&error, RunError::CompensationFailed { step, .. } if step.to_string() == "seat"),
        "{error}"
    );
    assert_eq!(counted("refund_never"), 1, "`retry(1)`: one attempt");

    let health = engine.health().await.unwrap();
    assert_eq!(health.failed_compensations.len(), 1);
    let failed = &health.failed_compensations[0];
    assert_eq!(failed.run, run);
    assert_eq!(failed.workflow, "stuck_refund");
    assert_eq!(failed.step.to_string(), "seat");
    assert!(
        failed.error.contains("the refund API is gone"),
        "{}",
        failed.error
    );
    assert!(!health.is_healthy());
    assert_eq!(health.in_flight, 0);
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::CompensationFailed);
}

// ---- breakers -----------------------------------------------------------------

async fn flaky_service() -> Result<u32, Error> {
    Err(Error::msg("unavailable"))
}

workflow! {
    workflow through_breaker() -> Result<u32, Error> {
        let out = step flaky_service().breaker("search");
        Ok(out)
    }
}

#[tokio::test(start_paused = true)]
async fn open_and_half_open_breakers_make_the_engine_unhealthy() {
    let engine = Engine::builder()
        .breaker(
            "search",
            BreakerConfig::new(1, Duration::from_secs(60)).with_open_for(Duration::from_secs(10)),
        )
        .breaker("payments", BreakerConfig::default())
        .build();
    through_breaker::run(&engine).await.unwrap_err();

    let health = engine.health().await.unwrap();
    let open: Vec<(&str, BreakerState)> = health
        .open_breakers()
        .map(|breaker| (breaker.name.as_str(), breaker.state))
        .collect();
    assert_eq!(open, [("search", BreakerState::Open)]);
    assert!(!health.is_healthy());
    assert!(health.stalled.is_empty() && health.failed_compensations.is_empty());

    tokio::time::advance(Duration::from_secs(10)).await;
    let health = engine.health().await.unwrap();
    let open: Vec<(&str, BreakerState)> = health
        .open_breakers()
        .map(|breaker| (breaker.name.as_str(), breaker.state))
        .collect();
    assert_eq!(open, [("search", BreakerState::HalfOpen)]);
    assert!(!health.is_healthy());
}

// ---- automatic restarts -------------------------------------------------------

/// The tests of `always_trips_after_booking` share `UNDONE`: they take turns.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static UNDONE: Calls = Calls::new();

/// A step: counts its calls under `tag`.
async fn book(tag: &str) -> Result<u32, Error> {
    count(tag);
    Ok(7)
}

async fn unbook(n: u32) -> Result<(), Error> {
    UNDONE.push(format!("unbook {n}"));
    Ok(())
}

/// Plain code between steps: panics on its first call for `tag` only.
fn trips_once(tag: &str, n: u32) -> u32 {
    let calls = count(&format!("{tag}/body"));
    assert!(calls > 1, "the body tripped ({tag})");
    n
}

/// Plain code between steps: always panics.
fn always_trips(tag: &str, n: u32) -> u32 {
    count(&format!("{tag}/body"));
    panic!("the body always trips ({tag}, {n})");
}

workflow! {
    /// A step, plain code that panics once, another step.
    workflow trips_once_then_runs(tag: String) -> Result<u32, Error> {
        let booked = step book(&tag).name("booked");
        let checked = trips_once(&tag, booked);
        let again = step book(&tag).name("again").after(checked);
        Ok(checked + again)
    }

    /// A compensated step, then plain code that always panics.
    workflow always_trips_after_booking(tag: String) -> Result<u32, Error> {
        let booked = step book(&tag).name("booked").compensate(unbook);
        let checked = always_trips(&tag, booked);
        Ok(checked)
    }
}

/// The restarts among `events`: restart, delay, error.
fn restarts(events: &[Event]) -> Vec<(u32, Duration, String)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::RunRestarting {
                restart,
                delay,
                error,
                ..
            } => Some((*restart, *delay, error.clone())),
            _ => None,
        })
        .collect()
}

/// How often step `key` was replayed among `events`.
fn replays(events: &[Event], key: &str) -> usize {
    events
        .iter()
        .filter(
            |event| matches!(event, Event::StepReplayed { step, .. } if step.to_string() == key),
        )
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_body_that_panics_once_is_restarted_from_its_journal() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let mut watch = engine.subscribe();
    let started = tokio::time::Instant::now();
    let handle = engine
        .start(trips_once_then_runs, "once".to_owned())
        .await
        .unwrap();
    let run = handle.id().clone();

    // While it waits to be driven again, it is still in flight.
    until(&mut watch, |event| {
        matches!(event, Event::RunRestarting { .. })
    })
    .await;
    assert_eq!(engine.health().await.unwrap().in_flight, 1);

    assert_eq!(handle.result().await.unwrap(), 14);
    let events = drain(&mut events);
    let restarted = restarts(&events);
    assert_eq!(restarted.len(), 1, "{restarted:?}");
    let (restart, delay, error) = &restarted[0];
    assert_eq!(*restart, 1);
    // The default policy: 1 s, with equal jitter.
    assert!(
        (Duration::from_millis(500)..=Duration::from_secs(1)).contains(delay),
        "{delay:?}"
    );
    assert!(error.contains("the body tripped (once)"), "{error}");
    // (Timers round up to the millisecond.)
    let elapsed = started.elapsed();
    assert!(
        *delay <= elapsed && elapsed <= *delay + Duration::from_millis(1),
        "driven again after the delay: {elapsed:?} for {delay:?}"
    );

    // The step before the panic ran once and replayed on the second drive.
    assert_eq!(counted("once"), 2, "`booked` once, `again` once");
    assert_eq!(counted("once/body"), 2);
    assert_eq!(replays(&events, "booked"), 1);
    assert_eq!(journal_keys(&engine, &run).await, ["booked", "again"]);
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, Event::RunFailed { .. }))
    );
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Completed);
    assert_eq!(engine.health().await.unwrap().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn a_body_that_keeps_panicking_fails_after_three_drives_and_is_undone() {
    let _turn = TURN.lock().await;
    UNDONE.take();
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let started = tokio::time::Instant::now();
    let handle = engine
        .start(always_trips_after_booking, "always".to_owned())
        .await
        .unwrap();
    let run = handle.id().clone();
    let error = handle.result().await.unwrap_err();
    let RunError::Engine(EngineError::TaskFailed {
        run: failed,
        message,
    }) = &error
    else {
        panic!("expected the run's task to fail, got {error}");
    };
    assert_eq!(failed, &run);
    assert!(
        message.contains("the body always trips (always, 7)"),
        "{message}"
    );

    // Three drives: two restarts, 1 s then 2 s (each with equal jitter).
    assert_eq!(counted("always/body"), 3);
    let events = drain(&mut events);
    let restarted = restarts(&events);
    let numbers: Vec<u32> = restarted.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(numbers, [1, 2]);
    let (first, second) = (restarted[0].1, restarted[1].1);
    assert!(
        (Duration::from_millis(500)..=Duration::from_secs(1)).contains(&first),
        "{first:?}"
    );
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(2)).contains(&second),
        "{second:?}"
    );
    let elapsed = started.elapsed();
    assert!(
        first + second <= elapsed && elapsed <= first + second + Duration::from_millis(2),
        "{elapsed:?} for {first:?} + {second:?}"
    );

    // The step ran once (replayed on each restart) and was undone once.
    assert_eq!(counted("always"), 1);
    assert_eq!(replays(&events, "booked"), 2);
    assert_eq!(UNDONE.take(), ["unbook 7"]);
    assert_eq!(journal_keys(&engine, &run).await, ["booked", "undo:booked"]);
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Failed);
    assert!(
        events
            .iter()
            .any(|event| matches!(event, Event::RunFailed { .. }))
    );
    assert_eq!(engine.health().await.unwrap().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn a_single_drive_policy_does_not_restart() {
    let _turn = TURN.lock().await;
    UNDONE.take();
    let engine = Engine::builder()
        .panic_restarts(RetryPolicy::attempts(1))
        .build();
    let mut events = engine.subscribe();
    let started = tokio::time::Instant::now();
    let error = always_trips_after_booking::run(&engine, "single".to_owned())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, RunError::Engine(EngineError::TaskFailed { message, .. })
            if message.contains("the body always trips (single, 7)")),
        "{error}"
    );
    assert_eq!(counted("single/body"), 1);
    assert_eq!(counted("single"), 1);
    assert_eq!(UNDONE.take(), ["unbook 7"], "its step is undone");
    assert!(restarts(&drain(&mut events)).is_empty());
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn the_restart_policy_sets_the_drives_and_their_delays() {
    let _turn = TURN.lock().await;
    UNDONE.take();
    let policy = RetryPolicy::attempts(4).with_backoff(Backoff::fixed(Duration::from_secs(5)));
    let engine = Engine::builder().panic_restarts(policy).build();
    let mut events = engine.subscribe();
    let started = tokio::time::Instant::now();
    let error = always_trips_after_booking::run(&engine, "fixed".to_owned())
        .await
        .unwrap_err();
    assert!(
        matches!(error, RunError::Engine(EngineError::TaskFailed { .. })),
        "{error}"
    );
    assert_eq!(counted("fixed/body"), 4);
    let restarted: Vec<(u32, Duration)> = restarts(&drain(&mut events))
        .into_iter()
        .map(|(n, delay, _)| (n, delay))
        .collect();
    let five = Duration::from_secs(5);
    assert_eq!(restarted, [(1, five), (2, five), (3, five)]);
    assert_eq!(started.elapsed(), 3 * five);
    assert_eq!(counted("fixed"), 1);
    assert_eq!(UNDONE.take(), ["unbook 7"]);
}

#[tokio::test(start_paused = true)]
async fn a_run_cancelled_while_waiting_to_restart_is_cancelled_and_undone() {
    let _turn = TURN.lock().await;
    UNDONE.take();
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine
        .start(always_trips_after_booking, "cancelled".to_owned())
        .await
        .unwrap();
    let run = handle.id().clone();
    until(&mut events, |event| {
        matches!(event, Event::RunRestarting { restart: 1, .. })
    })
    .await;
    engine.cancel(&run).await.unwrap();
    let error = handle.result().await.unwrap_err();
    assert!(matches!(error, RunError::Cancelled { .. }), "{error}");
    assert_eq!(counted("cancelled/body"), 1, "not driven again");
    assert_eq!(UNDONE.take(), ["unbook 7"]);
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Cancelled);
}
