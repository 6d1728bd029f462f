//! `patterns::scatter_gather`: tasks fanned out, gathered by a policy for
//! the ones that fail.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trailhead::patterns::scatter_gather::{Gather, GatherError, Gathered, Task, scatter_gather};
use trailhead::{Engine, Error, Event, RunError, RunId, StepOutcome, Workflow};

use super::saga::{runtime, sqlite_engine};
use crate::support::{Calls, journal_keys, run_to_end};

/// What the tasks of every test did.
static ASKED: Calls = Calls::new();
/// The tests share `ASKED`: one at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// While set, provider 4 never answers.
static HANGING: AtomicBool = AtomicBool::new(false);

/// Asks provider `n`, which answers after `n * 10` ms with `n * 100`, or
/// fails if it is down.
#[derive(Debug, Serialize, Deserialize)]
struct Ask {
    n: u32,
    down: bool,
}

impl Task for Ask {
    type Output = u32;
    async fn run(&self) -> Result<u32, Error> {
        while self.n == 4 && HANGING.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(u64::from(self.n) * 10)).await;
        if self.down {
            return Err(Error::msg(format!("provider {} is down", self.n)));
        }
        ASKED.push(format!("answered {}", self.n));
        Ok(self.n * 100)
    }
}

/// Providers 0 to 4, those in `down` failing.
fn providers(down: &[u32]) -> Vec<Ask> {
    (0..5)
        .map(|n| Ask {
            n,
            down: down.contains(&n),
        })
        .collect()
}

/// Asks providers 0 to 4 (those in `down` failing) under `policy`, `limit`
/// at a time: the run's id and result.
async fn ask(
    engine: &Engine,
    down: &[u32],
    policy: Gather,
    limit: usize,
) -> (RunId, Result<Gathered<u32>, RunError<GatherError>>) {
    let input = (providers(down), policy, limit);
    run_to_end(engine, scatter_gather::<Ask>::default(), input).await
}

/// Takes its turn and clears what the last test left.
async fn turn() -> tokio::sync::MutexGuard<'static, ()> {
    let turn = TURN.lock().await;
    ASKED.take();
    turn
}

#[tokio::test(start_paused = true)]
async fn a_quorum_met_gives_the_successes_and_lists_the_failures() {
    let _turn = turn().await;
    let engine = Engine::new();
    let (run, result) = ask(&engine, &[1, 3], Gather::Quorum(3), 2).await;
    assert_eq!(
        result.unwrap(),
        Gathered {
            succeeded: vec![(0, 0), (2, 200), (4, 400)],
            failed: vec![
                (1, "provider 1 is down".to_owned()),
                (3, "provider 3 is down".to_owned())
            ],
        }
    );
    let mut keys = journal_keys(&engine, &run).await;
    keys.sort();
    assert_eq!(
        keys,
        ["task[0]", "task[1]", "task[2]", "task[3]", "task[4]"]
    );
    let journal = engine.journal(&run).await.unwrap();
    let failed: Vec<String> = journal
        .iter()
        .filter(|record| matches!(record.outcome, StepOutcome::Failed(_)))
        .map(|record| record.key.to_string())
        .collect();
    assert_eq!(failed, ["task[1]", "task[3]"]);
}

#[tokio::test(start_paused = true)]
async fn a_quorum_missed_fails_naming_how_many_succeeded_and_each_failure() {
    let _turn = turn().await;
    let engine = Engine::new();
    let (_, result) = ask(&engine, &[0, 2, 3], Gather::Quorum(3), 5).await;
    let Err(RunError::Failed { error, .. }) = result else {
        panic!("two of five answer: {result:?}");
    };
    assert_eq!(
        error.to_string(),
        "quorum missed: 2 of the 3 tasks needed succeeded, 3 failed \
         (task 0: provider 0 is down; task 2: provider 2 is down; task 3: provider 3 is down)"
    );
    let GatherError::QuorumMissed {
        needed,
        succeeded,
        failed,
    } = error
    else {
        panic!("not a missed quorum: {error}");
    };
    assert_eq!((needed, succeeded), (3, 2));
    assert_eq!(
        failed.iter().map(|(index, _)| *index).collect::<Vec<_>>(),
        [0, 2, 3]
    );
    // Every task ran to its end whatever the others did.
    assert_eq!(ASKED.take(), ["answered 1", "answered 4"]);
}

