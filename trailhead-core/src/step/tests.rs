//! Replay: a resumed run takes journaled outputs instead of running steps.
//!
//! There is no public resume yet, so these tests build the resumed run's
//! context from `Store::open_run` the way a resume will.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::StepSpec;
use crate::__private::{no_decode, text_only, transient};
use crate::store::{MemoryStore, RunRecord, StepOutcome, StepRecord, Store, Value};
use crate::{
    Engine, Event, RetryPolicy, RunContext, RunId, StepFailure, StepKey, StepPolicy, StoreError,
    Workflow,
};

/// The retry predicate that retries every error.
fn retry_any<E>(_: &E) -> bool {
    true
}

fn encoded<T: serde::Serialize + serde::de::DeserializeOwned>(value: T) -> Value {
    Value::encode(&value).unwrap()
}

/// A store holding run `r` whose journal has `entries`, and an engine on it.
async fn resumed(entries: &[(&'static str, &[u32], Value)]) -> (Engine, RunContext) {
    let store = MemoryStore::new();
    let journal = store
        .create_run(RunRecord {
            id: RunId::new("r"),
            workflow: "w".into(),
            definition_hash: 0,
            parent: None,
            input: encoded(()),
            state: crate::store::RunState::Running,
            mermaid: String::new(),
            created_at: SystemTime::now(),
            cancel_requested: false,
        })
        .await
        .unwrap();
    for (name, path, value) in entries {
        let now = SystemTime::now();
        let record = StepRecord {
            key: StepKey::new(name, path),
            outcome: StepOutcome::Completed(value.clone()),
            attempts: 1,
            started_at: now,
            finished_at: now,
            retries: Vec::new(),
        };
        journal.record_step(record).await.unwrap();
    }
    let engine = Engine::builder().store(store.clone()).build();
    let (_, steps, journal) = store.open_run(&RunId::new("r")).await.unwrap().unwrap();
    let ctx = RunContext::new(
        engine.clone(),
        RunId::new("r"),
        "w",
        journal,
        steps,
        CancellationToken::new(),
        false,
    );
    (engine, ctx)
}

#[tokio::test(start_paused = true)]
async fn journaled_steps_replay_without_running() {
    let (engine, ctx) = resumed(&[
        ("a", &[], encoded(41)),
        ("b", &[0], encoded("x".to_owned())),
    ])
    .await;
    let mut events = engine.subscribe();
    let calls = Cell::new(0);
    let run = || {
        calls.set(calls.get() + 1);
        async { Ok::<_, String>(0_u32) }
    };

    let a = ctx
        .step(
            StepSpec::new("a", &[], StepPolicy::DEFAULT),
            run,
            retry_any,
            text_only,
            no_decode,
        )
        .await
        .unwrap();
    let b: String = ctx
        .step_once(
            StepSpec::new("b", &[0], StepPolicy::DEFAULT),
            || async { Ok::<_, String>("new".to_owned()) },
            transient,
            text_only,
            no_decode,
        )
        .await
        .unwrap();
    assert_eq!((a, b.as_str(), calls.get()), (41, "x", 0));

    // Same name, another loop index: not journaled, so it runs.
    let b1 = ctx
        .step_once(
            StepSpec::new("b", &[1], StepPolicy::DEFAULT),
            || async { Ok::<_, String>("new".to_owned()) },
            transient,
            text_only,
            no_decode,
        )
        .await
        .unwrap();
    assert_eq!(b1, "new");

    let journal = engine.journal(&RunId::new("r")).await.unwrap();
    let keys: Vec<_> = journal.iter().map(|step| step.key.to_string()).collect();
    assert_eq!(keys, ["a", "b[0]", "b[1]"]);

    let replayed: Vec<_> = std::iter::from_fn(|| events.try_recv())
        .filter_map(|event| match event {
            Event::StepReplayed { step, .. } => Some(step.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(replayed, ["a", "b[0]"]);
}

#[tokio::test(start_paused = true)]
async fn a_journaled_output_of_the_wrong_type_fails_without_running() {
    let (_engine, ctx) = resumed(&[("a", &[], encoded("not a number".to_owned()))]).await;
    let ran = Cell::new(false);
    let error = ctx
        .step(
            StepSpec::new("a", &[], StepPolicy::DEFAULT),
            || {
                ran.set(true);
                async { Ok::<u32, String>(1) }
            },
            retry_any,
            text_only,
            no_decode,
        )
        .await
        .unwrap_err();
    assert!(!ran.get());
    assert_eq!(error.attempts, 0);
    assert!(matches!(
        &error.failure,
        StepFailure::Journal(StoreError::Decode { run, step: Some(step), .. })
            if run.as_str() == "r" && step.name() == "a"
    ));
    assert!(error.to_string().starts_with(
        "step `a` of run `r` failed after 0 attempt(s): journal: could not decode the journaled output of step `a` of run `r`"
    ));
}

#[derive(Clone, Copy, Default)]
struct Never;

impl Workflow for Never {
    type Input = ();
    type Output = u32;
    type Error = String;
    const NAME: &'static str = "never";
    const MERMAID: &'static str = "";
    const DEFINITION_HASH: u64 = 0;

    async fn execute(self, _: &RunContext, (): ()) -> Result<u32, String> {
        Err("a replayed call must not start the child".to_owned())
    }
}

#[tokio::test(start_paused = true)]
async fn a_journaled_call_does_not_start_the_child_again() {
    let (engine, ctx) = resumed(&[("ship", &[], encoded(7))]).await;
    assert_eq!(ctx.call("ship", &[], Never, ()).await.unwrap(), 7);
    let child = engine.run_record(&RunId::new("r/ship")).await.unwrap();
    assert!(child.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_panic_making_or_polling_an_attempt_fails_the_step() {
    let (engine, ctx) = resumed(&[]).await;
    let making = ctx
        .step_once(
            StepSpec::new("make", &[], StepPolicy::DEFAULT),
            || -> std::future::Ready<Result<u32, String>> { panic!("while making") },
            transient,
            text_only,
            no_decode,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&making.failure, StepFailure::Panicked(message) if message == "while making"),
        "{making}"
    );

    // Under a timeout, the panic is caught before the timeout sees it.
    let policy = StepPolicy::new().with_timeout(Duration::from_secs(1));
    let polling = ctx
        .step_once(
            StepSpec::new("poll", &[], policy),
            || async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                if true {
                    panic!("while polling");
                }
                Ok::<u32, String>(1)
            },
            transient,
            text_only,
            no_decode,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&polling.failure, StepFailure::Panicked(message) if message == "while polling"),
        "{polling}"
    );

    let journal = engine.journal(&RunId::new("r")).await.unwrap();
    let outcomes: Vec<_> = journal
        .iter()
        .map(|step| {
            (
                step.key.to_string(),
                step.outcome.failure().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                "make".to_owned(),
                Some("the step panicked: while making".to_owned())
            ),
            (
                "poll".to_owned(),
                Some("the step panicked: while polling".to_owned())
            ),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_not_retried_and_a_timeout_is_even_when_errors_are_not() {
    let (_engine, ctx) = resumed(&[]).await;
    let policy = StepPolicy::new().with_retry(RetryPolicy::attempts(3));
    let attempts = Cell::new(0);
    let panicked = ctx
        .step(
            StepSpec::new("panics", &[], policy),
            || {
                attempts.set(attempts.get() + 1);
                async {
                    if true {
                        panic!("every time");
                    }
                    Ok::<(), String>(())
                }
            },
            retry_any,
            text_only,
            no_decode,
        )
        .await
        .unwrap_err();
    assert!(matches!(panicked.failure, StepFailure::Panicked(_)));
    assert_eq!((panicked.attempts, attempts.get()), (1, 1));

    let policy = policy.with_timeout(Duration::from_secs(1));
    let timed_out = ctx
        .step(
            StepSpec::new("hangs", &[], policy),
            std::future::pending::<Result<(), String>>,
            |_| false,
            text_only,
            no_decode,
        )
        .await
        .unwrap_err();
    assert!(matches!(timed_out.failure, StepFailure::TimedOut(_)));
    assert_eq!(timed_out.attempts, 3);
}
