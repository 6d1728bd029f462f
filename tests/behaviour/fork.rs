//! Forks: a finished run re-run from a chosen step in a new run that starts
//! with a copy of the entries before it; the original untouched.

use std::collections::HashMap;
use std::sync::Mutex;

use trailhead::store::RunStatus;
use trailhead::{Engine, EngineError, Error, RunId, StepKey, StoreError, workflow};

/// How many items each run packed (by run id: the tests run at once).
static PACKED: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

fn this_run() -> String {
    trailhead::current_step().unwrap().run.to_string()
}

fn packed(run: &str) -> u32 {
    PACKED
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|p| p.get(run).copied())
        .unwrap_or(0)
}

async fn pack(item: u32) -> Result<u32, Error> {
    *PACKED
        .lock()
        .unwrap()
        .get_or_insert_default()
        .entry(this_run())
        .or_default() += 1;
    Ok(item * 10)
}

/// The courier's API is down for the original runs; it was fixed by the
/// time of their forks.
async fn ship(weight: u32) -> Result<String, Error> {
    if this_run().contains("~fork-") {
        Ok(format!("parcel of {weight}"))
    } else {
        Err(Error::msg("the courier's API is down"))
    }
}

async fn notify(parcel: String) -> Result<String, Error> {
    Ok(format!("sent: {parcel}"))
}

workflow! {
    /// Packs the items, ships the parcel, says so.
    workflow dispatch(items: u32) -> Result<String, Error> {
        let mut weight = 0;
        for item in 0..items {
            weight += step pack(item);
        }
        let parcel = step ship(weight);
        let note = step notify(parcel);
        Ok(note)
    }
}

mod changed {
    use super::{notify, pack, ship};
    use trailhead::{Error, workflow};

    workflow! {
        /// The packing moved out of its loop: a fork would misread the journal.
        pub workflow dispatch(items: u32) -> Result<String, Error> {
            let weight = step pack(items);
            let parcel = step ship(weight);
            let note = step notify(parcel);
            Ok(note)
        }
    }
}

fn key(text: &str) -> StepKey {
    text.parse().unwrap()
}

/// A run of `dispatch` that failed at `ship` (run with the courier down).
async fn failed_run(engine: &Engine, id: &str) -> RunId {
    let run = RunId::new(id);
    let handle = engine
        .start_with_id(run.clone(), dispatch, 3)
        .await
        .unwrap();
    let error = handle.result().await.unwrap_err().to_string();
    assert!(error.contains("the courier's API is down"), "{error}");
    run
}

#[tokio::test]
async fn a_fork_of_a_failed_run_from_its_failing_step_completes_once_fixed() {
    let engine = Engine::new();
    let run = failed_run(&engine, "dispatch-1").await;
    let journal_before = engine.journal(&run).await.unwrap();
    assert_eq!(packed("dispatch-1"), 3);

    // The courier is fixed; the failed run is forked from its failing step.
    let fork = engine.fork(dispatch, &run, &key("ship")).await.unwrap();
    assert_eq!(fork.id().as_str(), "dispatch-1~fork-1");
    let fork_id = fork.id().clone();
    assert_eq!(fork.result().await.unwrap(), "sent: parcel of 30");
    assert_eq!(
        packed(fork_id.as_str()),
        0,
        "the packing was replayed, not run"
    );
    let keys: Vec<String> = engine
        .journal(&fork_id)
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.key.to_string())
        .collect();
    assert_eq!(keys, ["pack[0]", "pack[1]", "pack[2]", "ship", "notify"]);

    // The original is untouched.
    let original = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(original.status(), RunStatus::Failed);
    assert_eq!(engine.journal(&run).await.unwrap(), journal_before);

    // A second fork gets the next id; a fork from the first step copies nothing.
    let again = engine.fork(dispatch, &run, &key("pack[0]")).await.unwrap();
    assert_eq!(again.id().as_str(), "dispatch-1~fork-2");
    again.result().await.unwrap();
    assert_eq!(packed("dispatch-1~fork-2"), 3);
}

