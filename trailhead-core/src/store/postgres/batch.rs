//! Group commit of step entries: the journal writes of all the runs a
//! worker drives go to the database together, one statement and one commit
//! for every entry waiting, instead of one commit each.
//!
//! A run's [`record_step`](crate::store::RunWriter::record_step) hands its
//! entry to the store's batcher and waits for the commit, so an entry is
//! still durable before anything that depends on it starts. The batcher
//! sends what is waiting at once while fewer than its limit of batches are
//! in flight (half the pool's connections); entries that arrive meanwhile
//! wait for the next batch, which takes them all. A lone entry goes at
//! once, by the single-row insert (lighter to plan than the batch's
//! arrays): only the hop to the batcher's task is added.
//!
//! Each entry stays fenced by its run's lease in the statement: an entry
//! whose run another worker took over, or that ended, is not inserted, nor
//! is one whose key is already journaled; the writer then asks why
//! (`PgRunWriter::record`), as it did for a single insert.

use std::collections::HashSet;
use std::sync::Arc;

use sqlx::{PgPool, Row};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, Semaphore, mpsc, oneshot};

use super::sql::Statement;
use crate::RunId;
use crate::store::WorkerId;

/// The most entries in one statement.
const MOST_PER_BATCH: usize = 1024;

/// One step entry, as the columns of `steps` take it.
#[derive(Debug)]
pub(super) struct StepRow {
    pub(super) run: RunId,
    pub(super) key: String,
    pub(super) outcome: Vec<u8>,
    pub(super) codec: &'static str,
    pub(super) attempts: i64,
    pub(super) started_at: i64,
    pub(super) finished_at: i64,
    /// The lease epoch the entry is fenced by.
    pub(super) epoch: i64,
    /// The retried attempts, as JSON (NULL for none).
    pub(super) retries: Option<String>,
}

/// The inserts of one entry and of a batch (see `Sql::record_step` and
/// `Sql::record_steps`).
#[derive(Clone, Debug)]
pub(super) struct Statements {
    pub(super) one: Statement,
    pub(super) many: Statement,
}

/// An entry waiting for its batch, and where to say whether it was inserted.
struct Waiting {
    row: StepRow,
    inserted: oneshot::Sender<Result<bool, Arc<sqlx::Error>>>,
    /// Counted in its writer's entries in flight until its batch is done.
    pending: Pending,
}

/// A run's entries given to the batcher and not yet written or refused,
/// whether or not their writer still waits (see
/// [`RunWriter::settled`](crate::store::RunWriter::settled)).
#[derive(Debug, Default)]
pub(super) struct InFlight {
    count: AtomicUsize,
    settled: Notify,
}

impl InFlight {
    fn enter(self: &Arc<Self>) -> Pending {
        self.count.fetch_add(1, Ordering::AcqRel);
        Pending(Arc::clone(self))
    }

    /// Waits until no entry is in flight.
    pub(super) async fn settled(&self) {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One entry in flight, counted until dropped.
#[derive(Debug)]
struct Pending(Arc<InFlight>);

impl Drop for Pending {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.settled.notify_waiters();
        }
    }
}

/// The store's batcher of step entries: a task that writes them in batches.
#[derive(Debug)]
pub(super) struct StepBatcher {
    entries: mpsc::UnboundedSender<Waiting>,
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting").field("row", &self.row).finish()
    }
}

impl StepBatcher {
    /// Starts the batcher of worker `worker`'s entries on `pool`, inserting
    /// with `statements`. It ends when the batcher is dropped (with the store).
    pub(super) fn start(pool: PgPool, statements: Statements, worker: WorkerId) -> Self {
        let (entries, waiting) = mpsc::unbounded_channel();
        let in_flight = (pool.options().get_max_connections() / 2).max(1) as usize;
        tokio::spawn(batch_loop(pool, statements, worker, waiting, in_flight));
        Self { entries }
    }

