//! `patterns::rate_limit`: waves of at most `n` items, one wave per window,
//! paced by a durable sleep.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use trailhead::patterns::rate_limit::{Rate, rate_limited};
use trailhead::patterns::scatter_gather::Task;
use trailhead::{Engine, Error, Event, StepOutcome, StepRecord, Workflow};

use super::saga::{runtime, sqlite_engine};
use crate::support::{journal_keys, run_to_end};

/// When each item started, after the test's start, by item.
static STARTS: Mutex<Vec<(u32, Duration)>> = Mutex::new(Vec::new());
/// The test's start.
static BEGAN: Mutex<Option<Instant>> = Mutex::new(None);
/// The tests share `STARTS` and `BEGAN`: one at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A call into the API: takes `ms` (paused clock), gives `n + 1000`.
#[derive(Debug, Serialize, Deserialize)]
struct Call {
    n: u32,
    ms: u64,
}

impl Task for Call {
    type Output = u32;
    async fn run(&self) -> Result<u32, Error> {
        let began = BEGAN.lock().unwrap().expect("the test set its start");
        STARTS.lock().unwrap().push((self.n, began.elapsed()));
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        Ok(self.n + 1000)
    }
}

/// Takes its turn, starts the clock and clears what the last test left.
async fn turn() -> tokio::sync::MutexGuard<'static, ()> {
    let turn = TURN.lock().await;
    STARTS.lock().unwrap().clear();
    *BEGAN.lock().unwrap() = Some(Instant::now());
    turn
}

fn calls(count: u32, ms: u64) -> Vec<Call> {
    (0..count).map(|n| Call { n, ms }).collect()
}

/// The items' start times, by item.
fn starts() -> Vec<(u32, Duration)> {
    let mut starts = STARTS.lock().unwrap().clone();
    starts.sort_by_key(|(n, _)| *n);
    starts
}

#[tokio::test(start_paused = true)]
async fn fifty_items_at_ten_a_second_start_in_five_one_second_waves() {
    let _turn = turn().await;
    let engine = Engine::new();
    let (run, result) = run_to_end(
        &engine,
        rate_limited::<Call>::default(),
        (calls(50, 300), Rate::per_second(10)),
    )
    .await;
    assert_eq!(result.unwrap(), (1000..1050).collect::<Vec<_>>());
    // Item n starts exactly at the start of wave n / 10: 300 ms items do
    // not push the next wave back, the pause runs beside them.
    let starts = starts();
    assert_eq!(starts.len(), 50);
    for (n, started) in &starts {
        assert_eq!(*started, Duration::from_secs(u64::from(n / 10)), "item {n}");
    }
    let mut per_window = [0; 5];
    for (_, started) in &starts {
        per_window[usize::try_from(started.as_secs()).unwrap()] += 1;
    }
    assert_eq!(per_window, [10; 5]);
    // Four pauses (none after the last wave), each in its wave's fan-out.
    let keys = journal_keys(&engine, &run).await;
    let sleeps: Vec<&String> = keys.iter().filter(|k| k.starts_with("sleep")).collect();
    assert_eq!(
        sleeps,
        ["sleep[0][1]", "sleep[1][1]", "sleep[2][1]", "sleep[3][1]"]
    );
    assert_eq!(keys.iter().filter(|k| k.starts_with("task")).count(), 50);
    assert!(keys.contains(&"task[4][0][9]".to_owned()), "{keys:?}");
}

