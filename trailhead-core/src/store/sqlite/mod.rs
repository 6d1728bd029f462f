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
//! - **Only its own files.** A SQLite database of another application is
//!   refused and left byte for byte as it was; a damaged store is reported
//!   [`DatabaseProblem::Corrupt`], checked cheaply on open and on every read
//!   and write after. [`SqliteStore::open`] says what is checked and what it
//!   costs.
//! - **Private files.** A new store and its `-wal` and `-shm` are created
//!   readable and writable by their owner only (mode `0600` on Unix): step
//!   outputs hold customer data. An existing file keeps its mode.
//! - **Bad files.** A file that is locked too long, damaged, not a store,
//!   from a newer trailhead, on a full disk or unwritable gives a
//!   [`StoreError::Database`] saying which, and naming the file.
//! - **Retention.** Finished runs are deleted (record, journal, signals,
//!   retired entries, child runs) once the engine's [`Retention`] no longer
//!   keeps them: by default ([`Retention::durable`]) completed runs 7 days
//!   after they finished, failed and cancelled ones after 30 days. SQLite
//!   reuses the freed pages; the file does not shrink without a `VACUUM`.
//!
//! # Linking beside other SQLite crates
//!
//! The store talks to SQLite through rusqlite, and only one crate in a build
//! may link the native `sqlite3` library (`libsqlite3-sys`). trailhead accepts
//! any rusqlite from 0.32 to 0.43, so cargo picks the one whose
//! `libsqlite3-sys` the application's other SQLite crates also accept: with
//! sqlx 0.8 (`libsqlite3-sys` 0.30) that is rusqlite 0.32, with sqlx 0.9 (below
//! 0.38) rusqlite 0.39, alone rusqlite 0.43. The workspace's
//! `tests/sqlx-sqlite` links trailhead with sqlx 0.8's SQLite driver and uses
//! both on one file.
//!
//! The `bundled` feature (on by default) compiles the SQLite that comes with
//! `libsqlite3-sys` into the binary, for every crate of the build that uses
//! it: the application then runs that SQLite whatever the machine has (3.46
//! with `libsqlite3-sys` 0.30). Without it, on trailhead and on every other
//! crate that turns it on, the system's SQLite (3.16 or newer) is linked.
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

mod apply;
mod error;
mod file;
mod integrity;
mod lease;
mod retention;
mod rows;
mod schedules;
mod schema;
mod store;
mod workers;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use self::error::database_error;
use self::rows::{RUN_COLUMNS, run_from_row, step_from_row};
use self::store::SqliteRunWriter;
use self::writer::{Answer, Write, Writer};
use super::{DatabaseProblem, RunRecord, RunWriter, StepRecord, StoreLocation, WorkerId};
use crate::{RunId, StoreError};

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
    /// `None` for a store opened read-only: every write is refused.
    writer: Option<Arc<Writer>>,
    reader: Mutex<Connection>,
    /// The writer's worker; for a read-only store, an id no one registered.
    worker: WorkerId,
}

