//! One run's [`RunWriter`] in a [`PgStore`]: every write one statement,
//! fenced by the lease's epoch in that statement (step entries in the
//! batches of the store's `batch`er, many runs' entries in one statement).

use std::sync::Arc;
use std::time::SystemTime;

use super::PgStore;
use super::batch::{InFlight, StepRow};
use crate::store::columns::{
    retries_to_sql, run_outcome_to_sql, status_to_sql, step_outcome_to_sql, time_to_sql,
};
use crate::store::{RunOutcome, RunWriter, StepRecord, StoreFuture, Value};
use crate::{RunId, StoreError};

/// One run's journal in a [`PgStore`].
#[derive(Debug)]
pub(super) struct PgRunWriter {
    pub(super) run: RunId,
    /// The lease epoch every write is fenced by.
    pub(super) epoch: i64,
    /// The count of the worker's lease lapses when the run was claimed.
    pub(super) generation: u64,
    pub(super) store: PgStore,
    /// Its entries given to the store's batcher and not yet written.
    pub(super) in_flight: Arc<InFlight>,
}

impl PgRunWriter {
    /// Why a fenced write matched no row: the run is gone, it finished, or
    /// the lease moved on.
    async fn refused(&self) -> StoreError {
        match self.store.refusal_of(&self.run).await {
            Ok(refusal) => refusal.of_fenced(&self.run, &self.store.inner.worker),
            Err(error) => error,
        }
    }

    /// Journals `record` in the store's next batch (see `batch`); an entry
    /// the batch did not insert was refused by the lease, or its key was
    /// already journaled.
    async fn record(&self, record: StepRecord) -> Result<(), StoreError> {
        let store = &self.store;
        let outcome = step_outcome_to_sql(&record.outcome);
        let row = StepRow {
            run: self.run.clone(),
            key: record.key.to_string(),
            outcome: outcome.bytes().to_vec(),
            codec: outcome.codec().name(),
            attempts: i64::from(record.attempts),
            started_at: time_to_sql(record.started_at),
            finished_at: time_to_sql(record.finished_at),
            epoch: self.epoch,
            retries: retries_to_sql(&record.retries),
        };
        match store.inner.steps.write(row, &self.in_flight).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.not_inserted(&record).await),
            Err(error) => Err(store.fail(Some(&self.run), &error)),
        }
    }

    /// Journals a stream loop's checkpoint in place of the one before, in a
    /// statement of its own (one every thousand items or so: no batch).
    async fn checkpoint(&self, record: StepRecord) -> Result<(), StoreError> {
        let store = &self.store;
        let outcome = step_outcome_to_sql(&record.outcome);
        let written = store
            .inner
            .sql
            .record_checkpoint
            .query()
            .bind(self.run.as_str())
            .bind(record.key.to_string())
            .bind(outcome.bytes().to_vec())
            .bind(outcome.codec().name())
            .bind(i64::from(record.attempts))
            .bind(time_to_sql(record.started_at))
            .bind(time_to_sql(record.finished_at))
            .bind(self.epoch)
            .bind(store.inner.worker.as_str())
            .bind(retries_to_sql(&record.retries))
            .execute(&store.inner.pool)
            .await;
        match written {
            Ok(done) if done.rows_affected() == 1 => Ok(()),
            Ok(_) => Err(self.refused().await),
            Err(error) => Err(store.fail(Some(&self.run), &error)),
        }
    }

    /// Starts the run's next generation in one transaction, once the
    /// entries of the one before landed (see `RunWriter::continue_as_new`).
    async fn next_generation(&self, input: Value, marker: StepRecord) -> Result<(), StoreError> {
        self.in_flight.settled().await;
        let store = &self.store;
        let sql = &store.inner.sql;
        let fail = |error: sqlx::Error| store.fail(Some(&self.run), &error);
        let mut transaction = store.inner.pool.begin().await.map_err(fail)?;
        let updated = sql
            .next_generation
            .query()
            .bind(self.run.as_str())
            .bind(input.bytes().to_vec())
            .bind(input.codec().name())
            .bind(store.inner.worker.as_str())
            .bind(self.epoch)
            .execute(&mut *transaction)
            .await
            .map_err(fail)?;
        if updated.rows_affected() != 1 {
            drop(transaction);
            return Err(self.refused().await);
        }
        for statement in &sql.forget_generation {
            statement
                .query()
                .bind(self.run.as_str())
                .execute(&mut *transaction)
                .await
                .map_err(fail)?;
        }
        let outcome = step_outcome_to_sql(&marker.outcome);
        sql.record_step
            .query()
            .bind(self.run.as_str())
            .bind(marker.key.to_string())
            .bind(outcome.bytes().to_vec())
            .bind(outcome.codec().name())
            .bind(i64::from(marker.attempts))
            .bind(time_to_sql(marker.started_at))
            .bind(time_to_sql(marker.finished_at))
            .bind(self.epoch)
            .bind(store.inner.worker.as_str())
            .bind(retries_to_sql(&marker.retries))
            .execute(&mut *transaction)
            .await
            .map_err(fail)?;
        transaction.commit().await.map_err(fail)
    }

    /// Why an entry was not inserted: a duplicate key while the lease is
    /// still this worker's, else why the lease refused it.
    async fn not_inserted(&self, record: &StepRecord) -> StoreError {
        let store = &self.store;
        let held = store
            .inner
            .sql
            .holds_at
            .query()
            .bind(self.run.as_str())
            .bind(store.inner.worker.as_str())
            .bind(self.epoch)
            .fetch_optional(&store.inner.pool)
            .await;
        match held {
            Ok(Some(_)) => StoreError::DuplicateStep {
                run: self.run.clone(),
                step: record.key.clone(),
            },
            Ok(None) => self.refused().await,
            Err(error) => store.fail(Some(&self.run), &error),
        }
    }

    async fn end(&self, outcome: RunOutcome) -> Result<(), StoreError> {
        let store = &self.store;
        let cell = run_outcome_to_sql(&outcome);
        let ended: i64 = sqlx::query_scalar(store.inner.sql.finish.text())
            .bind(self.run.as_str())
            .bind(status_to_sql(outcome.status()))
            .bind(cell.bytes())
            .bind(cell.codec().name())
            .bind(time_to_sql(SystemTime::now()))
            .bind(store.inner.worker.as_str())
            .bind(self.epoch)
            .bind(store.inner.notify.is_some())
            .bind(&store.inner.channel)
            .fetch_one(&store.inner.pool)
            .await
            .map_err(|error| store.fail(Some(&self.run), &error))?;
        if ended == 1 {
            Ok(())
        } else {
            Err(self.refused().await)
        }
    }
}

impl RunWriter for PgRunWriter {
    fn record_step(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.record(record))
    }

    fn record_checkpoint(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.checkpoint(record))
    }

    fn continue_as_new(&self, input: Value, marker: StepRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.next_generation(input, marker))
    }

    fn finish(&self, outcome: RunOutcome) -> StoreFuture<'_, ()> {
        Box::pin(self.end(outcome))
    }

    fn holds_lease(&self) -> bool {
        self.store.holds_leases_since(self.generation)
    }

    fn settled(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.in_flight.settled().await;
            Ok(())
        })
    }

    fn release(&self, wake_at: Option<SystemTime>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            if self.store.release(&self.run, self.epoch, wake_at).await? {
                Ok(())
            } else {
                Err(self.refused().await)
            }
        })
    }
}
