//! The one writer: a thread that owns the write connection and commits what
//! every run asks for in batches, so that many concurrent runs share each
//! fsync (group commit).
//!
//! A request waits in the channel while the previous batch commits; when the
//! thread comes back it takes everything waiting (up to [`MAX_BATCH`]) into one
//! transaction. Idle, a write costs one commit; under load one commit serves
//! many runs. Each request runs under its own savepoint, so one refused write
//! (a step journaled twice) does not undo the others in its batch.
//!
//! The writer is also where leases are claimed and checked (see
//! [`crate::store::lease`]): a claim and every fenced write run in the
//! writer's `IMMEDIATE` transaction, which holds SQLite's write lock, so no
//! other process can claim the run between the check and the write.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::SystemTime;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use tokio::sync::oneshot;

use super::error::database_error;
use super::rows::{
    Cell, run_outcome_to_sql, state_to_sql, status_to_sql, step_outcome_to_sql, time_to_sql,
    value_from_sql,
};
use super::workers::Workers;
use crate::store::{AfterCompensation, RunOutcome, RunRecord, StepRecord, Value, WorkerId};
use crate::{RunId, StoreError};

/// Most writes committed together.
const MAX_BATCH: usize = 1024;

/// A change to the database.
#[derive(Debug)]
pub(super) enum Write {
    CreateRun(RunRecord),
    /// Claims an unfinished run for this worker: answers with the epoch.
    Claim {
        run: RunId,
    },
    Step {
        run: RunId,
        epoch: i64,
        record: StepRecord,
    },
    Finish {
        run: RunId,
        epoch: i64,
        outcome: RunOutcome,
        at: SystemTime,
    },
    Signal {
        run: RunId,
        name: String,
        payload: Value,
    },
    /// Receives a signal for a step: answers with its payload, if any.
    Receive {
        run: RunId,
        name: String,
        key: String,
    },
    /// Reopens a failed or cancelled run, retiring its failed step entries.
    Reopen {
        run: RunId,
        at: SystemTime,
    },
    /// Claims a running (or completed child) run and marks it compensating,
    /// to end as `then`: answers with the epoch.
    BeginCompensation {
        run: RunId,
        then: AfterCompensation,
    },
    /// Removes an ended run with everything recorded for it and its children.
    Remove {
        run: RunId,
    },
}

/// What a write answers.
#[derive(Debug)]
pub(super) enum Answer {
    Done,
    /// A received signal's payload, if one was waiting.
    Signal(Option<Value>),
    /// The run is this worker's under this epoch; `None` if it has ended
    /// (nothing to claim: its journal takes no writes).
    Claimed(Option<i64>),
}

#[derive(Debug)]
struct Request {
    write: Write,
    reply: oneshot::Sender<Result<Answer, StoreError>>,
}

/// The handle runs use to ask the writer thread for writes.
#[derive(Debug)]
pub(super) struct Writer {
    requests: mpsc::Sender<Request>,
    path: PathBuf,
    commits: Arc<AtomicU64>,
    worker: WorkerId,
    /// The writer thread, joined when the last handle goes: its last writes
    /// are committed and the worker's lock released before the drop returns,
    /// so another store on the file can take the worker's runs over at once.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has drained it.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.requests, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Writer {
    /// Starts the writer thread on `connection`, writing as `workers`' worker.
    /// The thread owns the worker's lock: it is held until the last handle
    /// is gone and the last write committed.
    pub(super) fn start(
        connection: Connection,
        path: PathBuf,
        workers: Workers,
    ) -> std::io::Result<Self> {
        let (requests, incoming) = mpsc::channel();
        let thread_path = path.clone();
        let commits = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&commits);
        let worker = workers.me().clone();
        let thread = std::thread::Builder::new()
            .name("trailhead-sqlite-writer".to_owned())
            .spawn(move || run(connection, &thread_path, &workers, &incoming, &counter))?;
        Ok(Writer {
            requests,
            path,
            commits,
            worker,
            thread: Some(thread),
        })
    }

    /// The worker this writer writes as.
    pub(super) fn worker(&self) -> &WorkerId {
        &self.worker
    }

    /// Transactions committed so far.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Commits `write`, durably, before returning.
    pub(super) async fn write(&self, write: Write) -> Result<Answer, StoreError> {
        let run = run_of(&write);
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Database {
            path: self.path.clone(),
            run: Some(run.clone()),
            problem: crate::store::DatabaseProblem::Other(
                "the writer thread has stopped".to_owned(),
            ),
        };
        self.requests
            .send(Request { write, reply })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

fn run(
    mut connection: Connection,
    path: &Path,
    workers: &Workers,
    incoming: &mpsc::Receiver<Request>,
    commits: &AtomicU64,
) {
    while let Ok(first) = incoming.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let outcomes = commit(&mut connection, path, workers, &batch);
        commits.fetch_add(1, Ordering::Relaxed);
        for (request, outcome) in batch.into_iter().zip(outcomes) {
            // A run that stopped waiting (cancelled) no longer needs the answer.
            let _ = request.reply.send(outcome);
        }
    }
}

