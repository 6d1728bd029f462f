//! Fallbacks: `step f(x).fallback(value)` gives `value` (evaluated only then)
//! when the step fails for good or its breaker is open. The value is journaled
//! as the step's `FellBack` outcome (no `Failed` entry), announced by
//! `StepFellBack`, replayed on resume like an output, and never compensated.

use crate::support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use support::{Calls, drain, run_to_end, step_started};
use trailhead::{
    BreakerConfig, BreakerState, Engine, Error, Event, MemoryStore, RunError, RunId, RunStatus,
    StepError, StepFailure, StepOutcome, StepRecord, workflow,
};

/// How many times each tag's function was called.
static COUNTS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

fn count(tag: &str) {
    *COUNTS.lock().unwrap().entry(tag.to_owned()).or_default() += 1;
}

fn counted(tag: &str) -> u32 {
    COUNTS.lock().unwrap().get(tag).copied().unwrap_or(0)
}

/// How the price service behaves.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
enum Mode {
    Ok,
    Fail,
    Hang,
    Panic,
}

/// The live price: 100, or a failure of the kind asked for.
async fn quote(tag: &str, mode: Mode) -> Result<u32, Error> {
    count(tag);
    match mode {
        Mode::Ok => Ok(100),
        Mode::Fail => Err(Error::msg("the price service is down")),
        Mode::Hang => std::future::pending().await,
        Mode::Panic => panic!("the price client crashed"),
    }
}

/// The price to use instead; counts how often it is evaluated.
fn list_price(tag: &str) -> u32 {
    count(&format!("{tag}/fallback"));
    999
}

workflow! {
    /// A price, retried three times, else the list price.
    workflow retried_price(tag: String, mode: Mode) -> Result<u32, Error> {
        let price = step quote(&tag, mode)
            .retry(3, backoff = 1s, jitter = false)
            .fallback(list_price(&tag));
        Ok(price + 1)
    }

    /// A price under a one-second timeout, else 0.
    workflow price_in_time(tag: String, mode: Mode) -> Result<u32, Error> {
        let price = step quote(&tag, mode).timeout(1s).fallback(0);
        Ok(price)
    }

    /// A price through the `prices` breaker, else the list price.
    workflow guarded_price(tag: String, mode: Mode) -> Result<u32, Error> {
        let price = step quote(&tag, mode).breaker("prices").fallback(list_price(&tag));
        Ok(price)
    }

    /// A price through a breaker the engine does not have.
    workflow misconfigured_price(tag: String) -> Result<u32, Error> {
        let price = step quote(&tag, Mode::Ok).breaker("nowhere").fallback(0);
        Ok(price)
    }
}

/// The entry under `key` in a journal.
fn entry<'a>(journal: &'a [StepRecord], key: &str) -> &'a StepRecord {
    journal
        .iter()
        .find(|record| record.key.to_string() == key)
        .unwrap_or_else(|| panic!("no journal entry `{key}` in {journal:?}"))
}

/// The `StepFellBack` events among `events`: step and error.
fn fell_back(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::StepFellBack { step, error, .. } => Some((step.to_string(), error.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_step_that_fails_for_good_gives_its_fallback() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let started = tokio::time::Instant::now();
    let (id, result) = run_to_end(&engine, retried_price, ("retried".to_owned(), Mode::Fail)).await;
    assert_eq!(result.unwrap(), 1000, "the list price, plus one");
    // All three attempts were made first, 1 s apart.
    assert_eq!(counted("retried"), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(counted("retried/fallback"), 1);

    // Journaled once, as fallen back, with the attempts made.
    let journal = engine.journal(&id).await.unwrap();
    assert_eq!(journal.len(), 1, "no `Failed` entry beside it: {journal:?}");
    assert_eq!(journal[0].key.to_string(), "quote");
    assert_eq!(
        journal[0].outcome,
        StepOutcome::FellBack(support::value(json!(999)))
    );
    assert_eq!(journal[0].attempts, 3);

    let events = drain(&mut events);
    assert_eq!(
        fell_back(&events),
        [("quote".to_owned(), "the price service is down".to_owned())]
    );
    let retries = events
        .iter()
        .filter(|event| matches!(event, Event::StepRetrying { .. }))
        .count();
    assert_eq!(retries, 2);
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, Event::StepCompleted { .. })),
        "a fallback is not a completion"
    );
    assert!(
        events
            .iter()
            .any(|event| matches!(event, Event::RunCompleted { .. }))
    );
    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Completed);
}

