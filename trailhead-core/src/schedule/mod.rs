#![doc = include_str!("../../docs/schedules.md")]

mod policy;
mod record;
mod spec;

pub use policy::{CatchUp, ON_TIME, Overlap};
pub use record::{ScheduleChange, ScheduleInfo, ScheduleRecord};
pub use spec::{CronField, Schedule, ScheduleError};

/// The IANA time zones [`Schedule::in_time_zone`] takes
/// (`chrono_tz::Europe::Paris`), re-exported so the version matches.
pub use chrono_tz;

pub(crate) use policy::due;

#[cfg(test)]
mod tests;
