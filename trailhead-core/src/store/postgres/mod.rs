//! [`PgStore`]: runs and journals in a PostgreSQL schema, shared by many
//! workers on many machines. See [`PgStore`] for what it does and costs.

mod batch;
mod builder;
mod error;
mod fleet;
mod lease;
mod migrate;
mod resources;
mod retention;
mod rows;
mod schedules;
mod schema_name;
mod sql;
mod store;
mod workers;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

pub use self::builder::PgStoreBuilder;
use self::rows::RowError;
use self::sql::Sql;
use self::workers::Heartbeat;
use super::{DatabaseProblem, Retention, StoreLocation, WorkerId};
use crate::{RunId, StoreError};

/// Runs and journals in a PostgreSQL schema: many workers (processes,
/// machines) share it, each run driven by one at a time under a lease.
///
/// Cheap to clone: clones share the pool and are one worker.
///
/// - **One store, many workers.** Every `PgStore` is a worker (see
///   [`lease`](crate::store::lease)): it claims the runs it drives with a
///   lease and an epoch, renews its liveness in the `workers` table every
///   third of its lease, and takes over the runs of workers whose lease
///   expired. Every journal write is fenced by the epoch in the same
///   statement, so a worker that was taken over writes nothing more.
/// - **Durability.** Each write is committed before it returns, as the
///   server's `synchronous_commit` says (on by default: on disk, and on the
///   synchronous standbys if any). A step's entry is one round trip, with no
///   `NOTIFY` on it (a `NOTIFY` takes a database-wide lock at commit).
/// - **Its own schema.** The tables live in one schema (`trailhead` by
///   default, [`PgStoreBuilder::schema`] to choose), created and migrated on
///   connect under an advisory lock, so many workers starting at once migrate
///   it once. A schema holding someone else's tables is refused untouched; a
///   store from a newer trailhead is refused rather than misread.
/// - **Typed errors.** A server that cannot be reached, a pool with no free
///   connection, a damaged or foreign schema: each a
///   [`StoreError::Database`] naming the server, database and schema (never
///   the password) and the [`DatabaseProblem`].
/// - **Retention.** As the SQLite store: by default ([`Retention::durable`])
///   completed runs are removed 7 days after they ended, failed ones after 30.
///
/// Times the engine records (a run's start and end, a step's) are kept as
/// the engine's clock gave them, as in SQLite; leases and liveness use the
/// database server's clock only.
///
/// # Examples
///
/// ```no_run
/// use trailhead_core::{Engine, store::PgStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PgStore::connect("postgres://app@db.internal/billing").await?;
/// let engine = Engine::builder().store(store.clone()).build();
/// // … start and drive runs …
/// engine.shutdown(std::time::Duration::from_secs(10)).await;
/// store.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PgStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    sql: Sql,
    location: StoreLocation,
    worker: WorkerId,
    lease: Duration,
    /// How long an operation waits for a connection (reported when none
    /// came free).
    acquire_timeout: Duration,
    /// Bumped each time this worker's own lease lapsed.
    expiries: Arc<watch::Sender<u64>>,
    heartbeat: Heartbeat,
    /// Set by [`PgStore::close`]: the store claims no more runs.
    closed: AtomicBool,
    /// The channel the fleet's notices go on.
    channel: String,
    /// The notices received, when notices are on.
    notify: Option<tokio::sync::broadcast::Sender<crate::store::Notice>>,
    /// The task listening for them.
    listener: Option<tokio::task::AbortHandle>,
    /// When the heartbeat's last confirmed renewal was sent.
    confirmed: Arc<workers::Confirmed>,
    /// Writes the step entries of all this worker's runs in batches.
    steps: batch::StepBatcher,
}

