//! Leases in the writer's transaction: claiming a run for this worker, and
//! telling why a write fenced by the lease's epoch matched nothing (see
//! [`crate::store::lease`]).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use std::time::SystemTime;

use super::error::database_error;
use super::rows::{time_from_sql, time_to_sql};
use super::workers::Workers;
use crate::store::{ClaimOffer, WorkerId};
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
        .prepare_cached(
            "UPDATE runs SET lease_owner = ?2, lease_epoch = ?3, run_at = NULL WHERE id = ?1",
        )?
        .execute(params![run.as_str(), workers.me().as_str(), epoch])?;
    Ok(Some(epoch))
}

/// Claims for this worker up to `offer.limit` due top-level runs of the
/// offer: unowned ones whose time has come (oldest due first), then those of
/// workers that are gone. Returns their ids and when the next unowned run of
/// the offer becomes due.
pub(super) fn claim_due(
    connection: &Connection,
    workers: &Workers,
    offer: &ClaimOffer,
    now: SystemTime,
) -> rusqlite::Result<(Vec<RunId>, Option<SystemTime>)> {
    let now = time_to_sql(now);
    let me = workers.me().as_str();
    let owners: Vec<String> = connection
        .prepare_cached(
            "SELECT DISTINCT lease_owner FROM runs
             WHERE status IN ('running', 'compensating') AND parent IS NULL
               AND lease_owner IS NOT NULL AND lease_owner != ?1",
        )?
        .query_map([me], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let gone: Vec<String> = owners
        .into_iter()
        .filter(|owner| !workers.is_alive(owner))
        .collect();
    let mut due: Vec<(String, String, i64)> = connection
        .prepare_cached(
            "SELECT id, workflow, definition_hash FROM runs
             WHERE lease_owner IS NULL AND parent IS NULL
               AND status IN ('running', 'compensating') AND COALESCE(run_at, 0) <= ?1
             ORDER BY COALESCE(run_at, 0), created_at, id",
        )?
        .query_map([now], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for owner in &gone {
        let orphans = connection
            .prepare_cached(
                "SELECT id, workflow, definition_hash FROM runs
                 WHERE lease_owner = ?1 AND parent IS NULL
                   AND status IN ('running', 'compensating')
                 ORDER BY created_at, id",
            )?
            .query_map([owner], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        due.extend(orphans);
    }
    let mut claimed = Vec::new();
    for (id, workflow, hash) in due {
        if claimed.len() >= offer.limit {
            break;
        }
        if !offer.takes(&workflow, hash.cast_unsigned()) {
            continue;
        }
        connection
            .prepare_cached(
                "UPDATE runs SET lease_owner = ?2, lease_epoch = lease_epoch + 1, run_at = NULL
                 WHERE id = ?1",
            )?
            .execute(params![id, me])?;
        claimed.push(RunId::new(id));
    }
    let waiting: Vec<(String, i64, i64)> = connection
        .prepare_cached(
            "SELECT workflow, definition_hash, MIN(run_at) FROM runs
             WHERE lease_owner IS NULL AND parent IS NULL
               AND status IN ('running', 'compensating') AND run_at > ?1
             GROUP BY workflow, definition_hash",
        )?
        .query_map([now], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let next = waiting
        .into_iter()
        .filter(|(workflow, hash, _)| offer.takes(workflow, hash.cast_unsigned()))
        .map(|(_, _, at)| at)
        .min()
        .map(time_from_sql);
    Ok((claimed, next))
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
