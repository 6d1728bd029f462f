use std::sync::Arc;
use std::time::SystemTime;

use super::{SqliteStore, Synchronous};
use crate::store::{
    DatabaseProblem, RunOutcome, RunRecord, RunStatus, StepOutcome, StepRecord, Store,
};
use crate::{RunId, StepKey, StoreError};

pub(super) fn record(id: &str) -> RunRecord {
    RunRecord {
        id: RunId::new(id),
        workflow: "w".to_owned(),
        definition_hash: u64::MAX - 7,
        parent: None,
        input: serde_json::json!({"order": 42}),
        status: RunStatus::Running,
        outcome: None,
        mermaid: "flowchart TD".to_owned(),
        created_at: SystemTime::now(),
        finished_at: None,
    }
}

pub(super) fn step(key: &str, value: serde_json::Value) -> StepRecord {
    StepRecord {
        key: key.parse::<StepKey>().unwrap(),
        outcome: StepOutcome::Completed(value),
        attempts: 2,
        started_at: SystemTime::now(),
        finished_at: SystemTime::now(),
    }
}

#[tokio::test]
async fn runs_and_journals_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        let journal = store.create_run(record("r1")).await.unwrap();
        journal
            .record_step(step("charge", serde_json::json!(12)))
            .await
            .unwrap();
        journal
            .record_step(step("pack[3][1]", serde_json::json!({"box": "a"})))
            .await
            .unwrap();
        let other = store.create_run(record("r2")).await.unwrap();
        other
            .finish(RunOutcome::Completed(serde_json::json!("done")))
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let (run, journal, _) = store.open_run(&RunId::new("r1")).await.unwrap().unwrap();
    assert_eq!(
        run.definition_hash,
        u64::MAX - 7,
        "all 64 bits of the hash kept"
    );
    assert_eq!(run.input, serde_json::json!({"order": 42}));
    assert_eq!(run.status, RunStatus::Running);
    let keys: Vec<String> = journal.iter().map(|r| r.key.to_string()).collect();
    assert_eq!(keys, ["charge", "pack[3][1]"]);
    assert_eq!(
        journal[1].outcome,
        StepOutcome::Completed(serde_json::json!({"box": "a"}))
    );
    assert_eq!(journal[1].attempts, 2);
    let running = store.list_runs(Some(RunStatus::Running)).await.unwrap();
    assert_eq!(running.len(), 1);
    let finished = store.run(&RunId::new("r2")).await.unwrap().unwrap();
    assert_eq!(
        finished.outcome,
        Some(RunOutcome::Completed(serde_json::json!("done")))
    );
    assert!(store.open_run(&RunId::new("nope")).await.unwrap().is_none());
}

#[tokio::test]
async fn nothing_journaled_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let journal = store.create_run(record("r")).await.unwrap();
    journal
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    let again = journal
        .record_step(step("a", serde_json::json!(2)))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::DuplicateStep { ref step, .. } if step.to_string() == "a"));
    assert!(matches!(
        store.create_run(record("r")).await.unwrap_err(),
        StoreError::RunExists { .. }
    ));
    journal
        .finish(RunOutcome::Failed("boom".to_owned()))
        .await
        .unwrap();
    assert!(matches!(
        journal
            .record_step(step("b", serde_json::json!(3)))
            .await
            .unwrap_err(),
        StoreError::RunFinished { .. }
    ));
    assert!(matches!(
        journal.finish(RunOutcome::Cancelled).await.unwrap_err(),
        StoreError::RunFinished { .. }
    ));
    let kept = store.journal(&RunId::new("r")).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].outcome,
        StepOutcome::Completed(serde_json::json!(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(dir.path().join("runs.db"), Synchronous::Full).unwrap();
    let mut journals = Vec::new();
    for i in 0..50 {
        journals.push(store.create_run(record(&format!("r{i}"))).await.unwrap());
    }
    let before = store.commits();
    let writes = journals.iter().flat_map(|journal| {
        (0..20).map(move |s| {
            let journal = Arc::clone(journal);
            async move {
                journal
                    .record_step(step(&format!("s{s}"), serde_json::json!(s)))
                    .await
            }
        })
    });
    for outcome in futures::future::join_all(writes).await {
        outcome.unwrap();
    }
    let commits = store.commits() - before;
    assert!(
        commits < 1_000,
        "1,000 writes took {commits} commits: no grouping"
    );
    assert_eq!(store.journal(&RunId::new("r7")).await.unwrap().len(), 20);
}

#[test]
fn a_file_that_is_not_a_database_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    std::fs::write(&path, vec![0x42_u8; 8192]).unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Database {
                problem: DatabaseProblem::Corrupt,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_database_from_a_newer_trailhead_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute("UPDATE trailhead_schema SET version = 99", [])
        .unwrap();
    drop(connection);
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Database {
                problem: DatabaseProblem::NewerSchema {
                    found: 99,
                    supported: super::schema::VERSION
                },
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("schema version 99"), "{error}");
}

#[test]
fn a_folder_that_does_not_exist_cannot_be_opened() {
    let error = SqliteStore::open("/nonexistent-folder/for/sure/runs.db").unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Database {
                problem: DatabaseProblem::CannotOpen(_),
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_reopened_run_keeps_its_good_steps_and_sets_failed_ones_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = SqliteStore::open(&path).unwrap();
    let journal = store.create_run(record("r")).await.unwrap();
    journal
        .record_step(step("good", serde_json::json!(1)))
        .await
        .unwrap();
    let mut failed = step("bad", serde_json::json!(null));
    failed.outcome = StepOutcome::Failed(crate::store::FailedStep::from_message("down"));
    journal.record_step(failed).await.unwrap();
    assert!(matches!(
        store.reopen_run(&RunId::new("r")).await.unwrap_err(),
        StoreError::NotEnded { .. }
    ));
    journal
        .finish(RunOutcome::Failed("down".to_owned()))
        .await
        .unwrap();
    store.reopen_run(&RunId::new("r")).await.unwrap();
    let (run, entries, journal) = store.open_run(&RunId::new("r")).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(entries.len(), 1, "only the good step stays in the journal");
    journal
        .record_step(step("bad", serde_json::json!(2)))
        .await
        .unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    let retired: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM retired_steps WHERE run_id = 'r'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(retired, 1, "the failed entry is kept aside, not lost");
}
