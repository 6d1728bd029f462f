//! Replay testing: a recorded run's journal replayed against changed code,
//! each kind of change caught at the right key, compatible ones clean.

use trailhead::replay::{self, Divergence, History, ReplayError};
use trailhead::store::RunState;
use trailhead::{Engine, Error, RunId, workflow};

async fn first(n: u32) -> Result<u32, Error> {
    Ok(n + 1)
}
async fn second(n: u32) -> Result<u32, Error> {
    Ok(n * 10)
}
async fn third(n: u32) -> Result<u32, Error> {
    Ok(n + 3)
}
async fn rent(n: u32) -> Result<u32, Error> {
    Ok(n + 100)
}
async fn seat(i: u32) -> Result<u32, Error> {
    Ok(i)
}

mod prices {
    use trailhead::Error;

    /// The price as text, as the first version journaled it.
    pub(super) mod text {
        pub(crate) async fn price(n: u32) -> Result<String, super::Error> {
            Ok(format!("{n} EUR"))
        }
    }
    /// The price as a number of cents, as the new version returns it.
    pub(super) mod cents {
        pub(crate) async fn price(n: u32) -> Result<u64, super::Error> {
            Ok(u64::from(n) * 100)
        }
    }
}

/// The recorded definition: three steps in a chain, a fan-out and a price.
mod v1 {
    use super::prices::text::price;
    use super::{first, seat, second, third};
    use trailhead::{Error, workflow};

    workflow! {
        pub workflow order(n: u32) -> Result<String, Error> {
            let a = step first(n);
            let b = step second(a);
            let c = step third(b).name("hotel");
            let seats = parallel for i in 0..3 {
                step seat(i)
            };
            let p = step price(c);
            Ok(format!("{p} {}", seats.len()))
        }
    }
}

/// Records a finished run of `v1::order`.
async fn recorded() -> History {
    let engine = Engine::new();
    let handle = engine
        .start_with_id(RunId::new("order-1"), v1::order, 1)
        .await
        .unwrap();
    handle.result().await.unwrap();
    History::of_run(&**engine.store(), &RunId::new("order-1"))
        .await
        .unwrap()
}

fn diverged(result: Result<replay::Replayed, ReplayError>) -> Divergence {
    match result {
        Err(ReplayError::Diverged(divergence)) => {
            let text = divergence.to_string();
            assert!(text.starts_with("run order-1: "), "{text}");
            divergence
        }
        other => panic!("expected a divergence, got {other:?}"),
    }
}

fn key(text: &str) -> trailhead::StepKey {
    text.parse().unwrap()
}

#[tokio::test]
async fn the_code_that_recorded_a_run_replays_it_clean_without_running_a_step() {
    let history = recorded().await;
    let replayed = replay::replay(v1::order, &history).unwrap();
    assert_eq!(replayed.run, RunId::new("order-1"));
    assert_eq!(replayed.replayed, history.journal.len());
    assert_eq!(replayed.replayed, 7, "first, second, hotel, 3 seats, price");
    assert!(replayed.continues_at.is_empty());
    // Through the file a project keeps, too.
    let again = History::from_json(&history.to_json()).unwrap();
    assert_eq!(replay::replay(v1::order, &again).unwrap(), replayed);
}

mod reordered {
    use super::prices::text::price;
    use super::{first, seat, second, third};
    use trailhead::{Error, workflow};

    workflow! {
        /// `second` no longer waits for `first`: it comes first.
        pub workflow order(n: u32) -> Result<String, Error> {
            let b = step second(n);
            let a = step first(b);
            let c = step third(a).name("hotel");
            let seats = parallel for i in 0..3 {
                step seat(i)
            };
            let p = step price(c);
            Ok(format!("{p} {}", seats.len()))
        }
    }
}

#[tokio::test]
async fn reordered_steps_are_caught_at_the_step_now_reached_too_early() {
    let history = recorded().await;
    assert_eq!(
        diverged(replay::replay(reordered::order, &history)),
        Divergence::Reordered {
            run: RunId::new("order-1"),
            key: key("second"),
            before: key("first"),
        }
    );
}

