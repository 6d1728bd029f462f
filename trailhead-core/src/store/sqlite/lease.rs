//! Leases in the writer's transaction: claiming a run for this worker, and
//! telling why a write fenced by the lease's epoch matched nothing (see
//! [`crate::store::lease`]).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use std::time::SystemTime;

use super::error::database_error;
use super::rows::{time_from_sql, time_to_sql};
use super::workers::Workers;
use crate::store::queue::Admission;
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
            "UPDATE runs SET lease_owner = ?2, lease_epoch = ?3, run_at = NULL,
                             started_at = COALESCE(started_at, created_at), claimed_at = ?4
             WHERE id = ?1",
        )?
        .execute(params![
            run.as_str(),
            workers.me().as_str(),
            epoch,
            time_to_sql(SystemTime::now())
        ])?;
    Ok(Some(epoch))
}

/// Claims for this worker up to `offer.limit` due top-level runs of the
/// offer under its queues' limits: those of workers that are gone (in
/// flight already), then unowned ones whose time has come, highest priority
/// and longest due first. Returns their ids and when the next unowned run of
/// the offer becomes due.
pub(super) fn claim_due(
    connection: &Connection,
    workers: &Workers,
    offer: &ClaimOffer,
    now: SystemTime,
) -> rusqlite::Result<(Vec<RunId>, Option<SystemTime>)> {
    let now = time_to_sql(now);
    let me = workers.me().as_str();
    let mut admission = Admission::new(offer, |queue| {
        let since = queue.rate().map_or(i64::MIN, |rate| {
            now.saturating_sub(i64::try_from(rate.per.as_nanos()).unwrap_or(i64::MAX))
        });
        connection
            .prepare_cached(
                "SELECT COALESCE(SUM(started_at IS NOT NULL AND status IN ('running', 'compensating')), 0),
                        COALESCE(SUM(started_at >= ?2), 0)
                 FROM runs WHERE queue = ?1",
            )?
            .query_row(params![queue.name(), since], |row| {
                let count = |at: usize| row.get::<_, i64>(at).map(|n| usize::try_from(n).unwrap_or(0));
                Ok((count(0)?, count(1)?))
            })
    })?;
    let owners: Vec<String> = connection
        .prepare_cached(
            "SELECT DISTINCT lease_owner FROM runs
             WHERE status IN ('running', 'compensating') AND parent IS NULL
               AND lease_owner IS NOT NULL AND lease_owner != ?1",
        )?
        .query_map([me], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    // Chosen in order, reading no further than the runs claimed: a queue
    // of many waiting runs costs a claim only the rows it takes.
    let mut chosen: Vec<String> = Vec::new();
    let mut choose = |candidate: Candidate| {
        if offer.takes(&candidate.workflow, candidate.hash)
            && admission.admit(candidate.queue.as_deref(), candidate.started)
        {
            chosen.push(candidate.id);
        }
        chosen.len() < offer.limit
    };
    let mut more = offer.limit > 0;
    for owner in owners.iter().filter(|owner| !workers.is_alive(owner)) {
        if !more {
            break;
        }
        more = each_candidate(
            connection,
            "WHERE lease_owner = ?1 AND parent IS NULL AND status IN ('running', 'compensating')
             ORDER BY created_at, id",
            params![owner],
            &mut choose,
        )?;
    }
    if more {
        each_candidate(
            connection,
            "WHERE lease_owner IS NULL AND parent IS NULL
               AND status IN ('running', 'compensating') AND COALESCE(run_at, 0) <= ?1
             ORDER BY priority DESC, COALESCE(run_at, 0), created_at, id",
            params![now],
            &mut choose,
        )?;
    }
    let mut claimed = Vec::with_capacity(chosen.len());
    for id in chosen {
        connection
            .prepare_cached(
                "UPDATE runs SET lease_owner = ?2, lease_epoch = lease_epoch + 1, run_at = NULL,
                                 started_at = COALESCE(started_at, ?3), claimed_at = ?3
                 WHERE id = ?1",
            )?
            .execute(params![id, me, now])?;
        claimed.push(RunId::new(id));
    }
    let waiting: Vec<(String, i64, Option<String>, i64)> = connection
        .prepare_cached(
            "SELECT workflow, definition_hash, queue, MIN(run_at) FROM runs
             WHERE lease_owner IS NULL AND parent IS NULL
               AND status IN ('running', 'compensating') AND run_at > ?1
             GROUP BY workflow, definition_hash, queue",
        )?
        .query_map([now], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let next = waiting
        .into_iter()
        .filter(|(workflow, hash, queue, _)| {
            offer.takes(workflow, hash.cast_unsigned()) && offer.serves(queue.as_deref())
        })
        .map(|(_, _, _, at)| at)
        .min()
        .map(time_from_sql);
    Ok((claimed, next))
}

/// The workers that hold unfinished runs or are alive, and the depth of
/// each queue.
pub(super) fn fleet(
    connection: &Connection,
    workers: &Workers,
) -> rusqlite::Result<crate::store::FleetStatus> {
    use crate::store::{FleetStatus, QueueStatus, WorkerStatus};
    let mut known: std::collections::BTreeMap<String, WorkerStatus> = workers
        .known()
        .into_iter()
        .map(|id| {
            let alive = workers.is_alive(&id);
            (id.clone(), WorkerStatus::new(WorkerId::new(id), alive))
        })
        .filter(|(_, status)| status.alive)
        .collect();
    let held: Vec<(String, i64, Option<i64>)> = connection
        .prepare_cached(
            "SELECT lease_owner, COUNT(*), MIN(claimed_at) FROM runs
             WHERE lease_owner IS NOT NULL AND status IN ('running', 'compensating')
             GROUP BY lease_owner",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (owner, runs, since) in held {
        let status = known.entry(owner.clone()).or_insert_with(|| {
            let alive = workers.is_alive(&owner);
            WorkerStatus::new(WorkerId::new(owner), alive)
        });
        status.runs = usize::try_from(runs).unwrap_or(0);
        status.oldest_lease = since.map(time_from_sql);
    }
    let queues = connection
        .prepare_cached(
            "SELECT queue, COALESCE(SUM(started_at IS NULL), 0), COALESCE(SUM(started_at IS NOT NULL), 0)
             FROM runs WHERE status IN ('running', 'compensating') AND parent IS NULL
             GROUP BY queue ORDER BY queue",
        )?
        .query_map([], |row| {
            let mut status = QueueStatus::new(row.get(0)?);
            status.waiting = usize::try_from(row.get::<_, i64>(1)?).unwrap_or(0);
            status.in_flight = usize::try_from(row.get::<_, i64>(2)?).unwrap_or(0);
            Ok(status)
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(FleetStatus {
        workers: known.into_values().collect(),
        queues,
    })
}

/// A run a claim may take.
struct Candidate {
    id: String,
    workflow: String,
    hash: u64,
    queue: Option<String>,
    started: bool,
}

/// Shows `visit` the runs `filter` (a `WHERE … ORDER BY …` of `runs`)
/// selects, as claim candidates, in order, until it says to stop: whether
/// it wants more.
fn each_candidate(
    connection: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
    mut visit: impl FnMut(Candidate) -> bool,
) -> rusqlite::Result<bool> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT id, workflow, definition_hash, queue, started_at IS NOT NULL FROM runs {filter}"
    ))?;
    let mut rows = statement.query(params)?;
    while let Some(row) = rows.next()? {
        let candidate = Candidate {
            id: row.get(0)?,
            workflow: row.get(1)?,
            hash: row.get::<_, i64>(2)?.cast_unsigned(),
            queue: row.get(3)?,
            started: row.get(4)?,
        };
        if !visit(candidate) {
            return Ok(false);
        }
    }
    Ok(true)
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
