//! Retrying a step: how many attempts, and how long to wait between them.

mod backoff;

pub use backoff::{Backoff, Delays};

/// How many times a step is attempted, and the [`Backoff`] between attempts.
///
/// `retry(n)` in the workflow language means at most `n` attempts in total.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use trailhead_core::{Backoff, RetryPolicy};
///
/// let policy = RetryPolicy::attempts(4).with_backoff(Backoff::fixed(Duration::from_secs(1)));
/// assert_eq!(policy.max_attempts(), 4);
/// assert_eq!(policy.backoff().delays().next(), Some(Duration::from_secs(1)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    backoff: Backoff,
}

impl RetryPolicy {
    /// A single attempt: no retry.
    pub const NONE: RetryPolicy = RetryPolicy::attempts(1);

    /// At most `max_attempts` attempts in total, with the default backoff
    /// ([`Backoff::DEFAULT`]: exponential from 100 ms to 10 s, with jitter).
    ///
    /// A step is always attempted at least once, so `0` means `1`.
    pub const fn attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts: if max_attempts == 0 { 1 } else { max_attempts },
            backoff: Backoff::DEFAULT,
        }
    }

    /// Sets the backoff between attempts.
    pub const fn with_backoff(self, backoff: Backoff) -> Self {
        Self { backoff, ..self }
    }

    /// The largest number of attempts, at least 1.
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff between attempts.
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::NONE
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn attempts_is_at_least_one() {
        assert_eq!(RetryPolicy::attempts(0).max_attempts(), 1);
        assert_eq!(RetryPolicy::NONE.max_attempts(), 1);
        assert_eq!(RetryPolicy::attempts(5).max_attempts(), 5);
    }

    #[test]
    fn with_backoff_keeps_attempts() {
        let fixed = Backoff::fixed(Duration::from_millis(7));
        let policy = RetryPolicy::attempts(3).with_backoff(fixed);
        assert_eq!(policy.max_attempts(), 3);
        assert_eq!(policy.backoff(), fixed);
        assert_eq!(RetryPolicy::attempts(3).backoff(), Backoff::DEFAULT);
    }
}
