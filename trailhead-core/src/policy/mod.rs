//! Policies: how a step is retried and how long an attempt may run.
//!
//! A [`StepPolicy`] bundles a [`RetryPolicy`] (attempts and [`Backoff`]) with an
//! optional per-attempt timeout. All are small `Copy` values built with
//! `const fn`s, so generated code keeps them in constants.

mod retry;

use std::time::Duration;

pub use retry::{Backoff, Delays, RetryPolicy};

/// How one step runs: its retry policy and per-attempt timeout.
///
/// A timed-out attempt is retried like a failed one, and a timeout always
/// counts as retryable.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use trailhead_core::{RetryPolicy, StepPolicy};
///
/// const CHARGE: StepPolicy = StepPolicy::new()
///     .with_retry(RetryPolicy::attempts(3))
///     .with_timeout(Duration::from_secs(5));
/// assert_eq!(CHARGE.retry.max_attempts(), 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepPolicy {
    /// How often and after what delays the step is attempted.
    pub retry: RetryPolicy,
    /// The longest one attempt may run; `None` for no limit.
    pub timeout: Option<Duration>,
    /// The named resource each attempt holds a place in (see
    /// [`EngineBuilder::resource`](crate::EngineBuilder::resource)).
    pub resource: Option<&'static str>,
    /// The circuit breaker each attempt goes through (see
    /// [`EngineBuilder::breaker`](crate::EngineBuilder::breaker)).
    pub breaker: Option<&'static str>,
    /// Whether the step has a `.fallback(..)`: a failure it falls back from
    /// is then not journaled as the step's entry (the fallback's value is).
    pub fallback: bool,
}

impl StepPolicy {
    /// One attempt, no timeout.
    pub const DEFAULT: StepPolicy = StepPolicy {
        retry: RetryPolicy::NONE,
        timeout: None,
        resource: None,
        breaker: None,
        fallback: false,
    };

    /// The default policy: one attempt, no timeout.
    pub const fn new() -> Self {
        Self::DEFAULT
    }

    /// Sets the retry policy.
    pub const fn with_retry(self, retry: RetryPolicy) -> Self {
        Self { retry, ..self }
    }

    /// Makes every attempt hold a place in the engine's resource `name`.
    pub const fn with_resource(self, name: &'static str) -> Self {
        Self {
            resource: Some(name),
            ..self
        }
    }

    /// Makes every attempt go through the engine's circuit breaker `name`.
    pub const fn with_breaker(self, name: &'static str) -> Self {
        Self {
            breaker: Some(name),
            ..self
        }
    }

    /// Marks the step as having a fallback.
    pub const fn with_fallback(self) -> Self {
        Self {
            fallback: true,
            ..self
        }
    }

    /// Sets the per-attempt timeout.
    pub const fn with_timeout(self, timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..self
        }
    }
}

impl Default for StepPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}
