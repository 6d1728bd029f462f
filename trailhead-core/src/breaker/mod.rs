//! Circuit breakers: stop calling a dependency that keeps failing.
//!
//! A breaker watches the outcome of calls to one dependency (a payment API, a
//! database) and is shared by every run of an engine. It is in one of three
//! [`BreakerState`]s:
//!
//! - **Closed**: calls go through. Each failure is timestamped; when
//!   [`failure_threshold`](BreakerConfig::failure_threshold) failures fall
//!   within the last [`window`](BreakerConfig::window), the breaker opens.
//!   Successes do not clear failures: only the window ages them out.
//! - **Open**: calls are rejected without being made, so they fail fast and
//!   the dependency gets time to recover. After
//!   [`open_for`](BreakerConfig::open_for) the breaker half-opens.
//! - **Half-open**: [`half_open_calls`](BreakerConfig::half_open_calls) trial
//!   calls go through, and every other call is rejected. When all trials
//!   succeed the breaker closes with no failures on record; when one fails it
//!   opens again for a fresh `open_for`.
//!
//! ```text
//!            threshold failures within window
//!   Closed ─────────────────────────────────────▶ Open
//!     ▲                                           │  ▲
//!     │ all trials succeed         open_for later │  │ a trial fails
//!     │                                           ▼  │
//!     └────────────────────────────────────────  HalfOpen
//! ```
//!
//! Time is read from tokio's clock, so tests on a paused clock control it. An
//! open breaker half-opens lazily: the first call admitted after `open_for`
//! makes the move and reports it, but the state already reads as half-open as
//! soon as the time has passed.
//!
//! Every change of state is returned once, as a [`BreakerTransition`], by the
//! call that caused it, so the caller can emit an event for it.

mod config;
mod machine;
mod permit;
mod state;

pub use config::BreakerConfig;
pub use state::{BreakerState, BreakerTransition};
pub(crate) use {
    machine::Breaker,
    permit::{Permit, Rejected},
};

#[cfg(test)]
mod tests;
