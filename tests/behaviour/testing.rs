//! The test kit: a paused clock, stubs by key and by function, signals at
//! virtual times, journal assertions and diagrams saved on failure.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::testing::{Stub, TestEngine};
use trailhead::{Error, RunId, StepFailure, assert_steps, workflow};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

async fn remind(day: u32) -> Result<u32, Error> {
    Ok(day)
}

workflow! {
    /// A reminder a day for a week, then a wait for the answer.
    workflow week(user: u32) -> Result<String, Error> {
        let mut sent = 0;
        for day in 0..7 {
            sleep 24h;
            sent += step remind(day);
        }
        let answer: String = signal "answer";
        Ok(format!("user {user}: {sent} reminder-days, answered {answer}"))
    }
}

#[tokio::test]
async fn a_week_of_sleeps_and_a_signal_run_on_virtual_time() {
    let kit = TestEngine::new();
    let handle = kit.start(week, 7).await.unwrap();
    let sent = kit.signal_after(handle.id(), "answer", "yes".to_owned(), 8 * DAY);
    assert_eq!(
        handle.result().await.unwrap(),
        "user 7: 21 reminder-days, answered yes"
    );
    sent.await.unwrap().unwrap();
    assert!(kit.elapsed() >= 8 * DAY, "{:?}", kit.elapsed());
    assert!(kit.elapsed() < 9 * DAY, "{:?}", kit.elapsed());
}

workflow! {
    /// One hour-long sleep between two reminders.
    workflow hour(user: u32) -> Result<u32, Error> {
        let a = step remind(user);
        sleep 1h;
        let b = step remind(a + 1).name("again");
        Ok(b)
    }
}

#[tokio::test]
async fn advance_moves_the_clock_by_what_it_is_told() {
    let kit = TestEngine::new();
    let mut events = kit.subscribe();
    let handle = kit
        .start_with_id(RunId::new("hour-1"), hour, 1)
        .await
        .unwrap();
    crate::support::step_started(&mut events, "sleep").await;
    kit.advance(Duration::from_secs(30 * 60)).await;
    let picture = kit.picture::<hour>(handle.id()).await.unwrap();
    let again = picture
        .nodes
        .iter()
        .find(|n| n.site.as_deref() == Some("again"))
        .unwrap();
    assert_eq!(again.state.name(), "not_reached", "half an hour in");
    kit.advance(Duration::from_secs(30 * 60)).await;
    assert_eq!(handle.result().await.unwrap(), 2);
    assert_steps!(kit, &RunId::new("hour-1"), ["remind", "sleep", "again"]);
}

#[derive(Debug, Serialize, Deserialize, thiserror::Error, PartialEq)]
enum CardError {
    #[error("the card was declined")]
    Declined,
    #[error("the provider is down")]
    Down,
}

async fn charge(cents: u64) -> Result<String, CardError> {
    unreachable!("the tests stub the payment provider, {cents}")
}

async fn reserve(seat: u32) -> Result<u32, Error> {
    Ok(seat)
}

mod payments {
    pub(crate) async fn refund(cents: u64) -> Result<u64, trailhead::Error> {
        unreachable!("stubbed by function, {cents}")
    }
}

workflow! {
    /// Seats, a retried charge and a refund named otherwise.
    workflow book(seats: u32) -> Result<(u32, String, u64), Error> {
        let mut held = 0;
        for seat in 0..seats {
            held += step reserve(seat);
        }
        let paid = step charge(u64::from(held) * 100)
            .retry(4, backoff = 10s, when = |e: &CardError| *e == CardError::Down);
        let back = step payments::refund(5).name("give_back").after(paid);
        Ok((held, paid, back))
    }
}