mod removed {
    use super::prices::text::price;
    use super::{first, seat, third};
    use trailhead::{Error, workflow};

    workflow! {
        /// `second` is gone.
        pub workflow order(n: u32) -> Result<String, Error> {
            let a = step first(n);
            let c = step third(a).name("hotel");
            let seats = parallel for i in 0..3 {
                step seat(i)
            };
            let p = step price(c);
            Ok(format!("{p} {}", seats.len()))
        }
    }
}

#[tokio::test]
async fn a_removed_step_is_caught_at_its_journaled_key() {
    let history = recorded().await;
    let divergence = diverged(replay::replay(removed::order, &history));
    assert_eq!(
        divergence,
        Divergence::Unreached {
            run: RunId::new("order-1"),
            key: key("second"),
        }
    );
    assert!(
        divergence.to_string().contains("no longer reaches"),
        "{divergence}"
    );
}

mod changed_function {
    use super::prices::text::price;
    use super::{first, rent, seat, second};
    use trailhead::{Error, workflow};

    workflow! {
        /// `hotel` now calls another function.
        pub workflow order(n: u32) -> Result<String, Error> {
            let a = step first(n);
            let b = step second(a);
            let c = step rent(b).name("hotel");
            let seats = parallel for i in 0..3 {
                step seat(i)
            };
            let p = step price(c);
            Ok(format!("{p} {}", seats.len()))
        }
    }
}

#[tokio::test]
async fn a_changed_step_function_is_caught_with_both_names() {
    let history = recorded().await;
    assert_eq!(
        diverged(replay::replay(changed_function::order, &history)),
        Divergence::DifferentTarget {
            run: RunId::new("order-1"),
            key: key("hotel"),
            journaled: "third".to_owned(),
            now: "rent".to_owned(),
        }
    );
}

mod changed_output {
    use super::prices::cents::price;
    use super::{first, seat, second, third};
    use trailhead::{Error, workflow};

    workflow! {
        /// `price` now gives cents, not text.
        pub workflow order(n: u32) -> Result<String, Error> {
            let a = step first(n);
            let b = step second(a);
            let c = step third(b).name("hotel");
            let seats = parallel for i in 0..3 {
                step seat(i)
            };
            let p = step price(c);
            Ok(format!("{p} {}", seats.len()))
        }
    }
}

