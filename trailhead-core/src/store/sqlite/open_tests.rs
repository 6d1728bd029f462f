//! Opening files that are not (or no longer) good stores: another
//! application's database, a damaged store, and the modes of new files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::SqliteStore;
use super::tests::{record, step};
use crate::store::{DatabaseProblem, RunOutcome, Store};
use crate::{RunId, StoreError};

/// Every file in `dir` with its bytes: equal snapshots mean nothing was
/// written, created or left behind.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

/// The problem `error` reports, after checking it names `path`.
fn problem_at(error: &StoreError, path: &Path) -> DatabaseProblem {
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "the error names the file: {error}"
    );
    match error {
        StoreError::Database { problem, .. } => problem.clone(),
        other => panic!("not a database error: {other:?}"),
    }
}

/// Another application's database: its own tables, some rows.
fn foreign(path: &Path, wal: bool, tables: &str) {
    let connection = rusqlite::Connection::open(path).unwrap();
    if wal {
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .unwrap();
    }
    connection.execute_batch(tables).unwrap();
}

fn assert_refused_untouched(dir: &Path, path: &Path) {
    let before = snapshot(dir);
    let error = SqliteStore::open(path).unwrap_err();
    assert_eq!(
        problem_at(&error, path),
        DatabaseProblem::NotATrailheadStore,
        "{error}"
    );
    assert_eq!(
        snapshot(dir),
        before,
        "the file was changed or files were left"
    );
}

#[test]
fn another_applications_database_is_refused_and_left_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    foreign(
        &path,
        false,
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO customers (name) VALUES ('ada'), ('grace');",
    );
    assert_refused_untouched(dir.path(), &path);
}

#[test]
fn a_wal_mode_database_of_another_application_gets_no_wal_or_shm_files() {
    let dir = tempfile::tempdir().unwrap();
    // Characters a `file:` URI must escape.
    let path = dir.path().join("app 100% ?#.db");
    foreign(
        &path,
        true,
        "CREATE TABLE events (at INTEGER, what TEXT);
         INSERT INTO events VALUES (1, 'started');",
    );
    assert_eq!(snapshot(dir.path()).len(), 1, "closed cleanly, no -wal");
    assert_refused_untouched(dir.path(), &path);
}

#[test]
fn a_database_with_its_own_runs_table_is_refused_not_half_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    foreign(
        &path,
        false,
        "CREATE TABLE runs (id TEXT PRIMARY KEY, km REAL);
         INSERT INTO runs VALUES ('monday', 5.2);",
    );
    assert_refused_untouched(dir.path(), &path);
}

#[test]
fn an_empty_file_becomes_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    std::fs::File::create(&path).unwrap();
    SqliteStore::open(&path).unwrap();
    assert!(SqliteStore::open(&path).is_ok(), "and opens again as one");
}

/// A copy of a database taken while a transaction was half-written to it:
/// `pending` ran after `committed` with a tiny page cache, so its pages spilled
/// into the file, and the copy's `-journal` is hot, as after a crash.
fn with_hot_journal(dir: &Path, committed: &str, pending: &str) -> PathBuf {
    let original = dir.join("original.db");
    let connection = rusqlite::Connection::open(&original).unwrap();
    connection.pragma_update(None, "cache_size", 2).unwrap();
    connection.execute_batch(committed).unwrap();
    connection.execute_batch("BEGIN").unwrap();
    connection.execute_batch(pending).unwrap();
    let copy = dir.join("copy.db");
    std::fs::copy(&original, &copy).unwrap();
    std::fs::copy(dir.join("original.db-journal"), dir.join("copy.db-journal")).unwrap();
    connection.execute_batch("ROLLBACK").unwrap();
    copy
}

const MANY_ROWS: &str = "CREATE TABLE filler (text TEXT);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
    INSERT INTO filler SELECT printf('%0200d', i) FROM n;";

#[test]
fn a_store_whose_creation_was_cut_short_is_rolled_back_and_created() {
    let dir = tempfile::tempdir().unwrap();
    let copy = with_hot_journal(
        dir.path(),
        "",
        &format!("CREATE TABLE trailhead_schema (version INTEGER NOT NULL); {MANY_ROWS}"),
    );
    SqliteStore::open(&copy).unwrap();
}

#[test]
fn a_foreign_database_with_a_hot_journal_is_rolled_back_then_refused() {
    let dir = tempfile::tempdir().unwrap();
    let copy = with_hot_journal(
        dir.path(),
        "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('committed');",
        MANY_ROWS,
    );
    let error = SqliteStore::open(&copy).unwrap_err();
    assert_eq!(
        problem_at(&error, &copy),
        DatabaseProblem::NotATrailheadStore,
        "{error}"
    );
    let connection = rusqlite::Connection::open(&copy).unwrap();
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, ["notes"], "what its writer committed, no more");
}

