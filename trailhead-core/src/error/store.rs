use std::time::Duration;

use crate::store::{StoreLocation, WorkerId};
use crate::{CodecError, RunId, StepKey};

/// A store refused or could not perform an operation.
///
/// Stores never overwrite what they recorded: a second record for the same
/// step, or any record after the run finished, is refused with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A run with this id is already recorded.
    #[error("run `{run}` already exists")]
    RunExists {
        /// The id that is taken.
        run: RunId,
    },
    /// No run with this id is recorded.
    #[error("no run `{run}` in the store")]
    UnknownRun {
        /// The id that was looked up.
        run: RunId,
    },
    /// The step already has a journal entry; the new one was not written.
    #[error("step `{step}` of run `{run}` is already journaled")]
    DuplicateStep {
        /// The run whose journal refused the entry.
        run: RunId,
        /// The step recorded twice.
        step: StepKey,
    },
    /// The run has finished; its journal takes no more entries.
    #[error("run `{run}` has finished; its journal is closed")]
    RunFinished {
        /// The finished run.
        run: RunId,
    },
    /// The run has not ended, so it cannot be reopened to retry it.
    #[error("run `{run}` has not ended: only a failed or cancelled run can be retried")]
    NotEnded {
        /// The run still going.
        run: RunId,
    },
    /// Another live worker holds the run's lease, so this worker may not
    /// drive it (see [`crate::store::lease`]).
    #[error("run `{run}` is held by worker `{worker}`, which is alive")]
    LeaseHeld {
        /// The run that was asked for.
        run: RunId,
        /// The worker that holds it.
        worker: WorkerId,
    },
    /// The run was taken over by another worker since this one claimed it:
    /// the write was refused, and this worker must drop the run.
    #[error("worker `{worker}` lost the lease of run `{run}`: another worker took the run over")]
    LeaseLost {
        /// The run whose write was refused.
        run: RunId,
        /// The worker that lost the lease (this one).
        worker: WorkerId,
    },
    /// The run cannot be removed: it, a child run of it, or its parent has
    /// not ended.
    #[error("run `{run}` cannot be removed: run `{unended}` has not ended")]
    NotRemovable {
        /// The run asked to be removed.
        run: RunId,
        /// The run that has not ended (`run` itself, a descendant, or its parent).
        unended: RunId,
    },
    /// A value could not be encoded for the store, or would not read back as
    /// it was ([`CodecError`]): a step's output (the step fails the same way
    /// every time), or a run's input or output, or a signal's payload.
    #[error("could not encode the {what} of {}: {source}", of(run, step.as_ref()))]
    Encode {
        /// The run the value belongs to.
        run: RunId,
        /// The step whose value it is; `None` for the run's own input or
        /// output, or a signal sent to it.
        step: Option<StepKey>,
        /// Which value: `"output"`, `"input"` (of a run, or of a child run
        /// started by `call`), `"signal"` (a signal's payload).
        what: &'static str,
        /// Why the value was refused (boxed: errors stay small).
        source: Box<CodecError>,
    },
    /// The database behind the store could not do what was asked.
    #[error(
        "the store at `{store}`{}: {}",
        run.as_ref().map(|run| format!(" (run `{run}`)")).unwrap_or_default(),
        problem.describe(store)
    )]
    Database {
        /// The database: a file, or a PostgreSQL schema (boxed: errors stay
        /// small).
        store: Box<StoreLocation>,
        /// The run the operation was for, if it was for one.
        run: Option<RunId>,
        /// What went wrong.
        problem: DatabaseProblem,
    },
    /// The store does not keep this kind of record (a store of another
    /// crate that implements only runs).
    #[error("this store does not keep {what}")]
    Unsupported {
        /// What it does not keep: `"schedules"`.
        what: &'static str,
    },
    /// A recorded value does not read back as the type asked for: a step's
    /// journaled output, a received signal's payload, or a run's recorded
    /// input or output ([`CodecError`]).
    #[error(
        "could not decode the {} {what} of {}: {source}",
        step.as_ref().map_or("recorded", |_| "journaled"),
        of(run, step.as_ref())
    )]
    Decode {
        /// The run the value belongs to.
        run: RunId,
        /// The step whose journal entry it is; `None` for the run's own
        /// input or output.
        step: Option<StepKey>,
        /// Which value: `"output"`, `"input"`, `"signal"` (a received
        /// signal's payload).
        what: &'static str,
        /// Why the value did not read back (boxed: errors stay small).
        source: Box<CodecError>,
    },
}

/// `` step `s` of run `r` ``, or `` run `r` `` without a step.
fn of(run: &RunId, step: Option<&StepKey>) -> String {
    match step {
        Some(step) => format!("step `{step}` of run `{run}`"),
        None => format!("run `{run}`"),
    }
}

