//! The [`Store`] trait for [`PgStore`]: reads on the pool, claims and
//! multi-statement writes in transactions that lock the run's row.

use std::sync::Arc;
use std::time::SystemTime;

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::error::is_unique_violation;
use super::lease::{ClaimError, Refusal, claim, refusal};
use super::rows::{RowError, run_from_row, step_from_row, value};
use super::sql::Statement;
use super::writer::PgRunWriter;
use super::{PgStore, retention};
use crate::store::columns::{run_outcome_to_sql, state_to_sql, status_to_sql, time_to_sql};
use crate::store::{
    AfterCompensation, ClaimOffer, Claimed, Enqueue, Enqueued, FleetStatus, Notice, Retention,
    RunRecord, RunStatus, RunWriter, StepRecord, Store, StoreFuture, Value, WorkerId,
};
use crate::{RunId, StepKey, StoreError};

impl PgStore {
    /// Every row `statement` gives for `key`, each read by `from_row`.
    async fn read_all<T>(
        &self,
        run: Option<&RunId>,
        statement: &Statement,
        key: Option<&str>,
        from_row: fn(&PgRow) -> Result<T, RowError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut query = statement.query();
        if let Some(key) = key {
            query = query.bind(key.to_owned());
        }
        let rows = query
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.fail(run, &error))?;
        rows.iter()
            .map(|row| from_row(row).map_err(|error| self.row_error(run, error)))
            .collect()
    }

    async fn fetch_run(&self, run: &RunId) -> Result<Option<RunRecord>, StoreError> {
        let mut runs = self
            .read_all(
                Some(run),
                &self.inner.sql.run,
                Some(run.as_str()),
                run_from_row,
            )
            .await?;
        Ok(runs.pop())
    }

    /// `run` with its lease's epoch if it is unfinished and this worker
    /// holds it (the claim loop claimed it): opening it then needs no claim
    /// transaction, which would cost a commit per run.
    async fn fetch_own_run(&self, run: &RunId) -> Result<Option<(RunRecord, i64)>, StoreError> {
        self.check_open(run)?;
        let row = self
            .inner
            .sql
            .own_run
            .query()
            .bind(run.as_str())
            .bind(self.inner.worker.as_str())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|error| self.fail(Some(run), &error))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let record = run_from_row(&row).map_err(|error| self.row_error(Some(run), error))?;
        let epoch: i64 = row
            .try_get("lease_epoch")
            .map_err(|error| self.fail(Some(run), &error))?;
        Ok(Some((record, epoch)))
    }

    async fn fetch_journal(&self, run: &RunId) -> Result<Vec<StepRecord>, StoreError> {
        self.read_all(
            Some(run),
            &self.inner.sql.journal,
            Some(run.as_str()),
            step_from_row,
        )
        .await
    }

    /// The journal of `run`, writing under lease `epoch` (`None`: the run has
    /// ended, and the handle's writes are refused as such).
    fn journal_handle(&self, run: RunId, epoch: Option<i64>) -> Arc<dyn RunWriter> {
        Arc::new(PgRunWriter {
            run,
            epoch: epoch.unwrap_or(0),
            generation: self.lease_generation(),
            store: self.clone(),
            in_flight: Arc::default(),
        })
    }

    fn claim_error(&self, run: &RunId, error: ClaimError) -> StoreError {
        match error {
            ClaimError::Missing => StoreError::UnknownRun { run: run.clone() },
            ClaimError::Held(worker) => StoreError::LeaseHeld {
                run: run.clone(),
                worker: WorkerId::new(worker),
            },
            ClaimError::Database(error) => self.fail(Some(run), &error),
        }
    }

    /// Claims an unfinished `run` in a transaction of its own.
    async fn claim_unfinished(&self, run: &RunId) -> Result<Option<i64>, StoreError> {
        self.check_open(run)?;
        let fail = |error: sqlx::Error| self.fail(Some(run), &error);
        let mut transaction = self.inner.pool.begin().await.map_err(fail)?;
        let epoch = claim(
            &mut transaction,
            &self.inner.sql,
            &self.inner.worker,
            run,
            &["running", "compensating"],
        )
        .await
        .map_err(|error| self.claim_error(run, error))?;
        transaction.commit().await.map_err(fail)?;
        Ok(epoch)
    }

    /// Why a write to `run` changed nothing, read from its status on a
    /// connection of its own (see [`refusal`]).
    pub(super) async fn refusal_of(&self, run: &RunId) -> Result<Refusal, StoreError> {
        let fail = |error: sqlx::Error| self.fail(Some(run), &error);
        let mut connection = self.inner.pool.acquire().await.map_err(fail)?;
        refusal(&mut connection, &self.inner.sql, run)
            .await
            .map_err(fail)
    }

    async fn create(&self, record: RunRecord) -> Result<(), StoreError> {
        self.check_open(&record.id)?;
        let (status, outcome, finished_at) = state_to_sql(&record.state);
        let inserted = self
            .inner
            .sql
            .insert_run
            .query()
            .bind(record.id.as_str())
            .bind(&record.workflow)
            .bind(record.definition_hash.cast_signed())
            .bind(record.parent.as_ref().map(RunId::as_str))
            .bind(record.input.bytes())
            .bind(record.input.codec().name())
            .bind(status)
            .bind(outcome.as_ref().map(Value::bytes))
            .bind(outcome.as_ref().map(|outcome| outcome.codec().name()))
            .bind(&record.mermaid)
            .bind(time_to_sql(record.created_at))
            .bind(finished_at)
            .bind(self.inner.worker.as_str())
            .execute(&self.inner.pool)
            .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(StoreError::RunExists {
                run: record.id.clone(),
            }),
            Err(error) => Err(self.fail(Some(&record.id), &error)),
        }
    }

    async fn signal(&self, run: &RunId, name: &str, payload: &Value) -> Result<(), StoreError> {
        let fail = |error: sqlx::Error| self.fail(Some(run), &error);
        let inserted = self
            .inner
            .sql
            .send_signal
            .query()
            .bind(run.as_str())
            .bind(name)
            .bind(payload.bytes())
            .bind(payload.codec().name())
            .execute(&self.inner.pool)
            .await
            .map_err(fail)?;
        if inserted.rows_affected() == 1 {
            self.notify(&format!("signal:{run}")).await;
            return Ok(());
        }
        Err(self.refusal_of(run).await?.of_unfenced(run))
    }

    async fn ask_cancel(&self, run: &RunId) -> Result<(), StoreError> {
        let fail = |error: sqlx::Error| self.fail(Some(run), &error);
        let asked: i64 = sqlx::query_scalar(self.inner.sql.request_cancel.text())
            .bind(run.as_str())
            .bind(self.inner.notify.is_some())
            .bind(&self.inner.channel)
            .fetch_one(&self.inner.pool)
            .await
            .map_err(fail)?;
        if asked > 0 {
            return Ok(());
        }
        Err(self.refusal_of(run).await?.of_unfenced(run))
    }

    async fn asked_to_cancel(&self) -> Result<Vec<RunId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(self.inner.sql.cancel_requests.text())
            .bind(self.inner.worker.as_str())
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.fail(None, &error))?;
        Ok(ids.into_iter().map(RunId::new).collect())
    }

    async fn receive(
        &self,
        run: &RunId,
        name: &str,
        key: &StepKey,
    ) -> Result<Option<Value>, StoreError> {
        let fail = |error: sqlx::Error| self.fail(Some(run), &error);
        let sql = &self.inner.sql;
        let key = key.to_string();
        let mut transaction = self.inner.pool.begin().await.map_err(fail)?;
        let held = sql
            .owner_holds
            .query()
            .bind(run.as_str())
            .bind(self.inner.worker.as_str())
            .fetch_optional(&mut *transaction)
            .await
            .map_err(fail)?;
        if held.is_none() {
            let refusal = refusal(&mut transaction, sql, run).await.map_err(fail)?;
            return Err(refusal.of_fenced(run, &self.inner.worker));
        }
        let read = |row: &PgRow, at: usize| -> Result<Value, StoreError> {
            let bytes: &[u8] = row.try_get(at).map_err(fail)?;
            let codec: &str = row.try_get(at + 1).map_err(fail)?;
            value(bytes, codec, "a signal's payload")
                .map_err(|problem| self.refuse(Some(run.clone()), problem))
        };
        let before = sql
            .signal_received
            .query()
            .bind(run.as_str())
            .bind(&key)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(fail)?;
        if let Some(row) = before {
            return read(&row, 0).map(Some);
        }
        let Some(row) = sql
            .signal_waiting
            .query()
            .bind(run.as_str())
            .bind(name)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(fail)?
        else {
            return Ok(None);
        };
        let id: i64 = row.try_get(0).map_err(fail)?;
        let payload = read(&row, 1)?;
        sql.signal_take
            .query()
            .bind(id)
            .bind(&key)
            .execute(&mut *transaction)
            .await
            .map_err(fail)?;
        transaction.commit().await.map_err(fail)?;
        Ok(Some(payload))
    }

    async fn reopen(&self, run: &RunId) -> Result<(), StoreError> {
        self.check_open(run)?;
        let fail = |error: sqlx::Error| self.fail(Some(run), &error);
        let sql = &self.inner.sql;
        let mut transaction = self.inner.pool.begin().await.map_err(fail)?;
        let reopened = sql
            .reopen
            .query()
            .bind(run.as_str())
            .bind(self.inner.worker.as_str())
            .fetch_optional(&mut *transaction)
            .await
            .map_err(fail)?;
        if reopened.is_none() {
            let refusal = refusal(&mut transaction, sql, run).await.map_err(fail)?;
            return Err(match refusal.of_unfenced(run) {
                StoreError::RunFinished { run } => StoreError::NotEnded { run },
                other => other,
            });
        }
        for statement in [&sql.retire, &sql.unjournal_retired] {
            let mut query = statement.query().bind(run.as_str());
            if std::ptr::eq(statement, &sql.retire) {
                query = query.bind(time_to_sql(SystemTime::now()));
            }
            query.execute(&mut *transaction).await.map_err(fail)?;
        }
        transaction.commit().await.map_err(fail)
    }

    async fn compensate(&self, run: &RunId, then: AfterCompensation) -> Result<i64, StoreError> {
        self.check_open(run)?;
        let fail = |error: sqlx::Error| self.fail(Some(run), &error);
        let mut transaction = self.inner.pool.begin().await.map_err(fail)?;
        let claimed = claim(
            &mut transaction,
            &self.inner.sql,
            &self.inner.worker,
            run,
            &["running", "completed", "compensating"],
        )
        .await
        .map_err(|error| self.claim_error(run, error))?;
        let Some(epoch) = claimed else {
            return Err(StoreError::RunFinished { run: run.clone() });
        };
        let then = run_outcome_to_sql(&then.into());
        let begun = self
            .inner
            .sql
            .compensate
            .query()
            .bind(run.as_str())
            .bind(then.bytes())
            .bind(then.codec().name())
            .execute(&mut *transaction)
            .await
            .map_err(fail)?;
        if begun.rows_affected() == 0 {
            let status: Option<String> = sqlx::query_scalar(self.inner.sql.status_of.text())
                .bind(run.as_str())
                .fetch_optional(&mut *transaction)
                .await
                .map_err(fail)?;
            if status.as_deref() == Some("completed") {
                // A top-level run that completed: the claim is rolled back.
                return Err(StoreError::RunFinished { run: run.clone() });
            }
        }
        transaction.commit().await.map_err(fail)?;
        Ok(epoch)
    }
}

