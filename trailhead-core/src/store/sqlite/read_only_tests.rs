//! Opening a store read-only: it reads what writers commit, refuses every
//! write, and creates, migrates or claims nothing.

use super::SqliteStore;
use super::tests::{record, step};
use crate::store::{DatabaseProblem, Store};
use crate::{RunId, StoreError};

fn problem(error: &StoreError) -> DatabaseProblem {
    match error {
        StoreError::Database { problem, .. } => problem.clone(),
        other => panic!("not a database error: {other:?}"),
    }
}

#[tokio::test]
async fn a_read_only_store_reads_what_a_writer_commits_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let writer = SqliteStore::open(&path).unwrap();
    let journal = writer.create_run(record("r-1")).await.unwrap();
    let reader = SqliteStore::open_read_only(&path).unwrap();
    assert_eq!(reader.list_runs(None).await.unwrap().len(), 1);
    assert!(reader.journal(&RunId::new("r-1")).await.unwrap().is_empty());
    // Written after the read-only store opened: seen on the next read.
    journal
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    assert_eq!(reader.journal(&RunId::new("r-1")).await.unwrap().len(), 1);

    let refused = reader.create_run(record("r-2")).await.err().unwrap();
    assert_eq!(problem(&refused), DatabaseProblem::ReadOnly, "{refused}");
    let refused = reader.open_run(&RunId::new("r-1")).await.err().unwrap();
    assert_eq!(problem(&refused), DatabaseProblem::ReadOnly, "{refused}");
    assert!(
        refused.to_string().contains("r-1"),
        "names the run: {refused}"
    );
    let refused = reader
        .send_signal(
            &RunId::new("r-1"),
            "go",
            crate::store::Value::encode(&1).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(problem(&refused), DatabaseProblem::ReadOnly, "{refused}");
    assert_ne!(reader.worker(), writer.worker());
    assert_eq!(writer.list_runs(None).await.unwrap().len(), 1);
}

#[test]
fn a_missing_file_is_refused_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    let error = SqliteStore::open_read_only(&path).unwrap_err();
    assert!(
        matches!(problem(&error), DatabaseProblem::CannotOpen(_)),
        "{error}"
    );
    assert!(error.to_string().contains("missing.db"), "{error}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_empty_or_foreign_file_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let error = SqliteStore::open_read_only(&empty).unwrap_err();
    assert_eq!(problem(&error), DatabaseProblem::NotATrailheadStore);
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    let foreign = dir.path().join("foreign.db");
    let connection = rusqlite::Connection::open(&foreign).unwrap();
    connection.execute_batch("CREATE TABLE t (x);").unwrap();
    drop(connection);
    let error = SqliteStore::open_read_only(&foreign).unwrap_err();
    assert_eq!(problem(&error), DatabaseProblem::NotATrailheadStore);
}

#[test]
fn an_older_or_newer_schema_is_refused_unmigrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).unwrap());
    let set_version = |version: i64| {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute("UPDATE trailhead_schema SET version = ?1", [version])
            .unwrap();
    };
    let version = || -> i64 {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .query_row("SELECT version FROM trailhead_schema", [], |row| row.get(0))
            .unwrap()
    };
    set_version(super::schema::VERSION + 1);
    let error = SqliteStore::open_read_only(&path).unwrap_err();
    assert_eq!(
        problem(&error),
        DatabaseProblem::NewerSchema {
            found: super::schema::VERSION + 1,
            supported: super::schema::VERSION
        }
    );
    set_version(super::schema::VERSION - 1);
    let error = SqliteStore::open_read_only(&path).unwrap_err();
    assert_eq!(
        problem(&error),
        DatabaseProblem::OlderSchema {
            found: super::schema::VERSION - 1,
            supported: super::schema::VERSION
        }
    );
    assert_eq!(version(), super::schema::VERSION - 1, "not migrated");
}