/// A closed store with `runs` runs of 50 steps each, copied with
/// `VACUUM INTO` so the copy is one self-contained file without a `-wal`.
async fn store_with_many_rows(dir: &Path, runs: usize) -> PathBuf {
    let original = dir.join("original.db");
    let store = SqliteStore::open(&original).unwrap();
    for r in 0..runs {
        let journal = store.create_run(record(&format!("r{r}"))).await.unwrap();
        let writes = (0..50).map(|s| {
            let journal = Arc::clone(&journal);
            async move {
                let output = serde_json::json!({"item": s, "note": "an output of some size"});
                journal.record_step(step(&format!("s{s}"), output)).await
            }
        });
        for written in futures::future::join_all(writes).await {
            written.unwrap();
        }
    }
    let copy = dir.join("copy.db");
    rusqlite::Connection::open(&original)
        .unwrap()
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    copy
}

fn truncate_to_half(path: &Path) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let length = file.metadata().unwrap().len();
    file.set_len(length / 2).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_truncated_to_half_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let copy = store_with_many_rows(dir.path(), 100).await;
    assert!(SqliteStore::open(&copy).is_ok(), "the copy is a good store");
    truncate_to_half(&copy);
    let error = SqliteStore::open(&copy).unwrap_err();
    assert_eq!(
        problem_at(&error, &copy),
        DatabaseProblem::Corrupt,
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_truncated_under_its_wal_is_corrupt_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let copy = store_with_many_rows(dir.path(), 100).await;
    // Recent writes in the `-wal`, the older pages in the file: the length
    // check of the header cannot tell, the quick check must.
    let live = SqliteStore::open(&copy).unwrap();
    let journal = live.create_run(record("late")).await.unwrap();
    journal
        .record_step(step("a", serde_json::json!(1)))
        .await
        .unwrap();
    assert!(dir.path().join("copy.db-wal").metadata().unwrap().len() > 0);
    truncate_to_half(&copy);
    let error = SqliteStore::open(&copy).unwrap_err();
    assert_eq!(
        problem_at(&error, &copy),
        DatabaseProblem::Corrupt,
        "{error}"
    );
}

#[tokio::test]
async fn a_store_missing_a_table_or_column_is_corrupt() {
    for damage in [
        "DROP TABLE signals",
        "ALTER TABLE runs DROP COLUMN mermaid",
        "DROP INDEX steps_in_order",
        "DELETE FROM trailhead_schema",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let store = SqliteStore::open(&path).unwrap();
        store.create_run(record("r")).await.unwrap();
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(damage)
            .unwrap();
        let error = SqliteStore::open(&path).unwrap_err();
        assert_eq!(
            problem_at(&error, &path),
            DatabaseProblem::Corrupt,
            "after `{damage}`: {error}"
        );
    }
}

#[tokio::test]
async fn a_value_that_does_not_decode_is_corrupt_not_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = SqliteStore::open(&path).unwrap();
    let journal = store.create_run(record("r")).await.unwrap();
    // What SQLite hands back for a damaged record: not the text trailhead wrote.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE runs SET status = x'00ff', created_at = 'soon'", [])
        .unwrap();
    let run = RunId::new("r");
    for error in [
        store.run(&run).await.unwrap_err(),
        store.list_runs(None).await.unwrap_err(),
        journal
            .record_step(step("a", serde_json::json!(1)))
            .await
            .unwrap_err(),
        journal
            .finish(RunOutcome::Completed(
                crate::store::Value::encode(&serde_json::json!(null)).unwrap(),
            ))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(
            problem_at(&error, &path),
            DatabaseProblem::Corrupt,
            "{error}"
        );
    }
}

#[cfg(unix)]
mod modes {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use rustix::fs::Mode;

    use super::super::SqliteStore;
    use super::{record, step};
    use crate::store::Store;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn a_new_store_and_its_wal_and_shm_are_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        // The usual umask, which leaves new files readable by everyone; the
        // process's umask for as long as SQLite may create files here.
        let before = rustix::process::umask(Mode::from_bits_truncate(0o022));
        let store = SqliteStore::open(&path).unwrap();
        let journal = store.create_run(record("r")).await.unwrap();
        journal
            .record_step(step("customer", serde_json::json!({"card": "4242"})))
            .await
            .unwrap();
        let modes =
            ["runs.db", "runs.db-wal", "runs.db-shm"].map(|file| mode(&dir.path().join(file)));
        rustix::process::umask(before);
        assert_eq!(modes, [0o600; 3], "runs.db, -wal, -shm");
    }

    #[tokio::test]
    async fn an_existing_files_mode_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.db");
        std::fs::File::create(&empty).unwrap();
        let store = dir.path().join("store.db");
        drop(SqliteStore::open(&store).unwrap());
        for path in [&empty, &store] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let opened = SqliteStore::open(path).unwrap();
            opened.create_run(record("r")).await.unwrap();
            assert_eq!(mode(path), 0o644, "{}", path.display());
        }
    }
}

/// Processes of a fleet start at once on a file none of them made yet: each
/// open waits for the others' (the schema's creation, the switch to WAL
/// mode) instead of failing at once as `Locked`.
#[test]
fn many_opening_a_new_file_at_once_all_open_it() {
    for round in 0..50 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let start = Arc::new(std::sync::Barrier::new(6));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let (path, start) = (path.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    SqliteStore::open(&path).map(drop)
                })
            })
            .collect();
        for opener in openers {
            let opened = opener.join().unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}
