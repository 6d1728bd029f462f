//! Retries, backoff delays and timeouts, on tokio's paused clock.

use crate::common;

use std::time::Duration;

use common::{Boom, drain, retry_any, value};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::time::Instant;
use trailhead_core::__private::{StepSpec, no_decode, text_only};
use trailhead_core::{
    Backoff, Engine, Event, RetryPolicy, RunError, RunId, RunStatus, StepError, StepFailure,
    StepKey, StepOutcome, StepPolicy,
};

const fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// How the `fetch` step of [`Flaky`] behaves.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct Plan {
    /// The first `failures` attempts fail with `Boom(attempt)`.
    failures: u32,
    max_attempts: u32,
    /// Exponential 100ms..10s with jitter if set, else a fixed 1s.
    jitter: bool,
}

impl Plan {
    fn policy(self) -> StepPolicy {
        let backoff = if self.jitter {
            Backoff::exponential(ms(100), Duration::from_secs(10))
        } else {
            Backoff::fixed(Duration::from_secs(1))
        };
        StepPolicy::new().with_retry(RetryPolicy::attempts(self.max_attempts).with_backoff(backoff))
    }
}

impl_workflow!(Flaky("flaky"): Plan => u32, StepError<Boom>, |ctx, plan| {
    let mut calls = 0;
    ctx.step(
        StepSpec::new("fetch", &[], plan.policy()),
        || {
            calls += 1;
            let call = calls;
            async move { if call <= plan.failures { Err(Boom(call)) } else { Ok(call) } }
        },
        retry_any, text_only, no_decode,
    )
    .await
});

// Odd errors are retryable, even ones are not.
impl_workflow!(Picky("picky"): () => u32, StepError<Boom>, |ctx, ()| {
    let mut calls = 0;
    let policy = Plan { failures: 0, max_attempts: 5, jitter: false }.policy();
    ctx.step(
        StepSpec::new("fetch", &[], policy),
        || {
            calls += 1;
            let call = calls;
            async move { Err::<u32, _>(Boom(call)) }
        },
        |error: &Boom| error.0 % 2 == 1,
        text_only,
        no_decode,
    )
    .await
});

/// Attempt `n` of the `slow` step sleeps `sleeps_ms[n - 1]`; each attempt may
/// take 1s, then waits 500ms before the next one. No error is retryable, but
/// timeouts always are.
#[derive(Serialize, Deserialize)]
struct Sleeps {
    sleeps_ms: Vec<u64>,
}

impl_workflow!(Slow("slow"): Sleeps => u64, StepError<Boom>, |ctx, input| {
    let attempts = u32::try_from(input.sleeps_ms.len()).unwrap();
    let policy = StepPolicy::new()
        .with_retry(RetryPolicy::attempts(attempts).with_backoff(Backoff::fixed(ms(500))))
        .with_timeout(Duration::from_secs(1));
    let mut sleeps = input.sleeps_ms.into_iter();
    ctx.step(
        StepSpec::new("slow", &[], policy),
        || {
            let sleep = sleeps.next().unwrap();
            async move {
                tokio::time::sleep(ms(sleep)).await;
                Ok::<_, Boom>(sleep)
            }
        },
        |_: &Boom| false,
        text_only,
        no_decode,
    )
    .await
});

#[tokio::test(start_paused = true)]
async fn a_step_failing_twice_succeeds_on_the_third_attempt() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let began = Instant::now();
    let plan = Plan {
        failures: 2,
        max_attempts: 5,
        jitter: false,
    };
    let handle = engine
        .start_with_id(RunId::new("r"), Flaky, plan)
        .await
        .unwrap();

    assert_eq!(handle.result().await.unwrap(), 3);
    assert_eq!(
        began.elapsed(),
        Duration::from_secs(2),
        "two fixed 1s delays"
    );
    assert_eq!(
        drain(&mut events),
        [
            "r started (flaky)",
            "r fetch#1 started",
            "r fetch#1 retrying in 1s: boom 1",
            "r fetch#2 started",
            "r fetch#2 retrying in 1s: boom 2",
            "r fetch#3 started",
            "r fetch#3 completed",
            "r completed",
        ]
    );
    let journal = engine.journal(&RunId::new("r")).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].key, StepKey::new("fetch", &[]));
    assert_eq!(journal[0].attempts, 3);
    assert_eq!(journal[0].outcome, StepOutcome::Completed(value(json!(3))));
}

