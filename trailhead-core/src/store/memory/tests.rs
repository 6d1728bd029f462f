use std::time::SystemTime;

use super::*;
use crate::StepKey;
use crate::store::{RunOutcome, StepOutcome, Value};

fn record(id: &str) -> RunRecord {
    RunRecord {
        id: RunId::new(id),
        workflow: "w".into(),
        definition_hash: 7,
        parent: None,
        input: Value::encode(&1_u8).unwrap(),
        state: crate::store::RunState::Running,
        mermaid: String::new(),
        created_at: SystemTime::now(),
        cancel_requested: false,
    }
}

fn step(name: &'static str, path: &[u32], value: i64) -> StepRecord {
    let now = SystemTime::UNIX_EPOCH;
    StepRecord {
        key: StepKey::new(name, path),
        outcome: StepOutcome::Completed(Value::encode(&value).unwrap()),
        attempts: 1,
        started_at: now,
        finished_at: now,
        retries: Vec::new(),
    }
}

#[tokio::test]
async fn creating_a_taken_id_is_refused() {
    let store = MemoryStore::new();
    store.create_run(record("r")).await.unwrap();
    let error = store.create_run(record("r")).await.unwrap_err();
    assert!(matches!(error, StoreError::RunExists { run } if run.as_str() == "r"));
}

#[tokio::test]
async fn journal_keeps_write_order() {
    let store = MemoryStore::new();
    let journal = store.create_run(record("r")).await.unwrap();
    for (name, value) in [("z", 1), ("a", 2), ("m", 3)] {
        journal.record_step(step(name, &[], value)).await.unwrap();
    }
    let names: Vec<_> = store
        .journal(&RunId::new("r"))
        .await
        .unwrap()
        .into_iter()
        .map(|step| step.key.to_string())
        .collect();
    assert_eq!(names, ["z", "a", "m"]);
}

#[tokio::test]
async fn a_step_recorded_twice_is_refused_and_not_overwritten() {
    let store = MemoryStore::new();
    let journal = store.create_run(record("r")).await.unwrap();
    journal.record_step(step("s", &[1], 10)).await.unwrap();
    let error = journal.record_step(step("s", &[1], 20)).await.unwrap_err();
    assert!(matches!(
        &error,
        StoreError::DuplicateStep { run, step }
            if run.as_str() == "r" && *step == StepKey::new("s", &[1])
    ));
    assert_eq!(
        error.to_string(),
        "step `s[1]` of run `r` is already journaled"
    );
    let steps = store.journal(&RunId::new("r")).await.unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(
        steps[0].outcome,
        StepOutcome::Completed(Value::encode(&10).unwrap())
    );
    // Same name, other loop index: a different step.
    journal.record_step(step("s", &[2], 30)).await.unwrap();
}

#[tokio::test]
async fn finish_sets_status_and_closes_the_journal() {
    let store = MemoryStore::new();
    let journal = store.create_run(record("r")).await.unwrap();
    journal
        .finish(RunOutcome::Failed("boom".into()))
        .await
        .unwrap();
    let run = store.run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(run.status(), RunStatus::Failed);
    assert_eq!(
        run.outcome().cloned(),
        Some(RunOutcome::Failed("boom".into()))
    );
    assert!(run.finished_at().is_some());
    assert!(matches!(
        journal.record_step(step("late", &[], 0)).await,
        Err(StoreError::RunFinished { .. })
    ));
    assert!(matches!(
        journal.finish(RunOutcome::Cancelled).await,
        Err(StoreError::RunFinished { .. })
    ));
    assert_eq!(
        store.run(&RunId::new("r")).await.unwrap().unwrap().status(),
        RunStatus::Failed
    );
}

#[tokio::test]
async fn open_run_returns_record_journal_and_a_live_handle() {
    let store = MemoryStore::new();
    let journal = store.create_run(record("r")).await.unwrap();
    journal.record_step(step("a", &[], 1)).await.unwrap();
    let (run, steps, reopened) = store.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(run.definition_hash, 7);
    assert_eq!(steps, [step("a", &[], 1)]);
    reopened.record_step(step("b", &[], 2)).await.unwrap();
    assert_eq!(store.journal(&RunId::new("r")).await.unwrap().len(), 2);
    assert!(store.open_run(&RunId::new("x")).await.unwrap().is_none());
}

#[tokio::test]
async fn unknown_runs() {
    let store = MemoryStore::new();
    assert!(store.run(&RunId::new("x")).await.unwrap().is_none());
    assert!(matches!(
        store.journal(&RunId::new("x")).await,
        Err(StoreError::UnknownRun { run }) if run.as_str() == "x"
    ));
}

#[tokio::test]
async fn list_runs_filters_by_status_oldest_first() {
    let store = MemoryStore::new();
    let base = SystemTime::UNIX_EPOCH;
    for (id, secs) in [("b", 2), ("a", 3), ("c", 1)] {
        let record = RunRecord {
            created_at: base + std::time::Duration::from_secs(secs),
            ..record(id)
        };
        let journal = store.create_run(record).await.unwrap();
        if id == "a" {
            journal.finish(RunOutcome::Cancelled).await.unwrap();
        }
    }
    let ids = |records: Vec<RunRecord>| {
        records
            .into_iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(store.list_runs(None).await.unwrap()), ["c", "b", "a"]);
    assert_eq!(
        ids(store.list_runs(Some(RunStatus::Running)).await.unwrap()),
        ["c", "b"]
    );
    assert_eq!(
        ids(store.list_runs(Some(RunStatus::Cancelled)).await.unwrap()),
        ["a"]
    );
}

#[tokio::test]
async fn clones_share_runs() {
    let store = MemoryStore::new();
    store.clone().create_run(record("r")).await.unwrap();
    assert!(store.run(&RunId::new("r")).await.unwrap().is_some());
}
