//! `patterns::race`: the first success wins, the others are cancelled, and
//! what they finished is undone.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::patterns::race::{Contender, RaceError, Winner, race};
use trailhead::{Engine, Error, RunError, RunStatus, StepFailure, Workflow, workflow};

use super::saga::{runtime, sqlite_engine};
use crate::support::{Calls, journal_keys, run_to_end, step_started};

/// What the contenders of every test did.
static SEEN: Calls = Calls::new();
/// How many contenders reached the end of their run.
static FINISHED: AtomicU32 = AtomicU32::new(0);
/// The tests share `SEEN` and `FINISHED`: one at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A carrier that answers after `ms` (paused clock), or fails.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Carrier {
    name: String,
    ms: u64,
    fails: bool,
}

impl Contender for Carrier {
    type Output = String;
    async fn run(&self) -> Result<String, Error> {
        SEEN.push(format!("start {}", self.name));
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        FINISHED.fetch_add(1, Ordering::SeqCst);
        if self.fails {
            return Err(Error::msg(format!("{} has no truck", self.name)));
        }
        Ok(format!("pickup by {}", self.name))
    }
    async fn undo(&self, pickup: String) -> Result<(), Error> {
        SEEN.push(format!("cancel {pickup}"));
        Ok(())
    }
}

fn carrier(name: &str, ms: u64, fails: bool) -> Carrier {
    Carrier {
        name: name.to_owned(),
        ms,
        fails,
    }
}

/// Takes its turn and clears what the last test left.
async fn turn() -> tokio::sync::MutexGuard<'static, ()> {
    let turn = TURN.lock().await;
    SEEN.take();
    FINISHED.store(0, Ordering::SeqCst);
    turn
}

#[tokio::test(start_paused = true)]
async fn the_fastest_wins_and_the_slower_ones_are_cancelled() {
    let _turn = turn().await;
    let engine = Engine::new();
    let began = tokio::time::Instant::now();
    let (run, result) = run_to_end(
        &engine,
        race::<Carrier>::default(),
        vec![
            carrier("slow", 300, false),
            carrier("fast", 100, false),
            carrier("slower", 500, false),
        ],
    )
    .await;
    assert_eq!(
        result.unwrap(),
        Winner {
            index: 1,
            output: "pickup by fast".to_owned()
        }
    );
    // Decided at 100 ms: the others were dropped mid-sleep.
    assert_eq!(began.elapsed(), Duration::from_millis(100));
    assert_eq!(FINISHED.load(Ordering::SeqCst), 1, "only the winner ended");
    assert_eq!(SEEN.take(), ["start slow", "start fast", "start slower"]);
    // Nor do they end later: their futures are gone.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(FINISHED.load(Ordering::SeqCst), 1);
    assert_eq!(journal_keys(&engine, &run).await, ["race"]);
}

