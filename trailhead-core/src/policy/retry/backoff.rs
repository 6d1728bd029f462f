//! Backoff: the delays between a step's attempts, as an iterator.

use std::time::Duration;

/// The delays between a step's attempts.
///
/// Either exponential (each delay doubles, capped at a maximum) or fixed, with
/// optional *equal jitter*: a delay `d` becomes `d/2` plus a uniformly random
/// part of up to `d/2`, so concurrent retries spread out while every wait stays
/// at least half the nominal delay. [`Backoff::delays`] gives the sequence as an
/// endless iterator.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use trailhead_core::Backoff;
///
/// let ms = Duration::from_millis;
/// let backoff = Backoff::exponential(ms(100), ms(500)).with_jitter(false);
/// let delays: Vec<_> = backoff.delays().take(5).collect();
/// assert_eq!(delays, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    shape: Shape,
    jitter: bool,
}

/// How nominal delays grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Exponential { initial: Duration, max: Duration },
    Fixed(Duration),
}

impl Backoff {
    /// Exponential from 100 ms to 10 s, with jitter.
    pub const DEFAULT: Backoff =
        Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10));

    /// Delays starting at `initial`, doubling each time, never above `max`;
    /// jitter is on.
    pub const fn exponential(initial: Duration, max: Duration) -> Self {
        Self {
            shape: Shape::Exponential { initial, max },
            jitter: true,
        }
    }

    /// The same `delay` every time; jitter is off.
    pub const fn fixed(delay: Duration) -> Self {
        Self {
            shape: Shape::Fixed(delay),
            jitter: false,
        }
    }

    /// Turns jitter on or off.
    pub const fn with_jitter(self, jitter: bool) -> Self {
        Self { jitter, ..self }
    }

    /// Whether jitter is on.
    pub const fn jitter(&self) -> bool {
        self.jitter
    }

    /// The delays, first retry first. The iterator never ends.
    pub fn delays(&self) -> Delays {
        let (next, max) = match self.shape {
            Shape::Exponential { initial, max } => (initial.min(max), max),
            Shape::Fixed(delay) => (delay, delay),
        };
        Delays {
            next,
            max,
            jitter: self.jitter,
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The endless sequence of delays of a [`Backoff`].
///
/// Made by [`Backoff::delays`].
#[derive(Clone, Debug)]
pub struct Delays {
    /// The next nominal delay, before jitter.
    next: Duration,
    max: Duration,
    jitter: bool,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let nominal = self.next;
        self.next = nominal.saturating_mul(2).min(self.max);
        Some(if self.jitter {
            equal_jitter(nominal)
        } else {
            nominal
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// `delay/2` plus a uniform random part in `0..=delay - delay/2`.
fn equal_jitter(delay: Duration) -> Duration {
    let half = delay / 2;
    let spread = u64::try_from((delay - half).as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(fastrand::u64(0..=spread))
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn exponential_doubles_until_capped() {
        let delays: Vec<_> = Backoff::exponential(ms(100), ms(1000))
            .with_jitter(false)
            .delays()
            .take(7)
            .collect();
        assert_eq!(
            delays,
            [
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1000),
                ms(1000),
                ms(1000)
            ]
        );
    }

    #[test]
    fn exponential_starts_at_max_when_initial_exceeds_it() {
        let mut delays = Backoff::exponential(ms(50), ms(20))
            .with_jitter(false)
            .delays();
        assert_eq!(delays.next(), Some(ms(20)));
        assert_eq!(delays.next(), Some(ms(20)));
    }

    #[test]
    fn doubling_saturates_instead_of_overflowing() {
        let mut delays = Backoff::exponential(Duration::MAX / 2 + ms(1), Duration::MAX)
            .with_jitter(false)
            .delays();
        delays.next();
        assert_eq!(delays.next(), Some(Duration::MAX));
        assert_eq!(delays.next(), Some(Duration::MAX));
    }

    #[test]
    fn jitter_stays_between_half_and_full_delay() {
        let nominal = [100, 200, 400, 800, 800];
        let mut seen_below_nominal = false;
        for _ in 0..200 {
            let delays = Backoff::exponential(ms(100), ms(800)).delays();
            for (delay, nominal) in delays.zip(nominal) {
                assert!(
                    delay >= ms(nominal / 2) && delay <= ms(nominal),
                    "{delay:?} outside [{}ms, {nominal}ms]",
                    nominal / 2
                );
                seen_below_nominal |= delay < ms(nominal);
            }
        }
        assert!(seen_below_nominal, "jitter never lowered a delay");
    }

    #[test]
    fn fixed_repeats_without_jitter() {
        let backoff = Backoff::fixed(ms(250));
        assert!(!backoff.jitter());
        assert!(backoff.delays().take(10).all(|delay| delay == ms(250)));
    }

    #[test]
    fn fixed_with_jitter_varies_within_bounds() {
        let delays: Vec<_> = Backoff::fixed(ms(250))
            .with_jitter(true)
            .delays()
            .take(100)
            .collect();
        assert!(delays.iter().all(|d| *d >= ms(125) && *d <= ms(250)));
        assert!(delays.iter().any(|d| *d != delays[0]));
    }

    #[test]
    fn default_is_exponential_100ms_to_10s_with_jitter() {
        let backoff = Backoff::default();
        assert!(backoff.jitter());
        let nominal: Vec<_> = backoff.with_jitter(false).delays().take(9).collect();
        assert_eq!(nominal[0], ms(100));
        assert_eq!(nominal[6], ms(6400));
        assert_eq!(nominal[7], ms(10_000));
    }
}
