//! What a schedule does when a tick meets a run still going ([`Overlap`])
//! and with the ticks it missed while no engine ran it ([`CatchUp`]).

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::spec::Schedule;

/// What a tick does while the run the schedule started before is still
/// going.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use trailhead_core::schedule::{Overlap, Schedule};
///
/// // A report that takes longer than its interval some days: cancel the
/// // stale one and start afresh.
/// let schedule = Schedule::every(Duration::from_secs(900))
///     .unwrap()
///     .with_overlap(Overlap::CancelPrevious);
/// # drop(schedule);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Overlap {
    /// Start nothing for the tick; it counts as skipped. The default, as in
    /// Temporal: two runs of one schedule never run at once, and a slow run
    /// does not build a backlog.
    #[default]
    Skip,
    /// Keep the tick (at most one: later ticks while one waits are
    /// skipped) and start its run when the running one ends.
    QueueOne,
    /// Cancel the running run, wait until it ended (its compensations
    /// ran), then start the tick's run.
    CancelPrevious,
}

/// Which ticks still start runs when they come due late: after the engine
/// was down (no process ran the schedule) or while the schedule was paused.
///
/// A tick handled within [`ON_TIME`] of its time is on time, and is never
/// caught up: only the ticks found older than that when the schedule looks
/// again are.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use trailhead_core::schedule::{CatchUp, Schedule};
///
/// // Every missed hourly import of the last day, oldest first.
/// let schedule = Schedule::cron("0 * * * *")
///     .unwrap()
///     .with_catch_up(CatchUp::All { within: Duration::from_secs(24 * 3600) });
/// # drop(schedule);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CatchUp {
    /// Missed ticks start nothing (they count as skipped); the schedule
    /// goes on with its next tick.
    None,
    /// The most recent missed tick starts one run; older ones count as
    /// skipped. The default: a job whose machine was down at its time runs
    /// once when it is back, as cron's anacron-style successors do, without
    /// a burst of runs for a long outage (Temporal's default, every tick of
    /// a year's window, surprises more often than it helps; choose
    /// [`CatchUp::All`] to have it).
    #[default]
    Last,
    /// Every missed tick no older than `within` starts its own run, oldest
    /// first; older ones count as skipped.
    All {
        /// How far back missed ticks are still run.
        within: Duration,
    },
}

/// How late a tick may be handled and still count as on time rather than
/// missed.
pub const ON_TIME: Duration = Duration::from_secs(1);

/// At most this many missed ticks are looked at (and counted) at once.
const MOST_TICKS: usize = 100_000;

/// The ticks due at `now` (after `last`), as the catch-up policy treats
/// them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Due {
    /// The ticks that start runs, oldest first.
    pub(crate) run: Vec<SystemTime>,
    /// How many more were due and start nothing.
    pub(crate) skipped: u64,
    /// The newest tick due: the schedule's last tick once these are handled.
    pub(crate) newest: Option<SystemTime>,
}

/// The ticks due at `now` (after `last`) and which of them start runs.
pub(crate) fn due(schedule: &Schedule, last: SystemTime, now: SystemTime) -> Due {
    let (count, newest) = schedule.ticks_between(last, now, MOST_TICKS as u64);
    let Some(newest) = newest else {
        return Due {
            run: Vec::new(),
            skipped: 0,
            newest: None,
        };
    };
    let (run, skipped) = select(schedule, last, now, count, newest);
    Due {
        run,
        skipped,
        newest: Some(newest),
    }
}

/// Which of the `count` ticks due (the newest `newest`) start runs, and how
/// many are skipped.
fn select(
    schedule: &Schedule,
    last: SystemTime,
    now: SystemTime,
    count: u64,
    newest: SystemTime,
) -> (Vec<SystemTime>, u64) {
    let on_time = now.duration_since(newest).unwrap_or_default() <= ON_TIME;
    match schedule.catch_up() {
        CatchUp::None if on_time => (vec![newest], count - 1),
        CatchUp::None => (Vec::new(), count),
        CatchUp::Last => (vec![newest], count - 1),
        CatchUp::All { within } => {
            let from = now.checked_sub(within).map_or(last, |from| from.max(last));
            // Just before `from`: a tick exactly `within` old is inside.
            let from = from
                .checked_sub(Duration::from_nanos(1))
                .map_or(from, |before| before.max(last));
            let mut run = schedule.ticks_in(from, now, MOST_TICKS);
            if on_time && run.last() != Some(&newest) {
                run.push(newest);
            }
            let skipped = count.saturating_sub(run.len() as u64);
            (run, skipped)
        }
    }
}
