//! The database schema and its migrations.
//!
//! `trailhead_schema` holds one row: the schema version. Opening a database
//! applies the migrations it lacks, in one transaction; a database from a newer
//! trailhead is refused rather than misread.

use rusqlite::{Connection, OptionalExtension};

/// The newest schema this build reads and writes.
pub(super) const VERSION: i64 = 6;

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
    // 6: journaled values in CBOR. Inputs, outputs, outcomes and signal
    // payloads written from here on are CBOR BLOBs (codec 'cbor'); JSON TEXT
    // from older builds stays and is read as JSON, each cell by its type. No
    // table changes (SQLite keeps a BLOB in a TEXT column as it is), but an
    // older build must refuse the file rather than misread its BLOBs.
    "SELECT 1;",
];

/// What opening found: the version before migrating.
pub(super) enum Migrated {
    Current,
    Newer { found: i64 },
}

/// Brings `connection`'s database to [`VERSION`].
pub(super) fn migrate(connection: &mut Connection) -> rusqlite::Result<Migrated> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    transaction
        .execute_batch("CREATE TABLE IF NOT EXISTS trailhead_schema (version INTEGER NOT NULL)")?;
    let found: Option<i64> = transaction
        .query_row("SELECT version FROM trailhead_schema", [], |row| row.get(0))
        .optional()?;
    let from = found.unwrap_or(0);
    if from > VERSION {
        return Ok(Migrated::Newer { found: from });
    }
    for migration in &MIGRATIONS[usize::try_from(from).unwrap_or(0)..] {
        transaction.execute_batch(migration)?;
    }
    if found.is_none() {
        transaction.execute(
            "INSERT INTO trailhead_schema (version) VALUES (?1)",
            [VERSION],
        )?;
    } else {
        transaction.execute("UPDATE trailhead_schema SET version = ?1", [VERSION])?;
    }
    transaction.commit()?;
    Ok(Migrated::Current)
}
