//! [`SqliteStore`]: runs and journals in an embedded SQLite database file.
//!
//! No server to run: the store is one file (plus SQLite's `-wal` and `-shm`
//! beside it) that survives the process. Every step's output is committed
//! before the step returns, so a run that was killed at any moment resumes
//! from its last journaled step.
//!
//! - **Durability.** WAL mode with `synchronous = FULL` by default: a commit is
//!   on disk when the step returns, even through a power loss.
//!   [`Synchronous::Normal`] survives a crash of the process but may lose the
//!   last commits on power loss or an OS crash, for fewer fsyncs.
//! - **Throughput.** One writer thread commits what every run asks for in
//!   batches (group commit), so concurrent runs share fsyncs; reads use their
//!   own connection and never wait for the writer.
//! - **Bad files.** A file that is locked too long, corrupt, from a newer
//!   trailhead, on a full disk or unwritable gives a
//!   [`StoreError::Database`] saying which.
//!
//! # Examples
//!
//! ```
//! use trailhead_core::{Engine, SqliteStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("runs.db"))?;
//! let engine = Engine::builder().store(store).build();
//! # drop(engine);
//! # Ok(())
//! # }
//! ```

mod error;
mod rows;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rusqlite::{Connection, OpenFlags};

use self::error::database_error;
use self::rows::{RUN_COLUMNS, run_from_row, status_to_sql, step_from_row};
use self::writer::{Write, Writer};
use super::{
    DatabaseProblem, Journal, RunOutcome, RunRecord, RunStatus, StepRecord, Store, StoreFuture,
    Value,
};
use crate::{RunId, StepKey, StoreError};

/// When a commit counts as done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Synchronous {
    /// On disk, through a power loss (`synchronous = FULL`): the default.
    #[default]
    Full,
    /// Safe from a crash of the process, not of the machine
    /// (`synchronous = NORMAL`): fewer fsyncs.
    Normal,
}

/// Runs and journals in an embedded SQLite file: one writer thread with
/// group commit, WAL, `synchronous = FULL` by default ([`Synchronous`]), a
/// versioned schema, and typed errors for locked, corrupt, newer or
/// unwritable files.
///
/// Cheap to clone: clones share the writer thread and the read connection.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    writer: Arc<Writer>,
    reader: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, migrating it to the current
    /// schema, with [`Synchronous::Full`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] when the file cannot be opened or created, is
    /// locked, corrupt, or from a newer trailhead.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Synchronous::Full)
    }

    /// Opens the database at `path` with the given durability.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, synchronous: Synchronous) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let fail = |error: &rusqlite::Error| database_error(&path, None, error);
        let mut writer = Connection::open(&path).map_err(|e| fail(&e))?;
        configure(&writer, synchronous).map_err(|e| fail(&e))?;
        match schema::migrate(&mut writer).map_err(|e| fail(&e))? {
            schema::Migrated::Current => {}
            schema::Migrated::Newer { found } => {
                return Err(StoreError::Database {
                    path,
                    run: None,
                    problem: DatabaseProblem::NewerSchema {
                        found,
                        supported: schema::VERSION,
                    },
                });
            }
        }
        let reader = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| fail(&e))?;
        reader
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        let writer = Writer::start(writer, path.clone()).map_err(|error| StoreError::Database {
            path: path.clone(),
            run: None,
            problem: DatabaseProblem::Other(format!("cannot start the writer thread: {error}")),
        })?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Arc::new(writer),
                reader: Mutex::new(reader),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How many transactions the writer has committed: with group commit,
    /// fewer than the writes asked for when runs write at the same time.
    pub fn commits(&self) -> u64 {
        self.inner.writer.commits()
    }

    /// Runs `read` on the read connection, off the async workers.
    async fn read<T: Send + 'static>(
        &self,
        run: Option<RunId>,
        read: impl FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        let run_for_error = run.clone();
        tokio::task::spawn_blocking(move || {
            let connection = inner
                .reader
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            read(&connection).map_err(|error| database_error(&inner.path, run, &error))
        })
        .await
        .unwrap_or_else(|join| {
            Err(StoreError::Database {
                path: self.inner.path.clone(),
                run: run_for_error,
                problem: DatabaseProblem::Other(format!("a read failed: {join}")),
            })
        })
    }

    fn malformed(&self, run: Option<RunId>, problem: DatabaseProblem) -> StoreError {
        StoreError::Database {
            path: self.inner.path.clone(),
            run,
            problem,
        }
    }

    async fn fetch_run(&self, id: &RunId) -> Result<Option<RunRecord>, StoreError> {
        let key = id.as_str().to_owned();
        let row = self
            .read(Some(id.clone()), move |connection| {
                let mut statement = connection
                    .prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"))?;
                let mut rows = statement.query_map([key], run_from_row)?;
                rows.next().transpose()
            })
            .await?;
        row.map(|record| record.map_err(|problem| self.malformed(Some(id.clone()), problem)))
            .transpose()
    }

    async fn fetch_journal(&self, id: &RunId) -> Result<Vec<StepRecord>, StoreError> {
        let key = id.as_str().to_owned();
        let rows = self
            .read(Some(id.clone()), move |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT key, outcome, attempts, started_at, finished_at FROM steps WHERE run_id = ?1 ORDER BY seq",
                )?;
                statement.query_map([key], step_from_row)?.collect::<Result<Vec<_>, _>>()
            })
            .await?;
        rows.into_iter()
            .map(|record| record.map_err(|problem| self.malformed(Some(id.clone()), problem)))
            .collect()
    }

    fn journal_handle(&self, run: RunId) -> Arc<dyn Journal> {
        Arc::new(SqliteJournal {
            run,
            writer: Arc::clone(&self.inner.writer),
        })
    }
}

