//! The [`Store`] trait for [`SqliteStore`]: reads on the store's read
//! connection, writes sent to the writer thread, and each run's
//! [`RunWriter`].

use std::sync::Arc;
use std::time::SystemTime;

use super::rows::{RUN_COLUMNS, run_from_row, status_to_sql};
use super::writer::{Answer, Write, Writer};
use super::{SqliteStore, retention};
use crate::store::{
    AfterCompensation, ClaimOffer, Claimed, Enqueue, Enqueued, FleetStatus, Retention, RunOutcome,
    RunRecord, RunStatus, RunWriter, ScheduleChange, ScheduleRecord, StepRecord, Store,
    StoreFuture, Value, WorkerId,
};
use crate::{RunId, StepKey, StoreError};

impl Store for SqliteStore {
    fn worker(&self) -> &WorkerId {
        &self.inner.worker
    }

    fn list_schedules(&self) -> StoreFuture<'_, Vec<ScheduleRecord>> {
        Box::pin(self.schedule_rows(None))
    }

    fn schedule(&self, name: &str) -> StoreFuture<'_, Option<ScheduleRecord>> {
        let name = name.to_owned();
        Box::pin(async move { Ok(self.schedule_rows(Some(name)).await?.pop()) })
    }

    fn change_schedule(
        &self,
        name: &str,
        change: ScheduleChange,
    ) -> StoreFuture<'_, Option<ScheduleRecord>> {
        let name = name.to_owned();
        Box::pin(async move { self.change_schedule_row(&name, change).await })
    }

    fn create_run(&self, run: RunRecord) -> StoreFuture<'_, Arc<dyn RunWriter>> {
        Box::pin(async move {
            let id = run.id.clone();
            let epoch = self.claim(Write::CreateRun(run)).await?;
            self.journal_handle(id, epoch)
        })
    }

    fn open_run(
        &self,
        run: &RunId,
    ) -> StoreFuture<'_, Option<(RunRecord, Vec<StepRecord>, Arc<dyn RunWriter>)>> {
        let run = run.clone();
        Box::pin(async move {
            let epoch = match self.claim(Write::Claim { run: run.clone() }).await {
                Ok(epoch) => epoch,
                Err(StoreError::UnknownRun { .. }) => return Ok(None),
                Err(error) => return Err(error),
            };
            // Read after the claim: nothing written before it is missed.
            let Some(record) = self.fetch_run(&run).await? else {
                return Ok(None);
            };
            let journal = self.fetch_journal(&run).await?;
            Ok(Some((record, journal, self.journal_handle(run, epoch)?)))
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
            // An empty journal may be a run's that has no steps yet, or no run.
            if journal.is_empty() && self.fetch_run(&run).await?.is_none() {
                return Err(StoreError::UnknownRun { run });
            }
            Ok(journal)
        })
    }

    fn send_signal(&self, run: &RunId, name: &str, payload: Value) -> StoreFuture<'_, ()> {
        let write = Write::Signal {
            run: run.clone(),
            name: name.to_owned(),
            payload,
        };
        Box::pin(async move { self.write(write).await.map(drop) })
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
        Box::pin(async move {
            match self.write(write).await? {
                Answer::Signal(payload) => Ok(payload),
                other => unreachable!("a receive answers with a signal, not {other:?}"),
            }
        })
    }

    fn request_cancel(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let write = Write::RequestCancel {
            run: run.clone(),
            at: SystemTime::now(),
        };
        Box::pin(async move { self.write(write).await.map(drop) })
    }

    fn cancel_requests(&self) -> StoreFuture<'_, Vec<RunId>> {
        let sql = "SELECT id FROM runs
                   WHERE lease_owner = ?1 AND cancel_requested_at IS NOT NULL AND status = 'running'"
            .to_owned();
        let params = vec![self.worker().as_str().to_owned()];
        Box::pin(self.read_all(None, sql, params, |row| {
            Ok(Ok(RunId::new(row.get::<_, String>(0)?)))
        }))
    }

    fn reopen_run(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let write = Write::Reopen {
            run: run.clone(),
            at: SystemTime::now(),
        };
        Box::pin(async move { self.write(write).await.map(drop) })
    }

    fn begin_compensation(
        &self,
        run: &RunId,
        then: AfterCompensation,
    ) -> StoreFuture<'_, Arc<dyn RunWriter>> {
        let run = run.clone();
        Box::pin(async move {
            let write = Write::BeginCompensation {
                run: run.clone(),
                then,
            };
            let epoch = self.claim(write).await?;
            self.journal_handle(run, epoch)
        })
    }

    fn list_runs(&self, status: Option<RunStatus>) -> StoreFuture<'_, Vec<RunRecord>> {
        let (filter, params) = match status {
            Some(status) => ("WHERE status = ?1", vec![status_to_sql(status).to_owned()]),
            None => ("", Vec::new()),
        };
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs {filter} ORDER BY created_at, id");
        Box::pin(self.read_all(None, sql, params, run_from_row))
    }

    fn children(&self, run: &RunId) -> StoreFuture<'_, Vec<RunRecord>> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs WHERE parent = ?1 ORDER BY created_at, id");
        let params = vec![run.as_str().to_owned()];
        Box::pin(self.read_all(Some(run.clone()), sql, params, run_from_row))
    }

    fn remove_run(&self, run: &RunId) -> StoreFuture<'_, ()> {
        let write = Write::Remove { run: run.clone() };
        Box::pin(async move { self.write(write).await.map(drop) })
    }

    fn apply_retention(&self, retention: &Retention, now: SystemTime) -> StoreFuture<'_, usize> {
        let retention = *retention;
        Box::pin(async move {
            if retention.keeps_all() {
                return Ok(0);
            }
            let expired = self
                .read(None, move |connection| {
                    retention::expired(connection, &retention, now)
                })
                .await?;
            // One write per run, committed together by the writer's batching.
            let removals = expired.into_iter().map(|id| {
                self.write(Write::Remove {
                    run: RunId::new(id),
                })
            });
            let mut removed = 0;
            for outcome in futures::future::join_all(removals).await {
                match outcome {
                    Ok(_) => removed += 1,
                    // Reopened or removed since it was chosen: it stays.
                    Err(StoreError::NotRemovable { .. } | StoreError::UnknownRun { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(removed)
        })
    }

    fn default_retention(&self) -> Retention {
        Retention::durable()
    }

    fn enqueue_run(&self, run: RunRecord, options: &Enqueue) -> StoreFuture<'_, Enqueued> {
        let write = Write::Enqueue {
            record: run,
            options: options.clone(),
            at: SystemTime::now(),
        };
        Box::pin(async move {
            match self.write(write).await? {
                Answer::Enqueued(enqueued) => Ok(enqueued),
                other => unreachable!("an enqueue answers with what it did, not {other:?}"),
            }
        })
    }

    fn fleet(&self) -> StoreFuture<'_, FleetStatus> {
        Box::pin(async move {
            match self.write(Write::Fleet).await? {
                Answer::Fleet(status) => Ok(status),
                other => unreachable!("a fleet read answers with the fleet, not {other:?}"),
            }
        })
    }

    fn claim_runs(&self, offer: &ClaimOffer) -> StoreFuture<'_, Claimed> {
        let write = Write::ClaimDue {
            offer: offer.clone(),
            now: SystemTime::now(),
        };
        Box::pin(async move {
            let (ids, next_due) = match self.write(write).await? {
                Answer::ClaimedDue(ids, next) => (ids, next),
                other => unreachable!("a claim of due runs answers with them, not {other:?}"),
            };
            let mut claimed = Claimed {
                runs: Vec::with_capacity(ids.len()),
                next_due,
            };
            for id in ids {
                if let Some(record) = self.fetch_run(&id).await? {
                    claimed.runs.push(record);
                }
            }
            Ok(claimed)
        })
    }
}

