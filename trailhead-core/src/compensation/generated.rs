//! What `workflow!` generates for compensations: the type check at the step
//! and the entries of a workflow's [`Workflow::compensation`] table.

use std::fmt::Display;
use std::future::Future;

use super::{Compensation, UndoFuture};
use crate::__private::CallableWorkflow;
use crate::step::Journaled;
use crate::store::Value;
use crate::{RetryPolicy, StepError, Workflow};

/// A function that undoes a step whose output is `T`: called with that
/// output, it returns a future of `Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot compensate a step whose output is `{T}`",
    label = "expected a function taking `{T}` and returning a future of `Result<(), E>`",
    note = "a compensation receives the step's output by value, as it was journaled"
)]
pub trait Undo<T>: Copy + Send + Sync + 'static {
    /// The future one attempt returns.
    type Future: Future<Output: Undone> + Send + 'static;
    /// Starts one attempt.
    fn undo(self, output: T) -> Self::Future;
}

impl<T, F, Fut> Undo<T> for F
where
    F: Fn(T) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output: Undone> + Send + 'static,
{
    type Future = Fut;

    fn undo(self, output: T) -> Fut {
        self(output)
    }
}

/// What a compensation returns: `Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "a compensation must return `Result<(), E>`, found `{Self}`",
    label = "this compensation does not return `Result<(), E>`",
    note = "a compensation's work is its effect: it gives nothing back"
)]
pub trait Undone {
    /// The result as text, for the journal and the events.
    fn into_text(self) -> Result<(), String>;
}

impl<E: Display> Undone for Result<(), E> {
    fn into_text(self) -> Result<(), String> {
        self.map_err(|error| error.to_string())
    }
}

/// Checks at the step that `undo` can compensate it; gives the step back.
pub fn compensated<S, T, E, C>(step: S, _undo: &C) -> S
where
    S: Future<Output = Result<T, StepError<E>>>,
    C: Undo<T>,
{
    step
}

/// The table entry of a step compensated by `undo`.
pub fn compensate_step(retry: RetryPolicy, undo: fn(&Value) -> UndoFuture) -> Compensation {
    Compensation::Step { retry, undo }
}

/// The table entry of a `call` of `workflow` (resolved as in
/// [`Target`](crate::__private::Target)), written
/// `(&CallOf(workflow)).compensation()` with [`CallCompensation`] and
/// [`NotAWorkflow`] in scope: `None` when `workflow` is not a workflow, so
/// that mistake is reported once, at the call, not again in the table.
#[derive(Debug)]
pub struct CallOf<W>(pub W);

/// [`CallOf`] a workflow: undone by its own compensations.
pub trait CallCompensation {
    /// The table entry.
    fn compensation(&self) -> Option<Compensation>;
}

impl<C: CallableWorkflow> CallCompensation for CallOf<C> {
    fn compensation(&self) -> Option<Compensation> {
        call_compensation(C::Workflow::default())
    }
}

/// The table entry of a `call` of `workflow`, a workflow given as a type
/// parameter (`call W(input)`, resolved by `workflow_of`).
#[must_use]
pub fn call_compensation<W: Workflow>(workflow: W) -> Option<Compensation> {
    let _ = workflow;
    Some(Compensation::Call {
        compensates: W::COMPENSATES,
        compensation: W::compensation,
    })
}

/// [`CallOf`] something else (already an error at the call).
pub trait NotAWorkflow {
    /// No entry.
    fn compensation(&self) -> Option<Compensation>;
}

impl<W> NotAWorkflow for &CallOf<W> {
    fn compensation(&self) -> Option<Compensation> {
        None
    }
}

/// One attempt of `undo` with the step's journaled output `value`.
pub fn undo_with<T: Journaled, C: Undo<T>>(undo: C, value: &Value) -> UndoFuture {
    let output = T::from_journal(value);
    Box::pin(async move {
        let output = output.map_err(|error| {
            format!("the step's journaled output no longer reads as its type: {error}")
        })?;
        undo.undo(output).await.into_text()
    })
}