impl SqliteStore {
    /// Opens (or creates) the store at `path`, migrating it to the current
    /// schema, with [`Synchronous::Full`].
    ///
    /// Opening goes in this order, and nothing opens the file for writing
    /// before the second step has accepted it:
    ///
    /// 1. **Nothing at `path`:** the file is created with mode `0600` (Unix)
    ///    before SQLite opens it. SQLite gives the `-wal`, `-shm` and
    ///    `-journal` files it makes the database file's mode, so they are
    ///    private too, whatever the umask. An existing file's mode is left
    ///    alone.
    /// 2. **A read-only look:** the header must be SQLite's and the file at
    ///    least as long as the header says (unless a `-wal` holds the rest).
    ///    Then the database must be empty or hold trailhead's
    ///    `trailhead_schema` marker table. Any other database (one with a
    ///    `runs` table of its own too) is refused with
    ///    [`DatabaseProblem::NotATrailheadStore`] and left byte for byte as it
    ///    was. A WAL-mode file without a `-wal` is read `immutable`, so no
    ///    `-wal` or `-shm` is left beside it (Unix). One exception: a hot
    ///    `-journal` (its writer stopped mid-transaction, as when a process is
    ///    killed while it creates a store) is first rolled back, as any
    ///    SQLite reader does, which restores what the file's writer last
    ///    committed.
    /// 3. **Migrations** to this build's schema, in one transaction that
    ///    checks the marker again.
    /// 4. **Integrity:** the tables, columns and indexes must be exactly what
    ///    this version's migrations make, and `PRAGMA quick_check` runs,
    ///    stopped after about 2.5 million SQLite steps. On a 2-core machine
    ///    (release build, page cache warm) that checks a store of 100,000
    ///    journaled steps (21 MB) whole in 60 to 75 ms; a bigger store gets
    ///    about 90 ms of checking (one of 300,000 steps, 64 MB, takes 140 ms
    ///    whole); damage in the rest shows when a read or write reaches it.
    ///    A cold cache adds the time to read what is checked. The bound needs
    ///    a SQLite that asks the progress handler while it checks pages, as
    ///    the bundled one does; an older system SQLite may check a big store
    ///    whole.
    ///
    /// Only then is the file switched to WAL mode. Damage the open does not
    /// reach is reported as [`DatabaseProblem::Corrupt`] by the read or write
    /// that meets it: a record that does not decode, a run whose row is gone,
    /// a constraint trailhead's writes cannot break.
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] naming the file, with
    /// - [`DatabaseProblem::NotATrailheadStore`]: another application's
    ///   database, left unchanged;
    /// - [`DatabaseProblem::Corrupt`]: not a SQLite file, truncated, a table
    ///   or column missing or changed, a page or record that does not check;
    /// - [`DatabaseProblem::NewerSchema`]: a store from a newer trailhead;
    /// - [`DatabaseProblem::Locked`]: another process held the write lock for
    ///   more than 5 seconds;
    /// - [`DatabaseProblem::CannotOpen`]: the folder does not exist, or the
    ///   file or folder cannot be read or written.
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
        let refuse = |problem| StoreError::Database {
            store: Box::new(StoreLocation::File(path.clone())),
            run: None,
            problem,
        };
        let fail = |error: &rusqlite::Error| database_error(&path, None, error);
        // Nothing opens the file for writing before it is known to be new,
        // empty or ours: a refused file is left exactly as it was.
        file::look(&path).map_err(refuse)?;
        let mut writer = Connection::open(&path).map_err(|e| fail(&e))?;
        writer
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        schema::migrate(&mut writer).map_err(refuse)?;
        integrity::check(&mut writer).map_err(refuse)?;
        configure(&writer, synchronous).map_err(|e| fail(&e))?;
        let reader = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| fail(&e))?;
        reader
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        let workers = workers::Workers::register(&path).map_err(|error| StoreError::Database {
            store: Box::new(StoreLocation::File(path.clone())),
            run: None,
            problem: DatabaseProblem::CannotOpen(format!("cannot register a worker: {error}")),
        })?;
        let writer =
            Writer::start(writer, path.clone(), workers).map_err(|error| StoreError::Database {
                store: Box::new(StoreLocation::File(path.clone())),
                run: None,
                problem: DatabaseProblem::Other(format!("cannot start the writer thread: {error}")),
            })?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                worker: writer.worker().clone(),
                writer: Some(Arc::new(writer)),
                reader: Mutex::new(reader),
            }),
        })
    }

    /// Opens the existing store at `path` for reading only: for tools that
    /// look at runs (the `trailhead` CLI) without taking part in them.
    ///
    /// Nothing is created, migrated or claimed, no worker is registered, and
    /// the file is opened with SQLite's read-only flag; every write through
    /// the [`Store`](crate::store::Store) methods fails with
    /// [`DatabaseProblem::ReadOnly`]. The checks of [`open`](Self::open)
    /// (header, marker, schema shape, bounded quick check) run as they do
    /// there. Reads see what writers commit while the store is open (WAL).
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] naming the file, with
    /// - [`DatabaseProblem::CannotOpen`]: nothing at `path` (no file is
    ///   created), or the file cannot be read;
    /// - [`DatabaseProblem::NotATrailheadStore`]: an empty file, or another
    ///   application's database;
    /// - [`DatabaseProblem::Corrupt`]: not a SQLite file, or damaged;
    /// - [`DatabaseProblem::NewerSchema`]: a store from a newer trailhead;
    /// - [`DatabaseProblem::OlderSchema`]: a store an older trailhead wrote
    ///   that this build would migrate on a writable open;
    /// - [`DatabaseProblem::Locked`]: another process kept every reader out
    ///   (an exclusive lock) for more than 5 seconds.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let refuse = |problem| StoreError::Database {
            store: Box::new(StoreLocation::File(path.clone())),
            run: None,
            problem,
        };
        let fail = |error: &rusqlite::Error| database_error(&path, None, error);
        file::look_read_only(&path).map_err(refuse)?;
        let mut reader = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| fail(&e))?;
        reader
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        integrity::check(&mut reader).map_err(refuse)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: None,
                reader: Mutex::new(reader),
                worker: WorkerId::generate(),
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
        self.inner
            .writer
            .as_ref()
            .map_or(0, |writer| writer.commits())
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
                store: Box::new(StoreLocation::File(self.inner.path.clone())),
                run: run_for_error,
                problem: DatabaseProblem::Other(format!("a read failed: {join}")),
            })
        })
    }

    fn malformed(&self, run: Option<RunId>, problem: DatabaseProblem) -> StoreError {
        StoreError::Database {
            store: Box::new(StoreLocation::File(self.inner.path.clone())),
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
        self.read_all(
            Some(id.clone()),
            "SELECT key, outcome, attempts, started_at, finished_at, retries FROM steps WHERE run_id = ?1 ORDER BY seq"
                .to_owned(),
            vec![id.as_str().to_owned()],
            step_from_row,
        )
        .await
    }

    /// Every row `sql` gives for `params`, each read by `from_row`; a row
    /// that does not read as a record is malformed (for `run`, if given).
    async fn read_all<T: Send + 'static>(
        &self,
        run: Option<RunId>,
        sql: String,
        params: Vec<String>,
        from_row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<Result<T, DatabaseProblem>>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = self
            .read(run.clone(), move |connection| {
                connection
                    .prepare_cached(&sql)?
                    .query_map(rusqlite::params_from_iter(params), from_row)?
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        rows.into_iter()
            .map(|record| record.map_err(|problem| self.malformed(run.clone(), problem)))
            .collect()
    }

    /// The writer thread, or [`DatabaseProblem::ReadOnly`] (for `run`) if
    /// the store was opened read-only.
    fn writer(&self, run: Option<RunId>) -> Result<&Arc<Writer>, StoreError> {
        self.inner
            .writer
            .as_ref()
            .ok_or_else(|| self.malformed(run, DatabaseProblem::ReadOnly))
    }

    /// Commits `write` on the writer thread.
    async fn write(&self, write: Write) -> Result<Answer, StoreError> {
        self.writer(writer::run_of(&write))?.write(write).await
    }

    /// The journal of `run`, writing under lease `epoch` (`None`: the run has
    /// ended, and the handle's writes are refused as such).
    fn journal_handle(
        &self,
        run: RunId,
        epoch: Option<i64>,
    ) -> Result<Arc<dyn RunWriter>, StoreError> {
        let writer = Arc::clone(self.writer(Some(run.clone()))?);
        Ok(Arc::new(SqliteRunWriter {
            run,
            epoch: epoch.unwrap_or(0),
            writer,
        }))
    }

    /// Claims `write`'s run; the epoch it is now held under.
    async fn claim(&self, write: Write) -> Result<Option<i64>, StoreError> {
        match self.write(write).await? {
            Answer::Claimed(epoch) => Ok(epoch),
            other => unreachable!("a claim answers with its epoch, not {other:?}"),
        }
    }
}

/// WAL and the chosen durability, once the schema is in place: switching to
/// WAL writes to the file, so a file that is refused never gets it.
///
/// The switch from a rollback journal to WAL needs the file's exclusive
/// lock while the statement holds a shared one, so when two processes that
/// opened a new file at once switch together SQLite refuses one at once with
/// `SQLITE_BUSY` (waiting could deadlock: the busy timeout is not used). The
/// refused one lets go of its lock and tries again, for as long as the busy
/// timeout would wait; by then the other has usually switched, and the
/// switch is a no-op.
fn configure(connection: &Connection, synchronous: Synchronous) -> rusqlite::Result<()> {
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);
    let began = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match connection.pragma_update(None, "journal_mode", "WAL") {
            Err(error)
                if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && began.elapsed() < PATIENCE =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            result => break result?,
        }
    }
    let level = match synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    connection.pragma_update(None, "synchronous", level)?;
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod open_tests;

#[cfg(test)]
mod read_only_tests;
