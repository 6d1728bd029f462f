//! Error classes: which step failures are worth another attempt.

/// Whether a step's failure may go away if the step is tried again.
///
/// A step with `.retry(n)` is attempted again only after a
/// [`Transient`](ErrorClass::Transient) failure (and while attempts are left); a
/// [`Permanent`](ErrorClass::Permanent) one fails the step at once. The class of
/// the step's own error comes from its [`Classify`] implementation, or is
/// `Transient` when the error type has none; `.retry(n, when = pred)` overrides
/// it. The class of every other failure is fixed (see
/// [`StepFailure::class`](crate::StepFailure::class)).
///
/// # Examples
///
/// ```
/// use trailhead_core::ErrorClass;
///
/// assert!(ErrorClass::Transient.is_transient());
/// assert!(!ErrorClass::Permanent.is_transient());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorClass {
    /// The failure may go away: the step is retried while attempts are left
    /// (an unavailable service, a lost connection, a timeout).
    Transient,
    /// Trying again would fail the same way: the step fails at once (invalid
    /// input, a declined card, a panic).
    Permanent,
}

impl ErrorClass {
    /// Whether a step failing this way is retried (while attempts are left).
    pub const fn is_transient(self) -> bool {
        matches!(self, Self::Transient)
    }
}

/// An error that knows its [`ErrorClass`].
///
/// Implement it for a step's error type and every step with `.retry(n)`
/// returning that error retries only the transient ones: `workflow!` picks the
/// implementation up without anything written at the step. Error types
/// without it are transient (every error is retried), and a step's
/// `.retry(n, when = pred)` overrides the class.
///
/// # Examples
///
/// ```
/// use trailhead_core::{Classify, ErrorClass};
///
/// #[derive(Debug)]
/// enum PaymentError {
///     /// The provider did not answer: worth another attempt.
///     Unavailable,
///     /// The card was declined: another attempt would be too.
///     Declined,
/// }
///
/// impl Classify for PaymentError {
///     fn class(&self) -> ErrorClass {
///         match self {
///             PaymentError::Unavailable => ErrorClass::Transient,
///             PaymentError::Declined => ErrorClass::Permanent,
///         }
///     }
/// }
///
/// assert_eq!(PaymentError::Declined.class(), ErrorClass::Permanent);
/// ```
pub trait Classify {
    /// This error's class.
    fn class(&self) -> ErrorClass;
}
