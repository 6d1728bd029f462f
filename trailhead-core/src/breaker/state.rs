//! What a breaker reports: its state, and its changes of state.

use std::fmt;

/// What a circuit breaker is doing, as reported in events and health checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through; failures are counted.
    Closed,
    /// Calls are rejected without being made.
    Open,
    /// A few trial calls go through to test whether the dependency recovered.
    HalfOpen,
}

impl fmt::Display for BreakerState {
    /// `closed`, `open` or `half-open`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        })
    }
}

/// A circuit breaker's change of state.
///
/// Each change is reported exactly once, to the call that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerTransition {
    /// The state before.
    pub from: BreakerState,
    /// The state after.
    pub to: BreakerState,
}
