//! Retention on both stores: the same tests against a `MemoryStore` and a
//! `SqliteStore`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::store::{
    MemoryStore, Retention, RunOutcome, RunRecord, RunStatus, RunWriter, SqliteStore, StepOutcome,
    StepRecord, Store,
};
use crate::{RunId, StepKey, StoreError};

const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(24 * 3_600);

/// Runs `test` against a fresh store of each kind.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&crate::store::MemoryStore::new()).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = crate::store::SqliteStore::open(dir.path().join("runs.db")).unwrap();
                    super::$name(&store).await;
                }
            )*
        }
    };
}

on_both_stores!(
    keep_newest_removes_the_oldest_finished_runs_of_each_kind,
    keep_for_a_duration_removes_runs_finished_longer_ago,
    failed_runs_are_kept_longer_by_default,
    runs_that_have_not_ended_are_never_removed,
    children_go_with_their_parent_and_never_before_it,
    a_removed_run_leaves_nothing_behind,
);

fn record(id: &str, parent: Option<&str>) -> RunRecord {
    RunRecord {
        id: RunId::new(id),
        workflow: "w".to_owned(),
        definition_hash: 1,
        parent: parent.map(RunId::new),
        input: crate::store::Value::encode(&serde_json::json!(null)).unwrap(),
        state: crate::store::RunState::Running,
        mermaid: String::new(),
        created_at: SystemTime::now(),
        cancel_requested: false,
    }
}

fn completed_step(name: &'static str) -> StepRecord {
    StepRecord {
        key: StepKey::new(name, &[]),
        outcome: StepOutcome::Completed(
            crate::store::Value::encode(&serde_json::json!(1)).unwrap(),
        ),
        attempts: 1,
        started_at: SystemTime::now(),
        finished_at: SystemTime::now(),
        retries: Vec::new(),
    }
}

async fn start(store: &dyn Store, id: &str, parent: Option<&str>) -> Arc<dyn RunWriter> {
    let journal = store.create_run(record(id, parent)).await.unwrap();
    journal.record_step(completed_step("s")).await.unwrap();
    journal
}

async fn finished(store: &dyn Store, id: &str, outcome: RunOutcome) {
    start(store, id, None).await.finish(outcome).await.unwrap();
}

fn done() -> RunOutcome {
    RunOutcome::Completed(crate::store::Value::encode(&serde_json::json!("ok")).unwrap())
}

fn failed() -> RunOutcome {
    RunOutcome::Failed("boom".to_owned())
}

