//! Fault injection in steps: errors that go away and errors that do not,
//! panics (async, `blocking`, in a child run), hangs past a timeout. Each is a
//! failed step with a typed failure, retried only when its class is transient;
//! no run is left "running", and the engine serves other runs throughout.

use crate::support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use support::run_to_end;

use trailhead::{
    Classify, Engine, ErrorClass, Event, RunError, RunId, RunStatus, StepError, StepFailure,
    StepOutcome, workflow,
};

/// An error that knows its class.
#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("service unavailable")]
    Unavailable,
    #[error("bad request")]
    BadRequest,
}

impl Classify for ApiError {
    fn class(&self) -> ErrorClass {
        match self {
            ApiError::Unavailable => ErrorClass::Transient,
            ApiError::BadRequest => ErrorClass::Permanent,
        }
    }
}

/// An error that does not implement `Classify`: transient by default.
#[derive(Debug, thiserror::Error)]
#[error("glitch")]
struct Glitch;

/// Fails with `error` on the first `failures` calls, then returns the attempt.
async fn flaky(calls: &AtomicU32, failures: u32, error: ApiError) -> Result<u32, ApiError> {
    let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt <= failures {
        Err(error)
    } else {
        Ok(attempt)
    }
}

/// Like `flaky`, with an error type that has no class.
async fn glitchy(calls: &AtomicU32, failures: u32) -> Result<u32, Glitch> {
    let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt <= failures {
        Err(Glitch)
    } else {
        Ok(attempt)
    }
}

/// Never returns on the first `hangs` calls, then returns the attempt.
async fn hangs(calls: &AtomicU32, hangs: u32) -> Result<u32, ApiError> {
    let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt <= hangs {
        std::future::pending::<()>().await;
    }
    Ok(attempt)
}

/// Panics when `n` is odd (counting its calls).
async fn explode(calls: &AtomicU32, n: u32) -> Result<u32, ApiError> {
    calls.fetch_add(1, Ordering::SeqCst);
    assert!(n.is_multiple_of(2), "disk on fire: {n}");
    Ok(n)
}

/// Panics with a payload that is not a message.
async fn explode_silently() -> Result<u32, ApiError> {
    std::panic::panic_any(42_u32)
}

/// Panics on zero (counting its calls), on a blocking thread.
fn crunch(calls: &'static AtomicU32, n: u64) -> Result<u64, Glitch> {
    calls.fetch_add(1, Ordering::SeqCst);
    assert!(n != 0, "cannot crunch zero");
    Ok(1_000 / n)
}

/// Fails with `error` on the first `failures` calls, on a blocking thread.
fn flaky_blocking(
    calls: &'static AtomicU32,
    failures: u32,
    permanent: bool,
) -> Result<u32, ApiError> {
    let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
    match (attempt <= failures, permanent) {
        (false, _) => Ok(attempt),
        (true, true) => Err(ApiError::BadRequest),
        (true, false) => Err(ApiError::Unavailable),
    }
}

/// Like `flaky_blocking`, with an error type that has no class.
fn glitchy_blocking(calls: &'static AtomicU32, failures: u32) -> Result<u32, Glitch> {
    let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt <= failures {
        Err(Glitch)
    } else {
        Ok(attempt)
    }
}

async fn double(n: u64) -> Result<u64, Glitch> {
    tokio::task::yield_now().await;
    Ok(n * 2)
}

fn square(n: u64) -> Result<u64, Glitch> {
    Ok(n * n)
}

static TWICE: AtomicU32 = AtomicU32::new(0);
static GLITCHES: AtomicU32 = AtomicU32::new(0);
static PERMANENT: AtomicU32 = AtomicU32::new(0);
static TRANSIENT: AtomicU32 = AtomicU32::new(0);
static OVERRIDDEN: AtomicU32 = AtomicU32::new(0);
static PANICS: AtomicU32 = AtomicU32::new(0);
static HANGS_TWICE: AtomicU32 = AtomicU32::new(0);
static HANGS_ALWAYS: AtomicU32 = AtomicU32::new(0);
static CRUNCHES: AtomicU32 = AtomicU32::new(0);
static BLOCKING_PERMANENT: AtomicU32 = AtomicU32::new(0);
static BLOCKING_TRANSIENT: AtomicU32 = AtomicU32::new(0);
static BLOCKING_GLITCHES: AtomicU32 = AtomicU32::new(0);
/// Shared by the many runs of the concurrency tests: not asserted on.
static UNCOUNTED: AtomicU32 = AtomicU32::new(0);

