//! Retries, backoff and timeouts, on tokio's paused clock (no real waiting).

use crate::support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use trailhead::{Engine, Event, RetryPolicy, workflow};

#[derive(Debug, thiserror::Error)]
enum FlakyError {
    #[error("try again")]
    Transient,
    #[error("give up")]
    Permanent,
}

impl FlakyError {
    fn is_transient(&self) -> bool {
        matches!(self, FlakyError::Transient)
    }
}

/// Fails with `error` until its `succeed_on`-th call.
async fn flaky(
    calls: &AtomicU32,
    succeed_on: u32,
    error: fn() -> FlakyError,
) -> Result<u32, FlakyError> {
    let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt < succeed_on {
        Err(error())
    } else {
        Ok(attempt)
    }
}

async fn slow(delay: Duration) -> Result<u64, FlakyError> {
    tokio::time::sleep(delay).await;
    Ok(u64::try_from(delay.as_millis()).unwrap())
}

static CALLS_A: AtomicU32 = AtomicU32::new(0);
static CALLS_B: AtomicU32 = AtomicU32::new(0);
static CALLS_C: AtomicU32 = AtomicU32::new(0);
static CALLS_D: AtomicU32 = AtomicU32::new(0);

const PATIENT: RetryPolicy = RetryPolicy::attempts(4);

workflow! {
    workflow succeeds_on_third() -> Result<u32, trailhead::Error> {
        let attempt = step flaky(&CALLS_A, 3, || FlakyError::Transient).retry(5, backoff = 1s..4s, jitter = false);
        Ok(attempt)
    }

    workflow exhausts() -> Result<u32, trailhead::Error> {
        let attempt = step flaky(&CALLS_B, 99, || FlakyError::Transient).retry(3, backoff = 100ms);
        Ok(attempt)
    }

    workflow permanent_is_not_retried() -> Result<u32, trailhead::Error> {
        let attempt = step flaky(&CALLS_C, 99, || FlakyError::Permanent)
            .retry(5, backoff = 100ms, when = FlakyError::is_transient);
        Ok(attempt)
    }

    workflow policy_from_an_expression() -> Result<u32, trailhead::Error> {
        let attempt = step flaky(&CALLS_D, 4, || FlakyError::Transient).retry(PATIENT);
        Ok(attempt)
    }

    workflow times_out(delay: Duration) -> Result<u64, trailhead::Error> {
        let ms = step slow(delay).timeout(1s);
        Ok(ms)
    }

    workflow times_out_then_gives_up(delay: Duration) -> Result<u64, trailhead::Error> {
        let ms = step slow(delay).timeout(Duration::from_millis(500)).retry(2, backoff = 1s);
        Ok(ms)
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_succeeds_on_attempt_three_after_exponential_delays() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let started = tokio::time::Instant::now();
    assert_eq!(succeeds_on_third::run(&engine).await.unwrap(), 3);
    // 1s then 2s of backoff (jitter off), in virtual time.
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let delays: Vec<Duration> = support::drain(&mut events)
        .into_iter()
        .filter_map(|event| match event {
            Event::StepRetrying { delay, attempt, .. } => Some((attempt, delay)),
            _ => None,
        })
        .map(|(attempt, delay)| {
            assert!(attempt <= 2);
            delay
        })
        .collect();
    assert_eq!(delays, [Duration::from_secs(1), Duration::from_secs(2)]);
}

#[tokio::test(start_paused = true)]
async fn an_exhausted_retry_fails_the_run_naming_step_and_attempts() {
    let engine = Engine::new();
    let handle = engine.start(exhausts, ()).await.unwrap();
    let run = handle.id().clone();
    let error = handle.result().await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("flaky"), "{text}");
    assert!(text.contains("3 attempt"), "{text}");
    assert!(text.contains(run.as_str()), "{text}");
    assert!(text.contains("try again"), "{text}");
    assert_eq!(CALLS_B.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn errors_the_predicate_calls_permanent_are_not_retried() {
    let engine = Engine::new();
    let error = permanent_is_not_retried::run(&engine).await.unwrap_err();
    assert!(error.to_string().contains("1 attempt"), "{error}");
    assert_eq!(CALLS_C.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_policy_can_be_a_rust_expression() {
    let engine = Engine::new();
    assert_eq!(policy_from_an_expression::run(&engine).await.unwrap(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_step_past_its_timeout_fails_with_a_timeout() {
    let engine = Engine::new();
    assert_eq!(
        times_out::run(&engine, Duration::from_millis(900))
            .await
            .unwrap(),
        900
    );

    let started = tokio::time::Instant::now();
    let error = times_out::run(&engine, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "gave up at the timeout"
    );
    assert!(error.to_string().contains("timed out"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried_and_the_step_error_says_so() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let started = tokio::time::Instant::now();
    let error = times_out_then_gives_up::run(&engine, Duration::from_secs(60))
        .await
        .unwrap_err();
    // 500ms attempt, 1s backoff, 500ms attempt.
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert!(error.to_string().contains("2 attempt"), "{error}");
    let failure = support::drain(&mut events)
        .into_iter()
        .find_map(|event| match event {
            Event::StepFailed { attempt, error, .. } => Some((attempt, error)),
            _ => None,
        });
    let (attempt, text) = failure.expect("a StepFailed event");
    assert_eq!(attempt, 2);
    assert!(text.contains("timed out"), "{text}");
}
