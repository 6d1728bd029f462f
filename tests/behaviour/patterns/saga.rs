//! `patterns::saga`: a list of reversible actions, all applied or the
//! applied ones undone last first, the rollback journaled and resumable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::patterns::saga::{Action, saga};
use trailhead::{
    Backoff, Engine, Error, Event, RetryPolicy, RunError, RunId, RunStatus, SqliteStore,
    StepOutcome, Workflow,
};

use crate::support::{Calls, journal_keys, run_to_end, until};

/// What the actions of every test did, each line tagged with its test.
static DONE: Calls = Calls::new();
/// The tests share `DONE`: one at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// While set, undoing a booking marked `hangs` never ends.
static HANGING: AtomicBool = AtomicBool::new(false);

/// Books seat `n`; fails for good if `fails`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Book {
    n: u32,
    fails: bool,
    /// Its undo hangs while `HANGING` is set.
    hangs: bool,
}

impl Action for Book {
    type Done = String;
    async fn apply(&self) -> Result<String, Error> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        DONE.push(format!("book {}", self.n));
        if self.fails {
            return Err(Error::msg(format!("seat {} is taken", self.n)));
        }
        Ok(format!("seat {}", self.n))
    }
    async fn undo(&self, seat: String) -> Result<(), Error> {
        while self.hangs && HANGING.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        DONE.push(format!("undo {seat}"));
        Ok(())
    }
}

/// The journal of a run whose third booking failed, rolled back.
const UNDONE: [&str; 5] = [
    "action[0]",
    "action[1]",
    "action[2]",
    "undo:action[1]",
    "undo:action[0]",
];

/// Five bookings, seats 1 to 5; the one numbered `fails` fails.
fn bookings(fails: u32) -> Vec<Book> {
    (1..=5)
        .map(|n| Book {
            n,
            fails: n == fails,
            hangs: n == 1,
        })
        .collect()
}

/// Takes its turn and clears what the last test left.
async fn turn() -> tokio::sync::MutexGuard<'static, ()> {
    let turn = TURN.lock().await;
    DONE.take();
    turn
}

/// The run's journal keys, in the order written, and its status.
async fn ended(engine: &Engine, run: &RunId) -> (Vec<String>, RunStatus) {
    let record = engine.run_record(run).await.unwrap().unwrap();
    (journal_keys(engine, run).await, record.status())
}

/// `keys` as owned strings.
fn keys(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| (*key).to_owned()).collect()
}

#[tokio::test(start_paused = true)]
async fn every_action_succeeds_and_nothing_is_undone() {
    let _turn = turn().await;
    let engine = Engine::new();
    let (run, result) = run_to_end(&engine, saga::<Book>::default(), bookings(0)).await;
    assert_eq!(
        result.unwrap(),
        ["seat 1", "seat 2", "seat 3", "seat 4", "seat 5"]
    );
    assert_eq!(
        DONE.take(),
        ["book 1", "book 2", "book 3", "book 4", "book 5"]
    );
    let five = [
        "action[0]",
        "action[1]",
        "action[2]",
        "action[3]",
        "action[4]",
    ];
    assert_eq!(
        ended(&engine, &run).await,
        (keys(&five), RunStatus::Completed)
    );
}

#[tokio::test(start_paused = true)]
async fn the_third_of_five_failing_undoes_the_second_then_the_first() {
    let _turn = turn().await;
    let engine = Engine::new();
    let (run, result) = run_to_end(&engine, saga::<Book>::default(), bookings(3)).await;
    let Err(RunError::Failed { error, .. }) = result else {
        panic!("the third booking fails: {result:?}");
    };
    assert_eq!(error.index, 2);
    assert_eq!(error.source.step.to_string(), "action[2]");
    assert!(
        error.to_string().starts_with(
            "action 2 of the saga failed, so the actions before it are undone: step `action[2]`"
        ),
        "{error}"
    );
    assert!(error.to_string().ends_with("seat 3 is taken"), "{error}");
    // The 4th and 5th never ran; the 2nd is undone before the 1st.
    assert_eq!(
        DONE.take(),
        ["book 1", "book 2", "book 3", "undo seat 2", "undo seat 1"]
    );
    assert_eq!(
        ended(&engine, &run).await,
        (keys(&UNDONE), RunStatus::Failed)
    );
}

/// A booking whose undo fails its first attempt and every one after: the
/// rollback gives up at it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stubborn {
    n: u32,
}

