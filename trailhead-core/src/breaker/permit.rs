//! What `admit` answers: a permit to make the call, or a rejection.

use std::fmt;
use std::time::Duration;

use super::BreakerTransition;
use super::machine::{Breaker, Verdict};

/// Leave to make one call through a [`Breaker`].
///
/// Report how the call ended with [`succeeded`](Self::succeeded) or
/// [`failed`](Self::failed). Dropping the permit without a verdict (the call
/// was cancelled) records nothing and, while half-open, gives the trial slot
/// back. A verdict given after the breaker changed state since the permit was
/// admitted is ignored (see [`Breaker`]'s generations).
#[must_use = "a permit records nothing until `succeeded` or `failed` is called"]
pub(crate) struct Permit<'a> {
    breaker: &'a Breaker,
    generation: u64,
    settled: bool,
}

impl<'a> Permit<'a> {
    pub(super) fn new(breaker: &'a Breaker, generation: u64) -> Self {
        Self {
            breaker,
            generation,
            settled: false,
        }
    }

    /// The call succeeded; while half-open, the last of the trials to succeed
    /// closes the breaker.
    #[must_use = "a transition should be reported"]
    pub(crate) fn succeeded(self) -> Option<BreakerTransition> {
        self.settle(Verdict::Succeeded)
    }

    /// The call failed: while closed it counts towards opening the breaker;
    /// while half-open it opens the breaker again.
    #[must_use = "a transition should be reported"]
    pub(crate) fn failed(self) -> Option<BreakerTransition> {
        self.settle(Verdict::Failed)
    }

    fn settle(mut self, verdict: Verdict) -> Option<BreakerTransition> {
        self.settled = true;
        self.breaker.settle(self.generation, verdict)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.breaker.release(self.generation);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name())
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A call the breaker did not let through: fail fast without making it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rejected {
    /// How long until the breaker half-opens, when it is open; `None` when it
    /// is half-open with all trial slots taken (a slot frees up when a trial
    /// is dropped or the trials decide).
    pub(crate) retry_after: Option<Duration>,
}
