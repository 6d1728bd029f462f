//! Step execution: replay, attempts, timeouts, journaling, events and spans.
//!
//! Every step runs the same way. If the run's journal already has the step's
//! output (a resumed run), that output is returned without running the step.
//! Otherwise the step is attempted, each attempt in a `step` tracing span and
//! under the policy's timeout, and retried after the backoff's delay while
//! attempts are left and the failure is transient ([`crate::ErrorClass`]). A
//! panic in an attempt is a failure like any other
//! ([`StepFailure::Panicked`], permanent). The output is journaled before the
//! step returns; a step that gives up is journaled as failed.
//!
//! The hot path builds no event without a subscriber, takes no store-wide lock,
//! reads the clock twice, and allocates only the step key (when it has loop
//! indices), the encoded value, the journal entry and the store's boxed future.

mod blocking;
mod call;
pub(crate) mod current;
mod fallback;
mod journaled;
pub(crate) mod place;
pub(crate) mod retried;
pub(crate) mod signal;
mod site;
pub(crate) mod sleep;
mod spec;

use std::cell::Cell;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use crate::key::KeyRef;
use crate::store::{FailedStep, FailureCause};
use crate::{ErrorClass, Event, RunContext, StepError, StepFailure, StepKey, StoreError};
use site::StepSite;

pub use journaled::{Journaled, StepResult};
pub use spec::StepSpec;

impl RunContext {
    /// Runs step `step`: each attempt is a call of `f`.
    ///
    /// A failed attempt is retried when attempts are left and the failure is
    /// [transient](crate::ErrorClass::Transient): for the step's own error,
    /// when `retry_if` says so; for the rest, as [`StepFailure::class`] says
    /// (a timeout is retried, a panic is not). `f` comes before `retry_if` so
    /// that a closure passed as `retry_if` has its argument type inferred.
    #[doc(hidden)]
    pub async fn step<F, Fut, P, C, D>(
        &self,
        step: StepSpec<'_>,
        mut f: F,
        retry_if: P,
        encode_error: C,
        decode_error: D,
    ) -> Result<<Fut::Output as StepResult>::Ok, StepError<<Fut::Output as StepResult>::Err>>
    where
        F: FnMut() -> Fut,
        Fut: Future,
        Fut::Output: StepResult,
        <Fut::Output as StepResult>::Ok: Journaled,
        <Fut::Output as StepResult>::Err: Display,
        P: Fn(&<Fut::Output as StepResult>::Err) -> bool,
        C: Fn(&<Fut::Output as StepResult>::Err) -> Option<crate::store::Value>,
        D: Fn(&crate::store::Value, &Cell<Option<<Fut::Output as StepResult>::Err>>),
    {
        let (key, policy) = (step.key(), &step.policy);
        if let Some(output) = self.journaled_step(&step, &decode_error).await? {
            return Ok(output);
        }
        let gate = self
            .engine
            .debugger()
            .and_then(crate::debug::Debugger::gate);
        if let Some(gate) = &gate {
            Box::pin(gate.before(self, key, step.arguments)).await;
        }
        let site = StepSite::for_policy(self, key, policy).streamed(step.streamed);
        let stub = self.stub(key);
        let mut delays = None;
        let mut retries = Vec::new();
        let mut attempt = 1;
        let result = loop {
            let began = site.begin(attempt);
            let outcome = match &stub {
                Some(stub) => stub.attempt(key, attempt, &decode_error),
                None => site.attempt(attempt, policy, &mut f).await,
            };
            let delay = match outcome {
                Ok(output) => break site.complete(attempt, began, output, &retries).await,
                Err(failure) => {
                    let class = failure.class(|error| {
                        if retry_if(error) {
                            ErrorClass::Transient
                        } else {
                            ErrorClass::Permanent
                        }
                    });
                    if !class.is_transient() || attempt >= policy.retry.max_attempts() {
                        let record = failure.to_record(class, &encode_error);
                        break Err(
                            Box::pin(site.fail(attempt, began, failure, record, &retries)).await,
                        );
                    }
                    let delay = delays
                        .get_or_insert_with(|| policy.retry.backoff().delays())
                        .next()
                        .unwrap_or_default();
                    retries.push(site.retrying(attempt, began, delay, &failure));
                    delay
                }
            };
            Box::pin(tokio::time::sleep(delay)).await;
            attempt += 1;
        };
        if let Some(gate) = &gate {
            Box::pin(gate.after(self, key, result.is_err(), || settled(&result))).await;
        }
        result
    }

