//! Durable timers: `sleep 5s` journals its wake-up time, so a run resumed
//! after a stop wakes when it was meant to, not a full sleep later.

use crate::support;

use std::time::Duration;

use trailhead::{Engine, RunId, StepOutcome, workflow};

async fn note(what: &str) -> Result<String, std::io::Error> {
    Ok(what.to_owned())
}

workflow! {
    workflow reminder(delay: Duration) -> Result<String, trailhead::Error> {
        let first = step note("signed up");
        sleep 1h;
        let second = step note("one hour later").after(first);
        sleep delay;
        Ok(format!("{first}, {second}"))
    }
}

#[tokio::test(start_paused = true)]
async fn a_sleep_waits_its_time_on_the_clock() {
    let engine = Engine::new();
    let started = tokio::time::Instant::now();
    let handle = engine
        .start(reminder, Duration::from_secs(30))
        .await
        .unwrap();
    let run = handle.id().clone();
    assert_eq!(handle.result().await.unwrap(), "signed up, one hour later");
    assert_eq!(started.elapsed(), Duration::from_secs(3_600 + 30));
    let keys = support::journal_keys(&engine, &run).await;
    assert_eq!(keys, ["note", "sleep", "note#2", "sleep#2"]);
}

#[test]
fn a_resumed_run_wakes_at_the_journaled_time_not_a_full_sleep_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::new("sleeper");
    // First process: starts the run and stops once its hour-long sleep is
    // journaled (real clock: the store writes on its own thread).
    {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let engine = Engine::open(&path).unwrap();
            let mut events = engine.subscribe();
            let _handle = engine
                .start_with_id(run.clone(), reminder, Duration::from_millis(1))
                .await
                .unwrap();
            support::step_started(&mut events, "sleep").await;
            let journal = engine.journal(&run).await.unwrap();
            let sleep = journal
                .iter()
                .find(|r| r.key.to_string() == "sleep")
                .unwrap();
            let StepOutcome::Completed(value) = &sleep.outcome else {
                panic!("a sleep's entry is its wake-up time")
            };
            let entry: serde_json::Value = value.decode().unwrap();
            assert!(entry["wake_at_ns"].as_u64().is_some(), "{value}");
        });
    }
    // The hour passes while the process is down: move the journaled wake-up
    // time into the past, as the clock would have.
    let past = std::time::SystemTime::now() - Duration::from_secs(1);
    let nanos = past
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let connection = rusqlite::Connection::open(&path).unwrap();
    // The row as the store writes it: `{"Completed": entry}` in CBOR.
    let outcome = trailhead::store::Value::encode(&serde_json::json!({
        "Completed": { "wake_at_ns": u64::try_from(nanos).unwrap() }
    }))
    .unwrap();
    let changed = connection
        .execute(
            "UPDATE steps SET outcome = ?1 WHERE run_id = 'sleeper' AND key = 'sleep'",
            [outcome.bytes()],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(connection);
    // Second process: resumes and does not sleep the hour again.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Engine::open(&path).unwrap();
        let handles = engine.resume(reminder).await.unwrap();
        let handle = handles.into_iter().next().expect("the sleeping run");
        let output = tokio::time::timeout(Duration::from_secs(60), handle.result())
            .await
            .expect("woke at the journaled time, not an hour later")
            .unwrap();
        assert_eq!(output, "signed up, one hour later");
    });
}