    /// Writes `row` in the next batch, counted in `in_flight` until written
    /// (even if this future is dropped): whether it was inserted (`false`: its
    /// run's lease is not this worker's at the entry's epoch, or the run
    /// ended, or its key was already journaled).
    ///
    /// # Errors
    ///
    /// What the batch's statement failed with (every entry of the batch
    /// gets it).
    pub(super) async fn write(
        &self,
        row: StepRow,
        in_flight: &Arc<InFlight>,
    ) -> Result<bool, Arc<sqlx::Error>> {
        let (inserted, written) = oneshot::channel();
        let waiting = Waiting {
            row,
            inserted,
            pending: in_flight.enter(),
        };
        if self.entries.send(waiting).is_err() {
            return Err(Arc::new(sqlx::Error::PoolClosed));
        }
        written
            .await
            .unwrap_or_else(|_| Err(Arc::new(sqlx::Error::PoolClosed)))
    }
}

/// Takes what is waiting, up to [`MOST_PER_BATCH`], whenever fewer than
/// `in_flight` batches are being written, and writes it on a task of its own.
async fn batch_loop(
    pool: PgPool,
    statements: Statements,
    worker: WorkerId,
    mut waiting: mpsc::UnboundedReceiver<Waiting>,
    in_flight: usize,
) {
    let slots = Arc::new(Semaphore::new(in_flight));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Some(first) = waiting.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MOST_PER_BATCH {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (pool, statements, worker) = (pool.clone(), statements.clone(), worker.clone());
        tokio::spawn(async move {
            if batch.len() == 1 {
                write_one(&pool, &statements.one, &worker, batch.remove(0)).await;
            } else {
                write_batch(&pool, &statements.many, &worker, batch).await;
            }
            drop(slot);
        });
    }
}

/// Inserts the entry of `waiting` alone and tells it whether it was.
async fn write_one(pool: &PgPool, insert: &Statement, worker: &WorkerId, waiting: Waiting) {
    let Waiting {
        row,
        inserted,
        pending,
    } = waiting;
    let result = insert
        .query()
        .bind(row.run.as_str())
        .bind(row.key)
        .bind(row.outcome)
        .bind(row.codec)
        .bind(row.attempts)
        .bind(row.started_at)
        .bind(row.finished_at)
        .bind(row.epoch)
        .bind(worker.as_str())
        .bind(row.retries)
        .execute(pool)
        .await;
    let _ = inserted.send(
        result
            .map(|done| done.rows_affected() == 1)
            .map_err(Arc::new),
    );
    drop(pending);
}

/// Inserts `batch` in one statement and tells each entry whether it was.
async fn write_batch(pool: &PgPool, insert: &Statement, worker: &WorkerId, batch: Vec<Waiting>) {
    let n = batch.len();
    let (mut runs, mut keys, mut outcomes, mut codecs) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut attempts, mut started, mut finished, mut epochs) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut retries = Vec::with_capacity(n);
    let mut replies = Vec::with_capacity(n);
    // Dropped, and so settled, once the statement is done.
    let mut settling = Vec::with_capacity(n);
    for Waiting {
        row,
        inserted,
        pending,
    } in batch
    {
        settling.push(pending);
        runs.push(row.run.as_str().to_owned());
        keys.push(row.key);
        outcomes.push(row.outcome);
        codecs.push(row.codec);
        attempts.push(row.attempts);
        started.push(row.started_at);
        finished.push(row.finished_at);
        epochs.push(row.epoch);
        retries.push(row.retries);
        replies.push(inserted);
    }
    let result = insert
        .query()
        .bind(&runs)
        .bind(&keys)
        .bind(&outcomes)
        .bind(&codecs)
        .bind(&attempts)
        .bind(&started)
        .bind(&finished)
        .bind(&epochs)
        .bind(worker.as_str())
        .bind(&retries)
        .fetch_all(pool)
        .await;
    match result {
        Ok(rows) => {
            let mut done = HashSet::with_capacity(rows.len());
            for row in &rows {
                if let (Ok(run), Ok(key)) =
                    (row.try_get::<String, _>(0), row.try_get::<String, _>(1))
                {
                    done.insert((run, key));
                }
            }
            // An entry is inserted if its run and key came back, but only
            // once: a key twice in one batch was inserted for the first.
            for ((run, key), reply) in runs.into_iter().zip(keys).zip(replies) {
                let _ = reply.send(Ok(done.remove(&(run, key))));
            }
        }
        Err(error) => {
            let error = Arc::new(error);
            for reply in replies {
                let _ = reply.send(Err(Arc::clone(&error)));
            }
        }
    }
    drop(settling);
}