    /// Runs step `step` once: `f` may move its arguments. `policy.retry` is
    /// ignored; the timeout applies.
    ///
    /// `classify` gives the class of the step's own error, journaled with a
    /// failure; `encode_error` and `decode_error` journal that error and read
    /// it back (when its type allows).
    #[doc(hidden)]
    pub async fn step_once<F, Fut, K, C, D>(
        &self,
        step: StepSpec<'_>,
        f: F,
        classify: K,
        encode_error: C,
        decode_error: D,
    ) -> Result<<Fut::Output as StepResult>::Ok, StepError<<Fut::Output as StepResult>::Err>>
    where
        F: FnOnce() -> Fut,
        Fut: Future,
        Fut::Output: StepResult,
        <Fut::Output as StepResult>::Ok: Journaled,
        <Fut::Output as StepResult>::Err: Display,
        K: Fn(&<Fut::Output as StepResult>::Err) -> ErrorClass,
        C: Fn(&<Fut::Output as StepResult>::Err) -> Option<crate::store::Value>,
        D: Fn(&crate::store::Value, &Cell<Option<<Fut::Output as StepResult>::Err>>),
    {
        let (key, policy) = (step.key(), &step.policy);
        if let Some(output) = self.journaled_step(&step, &decode_error).await? {
            return Ok(output);
        }
        let gate = self
            .engine
            .debugger()
            .and_then(crate::debug::Debugger::gate);
        if let Some(gate) = &gate {
            Box::pin(gate.before(self, key, step.arguments)).await;
        }
        let site = StepSite::for_policy(self, key, policy).streamed(step.streamed);
        let began = site.begin(1);
        let outcome = match self.stub(key) {
            Some(stub) => stub.attempt(key, 1, &decode_error),
            None => site.attempt(1, policy, f).await,
        };
        let result = match outcome {
            Ok(output) => site.complete(1, began, output, &[]).await,
            Err(failure) => {
                let record = failure.to_record(failure.class(&classify), &encode_error);
                Err(Box::pin(site.fail(1, began, failure, record, &[])).await)
            }
        };
        if let Some(gate) = &gate {
            Box::pin(gate.after(self, key, result.is_err(), || settled(&result))).await;
        }
        result
    }

    /// The test kit's stub on step `key`, if a test put one there.
    #[cfg(feature = "testing")]
    fn stub(&self, key: KeyRef<'_>) -> Option<crate::testing::ActiveStub> {
        let workflow = self.workflow();
        self.engine
            .stubs()?
            .find(workflow, key, || self.engine.graph_of(workflow))
    }

    /// Without the test kit, no step is stubbed.
    #[cfg(not(feature = "testing"))]
    #[allow(clippy::unused_self)]
    fn stub(&self, _key: KeyRef<'_>) -> Option<NoStub> {
        None
    }

    /// The failure of a sleep or signal site whose journal entry could not be
    /// written or read back.
    fn journal_failure(
        &self,
        key: KeyRef<'_>,
        error: StoreError,
    ) -> StepError<std::convert::Infallible> {
        StepError {
            run: self.run.clone(),
            step: key.to_key(),
            attempts: 1,
            failure: StepFailure::Journal(error),
            began: None,
        }
    }

    /// The journaled output of `step`, if the run is resumed or replayed
    /// and the step is not a stream loop's (whose checkpoint is the loop's).
    ///
    /// The paths most steps never take (this one, the debugger's gates, a
    /// failure, the wait before a retry) are awaited boxed by the step
    /// path: inline, each would add its own state to the future of every
    /// step of every run.
    async fn journaled_step<T: Journaled, E: Display>(
        &self,
        step: &StepSpec<'_>,
        decode_error: impl Fn(&crate::store::Value, &Cell<Option<E>>),
    ) -> Result<Option<T>, StepError<E>> {
        if step.streamed || !self.may_replay() {
            return Ok(None);
        }
        Box::pin(self.journaled(step.key(), decode_error)).await
    }

    /// Whether a step may find its outcome journaled already, or is
    /// replayed against the journal: when not (a new run), the step path
    /// does not look.
    #[inline]
    fn may_replay(&self) -> bool {
        !self.replay.is_empty() || !self.failed.is_empty() || self.check.is_some()
    }

