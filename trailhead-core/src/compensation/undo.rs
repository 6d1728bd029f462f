//! The rollback: a run's journal read backwards, each compensation attempted
//! under its retry policy and journaled once it succeeded.

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt;
use tokio::time::Instant;
use tracing::Instrument;

use super::Compensation;
use crate::engine::panic_message;
use crate::step::retried::FailedAttempt;
use crate::store::{
    AfterCompensation, RunOutcome, RunState, RunStatus, RunWriter, StepOutcome, StepRecord, Value,
};
use crate::{Engine, Event, RetryPolicy, RunId, StepKey, StoreError};

/// Undoes runs of one engine.
#[derive(Debug)]
pub(crate) struct Rollback<'a> {
    pub(crate) engine: &'a Engine,
    /// A rollback resumed in another process: child runs may have been left
    /// compensating by a cancel (in one process, a run's children have all
    /// ended before it rolls back, so nothing needs looking for).
    pub(crate) resumed: bool,
}

/// Why a rollback stopped.
#[derive(Debug)]
pub(crate) enum RollbackFailed {
    /// The compensation of `step` failed for good with `error`.
    Compensation { step: StepKey, error: String },
    /// The store could not record the rollback; the run stays compensating.
    Store(StoreError),
}

impl From<StoreError> for RollbackFailed {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// A rollback that began: the journal to record the run's end through, and
/// whether every compensation ran.
pub(crate) struct Undone {
    pub(crate) journal: Arc<dyn RunWriter>,
    pub(crate) result: Result<(), RollbackFailed>,
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Rollback<'_> {
    /// Records `run` compensating, to end as `then`, and runs the
    /// compensations its journal does not show done yet, last completed step
    /// first. Returns the journal to record the run's end through; the run is
    /// not finished here.
    pub(crate) fn undo_run<'a>(
        &'a self,
        run: &'a RunId,
        workflow: &'a str,
        then: AfterCompensation,
        compensation: fn(&str) -> Option<Compensation>,
    ) -> Boxed<'a, Result<Undone, StoreError>> {
        Box::pin(async move {
            let journal = self
                .engine
                .store()
                .begin_compensation(run, then.clone())
                .await?;
            let result = self
                .undo_journal(run, workflow, &then, &*journal, compensation)
                .await;
            Ok(Undone { journal, result })
        })
    }

    async fn undo_journal(
        &self,
        run: &RunId,
        workflow: &str,
        then: &AfterCompensation,
        journal: &dyn RunWriter,
        compensation: fn(&str) -> Option<Compensation>,
    ) -> Result<(), RollbackFailed> {
        let records = self.engine.store().journal(run).await?;
        let done: HashSet<StepKey> = records
            .iter()
            .filter(|record| matches!(record.outcome, StepOutcome::Completed(_)))
            .filter_map(|record| record.key.undone())
            .collect();
        self.engine.events().emit(|| Event::RunCompensating {
            run: run.clone(),
            workflow: workflow.to_owned(),
            cause: then.cause().to_owned(),
        });
        if self.resumed {
            self.undo_stranded_children(run, &records, journal, compensation)
                .await?;
        }
        for record in records.iter().rev() {
            let StepOutcome::Completed(value) = &record.outcome else {
                continue; // failed, or a fallback's value: nothing took effect
            };
            if record.key.is_undo() || done.contains(&record.key) {
                continue;
            }
            match compensation(record.key.name()) {
                None => {}
                Some(Compensation::Step { retry, undo }) => {
                    let span = tracing::info_span!("compensation", run = %run, workflow, key = %record.key);
                    self.undo_step(run, journal, &record.key, value, retry, undo)
                        .instrument(span)
                        .await?;
                }
                Some(Compensation::Call {
                    compensates: false, ..
                }) => {}
                Some(Compensation::Call { compensation, .. }) => {
                    self.undo_child(run, journal, &record.key, compensation)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Undoes the child runs that were running when `run`'s process stopped
    /// and it was cancelled (left compensating): the latest work, so undone
    /// before the journal's steps.
    async fn undo_stranded_children(
        &self,
        run: &RunId,
        records: &[StepRecord],
        journal: &dyn RunWriter,
        compensation: fn(&str) -> Option<Compensation>,
    ) -> Result<(), RollbackFailed> {
        for child in self.engine.store().children(run).await? {
            if child.status() != RunStatus::Compensating {
                continue;
            }
            let key = child
                .id
                .as_str()
                .strip_prefix(run.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .and_then(|key| key.parse::<StepKey>().ok());
            // A call that completed is undone at its place in the journal.
            let completed = |key: &StepKey| {
                records.iter().any(|record| {
                    &record.key == key && matches!(record.outcome, StepOutcome::Completed(_))
                })
            };
            if let Some(key) = key
                && !completed(&key)
                && let Some(Compensation::Call { compensation, .. }) = compensation(key.name())
            {
                self.undo_child(run, journal, &key, compensation).await?;
            }
        }
        Ok(())
    }

    /// Attempts one step's compensation until it succeeds or its attempts
    /// run out; journals how it went.
    async fn undo_step(
        &self,
        run: &RunId,
        journal: &dyn RunWriter,
        key: &StepKey,
        value: &Value,
        retry: RetryPolicy,
        undo: fn(&Value) -> super::UndoFuture,
    ) -> Result<(), RollbackFailed> {
        let events = self.engine.events();
        let clock = self.engine.clock();
        let started = Instant::now();
        let mut delays = retry.backoff().delays();
        let mut failed: Vec<FailedAttempt> = Vec::new();
        let mut attempt = 1;
        // Live for the run's picture, while it runs.
        let live = self.engine.live_run(run);
        let watch = live.as_ref().map(|live| live.steps.watch_undo(key.undo()));
        loop {
            if !journal.holds_lease() {
                return Err(RollbackFailed::Store(crate::StoreError::LeaseLost {
                    run: run.clone(),
                    worker: self.engine.store().worker().clone(),
                }));
            }
            events.emit(|| Event::CompensationStarted {
                run: run.clone(),
                step: key.clone(),
                attempt,
            });
            if let Some(watch) = &watch {
                watch.started(attempt);
            }
            let began = Instant::now();
            let result = match AssertUnwindSafe(undo(value)).catch_unwind().await {
                Ok(result) => result,
                Err(payload) => Err(format!(
                    "the compensation panicked: {}",
                    panic_message(&*payload)
                )),
            };
            let ended = Instant::now();
            let error = match result {
                Ok(()) => {
                    journal
                        .record_step(StepRecord {
                            key: key.undo(),
                            outcome: StepOutcome::Completed(Value::unit()),
                            attempts: attempt,
                            started_at: clock.wall_time(started),
                            finished_at: clock.wall_time(ended),
                            retries: FailedAttempt::journaled(&failed, began, &clock),
                        })
                        .await?;
                    events.emit(|| Event::CompensationCompleted {
                        run: run.clone(),
                        step: key.clone(),
                        attempt,
                        duration: ended - began,
                    });
                    return Ok(());
                }
                Err(error) => error,
            };
            if attempt < retry.max_attempts() {
                let delay = delays.next().unwrap_or_default();
                tracing::debug!(key = %key, attempt, %error, ?delay, "compensation failed; retrying");
                if let Some(watch) = &watch {
                    watch.retrying(delay, error.clone());
                }
                events.emit(|| Event::CompensationRetrying {
                    run: run.clone(),
                    step: key.clone(),
                    attempt,
                    delay,
                    error: error.clone(),
                });
                failed.push(FailedAttempt {
                    began,
                    failed: ended,
                    error,
                });
                tokio::time::sleep(delay).await;
                attempt += 1;
                continue;
            }
            tracing::error!(key = %key, attempt, %error, "compensation failed for good");
            journal
                .record_step(StepRecord {
                    key: key.undo(),
                    outcome: StepOutcome::Failed(crate::store::FailedStep::from_message(
                        error.clone(),
                    )),
                    attempts: attempt,
                    started_at: clock.wall_time(started),
                    finished_at: clock.wall_time(ended),
                    retries: FailedAttempt::journaled(&failed, began, &clock),
                })
                .await?;
            events.emit(|| Event::CompensationFailed {
                run: run.clone(),
                step: key.clone(),
                attempt,
                error: error.clone(),
            });
            return Err(RollbackFailed::Compensation {
                step: key.clone(),
                error,
            });
        }
    }

    /// Undoes the child run a completed `call` at `key` started: its own
    /// steps, by its own compensations. The child then ends as it had (or as
    /// a failed compensation), and the call's undo is journaled here.
    async fn undo_child(
        &self,
        run: &RunId,
        journal: &dyn RunWriter,
        key: &StepKey,
        compensation: fn(&str) -> Option<Compensation>,
    ) -> Result<(), RollbackFailed> {
        let child = run.child(key);
        let Some(record) = self.engine.store().run(&child).await? else {
            return Ok(()); // a call replayed from a journal whose child is gone
        };
        let started = Instant::now();
        // A completed child ends compensated, its output kept; a resumed
        // rollback keeps the end recorded when it began.
        let then = match record.state {
            RunState::Ended {
                outcome: RunOutcome::Completed(output),
                ..
            } => AfterCompensation::Compensated {
                output,
                cause: format!("its parent run `{run}` was undone"),
            },
            RunState::Compensating(then) => then,
            // Undone already (a stop came before this run journaled it).
            RunState::Ended {
                outcome: RunOutcome::Compensated { .. },
                ..
            } => return self.child_undone(journal, key, started).await,
            RunState::Running | RunState::Ended { .. } => return Ok(()),
        };
        let Undone {
            journal: child_journal,
            result,
        } = self
            .undo_run(&child, &record.workflow, then.clone(), compensation)
            .await?;
        let ended = match &result {
            Ok(()) => then.into(),
            Err(RollbackFailed::Compensation { step, error }) => RunOutcome::CompensationFailed {
                step: step.clone(),
                error: error.clone(),
                cause: format!("its parent run `{run}` is being undone"),
            },
            Err(RollbackFailed::Store(_)) => return result,
        };
        child_journal.finish(ended).await?;
        if let Err(RollbackFailed::Compensation { step, error }) = result {
            return Err(RollbackFailed::Compensation {
                step: key.clone(),
                error: format!("child run `{child}`: compensation of `{step}` failed: {error}"),
            });
        }
        self.child_undone(journal, key, started).await
    }

    /// Journals the undo of the `call` at `key`, whose child run is undone.
    async fn child_undone(
        &self,
        journal: &dyn RunWriter,
        key: &StepKey,
        started: Instant,
    ) -> Result<(), RollbackFailed> {
        let clock = self.engine.clock();
        journal
            .record_step(StepRecord {
                key: key.undo(),
                outcome: StepOutcome::Completed(Value::unit()),
                attempts: 1,
                started_at: clock.wall_time(started),
                finished_at: clock.wall_time(Instant::now()),
                retries: Vec::new(),
            })
            .await?;
        Ok(())
    }
}