/// The ids of every run in the store, sorted.
async fn ids(store: &dyn Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_runs(None)
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.id.as_str().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn keep_newest_removes_the_oldest_finished_runs_of_each_kind(store: &dyn Store) {
    for i in 0..5 {
        finished(store, &format!("c{i}"), done()).await;
    }
    finished(store, "f0", failed()).await;
    finished(store, "f1", RunOutcome::Cancelled).await;
    finished(
        store,
        "f2",
        RunOutcome::CompensationFailed {
            step: StepKey::new("s", &[]),
            error: "no".to_owned(),
            cause: "boom".to_owned(),
        },
    )
    .await;
    start(store, "running", None).await;
    let retention = Retention::new()
        .with_completed_newest(2)
        .with_failed_newest(2);
    let removed = store
        .apply_retention(&retention, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(removed, 4);
    // Cancelled and compensation-failed runs count as failed ones.
    assert_eq!(ids(store).await, ["c3", "c4", "f1", "f2", "running"]);
    // Applying it again removes nothing more.
    let again = store
        .apply_retention(&retention, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(again, 0);
}

async fn keep_for_a_duration_removes_runs_finished_longer_ago(store: &dyn Store) {
    finished(store, "done", done()).await;
    finished(store, "failed", failed()).await;
    start(store, "running", None).await;
    let retention = Retention::new()
        .with_completed_for(HOUR)
        .with_failed_for(DAY);
    let now = SystemTime::now();
    let soon = store
        .apply_retention(&retention, now + HOUR / 2)
        .await
        .unwrap();
    assert_eq!(soon, 0, "nothing is an hour old yet");
    let later = store
        .apply_retention(&retention, now + 2 * HOUR)
        .await
        .unwrap();
    assert_eq!(later, 1);
    assert_eq!(ids(store).await, ["failed", "running"]);
    let much_later = store
        .apply_retention(&retention, now + 2 * DAY)
        .await
        .unwrap();
    assert_eq!(much_later, 1);
    assert_eq!(ids(store).await, ["running"]);
}

async fn failed_runs_are_kept_longer_by_default(store: &dyn Store) {
    let retention = store.default_retention();
    assert!(!retention.keeps_all(), "every store bounds what it keeps");
    let (completed, failed_kind) = (retention.completed(), retention.failed());
    assert!(
        completed.newest().is_some() || completed.duration().is_some(),
        "completed runs are limited"
    );
    assert!(
        completed.newest() < failed_kind.newest() || failed_kind.newest().is_none(),
        "{retention:?}"
    );
    assert!(
        completed.duration() < failed_kind.duration() || failed_kind.duration().is_none(),
        "{retention:?}"
    );
    // The durable default, in time: a completed run goes after a week, a
    // failed one stays a month.
    finished(store, "done", done()).await;
    finished(store, "failed", failed()).await;
    let durable = Retention::durable();
    let now = SystemTime::now();
    store
        .apply_retention(&durable, now + 8 * DAY)
        .await
        .unwrap();
    assert_eq!(ids(store).await, ["failed"]);
    store
        .apply_retention(&durable, now + 31 * DAY)
        .await
        .unwrap();
    assert!(ids(store).await.is_empty());
}

async fn runs_that_have_not_ended_are_never_removed(store: &dyn Store) {
    start(store, "running", None).await;
    let compensating = start(store, "compensating", None).await;
    store
        .begin_compensation(
            &RunId::new("compensating"),
            crate::store::AfterCompensation::Failed("boom".to_owned()),
        )
        .await
        .unwrap();
    drop(compensating);
    let everything = Retention::new()
        .with_completed_newest(0)
        .with_failed_newest(0)
        .with_completed_for(Duration::ZERO)
        .with_failed_for(Duration::ZERO);
    let removed = store
        .apply_retention(&everything, SystemTime::now() + 365 * DAY)
        .await
        .unwrap();
    assert_eq!(removed, 0);
    assert_eq!(ids(store).await, ["compensating", "running"]);
    for id in ["running", "compensating"] {
        let error = store.remove_run(&RunId::new(id)).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::NotRemovable { run, unended } if run.as_str() == id && unended.as_str() == id),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("run `{id}` cannot be removed: run `{id}` has not ended")
        );
    }
    let error = store.remove_run(&RunId::new("nope")).await.unwrap_err();
    assert!(matches!(error, StoreError::UnknownRun { run } if run.as_str() == "nope"));
}

async fn children_go_with_their_parent_and_never_before_it(store: &dyn Store) {
    let everything = Retention::new()
        .with_completed_newest(0)
        .with_failed_newest(0);
    // A running parent whose child completed: neither goes.
    let parent = start(store, "p", None).await;
    start(store, "p/child", Some("p"))
        .await
        .finish(done())
        .await
        .unwrap();
    let grandchild = start(store, "p/child/g", Some("p/child")).await;
    grandchild.finish(done()).await.unwrap();
    assert_eq!(
        store
            .apply_retention(&everything, SystemTime::now())
            .await
            .unwrap(),
        0
    );
    let error = store.remove_run(&RunId::new("p/child")).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::NotRemovable { run, unended } if run.as_str() == "p/child" && unended.as_str() == "p"),
        "{error:?}"
    );
    assert_eq!(ids(store).await, ["p", "p/child", "p/child/g"]);

    // An ended parent with a child still going (its process stopped before
    // the child was recorded ended): kept until the child ends too.
    finished(store, "q", failed()).await;
    let late = start(store, "q/late", Some("q")).await;
    assert_eq!(
        store
            .apply_retention(&everything, SystemTime::now())
            .await
            .unwrap(),
        0
    );
    let error = store.remove_run(&RunId::new("q")).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::NotRemovable { unended, .. } if unended.as_str() == "q/late"),
        "{error:?}"
    );
    late.finish(RunOutcome::Cancelled).await.unwrap();

    // Once the parents end, each goes with its whole tree.
    parent.finish(done()).await.unwrap();
    assert_eq!(
        store
            .apply_retention(&everything, SystemTime::now())
            .await
            .unwrap(),
        2
    );
    assert!(ids(store).await.is_empty());
    for id in ["p", "p/child", "p/child/g", "q", "q/late"] {
        let id = RunId::new(id);
        assert!(store.run(&id).await.unwrap().is_none());
        // (The SQLite store answers an unknown run's journal with no entries.)
        match store.journal(&id).await {
            Err(StoreError::UnknownRun { .. }) => {}
            Ok(entries) => assert!(entries.is_empty(), "{entries:?}"),
            Err(error) => panic!("{error}"),
        }
    }
}