#[tokio::test]
async fn a_fork_that_cannot_be_made_says_why_naming_the_run() {
    let engine = Engine::new();
    let run = failed_run(&engine, "dispatch-2").await;
    match engine.fork(dispatch, &run, &key("label")).await {
        Err(error @ EngineError::NotJournaled { .. }) => {
            assert_eq!(error.run(), Some(&run));
            assert!(
                error.to_string().contains("no journaled step `label`"),
                "{error}"
            );
        }
        unexpected => panic!("{:?}", unexpected.map(|handle| handle.id().clone())),
    }
    match engine.fork(changed::dispatch, &run, &key("ship")).await {
        Err(EngineError::ForkDiverges {
            run: at,
            divergence,
        }) => {
            assert_eq!(at, run);
            let text = divergence.to_string();
            assert!(text.contains("`pack`"), "{text}");
        }
        unexpected => panic!("{:?}", unexpected.map(|handle| handle.id().clone())),
    }
    let missing = engine
        .fork(dispatch, &RunId::new("nope"), &key("ship"))
        .await;
    assert!(matches!(
        missing,
        Err(EngineError::Store(StoreError::UnknownRun { .. }))
    ));
    workflow! {
        workflow other(n: u32) -> Result<u32, Error> {
            let a = step pack(n);
            Ok(a)
        }
    }
    assert!(matches!(
        engine.fork(other, &run, &key("ship")).await,
        Err(EngineError::OtherWorkflow { .. })
    ));
}

static HOLD: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

async fn held(n: u32) -> Result<u32, Error> {
    HOLD.acquire().await.unwrap().forget();
    Ok(n)
}

workflow! {
    workflow waits(n: u32) -> Result<u32, Error> {
        let a = step held(n);
        Ok(a)
    }
}

#[tokio::test]
async fn a_run_still_running_is_not_forked() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine
        .start_with_id(RunId::new("w-1"), waits, 1)
        .await
        .unwrap();
    crate::support::step_started(&mut events, "held").await;
    assert!(matches!(
        engine.fork(waits, handle.id(), &key("held")).await,
        Err(EngineError::Store(StoreError::NotEnded { .. }))
    ));
    HOLD.add_permits(1);
    handle.result().await.unwrap();
}

#[test]
fn a_fork_recorded_by_a_tool_is_resumed_by_a_worker_that_knows_the_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Engine::open(&path).unwrap();
        let run = failed_run(&engine, "dispatch-3").await;
        drop(engine);
        // A tool without the workflow's type (the CLI) records the fork.
        let store = trailhead::SqliteStore::open(&path).unwrap();
        let fork = trailhead::fork::record(&store, &run, &key("ship"), None)
            .await
            .unwrap();
        assert_eq!(fork.run.as_str(), "dispatch-3~fork-1");
        assert_eq!(fork.copied, 3);
        drop(store);
        let engine = Engine::open(&path).unwrap();
        let resumed = engine.resume(dispatch).await.unwrap();
        assert_eq!(resumed.len(), 1);
        let handle = resumed.into_iter().next().unwrap();
        assert_eq!(handle.id(), &fork.run);
        assert_eq!(handle.result().await.unwrap(), "sent: parcel of 30");
    });
}

async fn unpack(weight: u32) -> Result<(), Error> {
    let _ = weight;
    Ok(())
}

workflow! {
    /// Packs (undone by unpacking) and ships, which fails: rolled back.
    workflow undone(items: u32) -> Result<String, Error> {
        let weight = step pack(items).compensate(unpack);
        let parcel = step ship(weight);
        Ok(parcel)
    }
}

#[tokio::test]
async fn a_compensation_is_not_a_step_to_fork_from() {
    let engine = Engine::new();
    let run = RunId::new("undone-1");
    let handle = engine.start_with_id(run.clone(), undone, 2).await.unwrap();
    handle.result().await.unwrap_err();
    let keys: Vec<String> = engine
        .journal(&run)
        .await
        .unwrap()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert!(keys.contains(&"undo:pack".to_owned()), "{keys:?}");
    assert!(matches!(
        engine.fork(undone, &run, &key("undo:pack")).await,
        Err(EngineError::NotJournaled { .. })
    ));
    // From the failing step, the fork copies the packing but not its undoing.
    let fork = engine.fork(undone, &run, &key("ship")).await.unwrap();
    let fork_id = fork.id().clone();
    assert_eq!(fork.result().await.unwrap(), "parcel of 20");
    let keys: Vec<String> = engine
        .journal(&fork_id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert_eq!(keys, ["pack", "ship"]);
}

#[tokio::test]
async fn a_run_of_every_construct_forks_from_each_of_its_steps_to_the_same_result() {
    use crate::replay::every_construct::everything;
    let engine = Engine::new();
    let run = RunId::new("everything-fork");
    let handle = engine
        .start_with_id(run.clone(), everything, 4)
        .await
        .unwrap();
    let expected = handle.result().await.unwrap();
    let journal = engine.journal(&run).await.unwrap();
    assert!(journal.len() > 20);
    for entry in &journal {
        let fork = engine
            .fork(everything, &run, &entry.key)
            .await
            .unwrap_or_else(|error| panic!("from {}: {error}", entry.key));
        assert_eq!(fork.result().await.unwrap(), expected, "from {}", entry.key);
    }
}
