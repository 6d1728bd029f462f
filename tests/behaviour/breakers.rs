//! Circuit breakers: a step that names a breaker (`.breaker("payments")`) goes
//! through the engine's breaker of that name, shared by every run. Failures
//! (errors, timeouts, panics) open it; while open, attempts fail fast with
//! `BreakerOpen` without calling the step; after `open_for` one trial call
//! decides whether it closes again. Every change is a `BreakerChanged` event
//! and shows in `Engine::health`.

use crate::support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use support::{drain, until};
use trailhead::{
    BreakerConfig, BreakerState, Engine, Event, RunError, RunId, StepError, StepFailure,
    StepOutcome, workflow,
};

use BreakerState::{Closed, HalfOpen, Open};

/// How many times each tag's step function was called.
static CALLS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

/// Counts a call under `tag`; gives the count so far.
fn count(tag: &str) -> u32 {
    let mut calls = CALLS.lock().unwrap();
    let n = calls.entry(tag.to_owned()).or_default();
    *n += 1;
    *n
}

/// How many times the step function was called with `tag`.
fn calls(tag: &str) -> u32 {
    CALLS.lock().unwrap().get(tag).copied().unwrap_or(0)
}

/// The dependency is down. Transient (no `Classify`): retried.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("payments are down")]
struct Down;

/// The payment service: takes `ms` (paused) milliseconds, then succeeds with
/// the call count or fails, as asked.
async fn pay(tag: &str, ok: bool, ms: u64) -> Result<u32, Down> {
    let n = count(tag);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    if ok { Ok(n) } else { Err(Down) }
}

/// Never returns: only a timeout ends it.
async fn hang(tag: &str) -> Result<u32, Down> {
    count(tag);
    std::future::pending().await
}

/// Panics.
async fn explode(tag: &str) -> Result<u32, Down> {
    count(tag);
    panic!("the payment client crashed");
}

workflow! {
    /// One payment through the `payments` breaker.
    workflow charge(tag: String, ok: bool, ms: u64) -> Result<u32, trailhead::Error> {
        let paid = step pay(&tag, ok, ms).breaker("payments");
        Ok(paid)
    }

    /// The same, retried up to five times, 1 s apart.
    workflow charge_retried(tag: String, ok: bool) -> Result<u32, trailhead::Error> {
        let paid = step pay(&tag, ok, 0)
            .breaker("payments")
            .retry(5, backoff = 1s, jitter = false);
        Ok(paid)
    }

    /// A payment that hangs past its timeout.
    workflow charge_hanging(tag: String) -> Result<u32, trailhead::Error> {
        let paid = step hang(&tag).timeout(1s).breaker("payments");
        Ok(paid)
    }

    /// A payment that panics.
    workflow charge_panicking(tag: String) -> Result<u32, trailhead::Error> {
        let paid = step explode(&tag).breaker("payments");
        Ok(paid)
    }

    /// A payment through a breaker the engine does not have.
    workflow charge_elsewhere(tag: String) -> Result<u32, trailhead::Error> {
        let paid = step pay(&tag, true, 0).breaker("nowhere").retry(3, backoff = 1s);
        Ok(paid)
    }
}

/// 3 failures within a minute open `payments` for 30 s; one trial call.
fn engine() -> Engine {
    Engine::builder()
        .breaker(
            "payments",
            BreakerConfig::new(3, Duration::from_secs(60))
                .with_open_for(Duration::from_secs(30))
                .with_half_open_calls(1),
        )
        .build()
}

/// The step error inside a run's failure.
fn step_error(error: RunError<trailhead::Error>) -> StepError<Down> {
    let RunError::Failed { error, .. } = error else {
        panic!("expected the workflow's failure, got {error}");
    };
    *error
        .into_inner()
        .downcast()
        .expect("a step error of the payment service")
}

/// Runs `charge` to its end: its id and result.
async fn charge_once(
    engine: &Engine,
    tag: &str,
    ok: bool,
    ms: u64,
) -> (RunId, Result<u32, RunError<trailhead::Error>>) {
    let handle = engine
        .start(charge, (tag.to_owned(), ok, ms))
        .await
        .unwrap();
    let run = handle.id().clone();
    (run, handle.result().await)
}

