//! Error types.
//!
//! Each failure is a type that says which run (and, where there is one, which
//! step) it belongs to:
//!
//! - [`StepError`] — a step gave up: its own error after the last attempt, a
//!   timeout, a panic, a journal failure, or a cancelled child run
//!   ([`StepFailure`]).
//! - [`ErrorClass`] — whether a failure is worth another attempt; a step's
//!   error type says which of its errors are with [`Classify`].
//! - [`RunError`] — what waiting for a run's result can give: the workflow's own
//!   error, cancellation, or an [`EngineError`].
//! - [`EngineError`] — the engine could not start or record a run.
//! - [`StoreError`] — the store refused or could not perform an operation.
//! - [`CodecError`] — a value could not be journaled, or read back, as its type.
//! - [`Error`] — a boxed catch-all error for workflows without their own type.

mod boxed;
mod class;
mod codec;
mod engine;
mod run;
mod step;
mod store;

pub use boxed::Error;
pub use class::{Classify, ErrorClass};
pub use codec::CodecError;
pub use engine::EngineError;
pub use run::RunError;
pub use step::{StepError, StepFailure};
pub use store::{DatabaseProblem, StoreError};

#[cfg(test)]
mod tests;