/// One run's journal in a [`SqliteStore`]: writes go through the writer thread.
#[derive(Debug)]
pub(super) struct SqliteRunWriter {
    pub(super) run: RunId,
    /// The lease epoch every write is fenced by.
    pub(super) epoch: i64,
    pub(super) writer: Arc<Writer>,
}

impl RunWriter for SqliteRunWriter {
    fn record_step(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        let write = Write::Step {
            run: self.run.clone(),
            epoch: self.epoch,
            record,
        };
        Box::pin(async move { self.writer.write(write).await.map(drop) })
    }

    fn record_checkpoint(&self, record: StepRecord) -> StoreFuture<'_, ()> {
        let write = Write::Checkpoint {
            run: self.run.clone(),
            epoch: self.epoch,
            record,
        };
        Box::pin(async move { self.writer.write(write).await.map(drop) })
    }

    fn continue_as_new(&self, input: Value, marker: StepRecord) -> StoreFuture<'_, ()> {
        let write = Write::ContinueAsNew {
            run: self.run.clone(),
            epoch: self.epoch,
            input,
            marker,
        };
        Box::pin(async move { self.writer.write(write).await.map(drop) })
    }

    fn release(&self, wake_at: Option<SystemTime>) -> StoreFuture<'_, ()> {
        let write = Write::Release {
            run: self.run.clone(),
            epoch: self.epoch,
            wake_at: wake_at.unwrap_or_else(SystemTime::now),
        };
        Box::pin(async move { self.writer.write(write).await.map(drop) })
    }

    fn finish(&self, outcome: RunOutcome) -> StoreFuture<'_, ()> {
        let write = Write::Finish {
            run: self.run.clone(),
            epoch: self.epoch,
            outcome,
            at: SystemTime::now(),
        };
        Box::pin(async move { self.writer.write(write).await.map(drop) })
    }
}
