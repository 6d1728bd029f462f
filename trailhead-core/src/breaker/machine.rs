//! The breaker itself: an explicit state machine behind a lock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::{BreakerConfig, BreakerState, BreakerTransition, Permit, Rejected};

/// A circuit breaker for one dependency, shared by every run of an engine.
///
/// Used behind an `Arc`: every method takes `&self`. The lock is held for a
/// few instructions and never across an `.await`.
///
/// # Generations
///
/// Every transition starts a new *generation*, and each [`Permit`] remembers
/// the one it was admitted in. The verdict of a permit from an older
/// generation is ignored: a call admitted while closed that fails after the
/// breaker opened must not count towards the next opening, and a trial that
/// ends after another trial already decided must not decide again.
#[derive(Debug)]
pub(crate) struct Breaker {
    name: Arc<str>,
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    generation: u64,
}

#[derive(Debug)]
enum State {
    /// Calls go through; the times of recent failures, oldest first, at most
    /// `failure_threshold` of them (that many open the breaker).
    Closed { failures: VecDeque<Instant> },
    /// Calls are rejected until `until`.
    Open { until: Instant },
    /// Trial calls go through while `in_flight + succeeded` is below
    /// `half_open_calls`.
    HalfOpen { in_flight: u32, succeeded: u32 },
}

/// How an admitted call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Succeeded,
    Failed,
}

impl Breaker {
    /// A closed breaker with no failures on record.
    ///
    /// `0` counts in `config` are raised to `1`.
    pub(crate) fn new(name: impl Into<Arc<str>>, config: BreakerConfig) -> Self {
        Self {
            name: name.into(),
            config: config.normalized(),
            inner: Mutex::new(Inner {
                state: State::closed(),
                generation: 0,
            }),
        }
    }

    /// The breaker's name, as given to [`new`](Self::new).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Its configuration, with `0` counts raised to `1`.
    #[cfg(test)]
    pub(crate) fn config(&self) -> BreakerConfig {
        self.config
    }

    /// The state now.
    ///
    /// An open breaker whose `open_for` has passed reads as
    /// [`HalfOpen`](BreakerState::HalfOpen), as [`admit`](Self::admit) would
    /// treat it, even though the transition is only made and reported by the
    /// next call to `admit`.
    pub(crate) fn state(&self) -> BreakerState {
        let now = Instant::now();
        match self.lock().state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if now < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make one call now.
    ///
    /// `Ok` lets the call go; report how it ended through the [`Permit`].
    /// `Err` means fail fast without calling. The transition is
    /// `Open -> HalfOpen` when this call is the first after `open_for`; such a
    /// call is always admitted, as the first trial.
    pub(crate) fn admit(&self) -> (Result<Permit<'_>, Rejected>, Option<BreakerTransition>) {
        let now = Instant::now();
        let mut inner = self.lock();
        let transition = match inner.state {
            State::Open { until } if now >= until => Some(inner.enter(State::HalfOpen {
                in_flight: 0,
                succeeded: 0,
            })),
            _ => None,
        };
        let admitted = match &mut inner.state {
            State::Closed { .. } => Ok(()),
            State::Open { until } => Err(Rejected {
                retry_after: Some(until.saturating_duration_since(now)),
            }),
            State::HalfOpen {
                in_flight,
                succeeded,
            } => {
                if *in_flight + *succeeded < self.config.half_open_calls {
                    *in_flight += 1;
                    Ok(())
                } else {
                    // Free again when a trial is dropped or the trials decide.
                    Err(Rejected { retry_after: None })
                }
            }
        };
        let generation = inner.generation;
        drop(inner);
        (admitted.map(|()| Permit::new(self, generation)), transition)
    }

    /// Records how a call admitted in `generation` ended.
    pub(super) fn settle(&self, generation: u64, verdict: Verdict) -> Option<BreakerTransition> {
        let now = Instant::now();
        let config = self.config;
        let mut inner = self.lock();
        if inner.generation != generation {
            return None;
        }
        let next = match (&mut inner.state, verdict) {
            (State::Closed { .. }, Verdict::Succeeded) => None,
            (State::Closed { failures }, Verdict::Failed) => {
                while failures
                    .front()
                    .is_some_and(|&at| now.duration_since(at) >= config.window)
                {
                    failures.pop_front();
                }
                failures.push_back(now);
                (failures.len() >= config.failure_threshold as usize)
                    .then(|| State::open(now, config.open_for))
            }
            (
                State::HalfOpen {
                    in_flight,
                    succeeded,
                },
                Verdict::Succeeded,
            ) => {
                *in_flight -= 1;
                *succeeded += 1;
                (*succeeded >= config.half_open_calls).then(State::closed)
            }
            (State::HalfOpen { .. }, Verdict::Failed) => Some(State::open(now, config.open_for)),
            // No call is admitted while open, so no permit has its generation.
            (State::Open { .. }, _) => None,
        };
        next.map(|next| inner.enter(next))
    }

    /// Gives back the trial slot of a call admitted in `generation` that ended
    /// without a verdict.
    pub(super) fn release(&self, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if let State::HalfOpen { in_flight, .. } = &mut inner.state {
            *in_flight -= 1;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state is consistent after every statement that changes it, so a
        // panic elsewhere while the lock was held left nothing half-done.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Moves to `next`, starting a new generation.
    fn enter(&mut self, next: State) -> BreakerTransition {
        let from = self.state.reported();
        self.state = next;
        self.generation += 1;
        BreakerTransition {
            from,
            to: self.state.reported(),
        }
    }
}

impl State {
    fn closed() -> Self {
        Self::Closed {
            failures: VecDeque::new(),
        }
    }

    fn open(now: Instant, open_for: Duration) -> Self {
        // A `Duration::MAX` open_for means "until further notice".
        let until = now
            .checked_add(open_for)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 60 * 60));
        Self::Open { until }
    }

    fn reported(&self) -> BreakerState {
        match self {
            Self::Closed { .. } => BreakerState::Closed,
            Self::Open { .. } => BreakerState::Open,
            Self::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}