workflow! {
    workflow fails_twice() -> Result<u32, trailhead::Error> {
        let attempt = step flaky(&TWICE, 2, ApiError::Unavailable)
            .retry(5, backoff = 1s, jitter = false);
        Ok(attempt)
    }

    workflow glitches_twice() -> Result<u32, trailhead::Error> {
        let attempt = step glitchy(&GLITCHES, 2).retry(5, backoff = 1s);
        Ok(attempt)
    }

    workflow permanent_error() -> Result<u32, trailhead::Error> {
        let attempt = step flaky(&PERMANENT, 99, ApiError::BadRequest).retry(5, backoff = 1s);
        Ok(attempt)
    }

    workflow transient_error() -> Result<u32, trailhead::Error> {
        let attempt = step flaky(&TRANSIENT, 99, ApiError::Unavailable).retry(4, backoff = 100ms);
        Ok(attempt)
    }

    workflow permanent_overridden() -> Result<u32, trailhead::Error> {
        let attempt = step flaky(&OVERRIDDEN, 2, ApiError::BadRequest)
            .retry(3, backoff = 100ms, when = |error| *error == ApiError::BadRequest);
        Ok(attempt)
    }

    workflow panics(n: u32) -> Result<u32, trailhead::Error> {
        let n = step explode(&PANICS, n).retry(5, backoff = 1s);
        Ok(n)
    }

    workflow panics_once(n: u32) -> Result<u32, trailhead::Error> {
        let n = step explode(&UNCOUNTED, n);
        Ok(n)
    }

    workflow panics_without_message() -> Result<u32, trailhead::Error> {
        let n = step explode_silently();
        Ok(n)
    }

    workflow hangs_twice() -> Result<u32, trailhead::Error> {
        let attempt = step hangs(&HANGS_TWICE, 2).timeout(1s).retry(3, backoff = 1s, jitter = false);
        Ok(attempt)
    }

    workflow hangs_always() -> Result<u32, trailhead::Error> {
        let attempt = step hangs(&HANGS_ALWAYS, u32::MAX).timeout(1s).retry(3, backoff = 1s, jitter = false);
        Ok(attempt)
    }

    workflow hangs_forever() -> Result<u32, trailhead::Error> {
        let attempt = step hangs(&UNCOUNTED, u32::MAX).timeout(1s).retry(2, backoff = 1s);
        Ok(attempt)
    }

    workflow crunches(n: u64) -> Result<u64, trailhead::Error> {
        let out = step blocking crunch(&CRUNCHES, n).retry(3, backoff = 1s);
        Ok(out)
    }

    workflow crunches_once(n: u64) -> Result<u64, trailhead::Error> {
        let out = step blocking crunch(&UNCOUNTED, n);
        Ok(out)
    }

    workflow blocking_classes() -> Result<(u32, u32), trailhead::Error> {
        let transient = step blocking flaky_blocking(&BLOCKING_TRANSIENT, 2, false).retry(5, backoff = 1s);
        let glitchy = step blocking glitchy_blocking(&BLOCKING_GLITCHES, 2).retry(5, backoff = 1s);
        Ok((transient, glitchy))
    }

    workflow blocking_permanent() -> Result<u32, trailhead::Error> {
        let attempt = step blocking flaky_blocking(&BLOCKING_PERMANENT, 99, true).retry(5, backoff = 1s);
        Ok(attempt)
    }

    /// A child run whose step panics when `n` is odd.
    workflow child_panics(n: u32) -> Result<u32, trailhead::Error> {
        let n = call panics_once(n);
        Ok(n + 1)
    }

    /// A child run whose body (not a step) panics.
    workflow body_panics(n: u32) -> Result<u32, trailhead::Error> {
        if n == 0 {
            panic!("the body gave up");
        }
        Ok(n)
    }

    workflow calls_a_panicking_body(n: u32) -> Result<u32, trailhead::Error> {
        let n = call body_panics(n);
        Ok(n)
    }

    workflow healthy(n: u64) -> Result<u64, trailhead::Error> {
        let a = step double(n);
        let b = step blocking square(a);
        let c = step double(b).retry(3);
        Ok(c)
    }
}