#[tokio::test(start_paused = true)]
async fn all_gives_every_output_or_fails_at_the_first_failure_and_stops_the_rest() {
    let _turn = turn().await;
    let engine = Engine::new();
    let (run, result) = ask(&engine, &[], Gather::All, 5).await;
    let gathered = result.unwrap();
    assert_eq!(
        gathered.succeeded,
        [(0, 0), (1, 100), (2, 200), (3, 300), (4, 400)]
    );
    assert!(gathered.failed.is_empty());
    assert_eq!(journal_keys(&engine, &run).await.len(), 5);

    ASKED.take();
    // Provider 1 fails at 10 ms, while 2, 3 and 4 are still asking.
    let (run, result) = ask(&engine, &[1], Gather::All, 5).await;
    let Err(RunError::Failed {
        error: GatherError::Task { index, source },
        ..
    }) = result
    else {
        panic!("provider 1 is down: {result:?}");
    };
    assert_eq!(index, 1);
    assert_eq!(source.step.to_string(), "task_all[1]");
    assert_eq!(ASKED.take(), ["answered 0"], "the others were stopped");
    assert_eq!(
        journal_keys(&engine, &run).await,
        ["task_all[0]", "task_all[1]"]
    );
}

#[tokio::test(start_paused = true)]
async fn best_effort_gives_what_succeeded_even_when_nothing_did() {
    let _turn = turn().await;
    let engine = Engine::new();
    let (_, result) = ask(&engine, &[0, 4], Gather::BestEffort, 1).await;
    let gathered = result.unwrap();
    assert_eq!(gathered.succeeded, [(1, 100), (2, 200), (3, 300)]);
    assert_eq!(
        gathered.failed,
        [
            (0, "provider 0 is down".to_owned()),
            (4, "provider 4 is down".to_owned())
        ]
    );
    // One at a time: in input order.
    assert_eq!(ASKED.take(), ["answered 1", "answered 2", "answered 3"]);

    let (_, result) = ask(&engine, &[0, 1, 2, 3, 4], Gather::BestEffort, 5).await;
    let gathered = result.unwrap();
    assert!(gathered.succeeded.is_empty());
    assert_eq!(gathered.failed.len(), 5);
}

#[test]
fn the_chart_shows_both_fan_outs() {
    let chart = <scatter_gather<Ask> as Workflow>::mermaid();
    super::chapter::assert_charted("scatter_gather", <scatter_gather<Ask> as Workflow>::MERMAID);
    assert!(chart.contains(r#"["task"#), "{chart}");
    assert!(chart.contains(r#"["task_all"#), "{chart}");
    assert!(
        scatter_gather::<Ask>::MERMAID.contains("parallel"),
        "{chart}"
    );
}

#[test]
fn a_gather_stopped_half_way_resumes_with_only_the_unfinished_task() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let _turn = TURN.blocking_lock();
    ASKED.take();
    HANGING.store(true, Ordering::SeqCst);

    // First process: four providers end (1 is down), 4 hangs; it dies.
    let first = runtime();
    let run = first.block_on(async {
        let engine = sqlite_engine(&path);
        let mut events = engine.subscribe();
        let input = (providers(&[1]), Gather::Quorum(4), 5);
        let handle = engine
            .start(scatter_gather::<Ask>::default(), input)
            .await
            .unwrap();
        let mut ended = 0;
        while ended < 4 {
            match events.recv().await {
                Some(Event::StepCompleted { .. } | Event::StepFailed { .. }) => ended += 1,
                Some(_) => {}
                None => panic!("the events ended"),
            }
        }
        handle.id().clone()
    });
    drop(first);
    assert_eq!(ASKED.take(), ["answered 0", "answered 2", "answered 3"]);

    // Second process: only provider 4 is asked; the failure of 1 replays.
    HANGING.store(false, Ordering::SeqCst);
    runtime().block_on(async {
        let engine = sqlite_engine(&path);
        let handles = engine
            .resume(scatter_gather::<Ask>::default())
            .await
            .unwrap();
        assert_eq!(handles.len(), 1);
        let gathered = handles.into_iter().next().unwrap().result().await.unwrap();
        assert_eq!(gathered.succeeded, [(0, 0), (2, 200), (3, 300), (4, 400)]);
        // The failure replays from the journal with its error's text.
        assert_eq!(gathered.failed, [(1, "provider 1 is down".to_owned())]);
        assert_eq!(ASKED.take(), ["answered 4"]);
        let mut keys = journal_keys(&engine, &run).await;
        keys.sort();
        assert_eq!(
            keys,
            ["task[0]", "task[1]", "task[2]", "task[3]", "task[4]"]
        );
    });
}