impl Action for Stubborn {
    type Done = u32;
    const UNDO_RETRY: RetryPolicy =
        RetryPolicy::attempts(2).with_backoff(Backoff::fixed(Duration::from_millis(10)));
    async fn apply(&self) -> Result<u32, Error> {
        if self.n == 3 {
            return Err(Error::msg("no third seat"));
        }
        Ok(self.n)
    }
    async fn undo(&self, n: u32) -> Result<(), Error> {
        DONE.push(format!("undo {n}"));
        if n == 2 {
            return Err(Error::msg("seat 2 cannot be released"));
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn an_undo_that_fails_for_good_stops_the_rollback_at_its_action() {
    let _turn = turn().await;
    let engine = Engine::new();
    let actions = (1..=3).map(|n| Stubborn { n }).collect();
    let (run, result) = run_to_end(&engine, saga::<Stubborn>::default(), actions).await;
    assert!(
        matches!(&result, Err(RunError::CompensationFailed { .. })),
        "{result:?}"
    );
    // Two attempts at seat 2 (its policy), and seat 1 is never reached.
    assert_eq!(DONE.take(), ["undo 2", "undo 2"]);
    // The failed undo is journaled as failed, after both attempts.
    let journal = engine.journal(&run).await.unwrap();
    let keys: Vec<String> = journal.iter().map(|r| r.key.to_string()).collect();
    assert_eq!(
        keys,
        ["action[0]", "action[1]", "action[2]", "undo:action[1]"]
    );
    assert!(matches!(journal[3].outcome, StepOutcome::Failed(_)));
    assert_eq!(journal[3].attempts, 2);
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::CompensationFailed);
}

#[test]
fn the_chart_shows_the_action_with_its_compensation() {
    let chart = <saga<Book> as Workflow>::mermaid();
    super::chapter::assert_charted("saga", <saga<Book> as Workflow>::MERMAID);
    assert!(
        chart.starts_with(
            "---\ntitle: \"saga<behaviour::patterns::saga::Book>\"\n---\nflowchart TD"
        ),
        "{chart}"
    );
    assert!(
        chart.contains(r#"l0{{"for action in &actions"}}"#),
        "{chart}"
    );
    assert!(
        chart.contains(r#"s0["action<br/><small>retry A::RETRY</small>"]"#),
        "{chart}"
    );
    assert!(chart.contains(r#"s0 -.->|"compensate"| u0"#), "{chart}");
    assert!(saga::<Book>::MERMAID.contains("undo"));
}

/// A runtime on the real clock: the SQLite store commits on its own thread.
/// (Shared with the other patterns' durable tests.)
pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An engine over the SQLite store at `path`, as a process would open it.
pub(super) fn sqlite_engine(path: &std::path::Path) -> Engine {
    Engine::builder()
        .store(SqliteStore::open(path).unwrap())
        .build()
}

#[test]
fn a_rollback_stopped_half_way_is_finished_by_resume_without_repeating_an_undo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let _turn = TURN.blocking_lock();
    DONE.take();
    HANGING.store(true, Ordering::SeqCst);

    // First process: the third booking fails, seat 2 is released, then the
    // process dies while seat 1's undo hangs.
    let first = runtime();
    let run = first.block_on(async {
        let engine = sqlite_engine(&path);
        let mut events = engine.subscribe();
        let handle = engine
            .start(saga::<Book>::default(), bookings(3))
            .await
            .unwrap();
        until(&mut events, |event| {
            matches!(event, Event::CompensationStarted { step, .. } if step.to_string() == "action[0]")
        })
        .await;
        handle.id().clone()
    });
    drop(first);
    assert_eq!(DONE.take(), ["book 1", "book 2", "book 3", "undo seat 2"]);

    // Second process: the run is still compensating; resume finishes it.
    HANGING.store(false, Ordering::SeqCst);
    runtime().block_on(async {
        let engine = sqlite_engine(&path);
        let record = engine.run_record(&run).await.unwrap().unwrap();
        assert_eq!(record.status(), RunStatus::Compensating);
        assert_eq!(
            journal_keys(&engine, &run).await,
            ["action[0]", "action[1]", "action[2]", "undo:action[1]"]
        );
        let handles = engine.resume(saga::<Book>::default()).await.unwrap();
        assert_eq!(handles.len(), 1);
        let result = handles.into_iter().next().unwrap().result().await;
        // Its failure was recorded by the first process.
        assert!(
            matches!(&result, Err(RunError::FailedEarlier { error, .. }) if error.contains("seat 3 is taken")),
            "{result:?}"
        );
        // No booking again, seat 2 not released again: only seat 1's undo.
        assert_eq!(DONE.take(), ["undo seat 1"]);
        assert_eq!(ended(&engine, &run).await, (keys(&UNDONE), RunStatus::Failed));
        assert!(engine.resume(saga::<Book>::default()).await.unwrap().is_empty());
    });
}