#[tokio::test(start_paused = true)]
async fn a_step_gives_up_after_its_last_attempt() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let began = Instant::now();
    let plan = Plan {
        failures: 10,
        max_attempts: 3,
        jitter: false,
    };
    let handle = engine
        .start_with_id(RunId::new("r"), Flaky, plan)
        .await
        .unwrap();

    let Err(RunError::Failed { run, error }) = handle.result().await else {
        panic!("the run should fail");
    };
    assert_eq!(run.as_str(), "r");
    assert_eq!(
        (error.run.as_str(), error.step.name(), error.attempts),
        ("r", "fetch", 3)
    );
    assert!(matches!(error.failure, StepFailure::Error(Boom(3))));
    assert_eq!(began.elapsed(), Duration::from_secs(2));
    let message = "step `fetch` of run `r` failed after 3 attempt(s): boom 3";
    assert_eq!(error.to_string(), message);
    assert_eq!(
        drain(&mut events)[5..],
        [
            "r fetch#3 started",
            "r fetch#3 failed: boom 3",
            &format!("r failed: {message}")
        ]
    );

    let journal = engine.journal(&RunId::new("r")).await.unwrap();
    assert_eq!(journal[0].outcome.failure(), Some("boom 3"));
    assert_eq!(journal[0].attempts, 3);
    let record = engine.run_record(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn jittered_exponential_delays_stay_within_bounds() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let began = Instant::now();
    let plan = Plan {
        failures: 5,
        max_attempts: 6,
        jitter: true,
    };

    assert_eq!(engine.run(Flaky, plan).await.unwrap(), 6);
    let delays: Vec<Duration> = std::iter::from_fn(|| events.try_recv())
        .filter_map(|event| match event {
            Event::StepRetrying { delay, .. } => Some(delay),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 5);
    for (delay, nominal) in delays.iter().zip([100, 200, 400, 800, 1600]) {
        assert!(
            (ms(nominal / 2)..=ms(nominal)).contains(delay),
            "{delay:?} is outside [{}ms, {nominal}ms]",
            nominal / 2
        );
    }
    // Timers have millisecond resolution: each sleep may end up to 1ms late.
    let slept: Duration = delays.iter().sum();
    assert!((slept..=slept + ms(5)).contains(&began.elapsed()));
}

#[tokio::test(start_paused = true)]
async fn an_error_the_predicate_rejects_is_not_retried() {
    let engine = Engine::new();
    let Err(RunError::Failed { error, .. }) = engine.run(Picky, ()).await else {
        panic!("the run should fail");
    };
    // Boom(1) is retried; Boom(2) is not, although 3 attempts are left.
    assert_eq!(error.attempts, 2);
    assert_eq!(error.into_source(), Some(Boom(2)));
}

#[tokio::test(start_paused = true)]
async fn timed_out_attempts_are_retried_even_when_errors_are_not() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let began = Instant::now();
    let input = Sleeps {
        sleeps_ms: vec![5_000, 5_000, 200],
    };
    let handle = engine
        .start_with_id(RunId::new("r"), Slow, input)
        .await
        .unwrap();

    assert_eq!(handle.result().await.unwrap(), 200);
    // Two timeouts of 1s, two delays of 500ms, and the 200ms that succeeded.
    assert_eq!(began.elapsed(), ms(3_200));
    assert_eq!(
        drain(&mut events)[1..6],
        [
            "r slow#1 started",
            "r slow#1 retrying in 500ms: the attempt timed out after 1s",
            "r slow#2 started",
            "r slow#2 retrying in 500ms: the attempt timed out after 1s",
            "r slow#3 started",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_last_timed_out_attempt_fails_the_step() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let input = Sleeps {
        sleeps_ms: vec![5_000, 1_001],
    };

    let Err(RunError::Failed { error, .. }) = engine.run(Slow, input).await else {
        panic!("the run should fail");
    };
    assert_eq!(error.attempts, 2);
    assert!(
        matches!(error.failure, StepFailure::TimedOut(limit) if limit == Duration::from_secs(1))
    );
    let failed = std::iter::from_fn(|| events.try_recv())
        .find(|event| matches!(event, Event::StepFailed { .. }));
    let Some(Event::StepFailed {
        attempt, duration, ..
    }) = failed
    else {
        panic!("no StepFailed event");
    };
    assert_eq!((attempt, duration), (2, Duration::from_secs(1)));
}
