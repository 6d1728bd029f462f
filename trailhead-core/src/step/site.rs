//! The building blocks of one step execution: attempt, complete, retry, fail.

use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use crate::__private::Journaled;
use tokio::time::Instant;
use tracing::Instrument;

use crate::__private::StepResult;
use crate::key::KeyRef;
use crate::store::{StepOutcome, StepRecord};
use crate::{Event, RunContext, StepError, StepFailure, StepPolicy, StoreError};

/// The output type of a step whose attempts are futures of type `Fut`.
type Output<Fut> = <<Fut as Future>::Output as StepResult>::Ok;
/// The error type of a step whose attempts are futures of type `Fut`.
type Failure<Fut> = <<Fut as Future>::Output as StepResult>::Err;

/// One execution of a step that was not replayed.
///
/// The clock is read once when an attempt begins and once when it ends; both
/// the journal's timestamps and the events' durations come from those reads.
pub(super) struct StepSite<'a> {
    ctx: &'a RunContext,
    key: KeyRef<'a>,
    /// When the first attempt began.
    started: Instant,
    /// The attempt running (0 before the first).
    attempt: AtomicU32,
    /// Set once the step completed or failed for good; a site dropped before
    /// that was cancelled.
    settled: AtomicBool,
}

impl Drop for StepSite<'_> {
    fn drop(&mut self) {
        self.ctx.step_ended();
        let attempt = *self.attempt.get_mut();
        if attempt > 0 && !*self.settled.get_mut() {
            self.ctx.engine.events().emit(|| Event::StepCancelled {
                run: self.ctx.run.clone(),
                step: self.key.to_key(),
                attempt,
            });
        }
    }
}

impl<'a> StepSite<'a> {
    pub(super) fn new(ctx: &'a RunContext, key: KeyRef<'a>) -> Self {
        ctx.step_began();
        Self {
            ctx,
            key,
            started: Instant::now(),
            attempt: AtomicU32::new(0),
            settled: AtomicBool::new(false),
        }
    }

    /// Emits `StepStarted`; returns when the attempt began.
    pub(super) fn begin(&self, attempt: u32) -> Instant {
        self.attempt.store(attempt, Ordering::Relaxed);
        self.ctx.engine.events().emit(|| Event::StepStarted {
            run: self.ctx.run.clone(),
            step: self.key.to_key(),
            attempt,
        });
        if attempt == 1 {
            self.started
        } else {
            Instant::now()
        }
    }

    /// Runs one attempt in its span: holding a place in the policy's resource
    /// (waiting for one first), under the policy's timeout.
    ///
    /// The attempt's future is made here, by `make`, once a place is held: the
    /// step's own future then lives in one place in this state machine. A
    /// timeout's timer is boxed, so steps without one do not carry its room.
    pub(super) async fn attempt<F, Fut>(
        &self,
        attempt: u32,
        policy: &StepPolicy,
        make: F,
    ) -> Result<Output<Fut>, StepFailure<Failure<Fut>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future,
        Fut::Output: StepResult,
    {
        let _place = match policy.resource {
            None => None,
            Some(name) => {
                let limit = self
                    .ctx
                    .engine
                    .resource(name)
                    .ok_or(StepFailure::UnknownResource(name))?;
                Some(
                    limit
                        .acquire()
                        .await
                        .expect("resource semaphores are never closed"),
                )
            }
        };
        let current = super::current::StepAttempt {
            run: self.ctx.run.clone(),
            step: self.key.to_key(),
            attempt,
        };
        let future = super::current::scoped(current, make())
            .instrument(tracing::info_span!("step", key = %self.key, attempt));
        let result = match policy.timeout {
            None => future.await,
            Some(limit) => Box::pin(tokio::time::timeout(limit, future))
                .await
                .map_err(|_| StepFailure::TimedOut(limit))?,
        };
        result.into_result().map_err(StepFailure::Error)
    }

    /// Journals the output and emits `StepCompleted`.
    pub(super) async fn complete<T: Journaled, E: Display>(
        &self,
        attempt: u32,
        began: Instant,
        output: T,
    ) -> Result<T, StepError<E>> {
        self.settled.store(true, Ordering::Relaxed);
        let ended = Instant::now();
        let value = match output.to_journal() {
            Ok(value) => value,
            Err(source) => {
                let failure = StepFailure::Journal(StoreError::Encode {
                    run: self.ctx.run.clone(),
                    step: self.key.to_key(),
                    what: "output",
                    source,
                });
                return Err(self.fail(attempt, began, failure).await);
            }
        };
        let record = self.record(attempt, StepOutcome::Completed(value), ended);
        if let Err(error) = self.ctx.journal.record_step(record).await {
            return Err(self.fail(attempt, began, StepFailure::Journal(error)).await);
        }
        self.ctx.engine.events().emit(|| Event::StepCompleted {
            run: self.ctx.run.clone(),
            step: self.key.to_key(),
            attempt,
            duration: ended - began,
        });
        Ok(output)
    }

    /// Emits `StepRetrying` for a failed attempt that will be retried.
    pub(super) fn retrying<E: Display>(
        &self,
        attempt: u32,
        delay: Duration,
        failure: &StepFailure<E>,
    ) {
        tracing::debug!(key = %self.key, attempt, ?delay, %failure, "step attempt failed; retrying");
        self.ctx.engine.events().emit(|| Event::StepRetrying {
            run: self.ctx.run.clone(),
            step: self.key.to_key(),
            attempt,
            delay,
            error: failure.to_string(),
        });
    }

    /// Journals the step as failed (unless the journal is what failed), emits
    /// `StepFailed`, and makes the error.
    ///
    /// If the failure cannot be journaled, the step's own failure is still the
    /// one returned (the store error is logged): the step runs again on resume.
    pub(super) async fn fail<E: Display>(
        &self,
        attempt: u32,
        began: Instant,
        failure: StepFailure<E>,
    ) -> StepError<E> {
        self.settled.store(true, Ordering::Relaxed);
        let ended = Instant::now();
        tracing::debug!(key = %self.key, attempt, %failure, "step failed");
        if !matches!(failure, StepFailure::Journal(_)) {
            let record = self.record(attempt, StepOutcome::Failed(failure.to_string()), ended);
            if let Err(error) = self.ctx.journal.record_step(record).await {
                tracing::error!(key = %self.key, %error, "could not journal the step's failure");
            }
        }
        self.ctx.engine.events().emit(|| Event::StepFailed {
            run: self.ctx.run.clone(),
            step: self.key.to_key(),
            attempt,
            duration: ended - began,
            error: failure.to_string(),
        });
        StepError {
            run: self.ctx.run.clone(),
            step: self.key.to_key(),
            attempts: attempt,
            failure,
        }
    }

    fn record(&self, attempts: u32, outcome: StepOutcome, ended: Instant) -> StepRecord {
        StepRecord {
            key: self.key.to_key(),
            outcome,
            attempts,
            started_at: self.ctx.clock.wall_time(self.started),
            finished_at: self.ctx.clock.wall_time(ended),
        }
    }
}