/// The step error inside a run's failure.
fn step_error<E: std::error::Error + Send + Sync + 'static>(
    error: RunError<trailhead::Error>,
) -> StepError<E> {
    let RunError::Failed { error, .. } = error else {
        panic!("expected the workflow's failure, got {error}");
    };
    *error
        .into_inner()
        .downcast()
        .expect("a step error of the expected type")
}

/// The runs still "running" in the engine's store.
async fn running(engine: &Engine) -> Vec<RunId> {
    let runs = engine.store().list_runs(Some(RunStatus::Running)).await;
    runs.unwrap().into_iter().map(|run| run.id).collect()
}

/// The journal entry of the run's only step: its attempts and outcome.
async fn only_entry(engine: &Engine, run: &RunId) -> (u32, StepOutcome) {
    let journal = engine.journal(run).await.unwrap();
    assert_eq!(journal.len(), 1, "{journal:?}");
    let entry = journal.into_iter().next().unwrap();
    (entry.attempts, entry.outcome)
}

#[tokio::test(start_paused = true)]
async fn a_step_that_fails_twice_is_retried_and_journaled_once() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let (id, result) = run_to_end(&engine, fails_twice, ()).await;
    assert_eq!(result.unwrap(), 3);
    assert_eq!(TWICE.load(Ordering::SeqCst), 3);
    let (attempts, outcome) = only_entry(&engine, &id).await;
    assert_eq!(attempts, 3);
    assert_eq!(
        outcome,
        StepOutcome::Completed(support::value(serde_json::json!(3)))
    );
    let retried: Vec<_> = support::drain(&mut events)
        .into_iter()
        .filter_map(|event| match event {
            Event::StepRetrying { attempt, error, .. } => Some((attempt, error)),
            _ => None,
        })
        .collect();
    assert_eq!(
        retried,
        [
            (1, "service unavailable".to_owned()),
            (2, "service unavailable".to_owned())
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_type_without_a_class_is_retried() {
    let engine = Engine::new();
    assert_eq!(glitches_twice::run(&engine).await.unwrap(), 3);
    assert_eq!(GLITCHES.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_is_attempted_once_despite_retry() {
    let engine = Engine::new();
    let started = tokio::time::Instant::now();
    let (id, result) = run_to_end(&engine, permanent_error, ()).await;
    let error = step_error::<ApiError>(result.unwrap_err());
    assert_eq!(PERMANENT.load(Ordering::SeqCst), 1);
    assert_eq!(error.attempts, 1);
    assert!(matches!(
        error.failure,
        StepFailure::Error(ApiError::BadRequest)
    ));
    assert_eq!(error.failure.class(Classify::class), ErrorClass::Permanent);
    assert_eq!(started.elapsed(), Duration::ZERO, "no backoff waited");
    let (attempts, outcome) = only_entry(&engine, &id).await;
    assert_eq!(attempts, 1);
    assert_eq!(outcome.failure(), Some("bad request"));
}

#[tokio::test(start_paused = true)]
async fn a_transient_error_is_retried_to_the_limit() {
    let engine = Engine::new();
    let (_, result) = run_to_end(&engine, transient_error, ()).await;
    let error = step_error::<ApiError>(result.unwrap_err());
    assert_eq!(TRANSIENT.load(Ordering::SeqCst), 4);
    assert_eq!(error.attempts, 4);
    assert!(matches!(
        error.failure,
        StepFailure::Error(ApiError::Unavailable)
    ));
}

#[tokio::test(start_paused = true)]
async fn when_overrides_the_error_class() {
    let engine = Engine::new();
    // `BadRequest` is permanent, but the step's `when` says to retry it.
    assert_eq!(permanent_overridden::run(&engine).await.unwrap(), 3);
    assert_eq!(OVERRIDDEN.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_step_fails_its_run_with_the_message_and_the_engine_goes_on() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let (id, result) = run_to_end(&engine, panics, 7).await;
    let error = step_error::<ApiError>(result.unwrap_err());
    assert_eq!(error.run, id);
    assert_eq!(error.step.to_string(), "explode");
    assert!(
        matches!(&error.failure, StepFailure::Panicked(message) if message == "disk on fire: 7"),
        "{error}"
    );
    // A panic is permanent: one attempt despite `.retry(5)`.
    assert_eq!(error.attempts, 1);
    assert_eq!(PANICS.load(Ordering::SeqCst), 1);

    let (attempts, outcome) = only_entry(&engine, &id).await;
    assert_eq!(attempts, 1);
    assert_eq!(
        outcome,
        StepOutcome::Failed(trailhead::FailedStep::new(
            "the step panicked: disk on fire: 7".to_owned(),
            trailhead::ErrorClass::Permanent,
            trailhead::FailureCause::Panicked("disk on fire: 7".to_owned())
        ))
    );
    let failed = support::drain(&mut events)
        .into_iter()
        .find_map(|event| match event {
            Event::StepFailed { error, .. } => Some(error),
            _ => None,
        });
    assert_eq!(
        failed.as_deref(),
        Some("the step panicked: disk on fire: 7")
    );
    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Failed);
    assert!(running(&engine).await.is_empty());

    // The engine runs the next workflow (and the same one) as usual.
    assert_eq!(healthy::run(&engine, 3).await.unwrap(), 72);
    assert_eq!(panics::run(&engine, 8).await.unwrap(), 8);
    assert!(running(&engine).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_panic_without_a_message_says_so() {
    let engine = Engine::new();
    let error = step_error::<ApiError>(panics_without_message::run(&engine).await.unwrap_err());
    assert!(
        matches!(&error.failure, StepFailure::Panicked(message) if message == "(no message)"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_that_hangs_past_its_timeout_is_retried_as_transient() {
    let engine = Engine::new();
    let started = tokio::time::Instant::now();
    assert_eq!(hangs_twice::run(&engine).await.unwrap(), 3);
    // Two 1s timeouts, each followed by a 1s backoff, then an attempt that returns.
    assert_eq!(started.elapsed(), Duration::from_secs(4));
    assert_eq!(HANGS_TWICE.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_step_that_always_hangs_times_out_on_every_attempt() {
    let engine = Engine::new();
    let (id, result) = run_to_end(&engine, hangs_always, ()).await;
    let error = step_error::<ApiError>(result.unwrap_err());
    assert!(
        matches!(error.failure, StepFailure::TimedOut(limit) if limit == Duration::from_secs(1)),
        "{error}"
    );
    assert_eq!(error.attempts, 3);
    assert_eq!(HANGS_ALWAYS.load(Ordering::SeqCst), 3);
    assert!(running(&engine).await.is_empty(), "{id} left running");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_blocking_step_fails_with_the_message() {
    let engine = Engine::new();
    let (id, result) = run_to_end(&engine, crunches, 0).await;
    let error = step_error::<Glitch>(result.unwrap_err());
    assert!(
        matches!(&error.failure, StepFailure::Panicked(message) if message == "cannot crunch zero"),
        "{error}"
    );
    assert_eq!(error.attempts, 1);
    assert_eq!(CRUNCHES.load(Ordering::SeqCst), 1);
    let (_, outcome) = only_entry(&engine, &id).await;
    assert_eq!(
        outcome,
        StepOutcome::Failed(trailhead::FailedStep::new(
            "the step panicked: cannot crunch zero".to_owned(),
            trailhead::ErrorClass::Permanent,
            trailhead::FailureCause::Panicked("cannot crunch zero".to_owned())
        ))
    );
    assert!(running(&engine).await.is_empty());
    assert_eq!(crunches::run(&engine, 8).await.unwrap(), 125);
}

#[tokio::test(start_paused = true)]
async fn blocking_steps_follow_the_error_class_too() {
    let engine = Engine::new();
    // Transient by `Classify`, and transient by default: both retried.
    assert_eq!(blocking_classes::run(&engine).await.unwrap(), (3, 3));
    assert_eq!(BLOCKING_TRANSIENT.load(Ordering::SeqCst), 3);
    assert_eq!(BLOCKING_GLITCHES.load(Ordering::SeqCst), 3);
    // Permanent by `Classify`: one attempt.
    let error = step_error::<ApiError>(blocking_permanent::run(&engine).await.unwrap_err());
    assert_eq!(error.attempts, 1);
    assert_eq!(BLOCKING_PERMANENT.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_child_whose_step_panics_fails_the_call() {
    let engine = Engine::new();
    let (parent, result) = run_to_end(&engine, child_panics, 5).await;
    let error = step_error::<trailhead::Error>(result.unwrap_err());
    assert_eq!(error.run, parent);
    assert_eq!(error.step.to_string(), "panics_once");
    // The child failed with its step's panic; the call step fails with the
    // child's error.
    let StepFailure::Error(child_error) = &error.failure else {
        panic!("expected the child's error, got {error}");
    };
    assert!(
        child_error
            .to_string()
            .ends_with("the step panicked: disk on fire: 5"),
        "{child_error}"
    );
    let runs = engine.store().list_runs(None).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|run| run.status() == RunStatus::Failed));
    assert_eq!(child_panics::run(&engine, 4).await.unwrap(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_child_whose_body_panics_fails_the_call_with_the_message() {
    let engine = Engine::new();
    let (parent, result) = run_to_end(&engine, calls_a_panicking_body, 0).await;
    let error = step_error::<trailhead::Error>(result.unwrap_err());
    assert_eq!(error.run, parent);
    assert!(
        matches!(&error.failure, StepFailure::Panicked(message) if message == "the body gave up"),
        "{error}"
    );
    assert!(running(&engine).await.is_empty());
    assert_eq!(calls_a_panicking_body::run(&engine, 2).await.unwrap(), 2);
}

/// Starts `healthy` runs for 1..=`count` interleaved with faulty ones, then
/// checks every result.
async fn healthy_among_faults(engine: &Engine, count: u64, with_hangs: bool) {
    let mut healthy_runs = Vec::new();
    let mut panicking = Vec::new();
    let mut blocking = Vec::new();
    let mut children = Vec::new();
    let mut hanging = Vec::new();
    for n in 1..=count {
        healthy_runs.push((n, engine.start(healthy, n).await.unwrap()));
        if n % 10 == 0 {
            panicking.push(engine.start(panics_once, 1).await.unwrap());
            blocking.push(engine.start(crunches_once, 0).await.unwrap());
            children.push(engine.start(child_panics, 3).await.unwrap());
            if with_hangs {
                hanging.push(engine.start(hangs_forever, ()).await.unwrap());
            }
        }
    }
    for (n, handle) in healthy_runs {
        assert_eq!(handle.result().await.unwrap(), 8 * n * n, "run for {n}");
    }
    for handle in panicking {
        let error = step_error::<ApiError>(handle.result().await.unwrap_err());
        assert!(matches!(error.failure, StepFailure::Panicked(_)), "{error}");
    }
    for handle in blocking {
        let error = step_error::<Glitch>(handle.result().await.unwrap_err());
        assert!(matches!(error.failure, StepFailure::Panicked(_)), "{error}");
    }
    for handle in children {
        let error = step_error::<trailhead::Error>(handle.result().await.unwrap_err());
        assert!(error.to_string().contains("panicked"), "{error}");
    }
    for handle in hanging {
        let error = step_error::<ApiError>(handle.result().await.unwrap_err());
        assert!(matches!(error.failure, StepFailure::TimedOut(_)), "{error}");
    }
    assert!(running(engine).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_engine_keeps_serving_other_runs_throughout() {
    healthy_among_faults(&Engine::new(), 200, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_engine_keeps_serving_other_runs_on_many_threads() {
    // No hangs here: their timeouts would take real time.
    healthy_among_faults(&Engine::new(), 200, false).await;
}