/// Why a store's database failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseProblem {
    /// Another process holds the database's write lock (or a lock the
    /// operation needs) for too long.
    #[error("the database is locked by another process")]
    Locked,
    /// The database is damaged or is not the kind the store reads: for
    /// SQLite, a file that is not a SQLite database, truncated, a page or
    /// record that does not decode; for either store, a table missing or of
    /// the wrong shape, a value that does not read as what trailhead wrote.
    #[error("the database is damaged: a table, column or record is not what trailhead wrote")]
    Corrupt,
    /// The database holds another application's data, not trailhead's
    /// schema: a SQLite file with other tables, a PostgreSQL schema with
    /// other tables. It was left as it was: trailhead only opens an empty
    /// database (or schema) or a store it made.
    #[error(
        "the database holds another application's data, not a trailhead store; it was left unchanged"
    )]
    NotATrailheadStore,
    /// The database server could not be reached, or the connection to it
    /// broke: refused, reset, timed out, or the server shut down. The write
    /// in flight may or may not have been committed.
    #[error("the connection to the database server failed: {0}")]
    ConnectionLost(String),
    /// Every connection of the store's pool stayed busy for as long as an
    /// operation may wait for one: more runs write at once than the pool
    /// has connections for, or connections are held too long.
    #[error("no database connection came free within {waited:?}: the pool is exhausted")]
    PoolExhausted {
        /// How long the operation waited for a connection.
        waited: Duration,
    },
    /// The schema name a PostgreSQL store was given is not one it accepts.
    #[error("`{name}` is not a schema name trailhead accepts: {reason}")]
    InvalidSchemaName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The database was written by a newer trailhead.
    #[error("the database has schema version {found}; this trailhead reads up to {supported}")]
    NewerSchema {
        /// The schema version in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The database was written by an older trailhead and needs migrating,
    /// which a store opened read-only never does: open it once for writing
    /// (an engine on it, with this build) to bring it up to date.
    #[error(
        "the database has schema version {found}, older than this trailhead's {supported}; \
         opened read-only, it is not migrated"
    )]
    OlderSchema {
        /// The schema version in the file.
        found: i64,
        /// The version this build reads.
        supported: i64,
    },
    /// The store was opened read-only, so it takes no writes.
    #[error("the store was opened read-only")]
    ReadOnly,
    /// The disk is full.
    #[error("the disk is full")]
    Full,
    /// The file or its folder is read-only, or cannot be opened.
    #[error("the database cannot be opened or written: {0}")]
    CannotOpen(String),
    /// A record in the database does not have the expected shape.
    #[error("a record is malformed: {0}")]
    Malformed(String),
    /// Anything else the database reported.
    #[error("{0}")]
    Other(String),
}

impl DatabaseProblem {
    /// The problem in the words of the store it happened to: a SQLite file
    /// is "the file", a PostgreSQL store "the schema".
    fn describe(&self, store: &StoreLocation) -> String {
        match (self, store) {
            (Self::Corrupt, StoreLocation::File(_)) => {
                "the file is damaged or is not a SQLite database".to_owned()
            }
            (Self::NotATrailheadStore, StoreLocation::File(_)) => {
                "the file is a SQLite database but not a trailhead store; it was left unchanged"
                    .to_owned()
            }
            (Self::Corrupt, StoreLocation::Postgres { .. }) => {
                "the schema is damaged: a table, column or record is not what trailhead wrote"
                    .to_owned()
            }
            (Self::NotATrailheadStore, StoreLocation::Postgres { .. }) => {
                "the schema holds tables that are not a trailhead store's; it was left unchanged"
                    .to_owned()
            }
            _ => self.to_string(),
        }
    }
}

impl StoreError {
    /// [`StoreError::Encode`]: the `what` of `step` (or of the run itself)
    /// of run `run` could not be encoded.
    pub(crate) fn encode(
        run: RunId,
        step: Option<StepKey>,
        what: &'static str,
        source: CodecError,
    ) -> Self {
        Self::Encode {
            run,
            step,
            what,
            source: Box::new(source),
        }
    }

    /// [`StoreError::Decode`]: the recorded `what` of `step` (or of the run
    /// itself) of run `run` could not be decoded.
    pub(crate) fn decode(
        run: RunId,
        step: Option<StepKey>,
        what: &'static str,
        source: CodecError,
    ) -> Self {
        Self::Decode {
            run,
            step,
            what,
            source: Box::new(source),
        }
    }

    /// Whether the store is at fault rather than the run: its database is
    /// full, locked, unreachable or damaged. A journal write that fails so
    /// says nothing about the business: the engine retries it and, if the
    /// store stays unwell, suspends the run (left resumable) instead of
    /// failing it or rolling it back.
    pub fn is_store_fault(&self) -> bool {
        matches!(self, Self::Database { .. })
    }

    /// Whether the same write may succeed if tried again later: the store is
    /// locked, full, could not be reached, or had no connection free, but
    /// not damaged.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Database {
                problem: DatabaseProblem::Locked
                    | DatabaseProblem::Full
                    | DatabaseProblem::ConnectionLost(_)
                    | DatabaseProblem::PoolExhausted { .. }
                    | DatabaseProblem::CannotOpen(_)
                    | DatabaseProblem::Other(_),
                ..
            }
        )
    }

    /// The run this error is about, if it is about one.
    pub fn run(&self) -> Option<&RunId> {
        match self {
            Self::RunExists { run }
            | Self::UnknownRun { run }
            | Self::DuplicateStep { run, .. }
            | Self::RunFinished { run }
            | Self::NotEnded { run }
            | Self::LeaseHeld { run, .. }
            | Self::LeaseLost { run, .. }
            | Self::NotRemovable { run, .. }
            | Self::Encode { run, .. }
            | Self::Decode { run, .. } => Some(run),
            Self::Database { run, .. } => run.as_ref(),
            Self::Unsupported { .. } => None,
        }
    }
}
