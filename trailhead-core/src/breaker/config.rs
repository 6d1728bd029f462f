//! How a breaker decides: when it opens and how it recovers.

use std::time::Duration;

/// When a circuit breaker opens, and how it tries to close again.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use trailhead_core::BreakerConfig;
///
/// // Open after 3 failures within 10 s; after 1 min, let 2 trial calls through.
/// const PAYMENTS: BreakerConfig = BreakerConfig::new(3, Duration::from_secs(10))
///     .with_open_for(Duration::from_secs(60))
///     .with_half_open_calls(2);
/// assert_eq!(PAYMENTS.failure_threshold, 3);
/// assert_eq!(BreakerConfig::default().failure_threshold, 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// How many failures within [`window`](Self::window) open the breaker; `0`
    /// counts as `1`.
    pub failure_threshold: u32,
    /// How far back failures count: a failure counts while it is less than
    /// `window` old.
    pub window: Duration,
    /// How long an open breaker rejects calls before it half-opens.
    pub open_for: Duration,
    /// How many trial calls a half-open breaker lets through; all must succeed
    /// for it to close. `0` counts as `1`.
    pub half_open_calls: u32,
}

impl BreakerConfig {
    /// Five failures within a minute open the breaker for 30 s, then one trial
    /// call decides.
    pub const DEFAULT: BreakerConfig =
        BreakerConfig::new(5, Duration::from_secs(60)).with_open_for(Duration::from_secs(30));

    /// Opens after `failure_threshold` failures within `window` (`0` counts as
    /// `1`); stays open for 30 s, then lets one trial call through.
    pub const fn new(failure_threshold: u32, window: Duration) -> Self {
        Self {
            failure_threshold: at_least_one(failure_threshold),
            window,
            open_for: Duration::from_secs(30),
            half_open_calls: 1,
        }
    }

    /// Sets how long an open breaker rejects calls before it half-opens.
    pub const fn with_open_for(self, open_for: Duration) -> Self {
        Self { open_for, ..self }
    }

    /// Sets how many trial calls a half-open breaker lets through (`0` counts
    /// as `1`).
    pub const fn with_half_open_calls(self, half_open_calls: u32) -> Self {
        Self {
            half_open_calls: at_least_one(half_open_calls),
            ..self
        }
    }

    /// The same configuration with `0` counts raised to `1`: the fields are
    /// public, so a caller may set a `0` the constructors would not.
    pub(super) const fn normalized(self) -> Self {
        Self {
            failure_threshold: at_least_one(self.failure_threshold),
            half_open_calls: at_least_one(self.half_open_calls),
            ..self
        }
    }
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

const fn at_least_one(n: u32) -> u32 {
    if n == 0 { 1 } else { n }
}