#[tokio::test(start_paused = true)]
async fn a_loser_that_finished_before_it_could_be_cancelled_is_undone() {
    let _turn = turn().await;
    let engine = Engine::new();
    // `b` and `c` both answer at 100 ms: `b`, first in the list, wins, `c`
    // had already booked and is undone; `a` failed before, `d` is cancelled.
    let (_, result) = run_to_end(
        &engine,
        race::<Carrier>::default(),
        vec![
            carrier("a", 50, true),
            carrier("b", 100, false),
            carrier("c", 100, false),
            carrier("d", 200, false),
        ],
    )
    .await;
    assert_eq!(result.unwrap().index, 1);
    assert_eq!(FINISHED.load(Ordering::SeqCst), 3);
    assert_eq!(
        SEEN.take(),
        [
            "start a",
            "start b",
            "start c",
            "start d",
            "cancel pickup by c"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn when_every_contender_fails_the_error_lists_each_failure() {
    let _turn = turn().await;
    let engine = Engine::new();
    let (run, result) = run_to_end(
        &engine,
        race::<Carrier>::default(),
        vec![carrier("a", 30, true), carrier("b", 10, true)],
    )
    .await;
    let Err(RunError::Failed { error, .. }) = result else {
        panic!("both fail: {result:?}");
    };
    assert_eq!(error.step.to_string(), "race");
    let StepFailure::Error(RaceError::AllFailed { failures }) = &error.failure else {
        panic!("not every contender failed: {error}");
    };
    assert_eq!(
        *failures,
        [
            (0, "a has no truck".to_owned()),
            (1, "b has no truck".to_owned())
        ]
    );
    assert!(
        error.to_string().ends_with(
            "every contender failed: contender 0: a has no truck; contender 1: b has no truck"
        ),
        "{error}"
    );
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Failed);

    let (_, result) = run_to_end(&engine, race::<Carrier>::default(), Vec::new()).await;
    assert!(
        matches!(&result, Err(RunError::Failed { error, .. })
            if matches!(error.failure, StepFailure::Error(RaceError::NoContenders))),
        "{result:?}"
    );
}

async fn pay(winner: String) -> Result<(), Error> {
    Err(Error::msg(format!("cannot pay for the {winner}")))
}

workflow! {
    /// Races the carriers, then pays the winner, which fails.
    workflow ship(carriers: Vec<Carrier>) -> Result<(), Error> {
        let won = call race::<Carrier>(carriers);
        step pay(won.output).irreversible();
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_winner_is_undone_when_the_run_that_raced_fails_later() {
    let _turn = turn().await;
    let engine = Engine::new();
    let (run, result) = run_to_end(
        &engine,
        ship,
        vec![carrier("a", 20, false), carrier("b", 10, false)],
    )
    .await;
    assert!(
        matches!(&result, Err(RunError::Failed { error, .. }) if error.to_string().contains("cannot pay for the pickup by b")),
        "{result:?}"
    );
    assert_eq!(SEEN.take(), ["start a", "start b", "cancel pickup by b"]);
    assert_eq!(
        journal_keys(&engine, &run).await,
        ["race", "pay", "undo:race"]
    );
    let child = run.child(&trailhead::StepKey::new("race", &[]));
    assert_eq!(journal_keys(&engine, &child).await, ["race", "undo:race"]);
    let child = engine.run_record(&child).await.unwrap().unwrap();
    assert_eq!(child.status(), RunStatus::Compensated);
}

/// While set, holding a pickup never ends.
static HOLDING: AtomicBool = AtomicBool::new(false);

async fn hold(pickup: String) -> Result<String, Error> {
    while HOLDING.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(format!("{pickup}, held"))
}

workflow! {
    /// Races the carriers, then holds the winner's pickup.
    workflow ship_and_hold(carriers: Vec<Carrier>) -> Result<String, Error> {
        let won = call race::<Carrier>(carriers);
        let held = step hold(won.output).irreversible();
        Ok(held)
    }
}

#[test]
fn a_race_won_before_the_process_died_is_not_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let _turn = TURN.blocking_lock();
    SEEN.take();
    HOLDING.store(true, Ordering::SeqCst);

    let first = runtime();
    let run = first.block_on(async {
        let engine = sqlite_engine(&path);
        let mut events = engine.subscribe();
        let carriers = vec![carrier("a", 40, false), carrier("b", 10, false)];
        let handle = engine.start(ship_and_hold, carriers).await.unwrap();
        step_started(&mut events, "hold").await;
        handle.id().clone()
    });
    drop(first);
    assert_eq!(SEEN.take(), ["start a", "start b"]);

    HOLDING.store(false, Ordering::SeqCst);
    runtime().block_on(async {
        let engine = sqlite_engine(&path);
        let handles = engine.resume(ship_and_hold).await.unwrap();
        assert_eq!(handles.len(), 1);
        let held = handles.into_iter().next().unwrap().result().await.unwrap();
        assert_eq!(held, "pickup by b, held");
        assert!(SEEN.take().is_empty(), "no contender started again");
        assert_eq!(journal_keys(&engine, &run).await, ["race", "hold"]);
    });
}

#[test]
fn the_chart_shows_the_race_step_and_its_compensation() {
    let chart = <race<Carrier> as Workflow>::mermaid();
    super::chapter::assert_charted("race", <race<Carrier> as Workflow>::MERMAID);
    assert!(chart.contains(r#"s0["race<br/>"#), "{chart}");
    assert!(chart.contains(r#"-.->|"compensate"|"#), "{chart}");
}
