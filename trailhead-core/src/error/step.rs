use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::{RunId, StepKey, StoreError};

/// A step that gave up.
///
/// Returned by every step of a run once its retry policy is exhausted (or the
/// failure is not retryable); it names the run, the step, how many attempts
/// were made and why the last one failed. A workflow converts it into its own
/// error type with `From<StepError<E>>` (which [`crate::Error`] implements).
///
/// Its [`source`](StdError::source) is the step's own error, or the
/// [`StoreError`] for a journal failure.
#[derive(Debug)]
#[non_exhaustive]
pub struct StepError<E> {
    /// The run the step belongs to.
    pub run: RunId,
    /// The step that failed.
    pub step: StepKey,
    /// Attempts made, including the last one (0 when the step's journal entry
    /// could not be read back, so it never ran).
    pub attempts: u32,
    /// Why the last attempt failed.
    pub failure: StepFailure<E>,
}

impl<E> StepError<E> {
    /// Why the last attempt failed.
    pub fn failure(&self) -> &StepFailure<E> {
        &self.failure
    }

    /// The step's own error, if that is why it failed.
    pub fn into_source(self) -> Option<E> {
        match self.failure {
            StepFailure::Error(error) => Some(error),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for StepError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step `{}` of run `{}` failed after {} attempt(s): {}",
            self.step, self.run, self.attempts, self.failure
        )
    }
}

impl<E: StdError + 'static> StdError for StepError<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.failure {
            StepFailure::Error(error) => Some(error),
            StepFailure::Journal(error) => Some(error),
            StepFailure::Resume(error) => Some(error),
            StepFailure::TimedOut(_) | StepFailure::Cancelled | StepFailure::UnknownResource(_) => {
                None
            }
        }
    }
}

/// Why a step's last attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepFailure<E> {
    /// The step returned an error (for `call`, the child workflow's error).
    #[error("{0}")]
    Error(E),
    /// The last attempt ran longer than the step's timeout.
    #[error("the attempt timed out after {0:?}")]
    TimedOut(Duration),
    /// The step's journal entry could not be written or read back.
    #[error("journal: {0}")]
    Journal(StoreError),
    /// The child run started by `call` was cancelled.
    #[error("the child run was cancelled")]
    Cancelled,
    /// A child run that a resumed run had started before could not be picked up.
    #[error("the child run could not be resumed: {0}")]
    Resume(crate::EngineError),
    /// The step names a resource the engine was not built with.
    #[error("no resource `{0}` on this engine (add it with `EngineBuilder::resource`)")]
    UnknownResource(&'static str),
}
