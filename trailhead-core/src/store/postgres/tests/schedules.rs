//! Schedules on PostgreSQL: a change is applied against the row as it is,
//! one at a time per schedule, so two workers reporting one tick count it
//! once.

use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::schedule::{Schedule, ScheduleChange, ScheduleRecord};
use crate::store::Store;

fn registered(name: &str) -> ScheduleRecord {
    let every = Schedule::every(Duration::from_secs(60)).unwrap();
    ScheduleRecord::new(
        name,
        "wf",
        every,
        Value::encode(&1_u32).unwrap(),
        UNIX_EPOCH,
    )
}

fn tick(minute: u64, started: bool) -> ScheduleChange {
    ScheduleChange::Tick {
        at: UNIX_EPOCH + Duration::from_secs(60 * minute),
        started,
        run_exists: true,
        skipped: 0,
        queue: false,
    }
}

#[tokio::test]
async fn a_schedule_is_registered_changed_listed_and_removed() {
    let store = store_in(&fresh("schedules").await).await;
    assert!(store.list_schedules().await.unwrap().is_empty());
    assert_eq!(
        store
            .change_schedule("b", ScheduleChange::Pause(true))
            .await
            .unwrap(),
        None
    );
    for name in ["b", "a"] {
        let change = ScheduleChange::Register(Box::new(registered(name)));
        store.change_schedule(name, change).await.unwrap().unwrap();
    }
    store.change_schedule("b", tick(1, true)).await.unwrap();
    store
        .change_schedule("b", ScheduleChange::Pause(true))
        .await
        .unwrap();
    // Registered again (a restarted process): the state stays.
    let mut other = registered("b");
    other.schedule = Schedule::cron("0 * * * *").unwrap();
    let again = ScheduleChange::Register(Box::new(other.clone()));
    let b = store.change_schedule("b", again).await.unwrap().unwrap();
    assert!(b.paused);
    assert_eq!(b.runs_started, 1);
    assert_eq!(b.schedule, other.schedule);
    let listed = store.list_schedules().await.unwrap();
    let names: Vec<&str> = listed.iter().map(|record| record.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(store.schedule("b").await.unwrap(), Some(b));
    assert_eq!(
        store
            .change_schedule("a", ScheduleChange::Remove)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.schedule("a").await.unwrap(), None);
    // Another store on the schema reads what this one wrote.
    let reopened = store_in("h_pg_schedules").await;
    assert_eq!(reopened.list_schedules().await.unwrap().len(), 1);
}

#[tokio::test]
async fn two_workers_reporting_each_tick_count_it_once() {
    let schema = fresh("schedule_race").await;
    let (one, two) = (store_in(&schema).await, store_in(&schema).await);
    let change = ScheduleChange::Register(Box::new(registered("race")));
    one.change_schedule("race", change).await.unwrap();
    // For each tick one worker recorded the run and the other found it
    // taken; they report at the same time, in either order.
    let mut reports = Vec::new();
    for minute in 1..=20 {
        let (first, second) = if minute % 2 == 0 {
            (&one, &two)
        } else {
            (&two, &one)
        };
        reports.push(first.change_schedule("race", tick(minute, true)));
        reports.push(second.change_schedule("race", tick(minute, false)));
    }
    for report in futures::future::join_all(reports).await {
        report.unwrap();
    }
    let record = one.schedule("race").await.unwrap().unwrap();
    assert_eq!(record.runs_started, 20);
    assert_eq!(record.last_tick, UNIX_EPOCH + Duration::from_secs(60 * 20));
    assert_eq!(record.last_started, Some(record.last_tick));
}