/// Applies the batch in one transaction; the outcome of each request.
fn commit(
    connection: &mut Connection,
    path: &Path,
    workers: &Workers,
    batch: &[Request],
) -> Vec<Result<Answer, StoreError>> {
    let mut transaction =
        match connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(transaction) => transaction,
            Err(error) => {
                return batch
                    .iter()
                    .map(|r| Err(database_error(path, Some(run_of(&r.write)), &error)))
                    .collect();
            }
        };
    let mut outcomes = Vec::with_capacity(batch.len());
    for request in batch {
        let outcome = match transaction.savepoint() {
            Ok(mut savepoint) => {
                let outcome = apply(&savepoint, path, workers, &request.write);
                if outcome.is_ok() {
                    savepoint
                        .commit()
                        .map_err(|error| database_error(path, Some(run_of(&request.write)), &error))
                        .and(outcome)
                } else {
                    let _ = savepoint.rollback();
                    outcome
                }
            }
            Err(error) => Err(database_error(path, Some(run_of(&request.write)), &error)),
        };
        outcomes.push(outcome);
    }
    if let Err(error) = transaction.commit() {
        return batch
            .iter()
            .map(|r| Err(database_error(path, Some(run_of(&r.write)), &error)))
            .collect();
    }
    outcomes
}

fn run_of(write: &Write) -> RunId {
    match write {
        Write::CreateRun(record) => record.id.clone(),
        Write::Claim { run }
        | Write::Step { run, .. }
        | Write::Finish { run, .. }
        | Write::Signal { run, .. }
        | Write::Receive { run, .. }
        | Write::Reopen { run, .. }
        | Write::BeginCompensation { run, .. }
        | Write::Remove { run } => run.clone(),
    }
}

/// A primary key already taken: the record exists. Any other constraint
/// failing means damage, and goes to [`database_error`] as `Corrupt`.
fn is_constraint(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == ErrorCode::ConstraintViolation
                && matches!(
                    failure.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                )
    )
}

