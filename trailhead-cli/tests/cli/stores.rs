//! Stores the CLI must not misread or change: from a newer trailhead,
//! locked by another process, another application's, missing.

use std::time::{Duration, Instant};

use crate::support::{code, filled, on, stderr, trailhead};

fn schema_version(path: &std::path::Path) -> i64 {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .query_row("SELECT version FROM trailhead_schema", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_from_a_newer_trailhead_says_so_and_stays_as_it_was() {
    let (_dir, path) = filled().await;
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute("UPDATE trailhead_schema SET version = 99", [])
        .unwrap();
    drop(connection);
    for args in [
        &["runs"][..],
        &["show", "buy-1"],
        &["cancel", "buy-1"],
        &["signal", "buy-1", "x", "--json", "1"],
    ] {
        let refused = on(&path, args);
        assert_eq!(code(&refused), 4, "{args:?}: {}", stderr(&refused));
        let message = stderr(&refused);
        assert!(message.contains("schema version 99"), "{message}");
        assert!(message.contains(path.to_str().unwrap()), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    assert_eq!(schema_version(&path), 99);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_store_is_not_migrated() {
    let (_dir, path) = filled().await;
    let current = schema_version(&path);
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute("UPDATE trailhead_schema SET version = ?1", [current - 1])
        .unwrap();
    drop(connection);
    for args in [&["runs"][..], &["cancel", "buy-1"]] {
        let refused = on(&path, args);
        assert_eq!(code(&refused), 4, "{}", stderr(&refused));
        assert!(stderr(&refused).contains("older"), "{}", stderr(&refused));
    }
    assert_eq!(schema_version(&path), current - 1, "left unmigrated");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_store_gives_a_clear_message_not_a_hang() {
    let (_dir, path) = filled().await;
    let holder = rusqlite::Connection::open(&path).unwrap();
    // An exclusive lock that keeps readers out too, even in WAL mode.
    holder
        .execute_batch(
            "PRAGMA locking_mode = EXCLUSIVE;
             BEGIN EXCLUSIVE;
             UPDATE runs SET workflow = workflow;",
        )
        .unwrap();
    let began = Instant::now();
    let locked = on(&path, &["runs"]);
    let waited = began.elapsed();
    assert_eq!(code(&locked), 1, "{}", stderr(&locked));
    let message = stderr(&locked);
    assert!(message.contains("locked by another process"), "{message}");
    assert!(message.contains(path.to_str().unwrap()), "{message}");
    assert!(waited < Duration::from_secs(30), "{waited:?}");
    holder.execute_batch("ROLLBACK;").unwrap();
    drop(holder);
    assert_eq!(code(&on(&path, &["runs"])), 0, "readable once let go");
}

#[test]
fn another_applications_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute_batch("CREATE TABLE runs (id TEXT); INSERT INTO runs VALUES ('mine');")
        .unwrap();
    drop(connection);
    let before = std::fs::read(&path).unwrap();
    for args in [&["runs"][..], &["cancel", "mine"]] {
        let refused = on(&path, args);
        assert_eq!(code(&refused), 4);
        assert!(
            stderr(&refused).contains("not a trailhead store"),
            "{}",
            stderr(&refused)
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no files left"
    );
}

#[test]
fn a_missing_file_is_refused_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    for args in [&["runs"][..], &["cancel", "r"], &["watch", "r"]] {
        let refused = on(&path, args);
        assert_eq!(code(&refused), 4);
        assert!(
            stderr(&refused).contains("missing.db"),
            "{}",
            stderr(&refused)
        );
    }
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn no_store_is_a_usage_error() {
    let missing = trailhead(&["runs"]);
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("TRAILHEAD_STORE"));
}
