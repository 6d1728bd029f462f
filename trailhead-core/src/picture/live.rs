//! What the engine knows about a run's steps that the journal does not yet:
//! the attempts running now, the retries waiting, the steps replayed.
//!
//! One small table per run driven here ([`LiveRun`](crate::engine) holds
//! it), updated where the step events are emitted. Cheap by design: one
//! uncontended lock and a map insert when an attempt begins, a remove when
//! its step settles.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;

use crate::StepKey;
use crate::key::KeyRef;

/// The live part of one step execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LiveStep {
    /// The attempt running, or the one that failed while `retry` is set.
    pub attempt: u32,
    /// Set between a failed attempt and the next one.
    pub retry: Option<LiveRetry>,
}

/// A failed attempt waiting for its retry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LiveRetry {
    /// The wait before the next attempt.
    pub delay: Duration,
    /// The failure's text.
    pub error: String,
}

/// A snapshot of a run's live steps, for
/// [`RunPicture::build`](super::RunPicture::build).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveState {
    /// The steps with an attempt running or a retry waiting, by key.
    pub running: HashMap<StepKey, LiveStep>,
    /// The steps whose outcome this engine took from the journal.
    pub replayed: HashSet<StepKey>,
}

/// A run's live steps.
#[derive(Debug, Default)]
pub(crate) struct LiveSteps(Mutex<LiveState>);

impl LiveSteps {
    fn lock(&self) -> MutexGuard<'_, LiveState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Attempt `attempt` of step `key` began.
    pub(crate) fn started(&self, key: KeyRef<'_>, attempt: u32) {
        let step = LiveStep {
            attempt,
            retry: None,
        };
        self.lock().running.insert(key.to_key(), step);
    }

    /// Attempt `attempt` of step `key` failed; the next begins after `delay`.
    pub(crate) fn retrying(&self, key: KeyRef<'_>, attempt: u32, delay: Duration, error: String) {
        let step = LiveStep {
            attempt,
            retry: Some(LiveRetry { delay, error }),
        };
        self.lock().running.insert(key.to_key(), step);
    }

    /// Step `key` settled (or was stopped): the journal says the rest.
    pub(crate) fn ended(&self, key: KeyRef<'_>) {
        let key = key.to_key();
        self.lock().running.remove(&key);
    }

    /// Step `key`'s outcome was taken from the journal.
    pub(crate) fn replayed(&self, key: &StepKey) {
        self.lock().replayed.insert(key.clone());
    }

    /// Watches a wait (a sleep, a signal) as a running attempt until the
    /// guard drops.
    pub(crate) fn watch<'a>(&'a self, key: KeyRef<'a>) -> Watch<'a> {
        self.started(key, 1);
        Watch { steps: self, key }
    }

    /// What is live now.
    pub(crate) fn snapshot(&self) -> LiveState {
        self.lock().clone()
    }
}

/// Ends a watched wait when dropped (whether it finished or was stopped).
#[derive(Debug)]
pub(crate) struct Watch<'a> {
    steps: &'a LiveSteps,
    key: KeyRef<'a>,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        self.steps.ended(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_is_live_until_its_step_ends() {
        let steps = LiveSteps::default();
        let key = KeyRef {
            name: "charge",
            path: &[2],
        };
        steps.started(key, 1);
        steps.retrying(key, 1, Duration::from_secs(1), "down".to_owned());
        let live = steps.snapshot();
        let step = &live.running[&StepKey::new("charge", &[2])];
        assert_eq!(step.attempt, 1);
        assert_eq!(step.retry.as_ref().unwrap().error, "down");
        steps.started(key, 2);
        assert_eq!(steps.snapshot().running[&key.to_key()].retry, None);
        steps.ended(key);
        assert!(steps.snapshot().running.is_empty());
        {
            let _watch = steps.watch(key);
            assert!(steps.snapshot().running.contains_key(&key.to_key()));
        }
        assert!(steps.snapshot().running.is_empty());
    }
}