/// Runs `charge` with a failing payment; asserts the payment was called
/// and failed with its own error.
async fn fail_once(engine: &Engine, tag: &str) {
    let before = calls(tag);
    let (_, result) = charge_once(engine, tag, false, 0).await;
    let error = step_error(result.unwrap_err());
    assert!(
        matches!(error.failure, StepFailure::Error(Down)),
        "{}",
        error.failure
    );
    assert_eq!(calls(tag), before + 1, "the payment was called");
}

/// Runs `charge` while the breaker is open; asserts it failed fast without
/// calling the payment.
async fn rejected_once(engine: &Engine, tag: &str) -> RunId {
    let before = calls(tag);
    let started = tokio::time::Instant::now();
    let (run, result) = charge_once(engine, tag, true, 10).await;
    let error = step_error(result.unwrap_err());
    assert!(
        matches!(error.failure, StepFailure::BreakerOpen("payments")),
        "{}",
        error.failure
    );
    assert_eq!(error.attempts, 1);
    assert_eq!(calls(tag), before, "an open breaker does not call the step");
    assert_eq!(started.elapsed(), Duration::ZERO, "it fails fast");
    run
}

/// The state of every breaker, from the health report.
async fn breakers(engine: &Engine) -> Vec<(String, BreakerState)> {
    let health = engine.health().await.unwrap();
    health
        .breakers
        .iter()
        .map(|breaker| (breaker.name.clone(), breaker.state))
        .collect()
}

/// The names of the open (or half-open) breakers, and whether the engine is
/// healthy.
async fn open_breakers(engine: &Engine) -> (Vec<String>, bool) {
    let health = engine.health().await.unwrap();
    let open = health
        .open_breakers()
        .map(|breaker| breaker.name.clone())
        .collect();
    (open, health.is_healthy())
}

/// The `BreakerChanged` events among `events`: breaker, from, to, run, step.
fn changes(events: &[Event]) -> Vec<(String, BreakerState, BreakerState, RunId, String)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::BreakerChanged {
                breaker,
                from,
                to,
                run,
                step,
            } => Some((breaker.clone(), *from, *to, run.clone(), step.to_string())),
            _ => None,
        })
        .collect()
}

/// Just the moves of the `BreakerChanged` events among `events`.
fn moves(events: &[Event]) -> Vec<(BreakerState, BreakerState)> {
    changes(events)
        .into_iter()
        .map(|(_, from, to, _, _)| (from, to))
        .collect()
}

fn payments(state: BreakerState) -> Vec<(String, BreakerState)> {
    vec![("payments".to_owned(), state)]
}

