//! Compensation: undoing what a run did when it fails or is cancelled (a saga).
//!
//! A step declares its compensation with `.compensate(f)`; `f` receives the
//! step's output. When the run fails, is cancelled or passes its deadline, the
//! compensations of the steps that completed run **in reverse order of
//! completion**, which is the order of the journal read backwards: across
//! parallel branches, loops and fan-outs alike. A `call` that completed is
//! undone by undoing the child run's own steps the same way, at the place the
//! call completed.
//!
//! Everything is driven by the journal, not by the workflow body: the run is
//! first recorded as [`Compensating`](crate::RunState::Compensating) with the
//! outcome it will end with, and each compensation is journaled under the
//! step's [`undo`](crate::StepKey::undo) key once it succeeded. A process that
//! dies during the rollback leaves the run compensating; resuming it runs the
//! compensations not yet journaled, never one that was. A compensation that
//! fails for good stops the rollback: the run ends
//! [`CompensationFailed`](crate::RunStatus::CompensationFailed), naming the
//! step, and [`Engine::health`](crate::Engine::health) lists it.
//!
//! Steps whose `.fallback(..)` gave their value did not take effect, so
//! nothing is undone for them.

pub(crate) mod generated;
mod undo;

use std::future::Future;
use std::pin::Pin;

use crate::RetryPolicy;
use crate::store::Value;

pub(crate) use undo::{Rollback, RollbackFailed};

/// The future a compensation returns, its error as text.
pub(crate) type UndoFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>>;

/// Not public API (re-exported for generated code by `__private`): how one
/// site of a workflow is undone; `workflow!` generates one for every step
/// with `.compensate(..)` and every `call`.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Compensation {
    /// A step's compensation, called with the step's journaled output.
    Step {
        /// How often and after what delays the compensation is attempted.
        retry: RetryPolicy,
        /// Starts one attempt with the step's journaled output.
        undo: fn(&Value) -> UndoFuture,
    },
    /// A `call`: the child run's completed steps are undone by the child
    /// workflow's own compensations.
    Call {
        /// Whether the child workflow has anything to undo
        /// ([`Workflow::COMPENSATES`](crate::Workflow::COMPENSATES)).
        compensates: bool,
        /// The child workflow's compensations, by site.
        compensation: fn(&str) -> Option<Compensation>,
    },
}

impl Compensation {
    /// The retry policy a compensation has unless it names one: five
    /// attempts, 1 s to 1 min apart. Undoing is worth insisting on.
    pub const DEFAULT_RETRY: RetryPolicy =
        RetryPolicy::attempts(5).with_backoff(crate::Backoff::exponential(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(60),
        ));
}

impl std::fmt::Debug for Compensation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Step { retry, .. } => f.debug_struct("Step").field("retry", retry).finish(),
            Self::Call { .. } => f.write_str("Call"),
        }
    }
}