impl Store for PgStore {
    fn worker(&self) -> &WorkerId {
        &self.inner.worker
    }

    fn create_run(&self, run: RunRecord) -> StoreFuture<'_, Arc<dyn RunWriter>> {
        Box::pin(async move {
            let id = run.id.clone();
            self.create(run).await?;
            Ok(self.journal_handle(id, Some(1)))
        })
    }

    fn open_run(
        &self,
        run: &RunId,
    ) -> StoreFuture<'_, Option<(RunRecord, Vec<StepRecord>, Arc<dyn RunWriter>)>> {
        let run = run.clone();
        Box::pin(async move {
            if let Some((record, epoch)) = self.fetch_own_run(&run).await? {
                let journal = self.fetch_journal(&run).await?;
                return Ok(Some((
                    record,
                    journal,
                    self.journal_handle(run, Some(epoch)),
                )));
            }
            let epoch = match self.claim_unfinished(&run).await {
                Ok(epoch) => epoch,
                Err(StoreError::UnknownRun { .. }) => return Ok(None),
                Err(error) => return Err(error),
            };
            // Read after the claim: nothing written before it is missed.
            let Some(record) = self.fetch_run(&run).await? else {
                return Ok(None);
            };
            let journal = self.fetch_journal(&run).await?;
            Ok(Some((record, journal, self.journal_handle(run, epoch))))
        })
    }

    fn run(&self, run: &RunId) -> StoreFuture<'_, Option<RunRecord>> {
        let run = run.clone();
        Box::pin(async move { self.fetch_run(&run).await })
    }

    fn journal(&self, run: &RunId) -> StoreFuture<'_, Vec<StepRecord>> {
        let run = run.clone();
        Box::pin(async move {
            let journal = self.fetch_journal(&run).await?;
            if journal.is_empty() && self.fetch_run(&run).await?.is_none() {
                return Err(StoreError::UnknownRun { run });
            }
            Ok(journal)
        })
    }

    fn send_signal(&self, run: &RunId, name: &str, payload: Value) -> StoreFuture<'_, ()> {
        let (run, name) = (run.clone(), name.to_owned());
        Box::pin(async move { self.signal(&run, &name, &payload).await })
    }

    fn receive_signal(
        &self,
        run: &RunId,
        name: &str,
        key: &StepKey,
    ) -> StoreFuture<'_, Option<Value>> {
        let (run, name, key) = (run.clone(), name.to_owned(), key.clone());
        Box::pin(async move { self.receive(&run, &name, &key).await })
    }

    fn request_cancel(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let run = run.clone();
        Box::pin(async move { self.ask_cancel(&run).await })
    }

    fn cancel_requests(&self) -> StoreFuture<'_, Vec<RunId>> {
        Box::pin(self.asked_to_cancel())
    }

    fn reopen_run(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let run = run.clone();
        Box::pin(async move { self.reopen(&run).await })
    }

    fn begin_compensation(
        &self,
        run: &RunId,
        then: AfterCompensation,
    ) -> StoreFuture<'_, Arc<dyn RunWriter>> {
        let run = run.clone();
        Box::pin(async move {
            let epoch = self.compensate(&run, then).await?;
            Ok(self.journal_handle(run, Some(epoch)))
        })
    }

    fn list_runs(&self, status: Option<RunStatus>) -> StoreFuture<'_, Vec<RunRecord>> {
        Box::pin(async move {
            match status {
                Some(status) => {
                    let status = status_to_sql(status);
                    let sql = &self.inner.sql.list_status;
                    self.read_all(None, sql, Some(status), run_from_row).await
                }
                None => {
                    let sql = &self.inner.sql.list_all;
                    self.read_all(None, sql, None, run_from_row).await
                }
            }
        })
    }

    fn children(&self, run: &RunId) -> StoreFuture<'_, Vec<RunRecord>> {
        let run = run.clone();
        Box::pin(async move {
            let sql = &self.inner.sql.children;
            self.read_all(Some(&run), sql, Some(run.as_str()), run_from_row)
                .await
        })
    }

    fn remove_run(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let run = run.clone();
        Box::pin(async move { retention::remove(self, &run).await })
    }

    fn apply_retention(&self, retention: &Retention, now: SystemTime) -> StoreFuture<'_, usize> {
        let retention = *retention;
        Box::pin(async move {
            if retention.keeps_all() {
                return Ok(0);
            }
            let expired = retention::expired(self, &retention, now).await?;
            let removals = expired
                .iter()
                .map(|id| RunId::new(id.as_str()))
                .collect::<Vec<_>>();
            let outcomes =
                futures::future::join_all(removals.iter().map(|run| retention::remove(self, run)))
                    .await;
            let mut removed = 0;
            for outcome in outcomes {
                match outcome {
                    Ok(()) => removed += 1,
                    // Reopened or removed since it was chosen: it stays.
                    Err(StoreError::NotRemovable { .. } | StoreError::UnknownRun { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(removed)
        })
    }

    fn enqueue_run(&self, run: RunRecord, options: &Enqueue) -> StoreFuture<'_, Enqueued> {
        let options = options.clone();
        Box::pin(async move { self.enqueue(run, &options).await })
    }

    fn claim_runs(&self, offer: &ClaimOffer) -> StoreFuture<'_, Claimed> {
        let offer = offer.clone();
        Box::pin(async move { self.claim_due(&offer).await })
    }

    fn fleet(&self) -> StoreFuture<'_, FleetStatus> {
        Box::pin(self.fleet_status())
    }

    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<Notice>> {
        self.inner
            .notify
            .as_ref()
            .map(tokio::sync::broadcast::Sender::subscribe)
    }

    fn lease_expiries(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(PgStore::lease_expiries(self))
    }

    fn watch_end(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let run = run.clone();
        Box::pin(async move {
            self.check_open(&run)?;
            if self.inner.notify.is_none() {
                return Ok(());
            }
            self.inner
                .sql
                .watch_end
                .query()
                .bind(run.as_str())
                .execute(&self.inner.pool)
                .await
                .map_err(|error| self.fail(Some(&run), &error))?;
            Ok(())
        })
    }

    fn resources(&self) -> Option<&dyn crate::store::FleetResources> {
        Some(self)
    }

    fn list_schedules(&self) -> StoreFuture<'_, Vec<crate::store::ScheduleRecord>> {
        Box::pin(self.schedule_rows(None))
    }

    fn schedule(&self, name: &str) -> StoreFuture<'_, Option<crate::store::ScheduleRecord>> {
        let name = name.to_owned();
        Box::pin(async move { Ok(self.schedule_rows(Some(&name)).await?.pop()) })
    }

    fn change_schedule(
        &self,
        name: &str,
        change: crate::store::ScheduleChange,
    ) -> StoreFuture<'_, Option<crate::store::ScheduleRecord>> {
        let name = name.to_owned();
        Box::pin(async move { self.change_schedule_row(&name, &change).await })
    }

    fn default_retention(&self) -> Retention {
        Self::default_retention()
    }
}
