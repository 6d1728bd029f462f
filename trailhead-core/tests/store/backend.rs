//! The stores under test: how each makes fresh, empty data, opens a worker
//! on it, and (for stores several workers share) ends a worker.

use trailhead_core::store::{Store, WorkerId};

/// A kind of store, with data of its own for one test.
pub(crate) trait Backend: Sized + Send + Sync + 'static {
    /// The store a worker of this backend is.
    type Store: Store + Clone;

    /// Fresh, empty data for one test: nothing any other test sees.
    async fn new() -> Self;

    /// A worker on this data. A store that only one worker can use (memory)
    /// gives the same store every time.
    async fn worker(&self) -> Self::Store;
}

/// A store several workers share.
pub(crate) trait Shared: Backend {
    /// Ends `worker` as its process ending would: another worker may take
    /// its runs over at once. Run handles it gave out stay in the caller's
    /// hands, like those of a worker that stalled and lost its leases: their
    /// writes must then be refused.
    async fn end(&self, worker: Self::Store);
}

/// The memory store: one process, one worker.
#[derive(Debug)]
pub(crate) struct Memory(trailhead_core::MemoryStore);

impl Backend for Memory {
    type Store = trailhead_core::MemoryStore;

    async fn new() -> Self {
        Self(trailhead_core::MemoryStore::new())
    }

    async fn worker(&self) -> Self::Store {
        self.0.clone()
    }
}

/// A SQLite file in a folder of its own; each worker opens it.
#[derive(Debug)]
pub(crate) struct Sqlite {
    folder: tempfile::TempDir,
}

impl Sqlite {
    fn path(&self) -> std::path::PathBuf {
        self.folder.path().join("runs.db")
    }
}

impl Backend for Sqlite {
    type Store = trailhead_core::SqliteStore;

    async fn new() -> Self {
        Self {
            folder: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    async fn worker(&self) -> Self::Store {
        trailhead_core::SqliteStore::open(self.path()).expect("the store opens")
    }
}

impl Shared for Sqlite {
    /// Drops the store, and removes its worker's lock file as the operating
    /// system releases the lock when a process dies. A SQLite worker lives as
    /// long as its store *or any run handle it gave out*: the handles share
    /// its writer thread, which holds the lock. So while the caller keeps a
    /// handle, dropping the store alone leaves the worker alive, and only the
    /// lock's going makes it the dead worker whose leases another may take
    /// (store/sqlite/workers.rs: a missing lock file is a dead worker).
    async fn end(&self, worker: Self::Store) {
        let lock = lock_file(&self.path(), worker.worker());
        drop(worker);
        match std::fs::remove_file(&lock) {
            Ok(()) => {}
            // Gone with the store: no handle kept the worker alive.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => panic!("cannot remove {}: {error}", lock.display()),
        }
    }
}

/// `<database>-workers/<worker>.lock`, the file whose lock says a SQLite
/// worker is alive.
fn lock_file(database: &std::path::Path, worker: &WorkerId) -> std::path::PathBuf {
    let mut folder = database.as_os_str().to_owned();
    folder.push("-workers");
    std::path::PathBuf::from(folder).join(format!("{worker}.lock"))
}

/// A PostgreSQL schema of its own on the test server; each worker connects
/// to it.
#[cfg(feature = "postgres")]
#[derive(Debug)]
pub(crate) struct Postgres {
    schema: String,
}

/// Longer than any test: a run changes hands only because its worker was
/// closed, never because a lease ran out while a test was slow.
#[cfg(feature = "postgres")]
const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(feature = "postgres")]
impl Backend for Postgres {
    type Store = trailhead_core::PgStore;

    async fn new() -> Self {
        Self {
            schema: trailhead_test_postgres::unique_schema("conformance"),
        }
    }

    async fn worker(&self) -> Self::Store {
        trailhead_core::PgStore::builder(trailhead_test_postgres::url())
            .schema(&self.schema)
            .lease(LEASE)
            .connect()
            .await
            .expect("the store connects")
    }
}

#[cfg(feature = "postgres")]
impl Shared for Postgres {
    /// Closes the store: its heartbeat stops and its worker row goes, so its
    /// runs are claimable at once (well within [`LEASE`]).
    async fn end(&self, worker: Self::Store) {
        worker.close().await.expect_closed();
    }
}

/// What `PgStore::close` returns, checked: nothing, or a result that must be
/// `Ok`.
#[cfg(feature = "postgres")]
trait Closed {
    fn expect_closed(self);
}

#[cfg(feature = "postgres")]
impl Closed for () {
    fn expect_closed(self) {}
}

#[cfg(feature = "postgres")]
impl<E: std::fmt::Debug> Closed for Result<(), E> {
    fn expect_closed(self) {
        self.expect("the store closes");
    }
}
