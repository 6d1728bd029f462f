//! What a running step can know about itself: [`current_step`].

use std::fmt;

use crate::{RunId, StepKey};

/// The step attempt being run, as seen from inside the step's function.
///
/// Steps are at-least-once: after a crash, a step whose output was not
/// journaled runs again. Pass [`idempotency_key`](StepAttempt::idempotency_key)
/// to the external system (a payment API's idempotency header, say) so that
/// it can tell a repeat from a new request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepAttempt {
    /// The run.
    pub run: RunId,
    /// The step's key.
    pub step: StepKey,
    /// The attempt, from 1.
    pub attempt: u32,
}

impl StepAttempt {
    /// `"{run}/{step}/{attempt}"`: the same for the same attempt of the same
    /// step of the same run, in every process that runs it.
    pub fn idempotency_key(&self) -> String {
        self.to_string()
    }

    /// `"{run}/{step}"`: the same for every attempt, for systems where a retry
    /// must be recognised as the same request.
    pub fn step_key(&self) -> String {
        format!("{}/{}", self.run, self.step)
    }
}

impl fmt::Display for StepAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.run, self.step, self.attempt)
    }
}

tokio::task_local! {
    static CURRENT: StepAttempt;
}

std::thread_local! {
    static CURRENT_BLOCKING: std::cell::RefCell<Option<StepAttempt>> = const { std::cell::RefCell::new(None) };
}

/// The step attempt running now, when called from inside a step's function
/// (async or `blocking`); `None` elsewhere.
///
/// # Examples
///
/// ```
/// async fn charge(cents: u64) -> Result<String, std::io::Error> {
///     let attempt = trailhead_core::current_step().expect("called from a step");
///     // e.g. payments.charge(cents).idempotency_key(attempt.idempotency_key())
///     Ok(format!("{cents} charged as {}", attempt.idempotency_key()))
/// }
/// # drop(charge(1));
/// ```
pub fn current_step() -> Option<StepAttempt> {
    CURRENT
        .try_with(Clone::clone)
        .ok()
        .or_else(|| CURRENT_BLOCKING.with(|current| current.borrow().clone()))
}

/// Runs `future` with `attempt` as the current step.
pub(crate) async fn scoped<F: std::future::Future>(attempt: StepAttempt, future: F) -> F::Output {
    CURRENT.scope(attempt, future).await
}

/// Runs `f` on this (blocking) thread with `attempt` as the current step.
pub(crate) fn scoped_blocking<R>(attempt: Option<StepAttempt>, f: impl FnOnce() -> R) -> R {
    CURRENT_BLOCKING.with(|current| *current.borrow_mut() = attempt);
    let out = f();
    CURRENT_BLOCKING.with(|current| *current.borrow_mut() = None);
    out
}