fn apply(
    connection: &Connection,
    path: &Path,
    workers: &Workers,
    write: &Write,
) -> Result<Answer, StoreError> {
    let fail =
        |run: &RunId, error: &rusqlite::Error| database_error(path, Some(run.clone()), error);
    let me = workers.me().as_str();
    match write {
        Write::CreateRun(record) => {
            let (status, outcome, finished_at) = state_to_sql(&record.state);
            let inserted = cached(connection,
                "INSERT INTO runs (id, workflow, definition_hash, parent, input, status, outcome, mermaid, created_at, finished_at, codec, lease_owner, lease_epoch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1)",
                params![
                    record.id.as_str(),
                    record.workflow,
                    record.definition_hash.cast_signed(),
                    record.parent.as_ref().map(RunId::as_str),
                    Cell(&record.input),
                    status,
                    outcome.as_ref().map(Cell),
                    record.mermaid,
                    time_to_sql(record.created_at),
                    finished_at,
                    record.input.codec().name(),
                    me,
                ],
            );
            match inserted {
                Ok(_) => Ok(Answer::Claimed(Some(1))),
                Err(error) if is_constraint(&error) => Err(StoreError::RunExists {
                    run: record.id.clone(),
                }),
                Err(error) => Err(fail(&record.id, &error)),
            }
        }
        Write::Claim { run } => claim(connection, workers, run, &["running", "compensating"])
            .map_err(|error| error.into_store_error(path, run))
            .map(Answer::Claimed),
        Write::Step { run, epoch, record } => {
            let outcome = step_outcome_to_sql(&record.outcome);
            let inserted = cached(
                connection,
                "INSERT INTO steps (run_id, key, seq, outcome, attempts, started_at, finished_at, codec)
                 SELECT ?1, ?2, (SELECT COUNT(*) FROM steps WHERE run_id = ?1), ?3, ?4, ?5, ?6, ?7
                 WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1 AND status IN ('running', 'compensating')
                               AND lease_owner = ?8 AND lease_epoch = ?9)",
                params![
                    run.as_str(),
                    record.key.to_string(),
                    Cell(&outcome),
                    i64::from(record.attempts),
                    time_to_sql(record.started_at),
                    time_to_sql(record.finished_at),
                    outcome.codec().name(),
                    me,
                    epoch,
                ],
            );
            match inserted {
                Ok(1) => Ok(Answer::Done),
                Ok(_) => Err(refused(connection, path, workers, run)),
                Err(error) if is_constraint(&error) => Err(StoreError::DuplicateStep {
                    run: run.clone(),
                    step: record.key.clone(),
                }),
                Err(error) => Err(fail(run, &error)),
            }
        }
        Write::Finish {
            run,
            epoch,
            outcome,
            at,
        } => {
            // Ending the run releases its lease.
            let updated = cached(
                connection,
                "UPDATE runs SET status = ?2, outcome = ?3, finished_at = ?4, lease_owner = NULL
                 WHERE id = ?1 AND status IN ('running', 'compensating')
                   AND lease_owner = ?5 AND lease_epoch = ?6",
                params![
                    run.as_str(),
                    status_to_sql(outcome.status()),
                    Cell(&run_outcome_to_sql(outcome)),
                    time_to_sql(*at),
                    me,
                    epoch,
                ],
            );
            match updated {
                Ok(1) => Ok(Answer::Done),
                Ok(_) => Err(refused(connection, path, workers, run)),
                Err(error) => Err(fail(run, &error)),
            }
        }
        Write::Signal { run, name, payload } => {
            let inserted = cached(connection,
                "INSERT INTO signals (run_id, name, payload)
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1 AND status = 'running')",
                params![run.as_str(), name, Cell(payload)],
            );
            match inserted {
                Ok(1) => Ok(Answer::Done),
                Ok(_) => Err(missing_or_finished(connection, path, run)),
                Err(error) => Err(fail(run, &error)),
            }
        }
        Write::Reopen { run, at } => {
            let reopened = connection
                .execute(
                    "UPDATE runs SET status = 'running', outcome = NULL, finished_at = NULL,
                            lease_owner = ?2, lease_epoch = lease_epoch + 1
                     WHERE id = ?1 AND status IN ('failed', 'cancelled', 'compensated')",
                    params![run.as_str(), me],
                )
                .map_err(|error| fail(run, &error))?;
            if reopened == 0 {
                return Err(match missing_or_finished(connection, path, run) {
                    StoreError::RunFinished { run } => StoreError::NotEnded { run },
                    other => other,
                });
            }
            connection
                .execute(
                    &format!("INSERT INTO retired_steps (run_id, key, outcome, attempts, started_at, finished_at, retired_at)
                     SELECT run_id, key, outcome, attempts, started_at, finished_at, ?2
                     FROM steps WHERE run_id = ?1 AND ({RETIRED})"),
                    params![run.as_str(), time_to_sql(*at)],
                )
                .and_then(|_| {
                    connection.execute(
                        &format!("DELETE FROM steps WHERE run_id = ?1 AND ({RETIRED})"),
                        [run.as_str()],
                    )
                })
                .map_err(|error| fail(run, &error))?;
            Ok(Answer::Done)
        }
        Write::BeginCompensation { run, then } => {
            let claimed = claim(
                connection,
                workers,
                run,
                &["running", "completed", "compensating"],
            )
            .map_err(|error| error.into_store_error(path, run))?;
            let Some(epoch) = claimed else {
                return Err(StoreError::RunFinished { run: run.clone() });
            };
            // A resumed rollback (already compensating) keeps the outcome it had.
            cached(
                connection,
                "UPDATE runs SET status = 'compensating', outcome = ?2, finished_at = NULL
                 WHERE id = ?1 AND status IN ('running', 'completed')",
                params![
                    run.as_str(),
                    Cell(&run_outcome_to_sql(&then.clone().into()))
                ],
            )
            .map_err(|error| fail(run, &error))?;
            Ok(Answer::Claimed(Some(epoch)))
        }
        Write::Receive { run, name, key } => {
            if owner_of(connection, run)
                .map_err(|error| fail(run, &error))?
                .as_deref()
                != Some(me)
            {
                return Err(refused(connection, path, workers, run));
            }
            receive(connection, run, name, key)
                .map(Answer::Signal)
                .map_err(|error| fail(run, &error))
        }
        Write::Remove { run } => {
            super::retention::remove(connection, path, run).map(|()| Answer::Done)
        }
    }
}