#[tokio::test]
async fn an_output_that_no_longer_decodes_is_caught_at_its_key() {
    let history = recorded().await;
    match diverged(replay::replay(changed_output::order, &history)) {
        Divergence::OutputDoesNotDecode {
            run,
            key: at,
            error,
        } => {
            assert_eq!((run, at), (RunId::new("order-1"), key("price")));
            assert!(!error.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

mod inserted_loop {
    use super::prices::text::price;
    use super::{first, seat, second, third};
    use trailhead::{Error, workflow};

    workflow! {
        /// `first` now runs in a loop: its keys have an index.
        pub workflow order(n: u32) -> Result<String, Error> {
            let mut a = n;
            for i in 0..2 {
                a = step first(a + i);
            }
            let b = step second(a);
            let c = step third(b).name("hotel");
            let seats = parallel for i in 0..3 {
                step seat(i)
            };
            let p = step price(c);
            Ok(format!("{p} {}", seats.len()))
        }
    }
}

#[tokio::test]
async fn an_inserted_loop_is_caught_at_its_first_indexed_key() {
    let history = recorded().await;
    assert_eq!(
        diverged(replay::replay(inserted_loop::order, &history)),
        Divergence::Missing {
            run: RunId::new("order-1"),
            key: key("first[0]"),
            journaled: key("first"),
        }
    );
}

mod extended {
    use super::prices::text::price;
    use super::{first, seat, second, third};
    use trailhead::{Error, workflow};

    workflow! {
        /// One more step after the price, declared safe for the first
        /// version's runs in flight.
        #[compatible_with(0x1)]
        pub workflow order(n: u32) -> Result<String, Error> {
            let a = step first(n);
            let b = step second(a);
            let c = step third(b).name("hotel");
            let seats = parallel for i in 0..3 {
                step seat(i)
            };
            let p = step price(c);
            let q = step first(c).name("receipt");
            Ok(format!("{p} {} {q}", seats.len()))
        }
    }
}

mod extended_undeclared {
    use super::prices::text::price;
    use super::{first, seat, second, third};
    use trailhead::{Error, workflow};

    workflow! {
        /// The same change, not declared.
        pub workflow order(n: u32) -> Result<String, Error> {
            let a = step first(n);
            let b = step second(a);
            let c = step third(b).name("hotel");
            let seats = parallel for i in 0..3 {
                step seat(i)
            };
            let p = step price(c);
            let q = step first(c).name("receipt");
            Ok(format!("{p} {} {q}", seats.len()))
        }
    }
}

#[tokio::test]
async fn a_compatible_change_replays_clean_and_says_where_a_run_in_flight_goes_on() {
    // The run as if still in flight under a definition hashed 0x1.
    let mut history = recorded().await;
    history.record.state = RunState::Running;
    history.record.definition_hash = 0x1;
    let replayed = replay::replay(extended::order, &history).unwrap();
    assert_eq!(replayed.continues_at, [key("receipt")]);
    assert_eq!(replayed.replayed, 7);

    match replay::replay(extended_undeclared::order, &history) {
        Err(error @ ReplayError::NotDeclaredCompatible { .. }) => {
            let text = error.to_string();
            assert!(text.contains("#[compatible_with(0x1)]"), "{text}");
            assert_eq!(error.run(), Some(&RunId::new("order-1")));
        }
        other => panic!("{other:?}"),
    }
    // A finished run never resumes: the same change reads it clean.
    let finished = recorded().await;
    assert!(replay::replay(extended_undeclared::order, &finished).is_ok());
}

#[tokio::test]
async fn a_history_of_another_workflow_or_input_is_refused_by_name() {
    workflow! {
        workflow other(n: u32) -> Result<u32, Error> {
            let a = step first(n);
            Ok(a)
        }
    }
    let history = recorded().await;
    match replay::replay(other, &history) {
        Err(ReplayError::OtherWorkflow {
            run,
            recorded,
            replaying,
        }) => {
            assert_eq!(run, RunId::new("order-1"));
            assert_eq!((recorded.as_str(), replaying), ("order", other::NAME));
        }
        unexpected => panic!("{unexpected:?}"),
    }
    let mut history = recorded().await;
    history.record.input = trailhead::store::Value::encode(&"one".to_owned()).unwrap();
    assert!(matches!(
        replay::replay(v1::order, &history),
        Err(ReplayError::Input { .. })
    ));
}

static HELD: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

async fn held(n: u32) -> Result<u32, Error> {
    HELD.acquire().await.unwrap().forget();
    Ok(n)
}

mod in_flight {
    use super::{first, held};
    use trailhead::{Error, workflow};

    workflow! {
        /// A step, a held step, then a sleep, a signal and a last step.
        pub workflow parcel(n: u32) -> Result<u32, Error> {
            let a = step first(n);
            let b = step held(a);
            sleep 1h;
            let extra: u32 = signal "extra";
            let c = step first(b + extra).name("last");
            Ok(c)
        }
    }
}

#[tokio::test]
async fn a_run_in_flight_replays_up_to_where_it_waits() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let run = RunId::new("parcel-1");
    let handle = engine
        .start_with_id(run.clone(), in_flight::parcel, 1)
        .await
        .unwrap();
    crate::support::step_started(&mut events, "held").await;
    let store = engine.store();
    let history = History::of_run(&**store, &run).await.unwrap();
    let replayed = replay::replay(in_flight::parcel, &history).unwrap();
    assert_eq!(replayed.continues_at, [key("held")]);
    assert_eq!(replayed.replayed, 1);

    // Past the sleep, waiting for the signal: the sleep replays at once.
    HELD.add_permits(1);
    crate::support::step_started(&mut events, "sleep").await;
    let history = History::of_run(&**store, &run).await.unwrap();
    let replayed = replay::replay(in_flight::parcel, &history).unwrap();
    assert_eq!(replayed.continues_at, [key("extra")]);
    assert_eq!(replayed.replayed, 3, "first, held, the sleep");
    engine.cancel(&run).await.unwrap();
    let _ = handle.result().await;
}

#[tokio::test]
async fn a_folder_of_histories_replays_each_of_the_workflow_and_names_each_failure() {
    let dir = tempfile::tempdir().unwrap();
    let history = recorded().await;
    std::fs::write(dir.path().join("order-1.json"), history.to_json()).unwrap();
    let mut other = history.clone();
    other.record.workflow = "someone_else".to_owned();
    std::fs::write(dir.path().join("other.json"), other.to_json()).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a history").unwrap();

    let replayed = replay::replay_folder(v1::order, dir.path()).unwrap();
    assert_eq!(
        replayed.len(),
        1,
        "the other workflow's history is left alone"
    );

    std::fs::write(dir.path().join("broken.json"), "{\"format\": 1}").unwrap();
    let failures = replay::replay_folder(removed::order, dir.path()).unwrap_err();
    let places: Vec<_> = failures
        .failures
        .iter()
        .map(|(place, _)| place.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(places, ["broken.json", "order-1.json"]);
    let text = failures.to_string();
    assert!(
        text.starts_with("2 recorded run(s) did not replay clean"),
        "{text}"
    );
    assert!(text.contains("is not a trailhead run history"), "{text}");
    assert!(text.contains("the journal has `second`"), "{text}");

    let newer = history
        .to_json()
        .replacen("\"format\": 1", "\"format\": 9", 1);
    std::fs::write(dir.path().join("broken.json"), newer).unwrap();
    let failures = replay::replay_folder(v1::order, dir.path()).unwrap_err();
    assert!(
        failures.to_string().contains("history of format 9"),
        "{failures}"
    );
}

#[tokio::test]
async fn every_run_of_a_workflow_in_a_store_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    {
        let engine = Engine::open(&path).unwrap();
        for id in ["order-1", "order-2"] {
            let handle = engine
                .start_with_id(RunId::new(id), v1::order, 2)
                .await
                .unwrap();
            handle.result().await.unwrap();
        }
    }
    let store = trailhead::SqliteStore::open_read_only(&path).unwrap();
    let replayed = replay::replay_store(v1::order, &store).await.unwrap();
    assert_eq!(replayed.len(), 2);
    let failures = replay::replay_store(reordered::order, &store)
        .await
        .unwrap_err();
    assert_eq!(failures.failures.len(), 2);
    assert!(failures.to_string().contains("order-2"), "{failures}");
}

pub(crate) mod every_construct {
    use trailhead::{Error, workflow};

    pub(crate) async fn add(a: u32, b: u32) -> Result<u32, Error> {
        Ok(a + b)
    }
    pub(crate) async fn flaky(n: u32) -> Result<u32, Error> {
        if n % 2 == 1 {
            Err(Error::msg("odd"))
        } else {
            Ok(n)
        }
    }
    pub(crate) async fn undo(n: u32) -> Result<(), Error> {
        let _ = n;
        Ok(())
    }
    pub(crate) fn square(n: u32) -> Result<u32, Error> {
        Ok(n * n)
    }

    workflow! {
        /// A child: a step and a short sleep.
        pub(crate) workflow child(n: u32) -> Result<u32, Error> {
            let a = step add(n, 1);
            sleep 10ms;
            Ok(a)
        }

        /// Branches, a match, nested and while loops with accumulators, a
        /// fan-out with a limit, fallbacks (a value, a step), a blocking
        /// step, a call, a compensation, `.after`, a signal with a timeout.
        pub(crate) workflow everything(n: u32) -> Result<u32, Error> {
            let base = step add(n, 0).name("base").compensate(undo);
            let branch = if base > 2 {
                step add(base, 10).name("big")
            } else {
                step add(base, 20).name("small")
            };
            let kind = match base % 3 {
                0 => step add(0, 0).name("zero"),
                1 => step add(1, 0).name("one"),
                _ => step add(2, 0).name("two"),
            };
            let mut total = 0;
            for i in 0..3 {
                for j in 0..2 {
                    total += step add(i, j).name("grid");
                }
            }
            let mut k = 0;
            while k < 3 {
                k = step add(k, 1).name("count");
            }
            let items = parallel(limit = 2) for x in 0..5 {
                step add(x, branch).name("item")
            };
            let soft = step flaky(base + 1).fallback(7);
            let hard = step flaky(base + 3).fallback(step add(base, 100));
            let squared = step blocking square(base);
            let called = call child(base);
            step add(0, 0).name("last_word").after(called);
            let nudge: Option<u32> = signal "nudge".timeout(20ms);
            Ok(branch + kind + total + k + items.len() as u32 + soft + hard + squared + called + nudge.unwrap_or(0))
        }
    }
}

#[tokio::test]
async fn every_construct_of_the_language_replays_clean_under_the_code_that_recorded_it() {
    for n in [2_u32, 4, 7] {
        let engine = Engine::new();
        let run = RunId::new(format!("everything-{n}"));
        let handle = engine
            .start_with_id(run.clone(), every_construct::everything, n)
            .await
            .unwrap();
        handle.result().await.unwrap();
        let history = History::of_run(&**engine.store(), &run).await.unwrap();
        let replayed = replay::replay(every_construct::everything, &history)
            .unwrap_or_else(|error| panic!("n = {n}: {error}"));
        // Every entry but a fallback step's: its step replays the value it
        // fell back to.
        let fallbacks = history
            .journal
            .iter()
            .filter(|entry| entry.key.name().ends_with(".fallback"))
            .count();
        assert!(
            fallbacks > 0 || n % 2 == 1,
            "n = {n}: the fallback step ran"
        );
        assert_eq!(
            replayed.replayed,
            history.journal.len() - fallbacks,
            "n = {n}"
        );
        assert!(
            replayed.continues_at.is_empty(),
            "n = {n}: {:?}",
            replayed.continues_at
        );
        let child = History::of_run(&**engine.store(), &run.child(&key("child")))
            .await
            .unwrap();
        replay::replay(every_construct::child, &child).unwrap();
    }
}

mod rolled_back {
    use super::every_construct::{add, undo};
    use trailhead::{Error, workflow};

    pub(crate) async fn decline(n: u32) -> Result<u32, Error> {
        Err(Error::msg(format!("declined {n}")))
    }

    workflow! {
        /// Two holds undone when the payment fails for good.
        pub(crate) workflow hold_and_pay(n: u32) -> Result<u32, Error> {
            let a = step add(n, 1).name("hold").compensate(undo);
            let b = step add(a, 1).name("hold_again").compensate(undo);
            let paid = step decline(b).retry(2, backoff = 1ms);
            Ok(paid)
        }
    }
}

#[tokio::test]
async fn a_failed_and_rolled_back_run_replays_clean_too() {
    let engine = Engine::new();
    let run = RunId::new("rolled-1");
    let handle = engine
        .start_with_id(run.clone(), rolled_back::hold_and_pay, 1)
        .await
        .unwrap();
    handle.result().await.unwrap_err();
    let history = History::of_run(&**engine.store(), &run).await.unwrap();
    assert!(
        history
            .journal
            .iter()
            .any(|entry| entry.key.to_string() == "undo:hold")
    );
    let replayed = replay::replay(rolled_back::hold_and_pay, &history).unwrap();
    assert_eq!(replayed.replayed, 3, "hold, hold_again, the failed payment");
}