#[tokio::test(start_paused = true)]
async fn a_breaker_opens_rejects_half_opens_closes_and_opens_again() {
    let engine = engine();
    let mut log = engine.subscribe();
    let mut waiter = engine.subscribe();

    // Closed: calls go through and failures are counted.
    assert_eq!(breakers(&engine).await, payments(Closed));
    assert_eq!(open_breakers(&engine).await, (vec![], true));
    fail_once(&engine, "walk").await;
    fail_once(&engine, "walk").await;
    assert_eq!(breakers(&engine).await, payments(Closed));
    assert!(moves(&drain(&mut log)).is_empty());

    // The third failure opens it.
    let handle = engine
        .start(charge, ("walk".to_owned(), false, 0))
        .await
        .unwrap();
    let opener = handle.id().clone();
    assert!(matches!(
        step_error(handle.result().await.unwrap_err()).failure,
        StepFailure::Error(Down)
    ));
    assert_eq!(calls("walk"), 3);
    assert_eq!(breakers(&engine).await, payments(Open));
    assert_eq!(
        open_breakers(&engine).await,
        (vec!["payments".to_owned()], false)
    );
    assert_eq!(
        changes(&drain(&mut log)),
        [(
            "payments".to_owned(),
            Closed,
            Open,
            opener.clone(),
            "pay".to_owned()
        )]
    );

    // Open: calls fail fast without being made, journaled as failed.
    let rejected = rejected_once(&engine, "walk-rejected").await;
    rejected_once(&engine, "walk-rejected").await;
    let journal = engine.journal(&rejected).await.unwrap();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0].key.to_string(), "pay");
    assert_eq!(
        journal[0].outcome.failure(),
        Some("circuit breaker `payments` is open")
    );
    assert!(
        moves(&drain(&mut log)).is_empty(),
        "rejections move nothing"
    );

    // Still open one second short of `open_for`.
    tokio::time::advance(Duration::from_secs(29)).await;
    assert_eq!(breakers(&engine).await, payments(Open));
    rejected_once(&engine, "walk-rejected").await;
    assert_eq!(calls("walk-rejected"), 0);

    // After `open_for` it reads half-open, before any call.
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(breakers(&engine).await, payments(HalfOpen));
    assert_eq!(
        open_breakers(&engine).await,
        (vec!["payments".to_owned()], false),
        "half-open is not healthy either"
    );

    // One trial goes through (it takes 10 s); a second call meanwhile is
    // rejected without being made.
    drain(&mut waiter);
    let trial = engine
        .start(charge, ("walk-trial".to_owned(), true, 10_000))
        .await
        .unwrap();
    let trial_run = trial.id().clone();
    until(&mut waiter, |event| {
        matches!(event, Event::BreakerChanged { to: HalfOpen, .. })
    })
    .await;
    assert_eq!(calls("walk-trial"), 1);
    rejected_once(&engine, "walk-second").await;
    assert_eq!(breakers(&engine).await, payments(HalfOpen));

    // The trial succeeds: closed.
    assert_eq!(trial.result().await.unwrap(), 1);
    assert_eq!(breakers(&engine).await, payments(Closed));
    assert_eq!(open_breakers(&engine).await, (vec![], true));
    assert_eq!(
        changes(&drain(&mut log)),
        [
            (
                "payments".to_owned(),
                Open,
                HalfOpen,
                trial_run.clone(),
                "pay".to_owned()
            ),
            (
                "payments".to_owned(),
                HalfOpen,
                Closed,
                trial_run,
                "pay".to_owned()
            ),
        ]
    );

    // Closed with no failures on record: calls go through again, and three
    // new failures open it again.
    assert_eq!(
        charge_once(&engine, "walk-after", true, 0).await.1.unwrap(),
        1
    );
    fail_once(&engine, "walk-again").await;
    fail_once(&engine, "walk-again").await;
    assert_eq!(breakers(&engine).await, payments(Closed));
    fail_once(&engine, "walk-again").await;
    assert_eq!(breakers(&engine).await, payments(Open));
    rejected_once(&engine, "walk-rejected-again").await;
    assert_eq!(moves(&drain(&mut log)), [(Closed, Open)]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_trial_opens_it_again_for_a_fresh_open_for() {
    let engine = engine();
    let mut events = engine.subscribe();
    for _ in 0..3 {
        fail_once(&engine, "retrial").await;
    }
    tokio::time::advance(Duration::from_secs(30)).await;
    // The trial fails: open again, for another 30 s from now.
    fail_once(&engine, "retrial").await;
    assert_eq!(breakers(&engine).await, payments(Open));
    tokio::time::advance(Duration::from_secs(29)).await;
    rejected_once(&engine, "retrial-rejected").await;
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        charge_once(&engine, "retrial-ok", true, 0).await.1.unwrap(),
        1
    );
    assert_eq!(breakers(&engine).await, payments(Closed));
    assert_eq!(
        moves(&drain(&mut events)),
        [
            (Closed, Open),
            (Open, HalfOpen),
            (HalfOpen, Open),
            (Open, HalfOpen),
            (HalfOpen, Closed),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_trial_gives_its_place_to_the_next_call() {
    let engine = engine();
    let mut events = engine.subscribe();
    for _ in 0..3 {
        fail_once(&engine, "cancelled").await;
    }
    tokio::time::advance(Duration::from_secs(30)).await;
    let trial = engine
        .start(charge, ("cancelled-trial".to_owned(), true, 10_000))
        .await
        .unwrap();
    until(&mut events, |event| {
        matches!(event, Event::BreakerChanged { to: HalfOpen, .. })
    })
    .await;
    rejected_once(&engine, "cancelled-second").await;
    trial.cancel();
    assert!(matches!(
        trial.result().await.unwrap_err(),
        RunError::Cancelled { .. }
    ));
    // The cancelled trial said nothing about the dependency: still half-open,
    // and the next call is the trial.
    assert_eq!(breakers(&engine).await, payments(HalfOpen));
    assert_eq!(
        charge_once(&engine, "cancelled-next", true, 0)
            .await
            .1
            .unwrap(),
        1
    );
    assert_eq!(breakers(&engine).await, payments(Closed));
    assert_eq!(moves(&drain(&mut events)), [(HalfOpen, Closed)]);
}

#[tokio::test(start_paused = true)]
async fn timeouts_and_panics_count_as_failures() {
    let engine = engine();
    let mut events = engine.subscribe();
    let timed_out = charge_hanging::run(&engine, "timeouts".to_owned())
        .await
        .unwrap_err();
    assert!(matches!(
        step_error(timed_out).failure,
        StepFailure::TimedOut(limit) if limit == Duration::from_secs(1)
    ));
    let panicked = charge_panicking::run(&engine, "panics".to_owned())
        .await
        .unwrap_err();
    assert!(matches!(
        step_error(panicked).failure,
        StepFailure::Panicked(message) if message == "the payment client crashed"
    ));
    assert_eq!(breakers(&engine).await, payments(Closed));
    assert!(moves(&drain(&mut events)).is_empty());

    // A third failure of any kind opens it.
    charge_hanging::run(&engine, "timeouts".to_owned())
        .await
        .unwrap_err();
    assert_eq!(breakers(&engine).await, payments(Open));
    assert_eq!(moves(&drain(&mut events)), [(Closed, Open)]);
    assert_eq!((calls("timeouts"), calls("panics")), (2, 1));

    // Open: neither is called any more.
    let error = charge_panicking::run(&engine, "panics".to_owned())
        .await
        .unwrap_err();
    assert!(matches!(
        step_error(error).failure,
        StepFailure::BreakerOpen("payments")
    ));
    assert_eq!(calls("panics"), 1);
}

#[tokio::test(start_paused = true)]
async fn concurrent_runs_share_one_breaker() {
    let engine = engine();
    let mut events = engine.subscribe();

    // Two runs failing at once add up to two failures: still closed.
    let mut handles = Vec::new();
    for _ in 0..2 {
        let input = ("shared".to_owned(), false, 100);
        handles.push(engine.start(charge, input).await.unwrap());
    }
    for handle in handles {
        assert!(matches!(
            step_error(handle.result().await.unwrap_err()).failure,
            StepFailure::Error(Down)
        ));
    }
    assert_eq!(breakers(&engine).await, payments(Closed));

    // A third run's failure is the third: open.
    fail_once(&engine, "shared").await;
    assert_eq!(breakers(&engine).await, payments(Open));
    assert_eq!(calls("shared"), 3);

    // Twenty runs started at once all fail fast; none calls the service.
    let started = tokio::time::Instant::now();
    let mut handles = Vec::new();
    for _ in 0..20 {
        let input = ("shared-rejected".to_owned(), true, 100);
        handles.push(engine.start(charge, input).await.unwrap());
    }
    for handle in handles {
        let error = step_error(handle.result().await.unwrap_err());
        assert!(matches!(
            error.failure,
            StepFailure::BreakerOpen("payments")
        ));
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(calls("shared-rejected"), 0);
    assert_eq!(moves(&drain(&mut events)), [(Closed, Open)]);
}

#[tokio::test(start_paused = true)]
async fn many_runs_failing_at_once_open_it_once() {
    let engine = engine();
    let mut events = engine.subscribe();
    // All ten are admitted while closed and fail 100 ms later: the third
    // failure opens the breaker, and the seven after it (admitted before it
    // opened) neither move it again nor count towards the next opening.
    let mut handles = Vec::new();
    for _ in 0..10 {
        let input = ("burst".to_owned(), false, 100);
        handles.push(engine.start(charge, input).await.unwrap());
    }
    for handle in handles {
        assert!(matches!(
            step_error(handle.result().await.unwrap_err()).failure,
            StepFailure::Error(Down)
        ));
    }
    assert_eq!(calls("burst"), 10);
    assert_eq!(breakers(&engine).await, payments(Open));
    let opened = changes(&drain(&mut events));
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!((opened[0].1, opened[0].2), (Closed, Open));

    // After `open_for`, a successful trial closes it with nothing on record.
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(
        charge_once(&engine, "burst-trial", true, 0)
            .await
            .1
            .unwrap(),
        1
    );
    fail_once(&engine, "burst-after").await;
    fail_once(&engine, "burst-after").await;
    assert_eq!(breakers(&engine).await, payments(Closed));
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_stops_the_retries() {
    let engine = engine();
    let mut events = engine.subscribe();
    let started = tokio::time::Instant::now();
    let handle = engine
        .start(charge_retried, ("retried".to_owned(), false))
        .await
        .unwrap();
    let run = handle.id().clone();
    let error = step_error(handle.result().await.unwrap_err());

    // Attempts 1 to 3 call the service and fail (the third opens the
    // breaker); attempt 4 is rejected, which is permanent: no attempt 5.
    assert!(
        matches!(error.failure, StepFailure::BreakerOpen("payments")),
        "{}",
        error.failure
    );
    assert_eq!(error.attempts, 4);
    assert_eq!(calls("retried"), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(3), "three backoffs");

    let events = drain(&mut events);
    let retrying: Vec<(u32, String)> = events
        .iter()
        .filter_map(|event| match event {
            Event::StepRetrying { attempt, error, .. } => Some((*attempt, error.clone())),
            _ => None,
        })
        .collect();
    let down = "payments are down".to_owned();
    assert_eq!(
        retrying,
        [(1, down.clone()), (2, down.clone()), (3, down.clone())]
    );
    let failed: Vec<(u32, String)> = events
        .iter()
        .filter_map(|event| match event {
            Event::StepFailed { attempt, error, .. } => Some((*attempt, error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        failed,
        [(4, "circuit breaker `payments` is open".to_owned())]
    );
    assert_eq!(moves(&events), [(Closed, Open)]);

    let journal = engine.journal(&run).await.unwrap();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0].attempts, 4);
    assert_eq!(
        journal[0].outcome.failure(),
        Some("circuit breaker `payments` is open")
    );

    // A new run while it is open: one rejected attempt, no backoff.
    let started = tokio::time::Instant::now();
    let error = step_error(
        charge_retried::run(&engine, "retried".to_owned(), true)
            .await
            .unwrap_err(),
    );
    assert!(matches!(
        error.failure,
        StepFailure::BreakerOpen("payments")
    ));
    assert_eq!(error.attempts, 1);
    assert_eq!(calls("retried"), 3);
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_retried_step_closes_a_half_open_breaker_it_gets_through() {
    let engine = engine();
    for _ in 0..3 {
        fail_once(&engine, "half-open-retry").await;
    }
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(
        charge_retried::run(&engine, "half-open-retry-ok".to_owned(), true)
            .await
            .unwrap(),
        1
    );
    assert_eq!(breakers(&engine).await, payments(Closed));
}

#[tokio::test(start_paused = true)]
async fn a_step_naming_an_unknown_breaker_fails_without_being_called() {
    let engine = engine();
    let handle = engine
        .start(charge_elsewhere, "unknown".to_owned())
        .await
        .unwrap();
    let run = handle.id().clone();
    let error = step_error(handle.result().await.unwrap_err());
    assert!(
        matches!(error.failure, StepFailure::UnknownBreaker("nowhere")),
        "{}",
        error.failure
    );
    // A mistake in the setup: not retried.
    assert_eq!(error.attempts, 1);
    assert_eq!(calls("unknown"), 0);
    let message = error.failure.to_string();
    assert!(
        message.contains("no circuit breaker `nowhere`")
            && message.contains("EngineBuilder::breaker"),
        "{message}"
    );
    let journal = engine.journal(&run).await.unwrap();
    assert!(
        matches!(&journal[0].outcome, StepOutcome::Failed(failed) if failed.message == message),
        "{journal:?}"
    );
    // The engine's own breakers are untouched.
    assert_eq!(breakers(&engine).await, payments(Closed));
}

#[tokio::test(start_paused = true)]
async fn breakers_are_listed_by_name_and_separate() {
    let engine = Engine::builder()
        .breaker("search", BreakerConfig::new(1, Duration::from_secs(60)))
        .breaker(
            "payments",
            BreakerConfig::new(3, Duration::from_secs(60)).with_open_for(Duration::from_secs(30)),
        )
        .breaker("audit", BreakerConfig::default())
        .build();
    assert_eq!(
        breakers(&engine).await,
        [
            ("audit".to_owned(), Closed),
            ("payments".to_owned(), Closed),
            ("search".to_owned(), Closed),
        ]
    );
    for _ in 0..3 {
        fail_once(&engine, "listed").await;
    }
    assert_eq!(
        breakers(&engine).await,
        [
            ("audit".to_owned(), Closed),
            ("payments".to_owned(), Open),
            ("search".to_owned(), Closed),
        ]
    );
    assert_eq!(
        open_breakers(&engine).await,
        (vec!["payments".to_owned()], false)
    );
}

#[tokio::test(start_paused = true)]
async fn failures_older_than_the_window_do_not_count() {
    let engine = engine();
    fail_once(&engine, "window").await;
    fail_once(&engine, "window").await;
    // The first two age out of the 60 s window.
    tokio::time::advance(Duration::from_secs(60)).await;
    fail_once(&engine, "window").await;
    fail_once(&engine, "window").await;
    assert_eq!(breakers(&engine).await, payments(Closed));
    fail_once(&engine, "window").await;
    assert_eq!(breakers(&engine).await, payments(Open));
}

#[tokio::test(start_paused = true)]
async fn a_half_open_breaker_admits_as_many_trials_as_configured() {
    let engine = Engine::builder()
        .breaker(
            "payments",
            BreakerConfig::new(3, Duration::from_secs(60))
                .with_open_for(Duration::from_secs(30))
                .with_half_open_calls(2),
        )
        .build();
    let mut events = engine.subscribe();
    for _ in 0..3 {
        fail_once(&engine, "two-trials").await;
    }
    tokio::time::advance(Duration::from_secs(30)).await;

    // Three runs at once: two trials go through, the third is rejected.
    let mut handles = Vec::new();
    for _ in 0..3 {
        let input = ("two-trials-ok".to_owned(), true, 100);
        handles.push(engine.start(charge, input).await.unwrap());
    }
    let mut results = Vec::new();
    for handle in handles {
        results.push(
            handle
                .result()
                .await
                .map_err(|error| step_error(error).failure),
        );
    }
    let succeeded = results.iter().filter(|result| result.is_ok()).count();
    let rejected = results
        .iter()
        .filter(|result| matches!(result, Err(StepFailure::BreakerOpen("payments"))))
        .count();
    assert_eq!((succeeded, rejected), (2, 1), "{results:?}");
    assert_eq!(calls("two-trials-ok"), 2);
    assert_eq!(breakers(&engine).await, payments(Closed));
    assert_eq!(
        moves(&drain(&mut events)),
        [(Closed, Open), (Open, HalfOpen), (HalfOpen, Closed)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_trial_that_times_out_opens_it_again() {
    let engine = engine();
    let mut events = engine.subscribe();
    for _ in 0..3 {
        fail_once(&engine, "slow-trial").await;
    }
    tokio::time::advance(Duration::from_secs(30)).await;
    let error = charge_hanging::run(&engine, "slow-trial-hangs".to_owned())
        .await
        .unwrap_err();
    assert!(matches!(
        step_error(error).failure,
        StepFailure::TimedOut(_)
    ));
    assert_eq!(breakers(&engine).await, payments(Open));
    rejected_once(&engine, "slow-trial-rejected").await;
    assert_eq!(
        moves(&drain(&mut events)),
        [(Closed, Open), (Open, HalfOpen), (HalfOpen, Open)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_many_threads_a_half_open_breaker_admits_exactly_one_trial() {
    let engine = Engine::builder()
        .breaker(
            "payments",
            BreakerConfig::new(3, Duration::from_secs(60))
                .with_open_for(Duration::from_millis(50))
                .with_half_open_calls(1),
        )
        .build();
    // Three runs failing at once, on several threads, open it.
    let mut handles = Vec::new();
    for _ in 0..3 {
        let input = ("threads".to_owned(), false, 10);
        handles.push(engine.start(charge, input).await.unwrap());
    }
    for handle in handles {
        handle.result().await.unwrap_err();
    }
    assert_eq!(breakers(&engine).await, payments(Open));
    tokio::time::sleep(Duration::from_millis(60)).await;

    // Forty runs race for the one trial (which takes half a second).
    let mut handles = Vec::new();
    for _ in 0..40 {
        let input = ("threads-trial".to_owned(), true, 500);
        handles.push(engine.start(charge, input).await.unwrap());
    }
    let mut succeeded = 0;
    for handle in handles {
        match handle.result().await {
            Ok(_) => succeeded += 1,
            Err(error) => assert!(matches!(
                step_error(error).failure,
                StepFailure::BreakerOpen("payments")
            )),
        }
    }
    assert_eq!(succeeded, 1);
    assert_eq!(calls("threads-trial"), 1);
    assert_eq!(breakers(&engine).await, payments(Closed));
}
