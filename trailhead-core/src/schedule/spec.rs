//! When a schedule ticks: a cron expression (in a time zone) or a fixed
//! interval, and the next tick after a given instant.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::policy::{CatchUp, Overlap};

/// When runs of a workflow are started, and what happens when a tick meets
/// a run still going ([`Overlap`]) or comes back after downtime
/// ([`CatchUp`]).
///
/// Made by [`Schedule::cron`] (or the compile-time checked
/// [`cron!`](crate::cron!)) or [`Schedule::every`], and registered with
/// [`Engine::schedule`](crate::Engine::schedule).
///
/// Ticks are instants of wall-clock time. A cron schedule ticks at the times
/// its expression matches in its time zone (UTC unless
/// [`in_time_zone`](Self::in_time_zone) says otherwise); an interval
/// schedule ticks at the multiples of its interval since the Unix epoch (an
/// every-5-minutes schedule at :00, :05, … UTC), so every engine and every
/// restart agrees on the ticks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use trailhead_core::schedule::{CatchUp, Overlap, Schedule, chrono_tz};
///
/// # fn main() -> Result<(), trailhead_core::schedule::ScheduleError> {
/// let nightly = Schedule::cron("0 3 * * *")?
///     .in_time_zone(chrono_tz::Europe::Paris)
///     .with_overlap(Overlap::Skip)
///     .with_catch_up(CatchUp::Last);
/// assert_eq!(nightly.to_string(), "cron `0 3 * * *` in Europe/Paris");
///
/// let poll = Schedule::every(Duration::from_secs(300))?;
/// assert_eq!(poll.to_string(), "every 300s");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Schedule {
    pub(super) ticks: Ticks,
    pub(super) zone: Option<Tz>,
    pub(super) overlap: Overlap,
    pub(super) catch_up: CatchUp,
}

/// The tick rule itself.
#[derive(Clone, Debug)]
pub(super) enum Ticks {
    Cron { text: Box<str>, cron: Box<Cron> },
    Every(Duration),
}

/// A field of a cron expression, to say which one is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CronField {
    /// The optional first of six fields.
    Second,
    /// Minutes, 0–59.
    Minute,
    /// Hours, 0–23.
    Hour,
    /// Day of the month, 1–31.
    DayOfMonth,
    /// Month, 1–12 or `JAN`–`DEC`.
    Month,
    /// Day of the week, 0–7 (0 and 7 are Sunday) or `SUN`–`SAT`.
    DayOfWeek,
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::DayOfMonth => "day-of-month",
            Self::Month => "month",
            Self::DayOfWeek => "day-of-week",
        })
    }
}

/// A schedule that cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// One field of a cron expression is not valid.
    #[error("the {field} field `{value}` of cron expression `{expression}` is not valid: {reason}")]
    CronField {
        /// The expression.
        expression: String,
        /// Which field.
        field: CronField,
        /// The field as written.
        value: String,
        /// What the cron parser said.
        reason: String,
    },
    /// A cron expression that is wrong as a whole: not 5 fields (or 6,
    /// seconds first), empty, or fields that never match together.
    #[error("cron expression `{expression}` is not valid: {reason}")]
    Cron {
        /// The expression.
        expression: String,
        /// What is wrong.
        reason: String,
    },
    /// [`Schedule::every`] with a zero interval.
    #[error("a schedule's interval must be longer than zero")]
    ZeroInterval,
}

/// The fields of a 5-field and of a 6-field expression, in order.
const FIVE: [CronField; 5] = [
    CronField::Minute,
    CronField::Hour,
    CronField::DayOfMonth,
    CronField::Month,
    CronField::DayOfWeek,
];
const SIX: [CronField; 6] = [
    CronField::Second,
    CronField::Minute,
    CronField::Hour,
    CronField::DayOfMonth,
    CronField::Month,
    CronField::DayOfWeek,
];

/// Parses a cron expression as [`Schedule::cron`] does: five fields
/// (minute, hour, day of month, month, day of week), or six with seconds
/// first, or a nickname (`@daily`). The `cron!` macro builds the same
/// croner parser (`trailhead-macros/src/cron.rs`): keep the two alike.
fn parse_cron(expression: &str) -> Result<Cron, ScheduleError> {
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build();
    let whole = |reason: String| ScheduleError::Cron {
        expression: expression.to_owned(),
        reason,
    };
    let error = match parser.parse(expression) {
        Ok(cron) => return Ok(cron),
        Err(error) => error,
    };
    let fields: Vec<&str> = expression.split_whitespace().collect();
    let names: &[CronField] = match fields.len() {
        5 => &FIVE,
        6 => &SIX,
        0 => return Err(whole("it is empty".to_owned())),
        n if !expression.trim_start().starts_with('@') => {
            return Err(whole(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week) or 6 \
                 (seconds first), found {n}"
            )));
        }
        _ => return Err(whole(error.to_string())),
    };
    // The first field that fails with every other field `*` is the one to
    // name; if each passes alone, the combination is what is wrong.
    for (at, (field, value)) in names.iter().zip(&fields).enumerate() {
        let alone: Vec<&str> = (0..fields.len())
            .map(|i| if i == at { *value } else { "*" })
            .collect();
        if let Err(reason) = parser.parse(&alone.join(" ")) {
            return Err(ScheduleError::CronField {
                expression: expression.to_owned(),
                field: *field,
                value: (*value).to_owned(),
                reason: reason.to_string(),
            });
        }
    }
    Err(whole(error.to_string()))
}

