//! Next-tick computation, parse errors, catch-up selection and the record's
//! change rules.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

use super::policy::Due;
use super::*;
use crate::store::Value;

fn utc(text: &str) -> SystemTime {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
        .into()
}

fn text(at: SystemTime) -> String {
    super::spec::tick_text(at)
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn an_interval_ticks_on_its_multiples_since_the_epoch() {
    let every = Schedule::every(5 * MINUTE).unwrap();
    let at = utc("2026-12-03T17:02:30Z");
    assert_eq!(text(every.next_after(at).unwrap()), "2026-12-03T17:05:00Z");
    let on_a_tick = utc("2026-12-03T17:05:00Z");
    assert_eq!(
        text(every.next_after(on_a_tick).unwrap()),
        "2026-12-03T17:10:00Z",
        "strictly after"
    );
    let (count, newest) = every.ticks_between(at, utc("2026-12-03T18:00:00Z"), u64::MAX);
    assert_eq!(
        (count, newest.map(text)),
        (12, Some("2026-12-03T18:00:00Z".to_owned()))
    );
}

#[test]
fn a_cron_expression_ticks_where_it_matches() {
    let schedule = Schedule::cron("*/15 9-10 * * MON-FRI").unwrap();
    let friday_evening = utc("2026-12-04T18:00:00Z");
    let ticks = schedule.ticks_in(friday_evening, utc("2026-12-07T11:00:00Z"), 100);
    let ticks: Vec<String> = ticks.into_iter().map(text).collect();
    assert_eq!(ticks.len(), 8, "Monday 9:00 to 10:45: {ticks:?}");
    assert_eq!(ticks[0], "2026-12-07T09:00:00Z");
    assert_eq!(ticks[7], "2026-12-07T10:45:00Z");
    let seconds = Schedule::cron("30 * * * * *").unwrap();
    assert_eq!(
        text(seconds.next_after(friday_evening).unwrap()),
        "2026-12-04T18:00:30Z"
    );
}

#[test]
fn a_time_zone_keeps_the_local_hour_across_daylight_saving() {
    // Paris moves from UTC+1 to UTC+2 on 29 March 2026 at 02:00 local.
    let paris = Schedule::cron("0 9 * * *")
        .unwrap()
        .in_time_zone(chrono_tz::Europe::Paris);
    let ticks = paris.ticks_in(utc("2026-03-27T12:00:00Z"), utc("2026-03-31T12:00:00Z"), 10);
    let ticks: Vec<String> = ticks.into_iter().map(text).collect();
    assert_eq!(
        ticks,
        [
            "2026-03-28T08:00:00Z",
            "2026-03-29T07:00:00Z",
            "2026-03-30T07:00:00Z",
            "2026-03-31T07:00:00Z"
        ]
    );
    // 02:30 does not exist that night: it runs at the first instant after
    // the gap, 03:00 local (01:00 UTC), once.
    let in_the_gap = Schedule::cron("30 2 * * *")
        .unwrap()
        .in_time_zone(chrono_tz::Europe::Paris);
    let night = in_the_gap.ticks_in(utc("2026-03-28T12:00:00Z"), utc("2026-03-30T12:00:00Z"), 10);
    let night: Vec<String> = night.into_iter().map(text).collect();
    assert_eq!(night, ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]);
}

#[test]
fn a_bad_cron_field_is_named() {
    let field = |expression: &str| match Schedule::cron(expression) {
        Err(ScheduleError::CronField { field, value, .. }) => (field, value),
        other => panic!("`{expression}`: expected a bad field, got {other:?}"),
    };
    assert_eq!(field("61 * * * *"), (CronField::Minute, "61".to_owned()));
    assert_eq!(field("0 25 * * *"), (CronField::Hour, "25".to_owned()));
    assert_eq!(
        field("0 0 32 * *"),
        (CronField::DayOfMonth, "32".to_owned())
    );
    assert_eq!(field("0 0 * 13 *"), (CronField::Month, "13".to_owned()));
    assert_eq!(
        field("0 0 * * FUNDAY"),
        (CronField::DayOfWeek, "FUNDAY".to_owned())
    );
    assert_eq!(field("61 0 0 * * *"), (CronField::Second, "61".to_owned()));
    let error = Schedule::cron("0 25 * * *").unwrap_err().to_string();
    assert!(
        error.starts_with("the hour field `25` of cron expression `0 25 * * *` is not valid"),
        "{error}"
    );
    match Schedule::cron("* * *") {
        Err(ScheduleError::Cron { reason, .. }) => assert!(reason.contains("found 3"), "{reason}"),
        other => panic!("expected a wrong field count, got {other:?}"),
    }
    assert!(matches!(
        Schedule::cron("  "),
        Err(ScheduleError::Cron { .. })
    ));
    assert_eq!(
        Schedule::every(Duration::ZERO).unwrap_err(),
        ScheduleError::ZeroInterval
    );
}

