//! A schedule as stores keep it ([`ScheduleRecord`]), and the changes they
//! make to it ([`ScheduleChange`]): one pure function every store applies
//! under its own lock or transaction, so the rules are written once.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::policy::{CatchUp, Overlap};
use super::spec::{Schedule, Ticks, tick_text};
use crate::RunId;
use crate::store::Value;

/// A schedule as the store keeps it: what it starts and when, and how far
/// it got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScheduleRecord {
    /// The schedule's name, unique in the store.
    pub name: String,
    /// The workflow whose runs it starts ([`Workflow::NAME`](crate::Workflow::NAME)).
    pub workflow: String,
    /// When it ticks, and its policies.
    pub schedule: Schedule,
    /// The input every run gets.
    pub input: Value,
    /// Whether it is paused: no tick starts a run until it is resumed.
    pub paused: bool,
    /// The newest tick handled (a run started, queued or skipped for it), or
    /// when the schedule was registered, before its first tick.
    pub last_tick: SystemTime,
    /// The tick of the newest run the schedule started.
    pub last_started: Option<SystemTime>,
    /// A tick kept by [`Overlap::QueueOne`], to start when the running run
    /// ends.
    pub pending: Option<SystemTime>,
    /// Runs started so far.
    pub runs_started: u64,
    /// Ticks that started nothing: skipped by the overlap policy, or missed
    /// and not caught up.
    pub runs_skipped: u64,
}

impl ScheduleRecord {
    /// A schedule registered at `now`: its first tick is the first after
    /// `now`.
    pub fn new(
        name: impl Into<String>,
        workflow: impl Into<String>,
        schedule: Schedule,
        input: Value,
        now: SystemTime,
    ) -> Self {
        Self {
            name: name.into(),
            workflow: workflow.into(),
            schedule,
            input,
            paused: false,
            last_tick: now,
            last_started: None,
            pending: None,
            runs_started: 0,
            runs_skipped: 0,
        }
    }

    /// The id of the run tick `tick` starts: `{name}@{tick in RFC 3339,
    /// UTC}`. Every engine gives a tick the same id, so two that fire it
    /// collide on the id and the store records one run.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use trailhead_core::schedule::ScheduleRecord;
    ///
    /// let tick = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    /// assert_eq!(ScheduleRecord::run_id("report", tick).as_str(), "report@2027-01-15T08:00:00Z");
    /// ```
    pub fn run_id(name: &str, tick: SystemTime) -> RunId {
        RunId::new(format!("{name}@{}", tick_text(tick)))
    }

    /// The next tick after the one last handled (or `now`, if later).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use trailhead_core::schedule::{Schedule, ScheduleRecord};
    /// use trailhead_core::store::Value;
    ///
    /// let hourly = Schedule::every(Duration::from_secs(3600)).unwrap();
    /// let record = ScheduleRecord::new("h", "wf", hourly, Value::encode(&()).unwrap(), UNIX_EPOCH);
    /// let now = UNIX_EPOCH + Duration::from_secs(5_000);
    /// assert_eq!(record.next_tick(now), Some(UNIX_EPOCH + Duration::from_secs(7_200)));
    /// ```
    pub fn next_tick(&self, now: SystemTime) -> Option<SystemTime> {
        self.schedule.next_after(self.last_tick.max(now))
    }

    /// Whether `other` registers the same schedule: same workflow, ticks,
    /// policies and input.
    pub fn same_definition(&self, other: &Self) -> bool {
        self.workflow == other.workflow
            && self.schedule == other.schedule
            && self.input == other.input
    }
}

/// A change to a stored schedule, applied by
/// [`Store::change_schedule`](crate::Store::change_schedule) atomically
/// against the record as it is in the store.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ScheduleChange {
    /// Records the schedule if it is new. An existing schedule of the same
    /// name keeps its state (last tick, counts, paused); its definition
    /// (workflow, ticks, policies, input) becomes this one's.
    Register(Box<ScheduleRecord>),
    /// Pauses (`true`) or resumes (`false`) it.
    Pause(bool),
    /// Removes it.
    Remove,
    /// Tick `at` was handled. Applied only if `at` is newer than the last
    /// tick handled, so a tick is counted once however many engines (or
    /// restarted processes) report it: its run is counted whoever created
    /// it, also when the process that created it died before reporting.
    Tick {
        /// The tick.
        at: SystemTime,
        /// The tick's run exists (started by this engine, by another, or by
        /// this one before a restart).
        run_exists: bool,
        /// Ticks up to `at` that started nothing.
        skipped: u64,
        /// The tick is kept to start later ([`Overlap::QueueOne`]); if one
        /// is kept already, this one counts as skipped.
        queue: bool,
    },
    /// The tick kept by [`Overlap::QueueOne`] now has its run (counted
    /// once: only while it is still the kept tick).
    StartedPending {
        /// The kept tick.
        at: SystemTime,
    },
}