impl Drop for Inner {
    /// The last clone is gone: stop renewing, and remove the worker's row so
    /// the runs it owned can be taken over at once (best effort: only if a
    /// tokio runtime is still there to run the delete; otherwise the row
    /// expires one lease from its last renewal).
    fn drop(&mut self) {
        self.heartbeat.stop();
        if let Some(listener) = &self.listener {
            listener.abort();
        }
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            let delete = self.sql.delete_worker.clone();
            let worker = self.worker.clone();
            runtime.spawn(async move {
                let _ = delete.query().bind(worker.as_str()).execute(&pool).await;
            });
        }
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`),
    /// with the `trailhead` schema and a 30-second lease: see [`builder`](Self::builder).
    ///
    /// # Errors
    ///
    /// As [`PgStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// Options for connecting to the database at `url`.
    pub fn builder(url: &str) -> PgStoreBuilder {
        PgStoreBuilder::url(url)
    }

    /// Options for a store on a pool the application already has (its
    /// size and timeouts apply). The store opens one more connection, with
    /// the pool's options, for its heartbeat.
    pub fn builder_from_pool(pool: PgPool) -> PgStoreBuilder {
        PgStoreBuilder::pool(pool)
    }

    /// The server, database and schema (never the password).
    pub fn location(&self) -> &StoreLocation {
        &self.inner.location
    }

    /// How long this worker's lease lasts without a renewal.
    pub fn lease(&self) -> Duration {
        self.inner.lease
    }

    /// The pool the store runs its statements on.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Counts the times this worker's own lease lapsed: its heartbeat found
    /// its row expired, or could not renew it for a whole lease. After each,
    /// any run this worker drives may have been taken over: its writes will
    /// be refused with [`StoreError::LeaseLost`] if so, and the engine stops
    /// such runs at once rather than execute steps another worker may also
    /// be executing.
    pub(crate) fn lease_expiries(&self) -> watch::Receiver<u64> {
        self.inner.expiries.subscribe()
    }

    /// Whether this worker still holds the leases it held when the count of
    /// lapses was `generation`: none lapsed since, and a renewal was
    /// confirmed within nine tenths of a lease (the row lives a whole lease
    /// past it, by the database's clock, which read it later).
    pub(super) fn holds_leases_since(&self, generation: u64) -> bool {
        *self.inner.expiries.borrow() == generation
            && self.inner.confirmed.age() < self.inner.lease * 9 / 10
    }

    /// The count of lapses now.
    pub(super) fn lease_generation(&self) -> u64 {
        *self.inner.expiries.borrow()
    }

    /// Ends this worker cleanly: stops renewing its lease and removes its
    /// row from `workers`, so the runs it still owns can be claimed by other
    /// workers at once, and claims nothing more (claims fail with
    /// [`StoreError::Database`]). Writes to runs it already holds still go
    /// through until another worker claims them. Releasing the leases of
    /// finished runs is the engine's drain; this is what a process does last.
    ///
    /// Dropping the last clone does the same, best effort.
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] if the row could not be removed (it then
    /// expires one lease after its last renewal).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the heartbeat and may leave the row.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.heartbeat.stop();
        self.inner
            .sql
            .delete_worker
            .query()
            .bind(self.inner.worker.as_str())
            .execute(&self.inner.pool)
            .await
            .map_err(|error| self.fail(None, &error))?;
        Ok(())
    }

    fn refuse(&self, run: Option<RunId>, problem: DatabaseProblem) -> StoreError {
        StoreError::Database {
            store: Box::new(self.inner.location.clone()),
            run,
            problem,
        }
    }

    fn fail(&self, run: Option<&RunId>, error: &sqlx::Error) -> StoreError {
        self.refuse(
            run.cloned(),
            error::problem(error, self.inner.acquire_timeout),
        )
    }

    fn row_error(&self, run: Option<&RunId>, error: RowError) -> StoreError {
        match error {
            RowError::Column(error) => self.fail(run, &error),
            RowError::Malformed(problem) => self.refuse(run.cloned(), problem),
        }
    }

    /// Refuses a claim once the store is closed.
    fn check_open(&self, run: &RunId) -> Result<(), StoreError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(self.refuse(
                Some(run.clone()),
                DatabaseProblem::Other("the store was closed: its worker claims no runs".into()),
            ));
        }
        Ok(())
    }

    fn default_retention() -> Retention {
        Retention::durable()
    }
}

#[cfg(test)]
mod tests;
