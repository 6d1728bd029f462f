//! The checks a store passes on open, after its migrations: the shape of its
//! schema and a bounded `PRAGMA quick_check`.
//!
//! The header was checked before the file was opened for writing
//! ([`super::file`]); damage the checks here do not reach shows later as
//! [`DatabaseProblem::Corrupt`] on the read or write that meets it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rusqlite::{Connection, ErrorCode};

use super::error::problem;
use super::schema;
use crate::store::DatabaseProblem;

/// How often (in SQLite virtual-machine steps, or b-tree pages while it checks
/// pages) the progress handler is asked whether to go on.
const STEPS_PER_CALL: i32 = 1_000;

/// How many progress calls the quick check may take: about 2.5 million steps,
/// which covers a store of 100,000 journaled steps whole (see
/// [`SqliteStore::open`](super::SqliteStore::open) for the cost).
const QUICK_CHECK_CALLS: u32 = 2_500;

/// Checks that `connection`'s store has the tables and columns this build's
/// migrations make, and runs a bounded quick check of its pages and rows.
pub(super) fn check(connection: &mut Connection) -> Result<(), DatabaseProblem> {
    shape(connection)?;
    quick_check(connection)
}

/// A table's columns (name, declared type, not null, default, primary key
/// position), or nothing for an index: what `pragma_table_info` says.
type Columns = Vec<(String, String, bool, Option<String>, i64)>;

/// Schema objects by (type, name), with the table they belong to.
type Shape = BTreeMap<(String, String), (String, Columns)>;

fn shape_of(connection: &Connection) -> rusqlite::Result<Shape> {
    let mut statement = connection.prepare(
        "SELECT m.type, m.name, m.tbl_name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk
         FROM sqlite_master AS m LEFT JOIN pragma_table_info(m.name) AS p
         WHERE m.type IN ('table', 'index')
         ORDER BY m.type, m.name, p.cid",
    )?;
    let mut shape = Shape::new();
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let (kind, name, table) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let entry = shape
            .entry((kind, name))
            .or_insert_with(|| (table, Columns::new()));
        if let Some(column) = row.get::<_, Option<String>>(3)? {
            entry
                .1
                .push((column, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?));
        }
    }
    Ok(shape)
}

/// What the migrations make, worked out once on an in-memory database, so
/// the check follows every migration added without a list to keep in step.
fn expected() -> Result<&'static Shape, DatabaseProblem> {
    static EXPECTED: OnceLock<Shape> = OnceLock::new();
    if let Some(shape) = EXPECTED.get() {
        return Ok(shape);
    }
    let mut memory = Connection::open_in_memory().map_err(|error| problem(&error))?;
    schema::migrate(&mut memory)?;
    let shape = shape_of(&memory).map_err(|error| problem(&error))?;
    Ok(EXPECTED.get_or_init(|| shape))
}

/// Every table and index of this version is there, every table with exactly
/// the expected columns. Other objects (an index someone added) are allowed.
fn shape(connection: &Connection) -> Result<(), DatabaseProblem> {
    let expected = expected()?;
    let found = shape_of(connection).map_err(|error| problem(&error))?;
    for (object, wanted) in expected {
        if found.get(object) != Some(wanted) {
            tracing::warn!(
                kind = %object.0,
                name = %object.1,
                "the store's schema differs from what its version makes"
            );
            return Err(DatabaseProblem::Corrupt);
        }
    }
    Ok(())
}

/// `PRAGMA quick_check`, stopped by the progress handler after
/// [`QUICK_CHECK_CALLS`]: what it checked in that time is sound, or the store
/// is reported `Corrupt`.
fn quick_check(connection: &mut Connection) -> Result<(), DatabaseProblem> {
    let mut left = QUICK_CHECK_CALLS;
    progress(
        connection,
        Some(move || {
            left = left.saturating_sub(1);
            left == 0
        }),
    );
    let verdict = connection.query_row("PRAGMA quick_check(1)", [], |row| row.get::<_, String>(0));
    progress(connection, None::<fn() -> bool>);
    match verdict {
        Ok(verdict) if verdict == "ok" => Ok(()),
        Ok(finding) => {
            tracing::warn!(%finding, "the store failed SQLite's quick check");
            Err(DatabaseProblem::Corrupt)
        }
        // Out of budget with nothing found so far.
        Err(error) if error.sqlite_error_code() == Some(ErrorCode::OperationInterrupted) => Ok(()),
        Err(error) => Err(problem(&error)),
    }
}

/// Sets (or with `None` clears) the progress handler. It returns `()` in
/// older rusqlite and a `Result` in newer; a handler that could not be set
/// only leaves the check unbounded.
#[allow(clippy::let_unit_value)]
fn progress(connection: &mut Connection, handler: Option<impl FnMut() -> bool + Send + 'static>) {
    let _ = connection.progress_handler(STEPS_PER_CALL, handler);
}
