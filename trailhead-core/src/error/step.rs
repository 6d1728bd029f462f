use std::any::Any;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::{ErrorClass, RunId, StepKey, StoreError};

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
    /// When the first attempt began, for a fallback's journal entry.
    pub(crate) began: Option<tokio::time::Instant>,
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
            StepFailure::TimedOut(_)
            | StepFailure::FailedBefore { .. }
            | StepFailure::Stubbed { .. }
            | StepFailure::Panicked(_)
            | StepFailure::BreakerOpen(_)
            | StepFailure::Cancelled
            | StepFailure::ChildFailed(_)
            | StepFailure::UnknownBreaker(_)
            | StepFailure::UnknownResource(_) => None,
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
    /// The last attempt panicked; the panic's message (`"(no message)"` when
    /// its payload was not a string).
    #[error("the step panicked: {0}")]
    Panicked(String),
    /// The step's circuit breaker was open, so the attempt was not made.
    #[error("circuit breaker `{0}` is open")]
    BreakerOpen(&'static str),
    /// The step's journal entry could not be written or read back.
    #[error("journal: {0}")]
    Journal(StoreError),
    /// The child run started by `call` was cancelled.
    #[error("the child run was cancelled")]
    Cancelled,
    /// The child run started by `call` ended without the child workflow's
    /// own error: it passed its deadline, its rollback failed, or it had
    /// failed before a restart (its error is known only as text).
    #[error("the child run failed: {0}")]
    ChildFailed(String),
    /// A child run that a resumed run had started before could not be picked up.
    #[error("the child run could not be resumed: {0}")]
    Resume(crate::EngineError),
    /// The step names a circuit breaker the engine was not built with.
    #[error("no circuit breaker `{0}` on this engine (add it with `EngineBuilder::breaker`)")]
    UnknownBreaker(&'static str),
    /// The step names a resource the engine was not built with.
    #[error("no resource `{0}` on this engine (add it with `EngineBuilder::resource`)")]
    UnknownResource(&'static str),
    /// The step had failed for good before the run was resumed, and its
    /// error is known only by what the journal kept: its text and class.
    ///
    /// A resumed run gets a journaled failure back without running the step
    /// again. It gets the step's own error as [`StepFailure::Error`] when the
    /// error type implements serde's `Serialize` and `DeserializeOwned` (it
    /// was journaled, and reads back as the same value), a timeout or panic
    /// as [`StepFailure::TimedOut`] or [`StepFailure::Panicked`], and
    /// anything else as this. A workflow that matches on its own error type
    /// sees this one as "not my error": make the error serializable to get it
    /// back typed. Only [`Engine::rerun`](crate::Engine::rerun) runs the step
    /// again.
    #[error("{message}")]
    FailedBefore {
        /// The failure's text, as journaled.
        message: String,
        /// Its class, as journaled.
        class: ErrorClass,
    },
    /// A test's stub failed the attempt in place of the step (the test
    /// kit's `testing::Stub::fails`, feature `testing`), with an error the step's
    /// own type could not hold (a stub's error of the step's own type, when
    /// that type is serde's, is [`StepFailure::Error`]). It is retried by
    /// its class and falls back like the step's own error.
    #[error("{message}")]
    Stubbed {
        /// The stub's text.
        message: String,
        /// Its class.
        class: ErrorClass,
    },
}

impl<E> StepFailure<E> {
    /// Whether a step with a `.fallback(..)` gives its fallback for this
    /// failure: for its own error, a timeout, a panic and an open breaker;
    /// not when the journal, the engine's setup or a cancellation is why.
    pub fn falls_back(&self) -> bool {
        matches!(
            self,
            Self::Error(_)
                | Self::TimedOut(_)
                | Self::Panicked(_)
                | Self::BreakerOpen(_)
                | Self::Stubbed { .. }
        )
    }

    /// Whether this failure counts against a circuit breaker: the step's
    /// error, a timeout, a panic.
    pub(crate) fn trips_breaker(&self) -> bool {
        matches!(self, Self::Error(_) | Self::TimedOut(_) | Self::Panicked(_))
    }

    /// The failure of an attempt that panicked with `payload`: its message
    /// when it is a string (as `panic!` makes it), else `"(no message)"`.
    pub(crate) fn panicked(payload: &(dyn Any + Send)) -> Self {
        Self::Panicked(crate::engine::panic_message(payload).to_owned())
    }

    /// Whether this failure is worth another attempt: the step's own error is
    /// in the class `error_class` gives it; a timeout is transient; an open
    /// circuit breaker (fail fast), a panic, a cancelled child run, a journal
    /// failure, a child run that could not be resumed and an unknown resource
    /// are permanent.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use trailhead_core::{ErrorClass, StepFailure};
    ///
    /// let declined: StepFailure<&str> = StepFailure::Error("declined");
    /// assert_eq!(declined.class(|_| ErrorClass::Permanent), ErrorClass::Permanent);
    ///
    /// let slow: StepFailure<&str> = StepFailure::TimedOut(Duration::from_secs(5));
    /// assert_eq!(slow.class(|_| ErrorClass::Permanent), ErrorClass::Transient);
    /// ```
    pub fn class(&self, error_class: impl FnOnce(&E) -> ErrorClass) -> ErrorClass {
        match self {
            Self::Error(error) => error_class(error),
            Self::TimedOut(_) => ErrorClass::Transient,
            Self::Panicked(_)
            | Self::BreakerOpen(_)
            | Self::Journal(_)
            | Self::Cancelled
            | Self::ChildFailed(_)
            | Self::UnknownBreaker(_)
            | Self::Resume(_)
            | Self::UnknownResource(_) => ErrorClass::Permanent,
            Self::FailedBefore { class, .. } | Self::Stubbed { class, .. } => *class,
        }
    }
}

impl<E: fmt::Display> StepFailure<E> {
    /// What the journal keeps of this failure: `class` is the class it
    /// failed the step with, `encode` journals the step's own error (when its
    /// type allows).
    pub(crate) fn to_record(
        &self,
        class: ErrorClass,
        encode: impl FnOnce(&E) -> Option<crate::store::Value>,
    ) -> crate::store::FailedStep {
        let cause = match self {
            Self::Error(error) => crate::store::FailureCause::Error(encode(error)),
            Self::TimedOut(after) => crate::store::FailureCause::TimedOut(*after),
            Self::Panicked(message) => crate::store::FailureCause::Panicked(message.clone()),
            _ => crate::store::FailureCause::Other,
        };
        crate::store::FailedStep {
            message: self.to_string(),
            class,
            cause,
        }
    }
}
