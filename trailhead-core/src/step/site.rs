//! The building blocks of one step execution: attempt, complete, retry, fail.

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt as _;
use tokio::time::Instant;
use tracing::Instrument;

use super::retried::FailedAttempt;
use super::{Journaled, StepResult};
use crate::key::KeyRef;
use crate::store::{FailedStep, StepOutcome, StepRecord};
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
    /// Where its attempts sit in the run's live table (for its picture).
    live: AtomicUsize,
    /// Set once the step completed or failed for good; a site dropped before
    /// that was cancelled.
    settled: AtomicBool,
    /// The step has a fallback: a failure it falls back from is not its
    /// journal entry (the fallback's value is).
    fallback: bool,
    /// The step is in a stream loop's body: nothing of it is journaled.
    streamed: bool,
}

impl Drop for StepSite<'_> {
    fn drop(&mut self) {
        self.ctx.step_ended();
        let attempt = *self.attempt.get_mut();
        let slot = *self.live.get_mut();
        if slot != crate::picture::NO_SLOT {
            self.ctx.live.steps.ended(slot);
        }
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
            live: AtomicUsize::new(crate::picture::NO_SLOT),
            settled: AtomicBool::new(false),
            fallback: false,
            streamed: false,
        }
    }

    /// A site for a step whose policy may have a fallback.
    pub(super) fn for_policy(ctx: &'a RunContext, key: KeyRef<'a>, policy: &StepPolicy) -> Self {
        let mut site = Self::new(ctx, key);
        site.fallback = policy.fallback;
        site
    }

    /// The same site for a step of a stream loop's body, when `streamed`:
    /// its outcome is not journaled.
    pub(super) fn streamed(mut self, streamed: bool) -> Self {
        self.streamed = streamed;
        self
    }

    /// Emits `StepStarted`; returns when the attempt began.
    pub(super) fn begin(&self, attempt: u32) -> Instant {
        self.attempt.store(attempt, Ordering::Relaxed);
        let slot = self.live.load(Ordering::Relaxed);
        if slot != crate::picture::NO_SLOT || self.ctx.engine.pictures_live() {
            let slot = self.ctx.live.steps.started(self.key, attempt, slot);
            self.live.store(slot, Ordering::Relaxed);
        }
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
    /// (waiting for one first), under the policy's timeout. A panic in the
    /// attempt is its failure ([`StepFailure::Panicked`]): it does not reach the
    /// run's task.
    ///
    /// The attempt's future is made here, by `make`, once a place is held: the
    /// step's own future then lives in one place in this state machine. A
    /// timeout's timer is boxed, so steps without one do not carry its room.
    ///
    /// With a circuit breaker, the attempt is made only if the breaker lets it
    /// through (else it fails at once with [`StepFailure::BreakerOpen`]), and
    /// its outcome is the breaker's to count.
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
        let Some(name) = policy.breaker else {
            return self.attempt_unguarded(attempt, policy, make).await;
        };
        let engine = &self.ctx.engine;
        let breaker = engine
            .breaker(name)
            .ok_or(StepFailure::UnknownBreaker(name))?;
        let (admitted, moved) = breaker.admit();
        self.breaker_moved(name, moved);
        let permit = admitted.map_err(|_| StepFailure::BreakerOpen(name))?;
        let result = self.attempt_unguarded(attempt, policy, make).await;
        let moved = match &result {
            Ok(_) => permit.succeeded(),
            Err(failure) if failure.trips_breaker() => permit.failed(),
            // Not the dependency's doing: no verdict.
            Err(_) => None,
        };
        self.breaker_moved(name, moved);
        result
    }

    /// Emits `BreakerChanged` for a move of breaker `name`, if there was one.
    fn breaker_moved(&self, name: &str, moved: Option<crate::BreakerTransition>) {
        if let Some(moved) = moved {
            tracing::info!(breaker = name, from = %moved.from, to = %moved.to, key = %self.key, "circuit breaker changed");
            self.ctx.engine.events().emit(|| Event::BreakerChanged {
                breaker: name.to_owned(),
                from: moved.from,
                to: moved.to,
                run: self.ctx.run.clone(),
                step: self.key.to_key(),
            });
        }
    }

    /// [`attempt`](Self::attempt) without the breaker: holding a place in
    /// the policy's resource, if it names one, until the attempt ends.
    async fn attempt_unguarded<F, Fut>(
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
        let Some(name) = policy.resource else {
            return self.attempt_in_place(attempt, policy, make).await;
        };
        // Boxed, as most steps name no resource.
        let held = Box::pin(super::place::Held::wait(self.ctx, name, &self.key.to_key())).await?;
        let result = self.attempt_in_place(attempt, policy, make).await;
        Box::pin(held.release()).await;
        result
    }

    /// One attempt, its place (if any) held.
    async fn attempt_in_place<F, Fut>(
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
        // Paused or cut off past the lease: another worker may run the
        // step now, so this one starts nothing.
        if !self.ctx.journal.holds_lease() {
            let worker = self.ctx.engine.store().worker().clone();
            let run = self.ctx.run.clone();
            let lost = crate::StoreError::LeaseLost { run, worker };
            return Box::pin(self.ctx.halt(lost)).await;
        }
        let current = super::current::StepAttempt {
            run: self.ctx.run.clone(),
            step: self.key.to_key(),
            attempt,
        };
        // A panic while making the future (a plain fn returning one) is the
        // attempt's failure too. Made here rather than in an async block
        // around it: that block would be one more state machine per attempt.
        let made = std::panic::catch_unwind(AssertUnwindSafe(make))
            .map_err(|payload| StepFailure::panicked(&*payload))?;
        let future = AssertUnwindSafe(super::current::scoped(current, made))
            .catch_unwind()
            .instrument(tracing::info_span!(
                "step",
                run = %self.ctx.run,
                workflow = self.ctx.workflow(),
                key = %self.key,
                // Signed: OpenTelemetry has no unsigned integers, and
                // `tracing-opentelemetry` would export a `u32` as text.
                attempt = i64::from(attempt)
            ));
        let caught = match policy.timeout {
            None => future.await,
            Some(limit) => Box::pin(tokio::time::timeout(limit, future))
                .await
                .map_err(|_| StepFailure::TimedOut(limit))?,
        };
        match caught {
            Ok(result) => result.into_result().map_err(StepFailure::Error),
            Err(payload) => Err(StepFailure::panicked(&*payload)),
        }
    }

    /// Journals the output and emits `StepCompleted`.
    pub(super) async fn complete<T: Journaled, E: Display>(
        &self,
        attempt: u32,
        began: Instant,
        output: T,
        retries: &[FailedAttempt],
    ) -> Result<T, StepError<E>> {
        self.settled.store(true, Ordering::Relaxed);
        let ended = Instant::now();
        if self.streamed {
            self.completed(attempt, began, ended);
            return Ok(output);
        }
        let encode = || {
            output.to_journal().map_err(|source| {
                StoreError::encode(
                    self.ctx.run.clone(),
                    Some(self.key.to_key()),
                    "output",
                    source,
                )
            })
        };
        let value = match encode() {
            Ok(value) => value,
            Err(error) => {
                let failure = StepFailure::Journal(error);
                return Err(Box::pin(self.fail_plain(attempt, began, failure, retries)).await);
            }
        };
        // Written at once when the store can (no future to box); encoded
        // again only if the store asks for another try.
        let record = self.record(
            attempt,
            StepOutcome::Completed(value),
            began,
            ended,
            retries,
        );
        let (first, mut handed_back) = match self.ctx.journal.record_step_now(record) {
            Ok(written) => (Some(written), None),
            Err(record) => (None, Some(record)),
        };
        // The store's own write (and its retries) is boxed: the step
        // future of every run would otherwise hold room for it, several
        // hundred bytes, where the in-memory store never takes this path
        // and a durable store allocates for the write anyway.
        let written = match first {
            Some(Ok(())) => Ok(()),
            first => {
                Box::pin(async move {
                    let write = || {
                        let record = handed_back.take().map_or_else(
                            || {
                                encode().map(|value| {
                                    let outcome = StepOutcome::Completed(value);
                                    self.record(attempt, outcome, began, ended, retries)
                                })
                            },
                            Ok,
                        );
                        async move { self.ctx.journal.record_step(record?).await }
                    };
                    match first {
                        Some(Err(error)) => self.ctx.write_journal_after(error, write).await,
                        _ => self.ctx.write_journal(write).await,
                    }
                })
                .await
            }
        };
        if let Err(error) = written {
            let failure = StepFailure::Journal(error);
            return Err(Box::pin(self.fail_plain(attempt, began, failure, retries)).await);
        }
        self.completed(attempt, began, ended);
        Ok(output)
    }

    /// The step completed at `ended`: the run progressed, `StepCompleted`.
    fn completed(&self, attempt: u32, began: Instant, ended: Instant) {
        self.ctx.live.progressed(ended);
        self.ctx.engine.events().emit(|| Event::StepCompleted {
            run: self.ctx.run.clone(),
            step: self.key.to_key(),
            attempt,
            duration: ended - began,
        });
    }

    /// Emits `StepRetrying` for attempt `attempt`, begun at `began`, that
    /// failed and will be retried after `delay`; returns what the step's
    /// entry keeps of it.
    pub(super) fn retrying<E: Display>(
        &self,
        attempt: u32,
        began: Instant,
        delay: Duration,
        failure: &StepFailure<E>,
    ) -> FailedAttempt {
        let failed = Instant::now();
        let error = failure.to_string();
        tracing::debug!(key = %self.key, attempt, ?delay, %error, "step attempt failed; retrying");
        let slot = self.live.load(Ordering::Relaxed);
        if slot != crate::picture::NO_SLOT {
            self.ctx.live.steps.retrying(slot, delay, error.clone());
        }
        self.ctx.engine.events().emit(|| Event::StepRetrying {
            run: self.ctx.run.clone(),
            step: self.key.to_key(),
            attempt,
            delay,
            error: error.clone(),
        });
        FailedAttempt {
            began,
            failed,
            error,
        }
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
        record: FailedStep,
        retries: &[FailedAttempt],
    ) -> StepError<E> {
        self.settled.store(true, Ordering::Relaxed);
        let ended = Instant::now();
        tracing::debug!(key = %self.key, attempt, %failure, "step failed");
        self.ctx.live.progressed(ended);
        // A failure the fallback takes over is journaled as the fallback's value.
        let journaled_elsewhere = self.streamed
            || matches!(failure, StepFailure::Journal(_))
            || (self.fallback && failure.falls_back());
        if !journaled_elsewhere {
            let written = self
                .ctx
                .write_journal(|| {
                    let outcome = StepOutcome::Failed(record.clone());
                    let record = self.record(attempt, outcome, began, ended, retries);
                    self.ctx.journal.record_step(record)
                })
                .await;
            if let Err(error) = written {
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
            began: Some(self.started),
        }
    }

    /// [`fail`](Self::fail) for a failure journaled by its text and fixed
    /// class alone (the step's own error is not journaled as a value).
    pub(super) async fn fail_plain<E: Display>(
        &self,
        attempt: u32,
        began: Instant,
        failure: StepFailure<E>,
        retries: &[FailedAttempt],
    ) -> StepError<E> {
        let record = failure.to_record(failure.class(|_| crate::ErrorClass::Permanent), |_| None);
        self.fail(attempt, began, failure, record, retries).await
    }

    /// The entry of the step's last attempt, `attempts`, which began at
    /// `began` and ended at `ended` with `outcome`, after the failed
    /// attempts `retries`.
    fn record(
        &self,
        attempts: u32,
        outcome: StepOutcome,
        began: Instant,
        ended: Instant,
        retries: &[FailedAttempt],
    ) -> StepRecord {
        let clock = &self.ctx.clock;
        StepRecord {
            key: self.key.to_key(),
            outcome,
            attempts,
            started_at: clock.wall_time(self.started),
            finished_at: clock.wall_time(ended),
            retries: FailedAttempt::journaled(retries, began, clock),
        }
    }
}
