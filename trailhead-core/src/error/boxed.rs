use std::error::Error as StdError;
use std::fmt;

use crate::StepError;

/// A boxed error any workflow can return.
///
/// For workflows that do not want an error type of their own: every
/// [`StepError<E>`] converts into it (when `E` is a `std::error::Error`), and so
/// do messages ([`Error::msg`], `&str`, `String`). Other errors go through
/// [`Error::new`]. Display, Debug and [`source`](StdError::source) forward to
/// the boxed error.
///
/// # Examples
///
/// ```
/// use trailhead_core::Error;
///
/// let error = Error::msg(format_args!("{} seats left", 0));
/// assert_eq!(error.to_string(), "0 seats left");
/// ```
pub struct Error(Box<dyn StdError + Send + Sync>);

impl Error {
    /// Boxes an error.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }

    /// Makes an error from a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self(Box::new(Message(message.to_string())))
    }

    /// The boxed error.
    pub fn into_inner(self) -> Box<dyn StdError + Send + Sync> {
        self.0
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl<E: StdError + Send + Sync + 'static> From<StepError<E>> for Error {
    fn from(error: StepError<E>) -> Self {
        Self::new(error)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Self::msg(message)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self(Box::new(Message(message)))
    }
}

/// The error behind [`Error::msg`].
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Message {}