    /// The journaled output of step `key`, if this run is resumed and has
    /// one; for a run being replayed, what the check makes of it (nothing
    /// runs: a key the journal lacks goes no further).
    #[allow(clippy::result_large_err)]
    async fn journaled<T: Journaled, E: Display>(
        &self,
        key: KeyRef<'_>,
        decode_error: impl Fn(&crate::store::Value, &Cell<Option<E>>),
    ) -> Result<Option<T>, StepError<E>> {
        let found = self.replayed(key, decode_error);
        if let Some(check) = &self.check {
            match &found {
                Ok(None) => check.missing(key).await,
                Err(StepError {
                    failure: StepFailure::Journal(error),
                    ..
                }) => check.undecodable(key, error.to_string()).await,
                Ok(Some(_)) | Err(_) => check.replayed(key).await,
            }
        }
        found
    }

    /// The journaled output of step `key`, if this run is resumed and has one.
    // The error is the one the public step methods return (spec'd shape); the
    // path that builds it is cold.
    ///
    /// A step journaled as failed replays as that failure, without running:
    /// its own error read back by `decode_error` when the journal has it,
    /// else [`StepFailure::FailedBefore`] (see [`crate::store::FailedStep`]).
    #[allow(clippy::result_large_err)]
    fn replayed<T: Journaled, E: Display>(
        &self,
        key: KeyRef<'_>,
        decode_error: impl Fn(&crate::store::Value, &Cell<Option<E>>),
    ) -> Result<Option<T>, StepError<E>> {
        if self.replay.is_empty() && self.failed.is_empty() {
            return Ok(None);
        }
        let key = key.to_key();
        if let Some((attempts, failed)) = self.failed.get(&key) {
            return Err(self.replay_failure(key, *attempts, failed, decode_error));
        }
        let Some(value) = self.replay.get(&key) else {
            return Ok(None);
        };
        match T::from_journal(value) {
            Ok(output) => {
                if self.engine.pictures_live() {
                    self.live.steps.replayed(&key);
                }
                self.engine.events().emit(|| Event::StepReplayed {
                    run: self.run.clone(),
                    step: key,
                });
                Ok(Some(output))
            }
            Err(source) => {
                let failure = StepFailure::Journal(StoreError::decode(
                    self.run.clone(),
                    Some(key.clone()),
                    "output",
                    source,
                ));
                self.engine.events().emit(|| Event::StepFailed {
                    run: self.run.clone(),
                    step: key.clone(),
                    attempt: 0,
                    duration: Duration::ZERO,
                    error: failure.to_string(),
                });
                Err(StepError {
                    run: self.run.clone(),
                    step: key,
                    attempts: 0,
                    failure,
                    began: None,
                })
            }
        }
    }
}

impl RunContext {
    /// The journaled failure of step `key`, given back as its `StepError`.
    fn replay_failure<E>(
        &self,
        key: StepKey,
        attempts: u32,
        failed: &FailedStep,
        decode_error: impl Fn(&crate::store::Value, &Cell<Option<E>>),
    ) -> StepError<E> {
        let failure = match &failed.cause {
            FailureCause::Error(Some(value)) => {
                let slot = Cell::new(None);
                decode_error(value, &slot);
                slot.into_inner().map(StepFailure::Error)
            }
            FailureCause::TimedOut(after) => Some(StepFailure::TimedOut(*after)),
            FailureCause::Panicked(message) => Some(StepFailure::Panicked(message.clone())),
            _ => None,
        }
        .unwrap_or_else(|| StepFailure::FailedBefore {
            message: failed.message.clone(),
            class: failed.class,
        });
        if self.engine.pictures_live() {
            self.live.steps.replayed(&key);
        }
        self.engine.events().emit(|| Event::StepReplayed {
            run: self.run.clone(),
            step: key.clone(),
        });
        StepError {
            run: self.run.clone(),
            step: key,
            attempts,
            failure,
            began: None,
        }
    }
}

/// A settled step as the debugger shows it: its output's journal text, or
/// its failure's text.
fn settled<T: Journaled, E: Display>(result: &Result<T, StepError<E>>) -> Result<String, String> {
    match result {
        Ok(output) => Ok(output.to_journal().map_or_else(
            |error| format!("(not encodable: {error})"),
            |value| value.to_string(),
        )),
        Err(error) => Err(error.failure.to_string()),
    }
}

/// Without the test kit there are no stubs: this type has no values.
#[cfg(not(feature = "testing"))]
enum NoStub {}

#[cfg(not(feature = "testing"))]
impl NoStub {
    #[allow(clippy::unused_self)]
    fn attempt<T, E>(
        &self,
        _key: KeyRef<'_>,
        _attempt: u32,
        _decode_error: impl Fn(&crate::store::Value, &Cell<Option<E>>),
    ) -> Result<T, StepFailure<E>> {
        match *self {}
    }
}

#[cfg(test)]
mod tests;