impl ScheduleChange {
    /// The record after the change, from the record before it (`None`: no
    /// such schedule). A removed schedule is `None` after. A store applies
    /// it to the record as stored, under its lock or in one transaction.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use trailhead_core::schedule::{Schedule, ScheduleChange, ScheduleRecord};
    /// use trailhead_core::store::Value;
    ///
    /// let every = Schedule::every(Duration::from_secs(60)).unwrap();
    /// let record = ScheduleRecord::new("s", "wf", every, Value::encode(&()).unwrap(), UNIX_EPOCH);
    /// let at = UNIX_EPOCH + Duration::from_secs(60);
    /// let tick = ScheduleChange::Tick { at, run_exists: true, skipped: 0, queue: false };
    /// // One engine recorded the tick's run; another found it taken.
    /// let once = tick.apply(Some(record)).unwrap();
    /// let twice = tick.apply(Some(once.clone())).unwrap();
    /// assert_eq!((twice.runs_started, twice.last_tick), (1, at));
    /// assert_eq!(ScheduleChange::Remove.apply(Some(twice)), None);
    /// ```
    pub fn apply(&self, before: Option<ScheduleRecord>) -> Option<ScheduleRecord> {
        if let Self::Register(new) = self {
            return Some(match before {
                None => (**new).clone(),
                Some(old) => ScheduleRecord {
                    workflow: new.workflow.clone(),
                    schedule: new.schedule.clone(),
                    input: new.input.clone(),
                    ..old
                },
            });
        }
        let mut record = before?;
        match *self {
            Self::Register(_) => {}
            Self::Remove => return None,
            Self::Pause(paused) => record.paused = paused,
            Self::Tick {
                at,
                run_exists,
                skipped,
                queue,
            } => {
                if run_exists {
                    record.last_started = record.last_started.max(Some(at));
                }
                if at > record.last_tick {
                    record.last_tick = at;
                    record.runs_started += u64::from(run_exists);
                    record.runs_skipped += skipped;
                    if queue {
                        match record.pending {
                            None => record.pending = Some(at),
                            Some(_) => record.runs_skipped += 1,
                        }
                    }
                }
            }
            Self::StartedPending { at } => {
                if record.pending == Some(at) {
                    record.runs_started += 1;
                    record.pending = None;
                    record.last_started = record.last_started.max(Some(at));
                }
            }
        }
        Some(record)
    }
}

/// A schedule as [`Engine::schedules`](crate::Engine::schedules) lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScheduleInfo {
    /// The schedule's name.
    pub name: String,
    /// The workflow it starts.
    pub workflow: String,
    /// When it ticks: ``cron `0 9 * * *` in Europe/Paris``, `every 300s`.
    pub spec: String,
    /// Its next tick (`None`: a cron expression that matches no more dates).
    pub next_tick: Option<SystemTime>,
    /// The newest tick handled, `None` before the first.
    pub last_tick: Option<SystemTime>,
    /// Whether it is paused.
    pub paused: bool,
    /// Runs started so far.
    pub runs_started: u64,
    /// Ticks that started nothing (overlap, or missed and not caught up).
    pub runs_skipped: u64,
}

impl ScheduleInfo {
    /// What `record` shows at `now`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use trailhead_core::schedule::{Schedule, ScheduleInfo, ScheduleRecord};
    /// use trailhead_core::store::Value;
    ///
    /// let every = Schedule::every(Duration::from_secs(60)).unwrap();
    /// let record = ScheduleRecord::new("s", "wf", every, Value::encode(&()).unwrap(), UNIX_EPOCH);
    /// let info = ScheduleInfo::of(&record, UNIX_EPOCH);
    /// assert_eq!((info.spec.as_str(), info.last_tick), ("every 60s", None));
    /// assert_eq!(info.next_tick, Some(UNIX_EPOCH + Duration::from_secs(60)));
    /// ```
    pub fn of(record: &ScheduleRecord, now: SystemTime) -> Self {
        let ticked = record.runs_started + record.runs_skipped > 0 || record.pending.is_some();
        Self {
            name: record.name.clone(),
            workflow: record.workflow.clone(),
            spec: record.schedule.to_string(),
            next_tick: record.next_tick(now),
            last_tick: ticked.then_some(record.last_tick),
            paused: record.paused,
            runs_started: record.runs_started,
            runs_skipped: record.runs_skipped,
        }
    }
}

/// A [`Schedule`] as stores keep it.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    every: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_zone: Option<String>,
    overlap: Overlap,
    catch_up: CatchUp,
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (cron, every) = match &self.ticks {
            Ticks::Cron { text, .. } => (Some(text.to_string()), None),
            Ticks::Every(interval) => (None, Some(*interval)),
        };
        Wire {
            cron,
            every,
            time_zone: self.zone.map(|zone| zone.name().to_owned()),
            overlap: self.overlap,
            catch_up: self.catch_up,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let wire = Wire::deserialize(deserializer)?;
        let schedule = match (wire.cron, wire.every) {
            (Some(cron), None) => Schedule::cron(&cron).map_err(D::Error::custom)?,
            (None, Some(every)) => Schedule::every(every).map_err(D::Error::custom)?,
            _ => return Err(D::Error::custom("a schedule has a `cron` or an `every`")),
        };
        let schedule = match wire.time_zone {
            Some(zone) => schedule.in_time_zone(
                zone.parse()
                    .map_err(|_| D::Error::custom(format!("unknown time zone `{zone}`")))?,
            ),
            None => schedule,
        };
        Ok(schedule
            .with_overlap(wire.overlap)
            .with_catch_up(wire.catch_up))
    }
}