impl Schedule {
    /// A schedule on cron expression `expression`: five fields (minute,
    /// hour, day of month, month, day of week; `*/5`, `1-5`, `MON`, `JAN`,
    /// `L` and `#` as croner reads them), six with seconds first, or a
    /// nickname such as `@hourly`. Ticks are computed in UTC until
    /// [`in_time_zone`](Self::in_time_zone) says otherwise.
    ///
    /// For a literal, [`cron!`](crate::cron!) checks it at compile time.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::CronField`] naming the field that is wrong, or
    /// [`ScheduleError::Cron`] for an expression wrong as a whole.
    ///
    /// # Examples
    ///
    /// ```
    /// use trailhead_core::schedule::{CronField, Schedule, ScheduleError};
    ///
    /// assert!(Schedule::cron("*/5 * * * *").is_ok());
    /// match Schedule::cron("0 25 * * *") {
    ///     Err(ScheduleError::CronField { field, value, .. }) => {
    ///         assert_eq!((field, value.as_str()), (CronField::Hour, "25"));
    ///     }
    ///     other => panic!("expected a bad hour, got {other:?}"),
    /// }
    /// ```
    pub fn cron(expression: &str) -> Result<Self, ScheduleError> {
        let cron = parse_cron(expression)?;
        Ok(Self::from_ticks(Ticks::Cron {
            text: expression.trim().into(),
            cron: Box::new(cron),
        }))
    }

    /// Not public API: what `cron!` expands to, for a literal it checked.
    #[doc(hidden)]
    pub fn from_checked_cron(expression: &'static str) -> Self {
        match Self::cron(expression) {
            Ok(schedule) => schedule,
            Err(error) => unreachable!("`cron!` checked `{expression}`: {error}"),
        }
    }

    /// A schedule that ticks every `interval`, at the multiples of it since
    /// the Unix epoch (UTC): `every(Duration::from_secs(3600))` on the hour.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::ZeroInterval`] for a zero `interval`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use trailhead_core::schedule::{Schedule, ScheduleError};
    ///
    /// assert!(Schedule::every(Duration::from_secs(10)).is_ok());
    /// assert_eq!(Schedule::every(Duration::ZERO).unwrap_err(), ScheduleError::ZeroInterval);
    /// ```
    pub fn every(interval: Duration) -> Result<Self, ScheduleError> {
        if interval.is_zero() {
            return Err(ScheduleError::ZeroInterval);
        }
        Ok(Self::from_ticks(Ticks::Every(interval)))
    }

    fn from_ticks(ticks: Ticks) -> Self {
        Self {
            ticks,
            zone: None,
            overlap: Overlap::default(),
            catch_up: CatchUp::default(),
        }
    }

    /// Computes a cron schedule's ticks in IANA time zone `zone`: `0 9 * * *`
    /// in `Europe/Paris` is 09:00 in Paris, summer and winter. On the days
    /// the clocks change, croner's rules hold: a time the clocks skip runs at
    /// the first instant after the gap, a time they repeat runs once. An
    /// interval schedule is the same in every zone, so this changes nothing
    /// for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use trailhead_core::schedule::{Schedule, chrono_tz::Asia::Tokyo};
    ///
    /// let schedule = Schedule::cron("0 9 * * *").unwrap().in_time_zone(Tokyo);
    /// assert_eq!(schedule.time_zone(), Some(Tokyo));
    /// ```
    #[must_use]
    pub fn in_time_zone(mut self, zone: Tz) -> Self {
        self.zone = Some(zone);
        self
    }

    /// What a tick does while the run of the tick before is still going
    /// (default [`Overlap::Skip`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use trailhead_core::schedule::{Overlap, Schedule};
    ///
    /// let schedule = Schedule::every(Duration::from_secs(60)).unwrap().with_overlap(Overlap::QueueOne);
    /// assert_eq!(schedule.overlap(), Overlap::QueueOne);
    /// ```
    #[must_use]
    pub fn with_overlap(mut self, overlap: Overlap) -> Self {
        self.overlap = overlap;
        self
    }

    /// Which ticks missed while no engine ran the schedule (or while it was
    /// paused) still start runs (default [`CatchUp::Last`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use trailhead_core::schedule::{CatchUp, Schedule};
    ///
    /// let within = Duration::from_secs(3600);
    /// let schedule = Schedule::every(Duration::from_secs(60)).unwrap().with_catch_up(CatchUp::All { within });
    /// assert_eq!(schedule.catch_up(), CatchUp::All { within });
    /// ```
    #[must_use]
    pub fn with_catch_up(mut self, catch_up: CatchUp) -> Self {
        self.catch_up = catch_up;
        self
    }