#[tokio::test(start_paused = true)]

async fn a_fallen_back_entry_spans_the_step_s_attempts() {
    let engine = Engine::new();
    let (id, result) = run_to_end(&engine, retried_price, ("span".to_owned(), Mode::Fail)).await;
    assert_eq!(result.unwrap(), 1000);
    let journal = engine.journal(&id).await.unwrap();
    let record = &journal[0];
    assert_eq!(
        record.outcome,
        StepOutcome::FellBack(support::value(json!(999)))
    );
    // `started_at` is "when the first attempt started", `finished_at` "when
    // the last attempt ended": three attempts, 1 s apart.
    assert_eq!(
        record
            .finished_at
            .duration_since(record.started_at)
            .unwrap(),
        Duration::from_secs(2)
    );
}

#[tokio::test(start_paused = true)]
async fn the_fallback_is_evaluated_only_when_the_step_fails() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let (id, result) = run_to_end(&engine, retried_price, ("fine".to_owned(), Mode::Ok)).await;
    assert_eq!(result.unwrap(), 101);
    assert_eq!(counted("fine"), 1);
    assert_eq!(counted("fine/fallback"), 0, "not evaluated");
    let journal = engine.journal(&id).await.unwrap();
    assert_eq!(
        journal[0].outcome,
        StepOutcome::Completed(support::value(json!(100)))
    );
    assert!(fell_back(&drain(&mut events)).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_timeout_and_a_panic_fall_back() {
    let engine = Engine::new();
    let mut events = engine.subscribe();

    let started = tokio::time::Instant::now();
    let (hung, result) = run_to_end(&engine, price_in_time, ("hangs".to_owned(), Mode::Hang)).await;
    assert_eq!(result.unwrap(), 0);
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    let journal = engine.journal(&hung).await.unwrap();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(
        journal[0].outcome,
        StepOutcome::FellBack(support::value(json!(0)))
    );

    let (panicked, result) =
        run_to_end(&engine, price_in_time, ("panics".to_owned(), Mode::Panic)).await;
    assert_eq!(result.unwrap(), 0);
    let journal = engine.journal(&panicked).await.unwrap();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(
        journal[0].outcome,
        StepOutcome::FellBack(support::value(json!(0)))
    );

    assert_eq!(
        fell_back(&drain(&mut events)),
        [
            (
                "quote".to_owned(),
                "the attempt timed out after 1s".to_owned()
            ),
            (
                "quote".to_owned(),
                "the step panicked: the price client crashed".to_owned()
            ),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_falls_back_without_calling_the_step() {
    let engine = Engine::builder()
        .breaker(
            "prices",
            BreakerConfig::new(2, Duration::from_secs(60)).with_open_for(Duration::from_secs(30)),
        )
        .build();
    let mut events = engine.subscribe();

    // Two failures fall back and open the breaker.
    for _ in 0..2 {
        let (_, result) = run_to_end(&engine, guarded_price, ("down".to_owned(), Mode::Fail)).await;
        assert_eq!(result.unwrap(), 999);
    }
    assert_eq!(counted("down"), 2);
    let health = engine.health().await.unwrap();
    let open: Vec<_> = health.open_breakers().map(|b| b.name.clone()).collect();
    assert_eq!(open, ["prices"]);

    // Open: the service (which would answer now) is not called; the fallback is.
    let (id, result) = run_to_end(&engine, guarded_price, ("skipped".to_owned(), Mode::Ok)).await;
    assert_eq!(result.unwrap(), 999);
    assert_eq!(counted("skipped"), 0);
    assert_eq!(counted("skipped/fallback"), 1);
    let journal = engine.journal(&id).await.unwrap();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(
        journal[0].outcome,
        StepOutcome::FellBack(support::value(json!(999)))
    );
    assert_eq!(journal[0].attempts, 1);

    let events = drain(&mut events);
    let errors: Vec<String> = fell_back(&events)
        .into_iter()
        .map(|(_, error)| error)
        .collect();
    assert_eq!(
        errors,
        [
            "the price service is down",
            "the price service is down",
            "circuit breaker `prices` is open"
        ]
    );
    let opened = events
        .iter()
        .filter(|event| {
            matches!(
                event,
                Event::BreakerChanged {
                    from: BreakerState::Closed,
                    to: BreakerState::Open,
                    ..
                }
            )
        })
        .count();
    assert_eq!(opened, 1);

    // Once it half-opens, the trial call is made and closes it.
    tokio::time::advance(Duration::from_secs(30)).await;
    let (_, result) = run_to_end(&engine, guarded_price, ("back".to_owned(), Mode::Ok)).await;
    assert_eq!(result.unwrap(), 100);
    assert_eq!(counted("back"), 1);
    assert!(engine.health().await.unwrap().is_healthy());
}

#[tokio::test(start_paused = true)]
async fn a_fallback_does_not_cover_a_breaker_the_engine_lacks() {
    let engine = Engine::new();
    let (id, result) = run_to_end(&engine, misconfigured_price, "misconfigured".to_owned()).await;
    let RunError::Failed { error, .. } = result.unwrap_err() else {
        panic!("expected the step's failure");
    };
    let error: Box<StepError<Error>> = error.into_inner().downcast().unwrap();
    assert!(
        matches!(error.failure, StepFailure::UnknownBreaker("nowhere")),
        "{}",
        error.failure
    );
    assert_eq!(counted("misconfigured"), 0);
    let journal = engine.journal(&id).await.unwrap();
    assert!(
        matches!(&journal[0].outcome, StepOutcome::Failed(failed) if failed.message.contains("nowhere")),
        "{journal:?}"
    );
}

// ---- fan-out ----------------------------------------------------------------

/// Odd items have no price.
async fn price_of(x: u32) -> Result<u32, Error> {
    if x % 2 == 1 {
        return Err(Error::msg(format!("no price for {x}")));
    }
    Ok(x * 10)
}

workflow! {
    workflow item_prices(items: Vec<u32>) -> Result<Vec<u32>, Error> {
        let prices = parallel(limit = 2) for x in items {
            step price_of(x).fallback(0)
        };
        Ok(prices)
    }
}

#[tokio::test(start_paused = true)]
async fn each_item_of_a_fan_out_falls_back_on_its_own() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let (id, result) = run_to_end(&engine, item_prices, vec![1, 2, 3, 4]).await;
    assert_eq!(result.unwrap(), [0, 20, 0, 40]);
    let journal = engine.journal(&id).await.unwrap();
    assert_eq!(journal.len(), 4, "{journal:?}");
    assert_eq!(
        entry(&journal, "price_of[0]").outcome,
        StepOutcome::FellBack(support::value(json!(0)))
    );
    assert_eq!(
        entry(&journal, "price_of[1]").outcome,
        StepOutcome::Completed(support::value(json!(20)))
    );
    assert_eq!(
        entry(&journal, "price_of[2]").outcome,
        StepOutcome::FellBack(support::value(json!(0)))
    );
    let mut fell: Vec<(String, String)> = fell_back(&drain(&mut events));
    fell.sort();
    assert_eq!(
        fell,
        [
            ("price_of[0]".to_owned(), "no price for 1".to_owned()),
            ("price_of[2]".to_owned(), "no price for 3".to_owned()),
        ]
    );
}

// ---- compensation -----------------------------------------------------------

static UNDONE: Calls = Calls::new();

async fn reserve(n: u32) -> Result<u32, Error> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(n)
}

async fn broken(tag: &str) -> Result<u32, Error> {
    count(tag);
    Err(Error::msg("the meal service is down"))
}

async fn refuse() -> Result<u32, Error> {
    Err(Error::msg("the card was declined"))
}

async fn release(n: u32) -> Result<(), Error> {
    UNDONE.push(format!("release {n}"));
    Ok(())
}

workflow! {
    /// A seat, a meal that falls back to none (0), and a payment that fails.
    workflow booking(tag: String) -> Result<u32, Error> {
        let seat = step reserve(7).name("seat").compensate(release);
        let meal = step broken(&tag)
            .name("meal")
            .after(seat)
            .compensate(release)
            .fallback(0);
        let paid = step refuse().name("pay").after(meal);
        Ok(seat + meal + paid)
    }
}

#[tokio::test(start_paused = true)]
async fn a_fallen_back_step_is_not_compensated() {
    let engine = Engine::new();
    let (id, result) = run_to_end(&engine, booking, "meal".to_owned()).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, RunError::Failed { error, .. } if error.to_string().contains("declined")),
        "{error}"
    );
    assert_eq!(counted("meal"), 1);
    // The seat is released; the meal, which fell back, is not.
    assert_eq!(UNDONE.take(), ["release 7"]);
    let journal = engine.journal(&id).await.unwrap();
    assert_eq!(
        entry(&journal, "meal").outcome,
        StepOutcome::FellBack(support::value(json!(0)))
    );
    let keys: Vec<String> = journal.iter().map(|r| r.key.to_string()).collect();
    assert!(keys.contains(&"undo:seat".to_owned()), "{keys:?}");
    assert!(!keys.contains(&"undo:meal".to_owned()), "{keys:?}");
    let record = engine.run_record(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Failed);
}