async fn a_removed_run_leaves_nothing_behind(store: &dyn Store) {
    let run = RunId::new("r");
    let journal = start(store, "r", None).await;
    store
        .send_signal(
            &run,
            "go",
            crate::store::Value::encode(&serde_json::json!(1)).unwrap(),
        )
        .await
        .unwrap();
    store
        .receive_signal(&run, "go", &StepKey::new("wait", &[]))
        .await
        .unwrap();
    store
        .send_signal(
            &run,
            "go",
            crate::store::Value::encode(&serde_json::json!(2)).unwrap(),
        )
        .await
        .unwrap();
    journal
        .record_step(StepRecord {
            outcome: StepOutcome::Failed(crate::store::FailedStep::from_message("bad")),
            ..completed_step("t")
        })
        .await
        .unwrap();
    journal.finish(failed()).await.unwrap();
    // Retried: the failed entry is set aside; then it fails again.
    store.reopen_run(&run).await.unwrap();
    // The reopened run is claimed anew: writes go through its new handle.
    let (_, _, journal) = store.open_run(&run).await.unwrap().unwrap();
    journal.finish(failed()).await.unwrap();
    store.remove_run(&run).await.unwrap();
    assert!(store.run(&run).await.unwrap().is_none());
    assert!(ids(store).await.is_empty());
    // A new run under the same id starts from nothing.
    let journal = store.create_run(record("r", None)).await.unwrap();
    journal.record_step(completed_step("s")).await.unwrap();
    assert_eq!(store.journal(&run).await.unwrap().len(), 1);
    assert_eq!(
        store
            .receive_signal(&run, "go", &StepKey::new("wait", &[]))
            .await
            .unwrap(),
        None,
        "no old signal is left for the new run"
    );
}

#[tokio::test]
async fn the_sqlite_store_deletes_every_row_of_a_removed_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = SqliteStore::open(&path).unwrap();
    a_removed_run_leaves_nothing_behind(&store).await;
    store.remove_run(&RunId::new("r")).await.unwrap_err(); // still running: kept
    let connection = rusqlite::Connection::open(&path).unwrap();
    for (table, column) in [
        ("runs", "id"),
        ("steps", "run_id"),
        ("signals", "run_id"),
        ("retired_steps", "run_id"),
    ] {
        let rows: i64 = connection
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE {column} = 'r'"),
                [],
                |row| row.get(0),
            )
            .unwrap();
        let expected = i64::from(matches!(table, "runs" | "steps"));
        assert_eq!(rows, expected, "{table}: only the new run's rows are left");
    }
}

#[tokio::test]
async fn the_sqlite_store_finds_expired_runs_through_its_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    let plan = |sql: &str| -> String {
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows: Vec<String> = statement
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.join("; ")
    };
    let by_age = plan(
        "SELECT id FROM runs WHERE parent IS NULL AND status IN ('completed') AND finished_at < 5",
    );
    assert!(by_age.contains("runs_ended"), "{by_age}");
    let children = plan("SELECT id FROM runs WHERE parent = 'p'");
    assert!(children.contains("runs_by_parent"), "{children}");
    let retired = plan("DELETE FROM retired_steps WHERE run_id = 'r'");
    assert!(retired.contains("retired_steps_by_run"), "{retired}");
}

#[test]
fn expired_counts_each_kind_newest_first_and_ages_by_finish_time() {
    let now = SystemTime::now();
    let run = |id: &str, status, ago: Duration| (RunId::new(id), status, now - ago);
    let ended = vec![
        run("old-done", RunStatus::Completed, 3 * HOUR),
        run("new-done", RunStatus::Completed, HOUR / 60),
        run("mid-done", RunStatus::Completed, HOUR / 2),
        run("old-failed", RunStatus::Failed, 3 * HOUR),
        run("new-cancelled", RunStatus::Cancelled, HOUR / 60),
        run("running", RunStatus::Running, 10 * DAY),
    ];
    let newest = Retention::new()
        .with_completed_newest(2)
        .with_failed_newest(1);
    let expired = |retention: Retention| {
        let mut ids: Vec<String> = retention
            .expired(ended.clone(), now)
            .into_iter()
            .map(|id| id.as_str().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(expired(newest), ["old-done", "old-failed"]);
    let by_age = Retention::new()
        .with_completed_for(HOUR)
        .with_failed_for(4 * HOUR);
    assert_eq!(expired(by_age), ["old-done"]);
    // Either limit removes: the newest two, of which none older than 20 minutes.
    let both = Retention::new()
        .with_completed_newest(2)
        .with_completed_for(HOUR / 3);
    assert_eq!(expired(both), ["mid-done", "old-done"]);
    assert!(expired(Retention::new()).is_empty());
}

#[test]
fn builders_set_what_they_say() {
    let retention = Retention::new()
        .with_completed_newest(5)
        .with_failed_for(DAY)
        .with_sweep_every(0)
        .with_sweep_interval(HOUR);
    assert_eq!(retention.completed().newest(), Some(5));
    assert_eq!(retention.completed().duration(), None);
    assert_eq!(retention.failed().duration(), Some(DAY));
    assert_eq!(retention.sweep_every(), 1, "0 counts as 1");
    assert_eq!(retention.sweep_interval(), HOUR);
    assert!(Retention::new().keeps_all());
    assert!(!retention.keeps_all());
    assert_eq!(
        MemoryStore::new().default_retention(),
        Retention::in_memory()
    );
    assert_eq!(Retention::in_memory().completed().newest(), Some(1_000));
    assert_eq!(Retention::durable().failed().duration(), Some(30 * DAY));
}
