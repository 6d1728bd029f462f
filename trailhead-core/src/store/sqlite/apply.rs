//! What each [`Write`] does to the tables, inside the writer's transaction:
//! the SQL of the journal, the run records, signals and claims.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

use super::error::database_error;
use super::lease::{claim, claim_due, missing_or_finished, owner_of, refused};
use super::rows::{
    Cell, retries_to_sql, run_outcome_to_sql, state_to_sql, status_to_sql, step_outcome_to_sql,
    time_to_sql, value_from_sql,
};
use super::workers::Workers;
use super::writer::{Answer, Write};
use crate::store::{Enqueue, Enqueued, StepRecord, Value};
use crate::{RunId, StoreError};

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

pub(super) fn apply(
    connection: &Connection,
    path: &Path,
    workers: &Workers,
    write: &Write,
) -> Result<Answer, StoreError> {
    let fail =
        |run: &RunId, error: &rusqlite::Error| database_error(path, Some(run.clone()), error);
    let me = workers.me().as_str();
    match write {
        Write::Schedule { name, change } => {
            match super::schedules::apply(connection, name, change) {
                Ok(Ok(record)) => Ok(Answer::Schedule(record)),
                Ok(Err(problem)) => Err(StoreError::Database {
                    store: Box::new(crate::store::StoreLocation::File(path.to_path_buf())),
                    run: None,
                    problem,
                }),
                Err(error) => Err(database_error(path, None, &error)),
            }
        }
        Write::CreateRun(record) => {
            insert_run(connection, path, record, Some(me), None).map(|()| Answer::Claimed(Some(1)))
        }
        Write::Enqueue {
            record,
            options,
            at,
        } => {
            if let Some(existing) =
                deduplicated(connection, options).map_err(|error| fail(&record.id, &error))?
            {
                return Ok(Answer::Enqueued(Enqueued::Existing(existing)));
            }
            insert_run(connection, path, record, None, Some((*at, options)))
                .map(|()| Answer::Enqueued(Enqueued::New))
        }
        Write::Fleet => super::lease::fleet(connection, workers)
            .map(Answer::Fleet)
            .map_err(|error| database_error(path, None, &error)),
        Write::ClaimDue { offer, now } => claim_due(connection, workers, offer, *now)
            .map(|(runs, next)| Answer::ClaimedDue(runs, next))
            .map_err(|error| database_error(path, None, &error)),
        Write::Release {
            run,
            epoch,
            wake_at,
        } => {
            let updated = cached(
                connection,
                "UPDATE runs SET lease_owner = NULL, run_at = ?2
                 WHERE id = ?1 AND status IN ('running', 'compensating')
                   AND lease_owner = ?3 AND lease_epoch = ?4",
                params![run.as_str(), time_to_sql(*wake_at), me, epoch],
            );
            match updated {
                Ok(1) => Ok(Answer::Done),
                Ok(_) => Err(refused(connection, path, workers, run)),
                Err(error) => Err(fail(run, &error)),
            }
        }
        Write::Claim { run } => claim(connection, workers, run, &["running", "compensating"])
            .map_err(|error| error.into_store_error(path, run))
            .map(Answer::Claimed),
        Write::Step { run, epoch, record } => {
            match insert_entry(connection, me, run, *epoch, record, INSERT_STEP) {
                Ok(1) => Ok(Answer::Done),
                Ok(_) => Err(refused(connection, path, workers, run)),
                Err(error) if is_constraint(&error) => Err(StoreError::DuplicateStep {
                    run: run.clone(),
                    step: record.key.clone(),
                }),
                Err(error) => Err(fail(run, &error)),
            }
        }
        Write::ContinueAsNew {
            run,
            epoch,
            input,
            marker,
        } => {
            // The lease first: a run taken over keeps its journal.
            let updated = cached(
                connection,
                "UPDATE runs SET input = ?2, codec = ?3
                 WHERE id = ?1 AND status = 'running' AND lease_owner = ?4 AND lease_epoch = ?5",
                params![run.as_str(), Cell(input), input.codec().name(), me, epoch],
            );
            match updated {
                Ok(1) => {}
                Ok(_) => return Err(refused(connection, path, workers, run)),
                Err(error) => return Err(fail(run, &error)),
            }
            let cleared = connection
                .execute("DELETE FROM steps WHERE run_id = ?1", [run.as_str()])
                .and_then(|_| {
                    connection.execute(
                        "DELETE FROM retired_steps WHERE run_id = ?1",
                        [run.as_str()],
                    )
                })
                .and_then(|_| {
                    connection.execute(
                        "DELETE FROM signals WHERE run_id = ?1 AND received_by IS NOT NULL",
                        [run.as_str()],
                    )
                })
                .and_then(|_| insert_entry(connection, me, run, *epoch, marker, INSERT_STEP));
            match cleared {
                Ok(1) => Ok(Answer::Done),
                Ok(_) => Err(refused(connection, path, workers, run)),
                Err(error) => Err(fail(run, &error)),
            }
        }
        Write::Checkpoint { run, epoch, record } => {
            match insert_entry(connection, me, run, *epoch, record, REPLACE_CHECKPOINT) {
                Ok(1) => Ok(Answer::Done),
                Ok(_) => Err(refused(connection, path, workers, run)),
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
        Write::RequestCancel { run, at } => {
            let at = time_to_sql(*at);
            let asked = cached(
                connection,
                "UPDATE runs SET cancel_requested_at = COALESCE(cancel_requested_at, ?2),
                     run_at = CASE WHEN lease_owner IS NULL THEN MIN(COALESCE(run_at, ?2), ?2)
                                   ELSE run_at END
                 WHERE id = ?1 AND status IN ('running', 'compensating')",
                params![run.as_str(), at],
            );
            match asked {
                Ok(1) => Ok(Answer::Done),
                Ok(_) => Err(missing_or_finished(connection, path, run)),
                Err(error) => Err(fail(run, &error)),
            }
        }
        Write::Reopen { run, at } => {
            let reopened = connection
                .execute(
                    "UPDATE runs SET status = 'running', outcome = NULL, finished_at = NULL,
                            lease_owner = ?2, lease_epoch = lease_epoch + 1,
                            cancel_requested_at = NULL
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
                    &format!("INSERT INTO retired_steps (run_id, key, outcome, attempts, started_at, finished_at, retries, retired_at)
                     SELECT run_id, key, outcome, attempts, started_at, finished_at, retries, ?2
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
            // A resumed rollback (already compensating) keeps the outcome it
            // had; only a child run is undone after it completed.
            let begun = cached(
                connection,
                "UPDATE runs SET status = 'compensating', outcome = ?2, finished_at = NULL
                 WHERE id = ?1 AND (status = 'running' OR (status = 'completed' AND parent IS NOT NULL))",
                params![
                    run.as_str(),
                    Cell(&run_outcome_to_sql(&then.clone().into()))
                ],
            )
            .map_err(|error| fail(run, &error))?;
            if begun == 0
                && status_is(connection, run, "completed").map_err(|error| fail(run, &error))?
            {
                // The savepoint is rolled back: the claim too.
                return Err(StoreError::RunFinished { run: run.clone() });
            }
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

/// Whether run `run`'s status is `status`.
fn status_is(connection: &Connection, run: &RunId, status: &str) -> rusqlite::Result<bool> {
    connection
        .prepare_cached("SELECT status = ?2 FROM runs WHERE id = ?1")?
        .query_row(params![run.as_str(), status], |row| row.get(0))
        .optional()
        .map(|is| is.unwrap_or(false))
}

/// The run already enqueued with `options`' queue and deduplication key.
fn deduplicated(connection: &Connection, options: &Enqueue) -> rusqlite::Result<Option<RunId>> {
    let Some(key) = options.dedup_key() else {
        return Ok(None);
    };
    connection
        .prepare_cached(
            "SELECT id FROM runs WHERE COALESCE(queue, '') = COALESCE(?1, '') AND dedup_key = ?2",
        )?
        .query_row(params![options.queue(), key], |row| {
            row.get::<_, String>(0).map(RunId::new)
        })
        .optional()
}

/// Records a new run: started now and owned by `owner` (epoch 1), or
/// enqueued with no owner, claimable from the time given.
fn insert_run(
    connection: &Connection,
    path: &Path,
    record: &crate::store::RunRecord,
    owner: Option<&str>,
    enqueued: Option<(std::time::SystemTime, &Enqueue)>,
) -> Result<(), StoreError> {
    let (status, outcome, finished_at) = state_to_sql(&record.state);
    let (run_at, options) = match enqueued {
        Some((at, options)) => (Some(time_to_sql(at)), Some(options)),
        None => (None, None),
    };
    let started_at = owner.is_some().then(|| time_to_sql(record.created_at));
    let inserted = cached(connection,
        "INSERT INTO runs (id, workflow, definition_hash, parent, input, status, outcome, mermaid, created_at, finished_at, codec, lease_owner, lease_epoch, run_at, queue, priority, dedup_key, started_at, claimed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18)",
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
            owner,
            i64::from(owner.is_some()),
            run_at,
            options.and_then(Enqueue::queue),
            options.map_or(0, Enqueue::priority),
            options.and_then(Enqueue::dedup_key),
            started_at,
        ],
    );
    match inserted {
        Ok(_) => Ok(()),
        Err(error) if is_constraint(&error) => Err(StoreError::RunExists {
            run: record.id.clone(),
        }),
        Err(error) => Err(database_error(path, Some(record.id.clone()), &error)),
    }
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

/// Appends a journal entry, fenced by the run's lease: its values are
/// `?1`–`?10` of [`INSERT_STEP`]. Gives the rows written (0: refused).
macro_rules! insert_entry_sql {
    () => {
        "INSERT INTO steps (run_id, key, seq, outcome, attempts, started_at, finished_at, codec, retries)
         SELECT ?1, ?2, (SELECT COALESCE(MAX(seq), -1) + 1 FROM steps WHERE run_id = ?1), ?3, ?4, ?5, ?6, ?7, ?10
         WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1 AND status IN ('running', 'compensating')
                       AND lease_owner = ?8 AND lease_epoch = ?9)"
    };
}

/// A step's entry; a key journaled already is a constraint error.
const INSERT_STEP: &str = insert_entry_sql!();

/// A stream loop's checkpoint, replacing the one before under its key (its
/// `seq`, its place in the journal's order, stays).
const REPLACE_CHECKPOINT: &str = concat!(
    insert_entry_sql!(),
    " ON CONFLICT (run_id, key) DO UPDATE SET outcome = excluded.outcome,
       attempts = excluded.attempts, finished_at = excluded.finished_at,
       codec = excluded.codec, retries = excluded.retries"
);

/// Runs `sql` ([`INSERT_STEP`] or [`REPLACE_CHECKPOINT`]) for `record` of
/// `run`, fenced by this worker's lease `epoch`.
fn insert_entry(
    connection: &Connection,
    me: &str,
    run: &RunId,
    epoch: i64,
    record: &StepRecord,
    sql: &str,
) -> rusqlite::Result<usize> {
    let outcome = step_outcome_to_sql(&record.outcome);
    cached(
        connection,
        sql,
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
            retries_to_sql(&record.retries),
        ],
    )
}