// ---- resume -----------------------------------------------------------------

/// The tags whose `gate` is open; a closed gate never returns: the "process"
/// stops there.
static OPENED: Mutex<Vec<String>> = Mutex::new(Vec::new());

async fn gate(tag: &str, price: u32) -> Result<u32, Error> {
    count(&format!("{tag}/gate"));
    if !OPENED.lock().unwrap().iter().any(|opened| opened == tag) {
        std::future::pending::<()>().await;
    }
    Ok(price)
}

workflow! {
    /// A price that falls back, then a step the first "process" stops in.
    workflow gated_price(tag: String) -> Result<u32, Error> {
        let price = step quote(&tag, Mode::Fail).fallback(list_price(&tag));
        let passed = step gate(&tag, price);
        Ok(passed)
    }
}

/// Runs `gated_price` under tag `tag` until its gate, in a runtime that is
/// then dropped with the run's task in it (as a killed process would); opens
/// the gate and resumes the run with a second engine from `engine()`, which
/// opens the same store. Asserts the fallen-back step replays.
fn stop_and_resume(tag: &str, engine: impl Fn() -> Engine) {
    let run = RunId::new(format!("{tag}-1"));
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap()
    };

    runtime().block_on(async {
        let engine = engine();
        let mut events = engine.subscribe();
        let _handle = engine
            .start_with_id(run.clone(), gated_price, tag.to_owned())
            .await
            .unwrap();
        step_started(&mut events, "gate").await;
    });
    assert_eq!(counted(tag), 1);
    assert_eq!(counted(&format!("{tag}/fallback")), 1);

    // Second "process": the fallen-back step replays; only the gate runs.
    OPENED.lock().unwrap().push(tag.to_owned());
    runtime().block_on(async {
        let engine = engine();
        let mut events = engine.subscribe();
        let mut handles = engine.resume(gated_price).await.unwrap();
        assert_eq!(handles.len(), 1);
        let handle = handles.pop().unwrap();
        assert_eq!(handle.id(), &run);
        assert_eq!(handle.result().await.unwrap(), 999);

        let events = drain(&mut events);
        assert!(
            events.iter().any(|event| matches!(
                event,
                Event::StepReplayed { step, .. } if step.to_string() == "quote"
            )),
            "{events:?}"
        );
        assert!(
            fell_back(&events).is_empty(),
            "a replayed fallback is not a new one"
        );
        let journal = engine.journal(&run).await.unwrap();
        let quotes = journal
            .iter()
            .filter(|record| record.key.to_string() == "quote")
            .count();
        assert_eq!(quotes, 1, "{journal:?}");
        assert_eq!(
            entry(&journal, "quote").outcome,
            StepOutcome::FellBack(support::value(json!(999)))
        );
    });
    assert_eq!(counted(tag), 1, "the step did not run again");
    assert_eq!(
        counted(&format!("{tag}/fallback")),
        1,
        "nor did its fallback"
    );
    assert_eq!(counted(&format!("{tag}/gate")), 2);
}

#[test]
fn a_fallback_replays_on_resume_like_an_output() {
    let store = MemoryStore::new();
    stop_and_resume("memory", || Engine::builder().store(store.clone()).build());
}

#[test]
fn a_fallback_survives_a_sqlite_store_and_replays_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    stop_and_resume("sqlite", || Engine::open(&path).unwrap());
}