/// Why claiming a run failed.
enum ClaimError {
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
    fn into_store_error(self, path: &Path, run: &RunId) -> StoreError {
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
fn claim(
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

fn owner_of(connection: &Connection, run: &RunId) -> rusqlite::Result<Option<String>> {
    connection
        .prepare_cached("SELECT lease_owner FROM runs WHERE id = ?1")?
        .query_row([run.as_str()], |row| row.get(0))
        .optional()
        .map(Option::flatten)
}

/// Why a fenced write to `run` changed nothing: no such run, it finished, or
/// another worker holds it now.
fn refused(connection: &Connection, path: &Path, workers: &Workers, run: &RunId) -> StoreError {
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

/// The payload `key` received before, or the oldest unreceived signal `name`,
/// now marked received by `key`.
fn receive(
    connection: &Connection,
    run: &RunId,
    name: &str,
    key: &str,
) -> rusqlite::Result<Option<Value>> {
    let payload: Option<(i64, Value)> = connection
        .query_row(
            "SELECT id, payload FROM signals WHERE run_id = ?1 AND received_by = ?3
             UNION ALL
             SELECT * FROM (SELECT id, payload FROM signals
                            WHERE run_id = ?1 AND name = ?2 AND received_by IS NULL ORDER BY id LIMIT 1)
             LIMIT 1",
            params![run.as_str(), name, key],
            |row| {
                let payload = value_from_sql(row.get_ref(1)?, "a signal's payload")
                    .map_err(|problem| {
                        rusqlite::Error::FromSqlConversionFailure(
                            1,
                            rusqlite::types::Type::Blob,
                            Box::new(problem),
                        )
                    })?;
                Ok((row.get(0)?, payload))
            },
        )
        .optional()?;
    let Some((id, payload)) = payload else {
        return Ok(None);
    };
    connection.execute(
        "UPDATE signals SET received_by = ?2 WHERE id = ?1",
        params![id, key],
    )?;
    Ok(Some(payload))
}

/// Entries a retried run loses from its journal: failed steps, compensations,
/// and the steps those compensations undid (all run again). A failed step's
/// outcome is `{"Failed": …}`: JSON text from older builds, CBOR since (a map
/// of one entry, `a1`, whose key is the text `Failed`, `66 4661696c6564`).
pub(super) const RETIRED: &str =
    "outcome LIKE '{\"Failed\"%' OR substr(outcome, 1, 8) = x'a1664661696c6564'
    OR key LIKE 'undo:%'
    OR 'undo:' || key IN (SELECT key FROM steps AS undo WHERE undo.run_id = steps.run_id)";

/// Why a write to `run` changed nothing: no such run, or it finished. The
/// status is read, not just the row's presence, so a run its index finds but
/// whose record is gone (it reads as `NULL`) is reported `Corrupt`, not
/// finished.
fn missing_or_finished(connection: &Connection, path: &Path, run: &RunId) -> StoreError {
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

/// Runs `sql` through the connection's statement cache: the writer runs the
/// same few statements for every write, and preparing them anew each time was
/// a fifth of its time.
fn cached<P: rusqlite::Params>(
    connection: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    connection.prepare_cached(sql)?.execute(params)
}