#[test]
fn catch_up_chooses_the_missed_ticks_to_run() {
    let last = utc("2026-12-03T10:00:00Z");
    let now = utc("2026-12-03T11:00:30Z");
    let every = |catch_up| Schedule::every(MINUTE).unwrap().with_catch_up(catch_up);
    let texts = |due: Due| {
        (
            due.run.into_iter().map(text).collect::<Vec<_>>(),
            due.skipped,
        )
    };

    let none = due(&every(CatchUp::None), last, now);
    assert_eq!(
        none.newest.map(text).as_deref(),
        Some("2026-12-03T11:00:00Z")
    );
    assert_eq!(texts(none), (vec![], 60));

    let last_one = due(&every(CatchUp::Last), last, now);
    assert_eq!(
        texts(last_one),
        (vec!["2026-12-03T11:00:00Z".to_owned()], 59)
    );

    let within = CatchUp::All {
        within: 10 * MINUTE,
    };
    let (run, skipped) = texts(due(&every(within), last, now));
    assert_eq!(run.len(), 10, "{run:?}");
    assert_eq!(run[0], "2026-12-03T10:51:00Z");
    assert_eq!(run[9], "2026-12-03T11:00:00Z");
    assert_eq!(skipped, 50);

    // On time, every policy runs the tick.
    let on_time = utc("2026-12-03T10:01:00Z");
    for catch_up in [CatchUp::None, CatchUp::Last, within] {
        let (run, skipped) = texts(due(&every(catch_up), last, on_time));
        assert_eq!(
            (run, skipped),
            (vec!["2026-12-03T10:01:00Z".to_owned()], 0),
            "{catch_up:?}"
        );
    }
    assert_eq!(due(&every(CatchUp::Last), last, last).newest, None);
}

fn record() -> ScheduleRecord {
    let schedule = Schedule::every(MINUTE).unwrap();
    ScheduleRecord::new(
        "s",
        "wf",
        schedule,
        Value::encode(&1_u32).unwrap(),
        UNIX_EPOCH,
    )
}

fn tick(at: u64, skipped: u64) -> ScheduleChange {
    ScheduleChange::Tick {
        at: UNIX_EPOCH + Duration::from_secs(at),
        run_exists: true,
        skipped,
        queue: false,
    }
}

#[test]
fn a_tick_is_counted_once_whoever_handles_it() {
    let once = tick(60, 2).apply(Some(record())).unwrap();
    assert_eq!((once.runs_started, once.runs_skipped), (1, 2));
    assert_eq!(once.last_started, Some(UNIX_EPOCH + MINUTE));
    // Another engine found the run taken and reports the same tick; or the
    // process that started it died before reporting, and its successor
    // found the run there: the tick is counted once either way.
    let again = tick(60, 2).apply(Some(once.clone())).unwrap();
    assert_eq!(again, once);
    let next = tick(120, 0).apply(Some(again)).unwrap();
    assert_eq!((next.runs_started, next.runs_skipped), (2, 2));
}

#[test]
fn a_kept_tick_is_counted_once_it_has_its_run() {
    let mut kept = record();
    kept.pending = Some(UNIX_EPOCH + MINUTE);
    let at = UNIX_EPOCH + MINUTE;
    let started = ScheduleChange::StartedPending { at }
        .apply(Some(kept))
        .unwrap();
    assert_eq!((started.runs_started, started.pending), (1, None));
    assert_eq!(started.last_started, Some(at));
    let again = ScheduleChange::StartedPending { at }
        .apply(Some(started.clone()))
        .unwrap();
    assert_eq!(again, started);
}

#[test]
fn registering_again_keeps_the_state_and_takes_the_definition() {
    let ticked = tick(60, 0).apply(Some(record())).unwrap();
    let paused = ScheduleChange::Pause(true).apply(Some(ticked)).unwrap();
    let mut other = record();
    other.schedule = Schedule::every(2 * MINUTE).unwrap();
    let again = ScheduleChange::Register(Box::new(other.clone()))
        .apply(Some(paused.clone()))
        .unwrap();
    assert!(again.paused);
    assert_eq!(again.runs_started, 1);
    assert_eq!(again.schedule, other.schedule);
    assert!(!again.same_definition(&paused));
    assert_eq!(ScheduleChange::Remove.apply(Some(again)), None);
    assert_eq!(ScheduleChange::Pause(true).apply(None), None);
}

#[test]
fn a_record_reads_back_as_it_was_written() {
    let mut record = record();
    record.schedule = Schedule::cron("0 9 * * *")
        .unwrap()
        .in_time_zone(chrono_tz::Europe::Paris)
        .with_overlap(Overlap::QueueOne)
        .with_catch_up(CatchUp::All { within: MINUTE });
    let json = serde_json::to_string(&record).unwrap();
    let back: ScheduleRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, record);
    assert_eq!(
        back.schedule.to_string(),
        "cron `0 9 * * *` in Europe/Paris"
    );
}
