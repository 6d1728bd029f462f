//! Schedules: registered once and then kept as they are (the definition
//! replaced, the state kept), changed against the record as stored, listed
//! by name, removed.

use std::time::{Duration, UNIX_EPOCH};

use trailhead_core::schedule::{Schedule, ScheduleChange, ScheduleRecord};
use trailhead_core::store::{Store, Value};

use crate::backend::Backend;

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

/// Tick `minute` handled, its run there (whoever created it).
fn tick(minute: u64) -> ScheduleChange {
    ScheduleChange::Tick {
        at: UNIX_EPOCH + Duration::from_secs(60 * minute),
        run_exists: true,
        skipped: 0,
        queue: false,
    }
}

pub(crate) async fn a_registered_schedule_keeps_its_state_when_registered_again<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    assert_eq!(store.schedule("s").await.unwrap(), None);
    let first = ScheduleChange::Register(Box::new(registered("s")));
    let stored = store.change_schedule("s", first).await.unwrap().unwrap();
    assert_eq!(stored, registered("s"));
    store.change_schedule("s", tick(1)).await.unwrap();
    store
        .change_schedule("s", ScheduleChange::Pause(true))
        .await
        .unwrap();
    let mut other = registered("s");
    other.schedule = Schedule::cron("0 * * * *").unwrap();
    other.input = Value::encode(&2_u32).unwrap();
    let again = ScheduleChange::Register(Box::new(other.clone()));
    let after = store.change_schedule("s", again).await.unwrap().unwrap();
    assert_eq!((after.schedule, after.input), (other.schedule, other.input));
    assert!(after.paused);
    assert_eq!(after.runs_started, 1);
    assert_eq!(after.last_tick, UNIX_EPOCH + Duration::from_secs(60));
    assert_eq!(store.schedule("s").await.unwrap().unwrap().runs_started, 1);
}

pub(crate) async fn a_tick_reported_twice_counts_once<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    let first = ScheduleChange::Register(Box::new(registered("s")));
    store.change_schedule("s", first).await.unwrap();
    // Two engines (or a process and its successor after a crash) report
    // the same tick; then a tick older than the last one handled.
    store.change_schedule("s", tick(2)).await.unwrap();
    store.change_schedule("s", tick(2)).await.unwrap();
    let late = ScheduleChange::Tick {
        at: UNIX_EPOCH + Duration::from_secs(60),
        run_exists: false,
        skipped: 5,
        queue: false,
    };
    let record = store.change_schedule("s", late).await.unwrap().unwrap();
    assert_eq!((record.runs_started, record.runs_skipped), (1, 0));
    assert_eq!(record.last_tick, UNIX_EPOCH + Duration::from_secs(120));
}

pub(crate) async fn two_workers_reporting_ticks_at_once_count_each_once<B: Backend>() {
    let backend = B::new().await;
    let (one, two) = (backend.worker().await, backend.worker().await);
    let first = ScheduleChange::Register(Box::new(registered("race")));
    one.change_schedule("race", first).await.unwrap();
    // Both workers report each tick at the same time, in either order (an
    // engine reports its ticks oldest first, so the ticks come in order).
    for minute in 1..=20 {
        let (first, second) = if minute % 2 == 0 {
            (&one, &two)
        } else {
            (&two, &one)
        };
        let (a, b) = futures::join!(
            first.change_schedule("race", tick(minute)),
            second.change_schedule("race", tick(minute)),
        );
        a.unwrap();
        b.unwrap();
    }
    let record = two.schedule("race").await.unwrap().unwrap();
    assert_eq!(record.runs_started, 20);
    assert_eq!(record.last_tick, UNIX_EPOCH + Duration::from_secs(60 * 20));
    assert_eq!(record.last_started, Some(record.last_tick));
}

pub(crate) async fn schedules_are_listed_by_name_and_removed<B: Backend>() {
    let backend = B::new().await;
    let store = backend.worker().await;
    for name in ["nightly", "hourly", "weekly"] {
        let change = ScheduleChange::Register(Box::new(registered(name)));
        store.change_schedule(name, change).await.unwrap();
    }
    let names = |records: Vec<ScheduleRecord>| -> Vec<String> {
        records.into_iter().map(|record| record.name).collect()
    };
    assert_eq!(
        names(store.list_schedules().await.unwrap()),
        ["hourly", "nightly", "weekly"]
    );
    let removed = store.change_schedule("nightly", ScheduleChange::Remove);
    assert_eq!(removed.await.unwrap(), None);
    assert_eq!(store.schedule("nightly").await.unwrap(), None);
    let unknown = store.change_schedule("nightly", ScheduleChange::Pause(true));
    assert_eq!(unknown.await.unwrap(), None, "nothing recorded for it");
    assert_eq!(
        names(store.list_schedules().await.unwrap()),
        ["hourly", "weekly"]
    );
}
