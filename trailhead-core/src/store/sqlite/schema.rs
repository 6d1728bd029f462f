//! The database schema and its migrations.
//!
//! `trailhead_schema` holds one row: the schema version. It is also the marker
//! that tells a trailhead store from any other SQLite file: a database with
//! tables but no marker belongs to someone else and is refused untouched.
//! Opening an empty database or a store applies the migrations it lacks, in one
//! transaction; a database from a newer trailhead is refused rather than
//! misread.

use rusqlite::{Connection, ErrorCode};

use super::error::problem;
use crate::store::DatabaseProblem;

/// The newest schema this build reads and writes.
pub(super) const VERSION: i64 = 12;

/// Each migration brings the schema from the version before it to its index + 1.
const MIGRATIONS: &[&str] = &[
    // 1: runs and their journals.
    "CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        definition_hash INTEGER NOT NULL,
        parent TEXT,
        input TEXT NOT NULL,
        status TEXT NOT NULL,
        outcome TEXT,
        mermaid TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        finished_at INTEGER
    );
    CREATE INDEX runs_by_status ON runs (status, created_at);
    CREATE TABLE steps (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        seq INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX steps_in_order ON steps (run_id, seq);",
    // 2: signals sent to runs; `received_by` is the step key that took each.
    "CREATE TABLE signals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_by TEXT
    );
    CREATE INDEX signals_waiting ON signals (run_id, name, received_by);",
    // 3: failed step entries moved out of a journal when its run is retried.
    "CREATE TABLE retired_steps (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        outcome TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        retired_at INTEGER NOT NULL
    );",
    // 4: the codec of each journaled value, so another encoding can come later
    // without guessing what an old row holds.
    "ALTER TABLE steps ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';
    ALTER TABLE runs ADD COLUMN codec TEXT NOT NULL DEFAULT 'json';",
    // 5: compensation. Runs may be `compensating` or `compensation_failed`,
    // step outcomes may be `FellBack`, and compensations are journaled under
    // `undo:` keys; no table changes, but an older build must not misread them.
    "SELECT 1;",
    // 6: leases. The worker that owns each unfinished run and the epoch of its
    // claim; every journal write checks both (see `store::lease`).
    "ALTER TABLE runs ADD COLUMN lease_owner TEXT;
    ALTER TABLE runs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;",
    // 7: retention. Finished top-level runs by kind and finish time, child runs
    // by parent, retired entries by run: so removing old runs needs no scan.
    "CREATE INDEX runs_ended ON runs (status, finished_at) WHERE parent IS NULL;
    CREATE INDEX runs_by_parent ON runs (parent) WHERE parent IS NOT NULL;
    CREATE INDEX retired_steps_by_run ON retired_steps (run_id);",
    // 8: journaled values in CBOR. Inputs, outputs, outcomes and signal
    // payloads written from here on are CBOR BLOBs (codec 'cbor'); JSON TEXT
    // from older builds stays and is read as JSON, each cell by its type. No
    // table changes (SQLite keeps a BLOB in a TEXT column as it is), but an
    // older build must refuse the file rather than misread its BLOBs.
    "SELECT 1;",
    // 9: the fleet. `run_at` is when an unowned run (enqueued, or handed
    // back while it sleeps) may be claimed; claimable runs are found by index.
    // Enqueued runs have a queue, a priority and maybe a deduplication key
    // (unique per queue); `started_at` is when a run was first claimed, for
    // the queue's limits on runs in flight and runs started per window;
    // `claimed_at` when its owner claimed it (the lease's age).
    "ALTER TABLE runs ADD COLUMN run_at INTEGER;
    ALTER TABLE runs ADD COLUMN queue TEXT;
    ALTER TABLE runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN dedup_key TEXT;
    ALTER TABLE runs ADD COLUMN started_at INTEGER;
    ALTER TABLE runs ADD COLUMN claimed_at INTEGER;
    UPDATE runs SET started_at = created_at, claimed_at = created_at;
    CREATE INDEX runs_claimable ON runs (priority DESC, run_at)
        WHERE lease_owner IS NULL AND parent IS NULL AND status IN ('running', 'compensating');
    CREATE INDEX runs_by_queue ON runs (queue, started_at) WHERE queue IS NOT NULL;
    CREATE UNIQUE INDEX runs_by_dedup_key ON runs (COALESCE(queue, ''), dedup_key)
        WHERE dedup_key IS NOT NULL;",
    // 10: cancel by id from any process. `cancel_requested_at` is when
    // cancelling an unfinished run was asked; its owner finds the requests
    // for the runs it holds by index.
    "ALTER TABLE runs ADD COLUMN cancel_requested_at INTEGER;
    CREATE INDEX runs_cancel_requested ON runs (lease_owner)
        WHERE cancel_requested_at IS NOT NULL AND status = 'running';",
    // 11: a step's retried attempts (when each ran, why it failed, when the
    // next began), JSON; NULL for a step that passed at its first attempt.
    "ALTER TABLE steps ADD COLUMN retries TEXT;
    ALTER TABLE retired_steps ADD COLUMN retries TEXT;",
    // 12: schedules. A schedule's record (its definition, last tick,
    // counts) is one JSON document, read and written whole in the writer's
    // transaction and never queried by field.
    "CREATE TABLE schedules (
        name TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        record TEXT NOT NULL
    );",
];