    /// The overlap policy.
    pub fn overlap(&self) -> Overlap {
        self.overlap
    }

    /// The catch-up policy.
    pub fn catch_up(&self) -> CatchUp {
        self.catch_up
    }

    /// The time zone cron ticks are computed in; `None` for UTC.
    pub fn time_zone(&self) -> Option<Tz> {
        self.zone
    }

    /// The first tick strictly after `after`; `None` if there is none (a
    /// cron expression that matches no more dates).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use trailhead_core::schedule::Schedule;
    ///
    /// let schedule = Schedule::every(Duration::from_secs(300)).unwrap();
    /// let at = UNIX_EPOCH + Duration::from_secs(1_000);
    /// assert_eq!(schedule.next_after(at), Some(UNIX_EPOCH + Duration::from_secs(1_200)));
    /// ```
    pub fn next_after(&self, after: SystemTime) -> Option<SystemTime> {
        match &self.ticks {
            Ticks::Every(interval) => {
                let step = interval.as_nanos();
                let since = after.duration_since(UNIX_EPOCH).ok()?.as_nanos();
                let next = (since / step + 1) * step;
                Some(UNIX_EPOCH + nanos(next)?)
            }
            Ticks::Cron { cron, .. } => {
                let utc: DateTime<Utc> = after.into();
                let next: DateTime<Utc> = match self.zone {
                    Some(zone) => cron
                        .find_next_occurrence(&utc.with_timezone(&zone), false)
                        .ok()?
                        .with_timezone(&Utc),
                    None => cron.find_next_occurrence(&utc, false).ok()?,
                };
                Some(next.into())
            }
        }
    }

    /// How many ticks lie in `(after, until]`, and the newest of them; for
    /// the cron case at most `limit` are counted.
    pub(crate) fn ticks_between(
        &self,
        after: SystemTime,
        until: SystemTime,
        limit: u64,
    ) -> (u64, Option<SystemTime>) {
        if let Ticks::Every(interval) = &self.ticks {
            let step = interval.as_nanos();
            let since = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let (from, to) = (since(after) / step, since(until) / step);
            let count = u64::try_from(to.saturating_sub(from)).unwrap_or(u64::MAX);
            let newest = (count > 0).then(|| nanos(to * step).map(|d| UNIX_EPOCH + d));
            return (count, newest.flatten());
        }
        let mut count = 0;
        let newest = self
            .ticks_after(after, until)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .inspect(|_| count += 1)
            .last();
        (count, newest)
    }

    /// The ticks in `(after, until]`, oldest first, at most `limit`.
    pub(crate) fn ticks_in(
        &self,
        after: SystemTime,
        until: SystemTime,
        limit: usize,
    ) -> Vec<SystemTime> {
        self.ticks_after(after, until).take(limit).collect()
    }

    /// The ticks in `(after, until]`, oldest first.
    fn ticks_after(
        &self,
        after: SystemTime,
        until: SystemTime,
    ) -> impl Iterator<Item = SystemTime> + '_ {
        std::iter::successors(self.next_after(after), |&tick| self.next_after(tick))
            .take_while(move |&tick| tick <= until)
    }

    /// The cron expression, or `None` for an interval schedule.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use trailhead_core::schedule::Schedule;
    ///
    /// assert_eq!(Schedule::cron(" @daily ").unwrap().cron_expression(), Some("@daily"));
    /// let every = Schedule::every(Duration::from_secs(9)).unwrap();
    /// assert_eq!((every.cron_expression(), every.interval()), (None, Some(Duration::from_secs(9))));
    /// ```
    pub fn cron_expression(&self) -> Option<&str> {
        match &self.ticks {
            Ticks::Cron { text, .. } => Some(text),
            Ticks::Every(_) => None,
        }
    }

    /// The interval, or `None` for a cron schedule (see
    /// [`cron_expression`](Self::cron_expression)).
    pub fn interval(&self) -> Option<Duration> {
        match self.ticks {
            Ticks::Every(interval) => Some(interval),
            Ticks::Cron { .. } => None,
        }
    }
}

fn nanos(n: u128) -> Option<Duration> {
    let secs = u64::try_from(n / 1_000_000_000).ok()?;
    Some(Duration::new(secs, u32::try_from(n % 1_000_000_000).ok()?))
}

/// `tick` as the run ids of a schedule spell it: RFC 3339 in UTC, with as
/// many fractional digits as it needs (none for whole seconds).
pub(crate) fn tick_text(tick: SystemTime) -> String {
    DateTime::<Utc>::from(tick).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The same schedule: the same ticks, zone and policies.
impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
            && self.overlap == other.overlap
            && self.catch_up == other.catch_up
    }
}

/// The tick rule as the schedule listing shows it: ``cron `0 9 * * *` in
/// Europe/Paris``, `every 300s`.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ticks {
            Ticks::Cron { text, .. } => write!(f, "cron `{text}`")?,
            Ticks::Every(interval) => write!(f, "every {interval:?}")?,
        }
        match self.zone {
            Some(zone) if self.cron_expression().is_some() => write!(f, " in {zone}"),
            _ => Ok(()),
        }
    }
}