#[tokio::test(start_paused = true)]
async fn a_wave_slower_than_its_window_delays_the_next_and_never_overlaps_it() {
    let _turn = turn().await;
    let engine = Engine::new();
    // 1.5 s items, 2 per second: waves start at 0, 1.5 and 3 s.
    let (_, result) = run_to_end(
        &engine,
        rate_limited::<Call>::default(),
        (calls(5, 1_500), Rate::per_second(2)),
    )
    .await;
    assert_eq!(result.unwrap(), [1000, 1001, 1002, 1003, 1004]);
    let at = |ms| Duration::from_millis(ms);
    assert_eq!(
        starts(),
        [
            (0, at(0)),
            (1, at(0)),
            (2, at(1_500)),
            (3, at(1_500)),
            (4, at(3_000))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn any_rate_and_window_is_kept() {
    let _turn = turn().await;
    let engine = Engine::new();
    let rate = Rate {
        items: 3,
        window: Duration::from_millis(250),
    };
    let (_, result) = run_to_end(
        &engine,
        rate_limited::<Call>::default(),
        (calls(7, 0), rate),
    )
    .await;
    assert_eq!(result.unwrap().len(), 7);
    let windows: Vec<u128> = starts().iter().map(|(_, at)| at.as_millis()).collect();
    assert_eq!(windows, [0, 0, 0, 250, 250, 250, 500]);
}

#[test]
fn the_chart_shows_the_waves_the_pause_and_the_items() {
    let chart = <rate_limited<Call> as Workflow>::mermaid();
    super::chapter::assert_charted("rate_limited", <rate_limited<Call> as Workflow>::MERMAID);
    assert!(
        chart.contains("for wave in waves(items, per_wave)"),
        "{chart}"
    );
    assert!(chart.contains("sleep"), "{chart}");
    assert!(chart.contains(r#"["task"#), "{chart}");
}

/// When the sleep journaled as `record` wakes.
fn wake_at(record: &StepRecord) -> SystemTime {
    let StepOutcome::Completed(value) = &record.outcome else {
        panic!("a sleep's entry is its wake-up time: {record:?}");
    };
    let value: serde_json::Value = value.decode().unwrap();
    UNIX_EPOCH + Duration::from_nanos(value["wake_at_ns"].as_u64().unwrap())
}

/// The journal entry under `key`.
fn entry(journal: &[StepRecord], key: &str) -> StepRecord {
    journal
        .iter()
        .find(|record| record.key.to_string() == key)
        .unwrap_or_else(|| panic!("no journal entry `{key}`"))
        .clone()
}

#[test]
fn a_run_stopped_in_a_pause_resumes_at_its_journaled_pace_without_rerunning_items() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let _turn = TURN.blocking_lock();
    STARTS.lock().unwrap().clear();
    let rate = Rate {
        items: 5,
        window: Duration::from_millis(200),
    };

    // First process: waves 0 and 1 end, then it dies in wave 1's pause.
    let first = runtime();
    let run = first.block_on(async {
        *BEGAN.lock().unwrap() = Some(Instant::now());
        let engine = sqlite_engine(&path);
        let mut events = engine.subscribe();
        let handle = engine
            .start(rate_limited::<Call>::default(), (calls(15, 0), rate))
            .await
            .unwrap();
        let mut items = 0;
        while items < 10 {
            if let Some(Event::StepCompleted { step, .. }) = events.recv().await
                && step.name() == "task"
            {
                items += 1;
            }
        }
        handle.id().clone()
    });
    drop(first);
    let ran: Vec<u32> = starts().iter().map(|(n, _)| *n).collect();
    assert_eq!(ran, (0..10).collect::<Vec<_>>());

    // Second process: the pause keeps its wake-up time; only wave 2 runs.
    STARTS.lock().unwrap().clear();
    runtime().block_on(async {
        *BEGAN.lock().unwrap() = Some(Instant::now());
        let engine = sqlite_engine(&path);
        let before = engine.journal(&run).await.unwrap();
        let pause = entry(&before, "sleep[1][1]");
        let handles = engine
            .resume(rate_limited::<Call>::default())
            .await
            .unwrap();
        assert_eq!(handles.len(), 1);
        let outputs = handles.into_iter().next().unwrap().result().await.unwrap();
        assert_eq!(outputs, (1000..1015).collect::<Vec<_>>());
        let ran: Vec<u32> = starts().iter().map(|(n, _)| *n).collect();
        assert_eq!(ran, [10, 11, 12, 13, 14]);
        let after = engine.journal(&run).await.unwrap();
        assert_eq!(entry(&after, "sleep[1][1]"), pause, "journaled once");
        // Wave 2 started when the journaled pause ended, not before.
        for i in 0..5 {
            let item = entry(&after, &format!("task[2][0][{i}]"));
            assert!(item.started_at >= wake_at(&pause), "{item:?}");
        }
        let sleeps = after
            .iter()
            .filter(|record| record.key.name() == "sleep")
            .count();
        assert_eq!((after.len(), sleeps), (15 + 2, 2));
    });
}