/// WAL, the chosen durability, and patience with other processes' locks.
fn configure(connection: &Connection, synchronous: Synchronous) -> rusqlite::Result<()> {
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    let level = match synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    connection.pragma_update(None, "synchronous", level)?;
    Ok(())
}

impl Store for SqliteStore {
    fn create_run(&self, run: RunRecord) -> StoreFuture<'_, Arc<dyn Journal>> {
        Box::pin(async move {
            let id = run.id.clone();
            self.inner.writer.write(Write::CreateRun(run)).await?;
            Ok(self.journal_handle(id))
        })
    }

    fn open_run(
        &self,
        run: &RunId,
    ) -> StoreFuture<'_, Option<(RunRecord, Vec<StepRecord>, Arc<dyn Journal>)>> {
        let run = run.clone();
        Box::pin(async move {
            let Some(record) = self.fetch_run(&run).await? else {
                return Ok(None);
            };
            let journal = self.fetch_journal(&run).await?;
            Ok(Some((record, journal, self.journal_handle(run))))
        })
    }

    fn run(&self, run: &RunId) -> StoreFuture<'_, Option<RunRecord>> {
        let run = run.clone();
        Box::pin(async move { self.fetch_run(&run).await })
    }

    fn journal(&self, run: &RunId) -> StoreFuture<'_, Vec<StepRecord>> {
        let run = run.clone();
        Box::pin(async move { self.fetch_journal(&run).await })
    }

    fn send_signal(&self, run: &RunId, name: &str, payload: Value) -> StoreFuture<'_, ()> {
        let write = Write::Signal {
            run: run.clone(),
            name: name.to_owned(),
            payload,
        };
        Box::pin(async move { self.inner.writer.write(write).await.map(drop) })
    }

    fn receive_signal(
        &self,
        run: &RunId,
        name: &str,
        key: &StepKey,
    ) -> StoreFuture<'_, Option<Value>> {
        let write = Write::Receive {
            run: run.clone(),
            name: name.to_owned(),
            key: key.to_string(),
        };
        Box::pin(self.inner.writer.write(write))
    }

    fn reopen_run(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let write = Write::Reopen {
            run: run.clone(),
            at: SystemTime::now(),
        };
        Box::pin(async move { self.inner.writer.write(write).await.map(drop) })
    }

    fn begin_compensation(
        &self,
        run: &RunId,
        then: RunOutcome,
    ) -> StoreFuture<'_, Arc<dyn Journal>> {
        let run = run.clone();
        Box::pin(async move {
            let write = Write::BeginCompensation {
                run: run.clone(),
                then,
            };
            self.inner.writer.write(write).await?;
            Ok(self.journal_handle(run))
        })
    }

    fn list_runs(&self, status: Option<RunStatus>) -> StoreFuture<'_, Vec<RunRecord>> {
        Box::pin(async move {
            let status = status.map(status_to_sql);
            let rows = self
                .read(None, move |connection| {
                    let sql = match status {
                        Some(_) => format!("SELECT {RUN_COLUMNS} FROM runs WHERE status = ?1 ORDER BY created_at, id"),
                        None => format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at, id"),
                    };
                    let mut statement = connection.prepare_cached(&sql)?;
                    match status {
                        Some(status) => statement.query_map([status], run_from_row)?.collect::<Result<Vec<_>, _>>(),
                        None => statement.query_map([], run_from_row)?.collect::<Result<Vec<_>, _>>(),
                    }
                })
                .await?;
            rows.into_iter()
                .map(|record| record.map_err(|problem| self.malformed(None, problem)))
                .collect()
        })
    }
}

/// One run's journal in a [`SqliteStore`]: writes go through the writer thread.
#[derive(Debug)]
struct SqliteJournal {
    run: RunId,
    writer: Arc<Writer>,
}

impl Journal for SqliteJournal {
    fn record_step(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        let write = Write::Step {
            run: self.run.clone(),
            record,
        };
        Box::pin(async move { self.writer.write(write).await.map(drop) })
    }

    fn finish(&self, outcome: RunOutcome) -> StoreFuture<'_, ()> {
        let write = Write::Finish {
            run: self.run.clone(),
            outcome,
            at: SystemTime::now(),
        };
        Box::pin(async move { self.writer.write(write).await.map(drop) })
    }
}

#[cfg(test)]
mod tests;
