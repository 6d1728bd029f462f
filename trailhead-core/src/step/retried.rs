//! The failed attempts of a step or a compensation that was retried, kept
//! on the engine's clock until its entry is journaled with them
//! ([`Retry`]).

use tokio::time::Instant;

use crate::engine::context::RunClock;
use crate::store::Retry;

/// An attempt that failed and was retried.
#[derive(Debug)]
pub(crate) struct FailedAttempt {
    /// When it began.
    pub(crate) began: Instant,
    /// When it failed.
    pub(crate) failed: Instant,
    /// Why.
    pub(crate) error: String,
}

impl FailedAttempt {
    /// What the journal keeps of `failed`, the failed attempts before the
    /// last one, which began at `last_began`: each with when the next
    /// attempt began.
    pub(crate) fn journaled(failed: &[Self], last_began: Instant, clock: &RunClock) -> Vec<Retry> {
        if failed.is_empty() {
            // Nearly every step: no iterator to build and collect.
            return Vec::new();
        }
        failed
            .iter()
            .enumerate()
            .map(|(i, attempt)| {
                let next = failed.get(i + 1).map_or(last_began, |next| next.began);
                Retry::new(
                    clock.wall_time(attempt.began),
                    clock.wall_time(attempt.failed),
                    clock.wall_time(next),
                    attempt.error.clone(),
                )
            })
            .collect()
    }
}