/// What a database holds, judged by the marker table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Contents {
    /// No tables, indexes, views or triggers at all: a new store.
    Empty,
    /// A trailhead store with this schema version.
    Store { version: i64 },
    /// Schema objects, but no marker: another application's database.
    Foreign,
}

/// What `connection`'s database holds. A marker table without exactly one
/// integer version is damage, not a foreign file.
pub(super) fn contents(connection: &Connection) -> Result<Contents, DatabaseProblem> {
    let fail = |error: rusqlite::Error| problem(&error);
    // `sqlite_master`, not `sqlite_schema`: the older name also works on a
    // system SQLite before 3.33.
    let (objects, marked): (i64, bool) = connection
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(type = 'table' AND name = 'trailhead_schema'), 0) > 0
             FROM sqlite_master",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(fail)?;
    if !marked {
        return Ok(if objects == 0 {
            Contents::Empty
        } else {
            Contents::Foreign
        });
    }
    let versions = connection
        .prepare("SELECT version FROM trailhead_schema")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(fail)?;
    match versions[..] {
        [version] => Ok(Contents::Store { version }),
        _ => Err(DatabaseProblem::Corrupt),
    }
}

/// Brings `connection`'s database to [`VERSION`], if it is empty or a store no
/// newer than this build; anything else is refused before a byte is written.
pub(super) fn migrate(connection: &mut Connection) -> Result<(), DatabaseProblem> {
    let fail = |error: rusqlite::Error| problem(&error);
    let transaction = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(fail)?;
    // Looked at again under the write lock: the file may have changed since
    // the read-only look, and a refusal here rolls back a transaction that
    // wrote nothing.
    let from = match contents(&transaction)? {
        Contents::Empty => None,
        Contents::Store { version } if version > VERSION => {
            return Err(DatabaseProblem::NewerSchema {
                found: version,
                supported: VERSION,
            });
        }
        Contents::Store { version } if version < 0 => return Err(DatabaseProblem::Corrupt),
        Contents::Store { version } => Some(version),
        Contents::Foreign => return Err(DatabaseProblem::NotATrailheadStore),
    };
    if from == Some(VERSION) {
        return Ok(());
    }
    let apply = || -> rusqlite::Result<()> {
        if from.is_none() {
            transaction
                .execute_batch("CREATE TABLE trailhead_schema (version INTEGER NOT NULL)")?;
        }
        let done = usize::try_from(from.unwrap_or(0)).unwrap_or(0);
        for migration in &MIGRATIONS[done..] {
            transaction.execute_batch(migration)?;
        }
        if from.is_none() {
            transaction.execute(
                "INSERT INTO trailhead_schema (version) VALUES (?1)",
                [VERSION],
            )?;
        } else {
            transaction.execute("UPDATE trailhead_schema SET version = ?1", [VERSION])?;
        }
        Ok(())
    };
    apply().map_err(|error| match error.sqlite_error_code() {
        // A migration's SQL failed (a table it alters is missing, one it
        // creates exists): the store is not what its version says.
        Some(ErrorCode::Unknown) => DatabaseProblem::Corrupt,
        _ => problem(&error),
    })?;
    transaction.commit().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_9_store_gains_cancel_requests_with_its_runs_kept() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE trailhead_schema (version INTEGER NOT NULL)")
            .unwrap();
        for migration in &MIGRATIONS[..9] {
            connection.execute_batch(migration).unwrap();
        }
        connection
            .execute_batch(
                "INSERT INTO trailhead_schema (version) VALUES (9);
                 INSERT INTO runs (id, workflow, definition_hash, input, status, mermaid, created_at)
                 VALUES ('old', 'w', 0, x'f6', 'running', '', 0);",
            )
            .unwrap();
        migrate(&mut connection).unwrap();
        assert_eq!(
            contents(&connection).unwrap(),
            Contents::Store { version: VERSION }
        );
        let asked: Option<i64> = connection
            .query_row(
                "SELECT cancel_requested_at FROM runs WHERE id = 'old'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(asked, None, "no cancel was asked of the old run");
    }
}