#[tokio::test]
async fn stubs_stand_in_for_steps_by_key_and_function_and_count_their_calls() {
    let kit = TestEngine::new();
    let seats = kit.stub(
        "reserve[*]",
        Stub::with(|call| Stub::returns(call.key.path()[0] * 10)),
    );
    // The last seat is stubbed again, more narrowly: the later stub wins.
    let last = kit.stub("reserve[2]", Stub::returns(1_000));
    let charge = kit.stub(
        "charge",
        Stub::sequence([
            Stub::error(CardError::Down),
            Stub::fails_transiently("the network blinked"),
            Stub::returns("pay-1"),
        ]),
    );
    let refund = kit.stub_function("payments :: refund", Stub::returns(5_u64));
    let run = RunId::new("book-1");
    let handle = kit.start_with_id(run.clone(), book, 3).await.unwrap();
    assert_eq!(
        handle.result().await.unwrap(),
        (1_010, "pay-1".to_owned(), 5)
    );
    assert_eq!((seats.count(), last.count()), (2, 1));
    assert_eq!(charge.count(), 3, "two retried failures, then the payment");
    assert_eq!(refund.count(), 1);
    assert_steps!(
        kit,
        &run,
        [
            "reserve[0]",
            "reserve[1]",
            "reserve[2]",
            "charge",
            "give_back"
        ]
    );
    // The retries waited their backoff on the paused clock.
    assert!(kit.elapsed() >= Duration::from_secs(20));
    let journal = kit.journal(&run).await.unwrap();
    let charged = journal
        .iter()
        .find(|e| e.key.to_string() == "charge")
        .unwrap();
    assert_eq!(charged.attempts, 3);
    assert_eq!(charged.retries[0].error, "the provider is down");
    assert_eq!(charged.retries[1].error, "the network blinked");
}

#[tokio::test]
async fn a_stubbed_error_of_the_steps_own_type_arrives_typed_and_others_as_stubbed() {
    let kit = TestEngine::new();
    kit.stub("charge", Stub::error(CardError::Declined));
    let handle = kit.start(book, 1).await.unwrap();
    let error = handle.result().await.unwrap_err().to_string();
    assert!(error.contains("the card was declined"), "{error}");

    let kit = TestEngine::new();
    kit.stub("reserve", Stub::returns("not a number"));
    let handle = kit
        .start_with_id(RunId::new("book-2"), book, 1)
        .await
        .unwrap();
    let error = handle.result().await.unwrap_err().to_string();
    assert!(
        error.contains("the stub's value does not decode as the output of `reserve[0]`"),
        "{error}"
    );
    let kit = TestEngine::new();
    let down = kit.stub("charge", Stub::fails("no card on file"));
    kit.stub("reserve", Stub::returns(1));
    let handle = kit.start(book, 1).await.unwrap();
    let error = handle.result().await.unwrap_err().to_string();
    assert!(error.contains("no card on file"), "{error}");
    assert_eq!(
        down.count(),
        1,
        "a permanent stubbed failure is not retried"
    );
    let _ = StepFailure::<CardError>::Stubbed {
        message: String::new(),
        class: trailhead::ErrorClass::Permanent,
    };
}

#[test]
fn a_failing_test_saves_the_diagram_of_each_run() {
    let id = format!("saved-{}", std::process::id());
    let run = RunId::new(id.clone());
    let failed = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let kit = TestEngine::new();
                let handle = kit.start_with_id(run.clone(), hour, 1).await.unwrap();
                handle.result().await.unwrap();
                assert_steps!(kit, &run, ["remind", "again"]);
            });
    })
    .join();
    let message = failed.unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("not\n  [\"remind\", \"again\"]"),
        "{message}"
    );
    let path = std::env::temp_dir()
        .join("trailhead-test-diagrams")
        .join(format!("{id}.mmd"));
    let diagram = std::fs::read_to_string(&path).unwrap();
    assert!(diagram.starts_with("flowchart"), "{diagram}");
    assert!(diagram.contains("completed"), "{diagram}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only its owner reads it: {mode:o}");
    }
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn stubs_reach_every_kind_of_step_of_every_construct() {
    use crate::replay::every_construct::everything;
    let kit = TestEngine::new();
    let grid = kit.stub("grid[*][*]", Stub::returns(1_u32));
    let items = kit.stub("item", Stub::returns(2_u32));
    let squares = kit.stub_function("square", Stub::returns(9_u32));
    let soft = kit.stub("flaky", Stub::fails("stubbed down"));
    let hard = kit.stub("flaky#2", Stub::fails_transiently("stubbed down"));
    let handle = kit
        .start_with_id(RunId::new("every-1"), everything, 4)
        .await
        .unwrap();
    // big 14 + one 1 + six grid cells of 1 + count 3 + 5 items + the value
    // fallback 7 + the fallback step add(4, 100) + the blocking stub's 9 +
    // the child's 5 + no nudge.
    assert_eq!(
        handle.result().await.unwrap(),
        14 + 1 + 6 + 3 + 5 + 7 + 104 + 9 + 5
    );
    assert_eq!((grid.count(), items.count(), squares.count()), (6, 5, 1));
    assert_eq!(
        (soft.count(), hard.count()),
        (1, 1),
        "neither retried: no retry policy"
    );
}
