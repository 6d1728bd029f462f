//! Leases in the writer's transaction: claiming a run for this worker, and
//! telling why a write fenced by the lease's epoch matched nothing (see
//! [`crate::store::lease`]).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::error::database_error;
use super::workers::Workers;
use crate::store::WorkerId;
use crate::{RunId, StoreError};

/// Why claiming a run failed.
pub(super) enum ClaimError {
    Missing,
    Held(String),
    Database(rusqlite::Error),
}

impl From<rusqlite::Error> for ClaimError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Database(error)
    }
}

impl ClaimError {
    pub(super) fn into_store_error(self, path: &Path, run: &RunId) -> StoreError {
        match self {
            Self::Missing => StoreError::UnknownRun { run: run.clone() },
            Self::Held(worker) => StoreError::LeaseHeld {
                run: run.clone(),
                worker: WorkerId::new(worker),
            },
            Self::Database(error) => database_error(path, Some(run.clone()), &error),
        }
    }
}

/// Claims `run` for this worker if its status is one of `claimable`: keeps
/// this worker's own epoch, takes an unowned run or a dead worker's run under
/// the next epoch, and refuses a live worker's. `None` for a run in another
/// status (it has ended: there is nothing to own).
pub(super) fn claim(
    connection: &Connection,
    workers: &Workers,
    run: &RunId,
    claimable: &[&str],
) -> Result<Option<i64>, ClaimError> {
    let row: Option<(String, Option<String>, i64)> = connection
        .prepare_cached("SELECT status, lease_owner, lease_epoch FROM runs WHERE id = ?1")?
        .query_row([run.as_str()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let Some((status, owner, epoch)) = row else {
        return Err(ClaimError::Missing);
    };
    if !claimable.contains(&status.as_str()) {
        return Ok(None);
    }
    match owner {
        Some(owner) if owner == workers.me().as_str() => return Ok(Some(epoch)),
        Some(owner) if workers.is_alive(&owner) => return Err(ClaimError::Held(owner)),
        _ => {}
    }
    let epoch = epoch + 1;
    connection
        .prepare_cached("UPDATE runs SET lease_owner = ?2, lease_epoch = ?3 WHERE id = ?1")?
        .execute(params![run.as_str(), workers.me().as_str(), epoch])?;
    Ok(Some(epoch))
}

pub(super) fn owner_of(connection: &Connection, run: &RunId) -> rusqlite::Result<Option<String>> {
    connection
        .prepare_cached("SELECT lease_owner FROM runs WHERE id = ?1")?
        .query_row([run.as_str()], |row| row.get(0))
        .optional()
        .map(Option::flatten)
}

/// Why a fenced write to `run` changed nothing: no such run, it finished, or
/// another worker holds it now.
pub(super) fn refused(
    connection: &Connection,
    path: &Path,
    workers: &Workers,
    run: &RunId,
) -> StoreError {
    let unfinished = connection
        .query_row(
            "SELECT 1 FROM runs WHERE id = ?1 AND status IN ('running', 'compensating')",
            [run.as_str()],
            |_| Ok(()),
        )
        .is_ok();
    if unfinished {
        // Unfinished, yet the fenced write matched nothing: the lease moved.
        return StoreError::LeaseLost {
            run: run.clone(),
            worker: workers.me().clone(),
        };
    }
    missing_or_finished(connection, path, run)
}

/// Why a write to `run` changed nothing: no such run, or it finished. The
/// status is read, not just the row's presence, so a run its index finds but
/// whose record is gone (it reads as `NULL`) is reported `Corrupt`, not
/// finished.
pub(super) fn missing_or_finished(connection: &Connection, path: &Path, run: &RunId) -> StoreError {
    let exists = connection.query_row(
        "SELECT status FROM runs WHERE id = ?1",
        [run.as_str()],
        |row| row.get::<_, String>(0).map(drop),
    );
    match exists {
        Ok(()) => StoreError::RunFinished { run: run.clone() },
        Err(rusqlite::Error::QueryReturnedNoRows) => StoreError::UnknownRun { run: run.clone() },
        Err(error) => database_error(path, Some(run.clone()), &error),
    }
}
