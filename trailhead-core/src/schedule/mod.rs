//! Schedules: runs of a workflow started on a cron expression or a fixed
//! interval, durably.
//!
//! A [`Schedule`] says when ([`Schedule::cron`], [`cron!`](crate::cron!),
//! [`Schedule::every`]), in which time zone, and what a tick does when the
//! run before is still going ([`Overlap`]) or when it comes due late, after
//! downtime or a pause ([`CatchUp`]).
//! [`Engine::schedule`](crate::Engine::schedule) registers it under a name
//! with the workflow and its input: the store keeps it ([`ScheduleRecord`]),
//! with the last tick handled, so a restarted engine that registers it again
//! goes on where the last one stopped.
//!
//! - **One run per tick.** Tick `t` of schedule `s` starts run
//!   `s@<t in RFC 3339, UTC>`, and the store refuses a second run of an id:
//!   two engines on one store (or a restart racing the old process) that
//!   both fire a tick start it once. The last tick handled advances after
//!   the run is recorded, so a crash in between fires the tick again, which
//!   finds its run and moves on.
//! - **Wall-clock ticks, the engine's clock.** Ticks are instants of UTC
//!   time read from the engine's clock, which follows tokio's: on a paused
//!   test clock a week of ticks passes in moments (see
//!   [`EngineBuilder::wall_clock`](crate::EngineBuilder::wall_clock)).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! # use std::future::Future;
//! # use trailhead_core::{Error, RunContext, Workflow};
//! # #[derive(Clone, Copy)]
//! # struct Report;
//! # impl Workflow for Report {
//! #     type Input = String;
//! #     type Output = ();
//! #     type Error = Error;
//! #     const NAME: &'static str = "report";
//! #     const MERMAID: &'static str = "";
//! #     const DEFINITION_HASH: u64 = 0;
//! #     fn execute<'a>(self, _: &'a RunContext, _: String)
//! #         -> impl Future<Output = Result<(), Error>> + Send + 'a {
//! #         async move { Ok(()) }
//! #     }
//! # }
//! use trailhead_core::{Engine, schedule::Schedule};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::new();
//! let every_minute = Schedule::every(Duration::from_secs(60))?;
//! engine.schedule("minutely", every_minute, Report, "sales".to_owned()).await?;
//! tokio::time::sleep(Duration::from_secs(180)).await;
//! let listed = engine.schedules().await?;
//! assert_eq!(listed[0].runs_started, 3);
//! # Ok(())
//! # }
//! ```

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
