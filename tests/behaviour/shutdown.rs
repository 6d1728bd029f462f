//! `Engine::shutdown(grace)`: new work is refused, runs in flight get the
//! grace to end, and the rest are stopped as a crash would stop them, left
//! for `resume` in the next process.

use crate::support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use trailhead::{Engine, EngineError, Event, RunError, RunStatus, workflow};

static FIRST: AtomicU32 = AtomicU32::new(0);
static SLOW: AtomicU32 = AtomicU32::new(0);
static AFTER_NAP: AtomicU32 = AtomicU32::new(0);

async fn first(x: u64) -> Result<u64, std::io::Error> {
    FIRST.fetch_add(1, Ordering::SeqCst);
    Ok(x * 10)
}

/// Takes an hour: longer than any grace.
async fn slow(x: u64) -> Result<u64, std::io::Error> {
    SLOW.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3_600)).await;
    Ok(x + 1)
}

async fn brief(x: u64) -> Result<u64, std::io::Error> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(x + 1)
}

async fn after_nap(x: u64) -> Result<u64, std::io::Error> {
    AFTER_NAP.fetch_add(1, Ordering::SeqCst);
    Ok(x)
}

workflow! {
    workflow quick(x: u64) -> Result<u64, trailhead::Error> {
        let y = step brief(x);
        Ok(y)
    }

    workflow slow_child(a: u64) -> Result<u64, trailhead::Error> {
        let b = step slow(a);
        Ok(b)
    }

    workflow order(x: u64) -> Result<u64, trailhead::Error> {
        let a = step first(x);
        let b = call slow_child(a);
        Ok(b)
    }

    workflow napper(x: u64) -> Result<u64, trailhead::Error> {
        sleep 1h;
        let y = step after_nap(x);
        Ok(y)
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_that_ends_within_the_grace_completes_and_new_work_is_refused() {
    let engine = Engine::new();
    let handle = engine.start(quick, 1).await.unwrap();
    let began = tokio::time::Instant::now();
    let left = engine.shutdown(Duration::from_secs(5)).await;
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        began.elapsed(),
        Duration::from_secs(2),
        "returned when the run ended, before the grace ran out"
    );
    assert_eq!(handle.result().await.unwrap(), 2);
    assert!(engine.is_shutting_down());

    let id = trailhead::RunId::new("late");
    let error = engine
        .start_with_id(id.clone(), quick, 2)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, EngineError::ShuttingDown { workflow: "quick", run: Some(run) } if *run == id),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the engine is shutting down: it takes no more runs of `quick` (run `late`)"
    );
    assert!(engine.run_record(&id).await.unwrap().is_none());
    assert!(matches!(
        engine.resume(quick).await,
        Err(EngineError::ShuttingDown {
            workflow: "quick",
            run: None
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_run_still_going_after_the_grace_is_left_running_and_a_new_engine_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let engine = Engine::open(&path).unwrap();
    let mut events = engine.subscribe();
    let handle = engine.start(order, 4).await.unwrap();
    let run = handle.id().clone();
    support::step_started(&mut events, "slow").await;

    let began = tokio::time::Instant::now();
    let left = engine.shutdown(Duration::from_secs(10)).await;
    assert_eq!(began.elapsed(), Duration::from_secs(10), "the whole grace");
    let child = trailhead::RunId::new(format!("{run}/slow_child"));
    assert_eq!(left, [run.clone(), child.clone()]);
    let error = handle.result().await.unwrap_err();
    assert!(
        matches!(&error, RunError::Engine(EngineError::Interrupted { run: stopped }) if *stopped == run),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "run `{run}` was interrupted: the engine shut down before it ended; resume it to carry on"
        )
    );
    // Stopped as by a crash: no outcome, no rollback, no end event.
    for stopped in [&run, &child] {
        let record = engine.run_record(stopped).await.unwrap().unwrap();
        assert_eq!(record.status(), RunStatus::Running, "{stopped}");
        assert_eq!(record.outcome(), None);
    }
    assert_eq!(support::journal_keys(&engine, &run).await, ["first"]);
    assert!(support::journal_keys(&engine, &child).await.is_empty());
    assert!(!support::drain(&mut events).iter().any(|event| matches!(
        event,
        Event::RunFailed { .. } | Event::RunCancelled { .. } | Event::RunCompleted { .. }
    )));
    drop(engine);

    // The next process.
    let engine = Engine::open(&path).unwrap();
    let handles = engine.resume(order).await.unwrap();
    assert_eq!(handles.len(), 1, "the child is resumed by its parent");
    assert_eq!(
        handles.into_iter().next().unwrap().result().await.unwrap(),
        41
    );
    assert_eq!(
        FIRST.load(Ordering::SeqCst),
        1,
        "the journaled step replayed"
    );
    assert_eq!(SLOW.load(Ordering::SeqCst), 2, "the stopped step ran again");
    for ended in [&run, &child] {
        let record = engine.run_record(ended).await.unwrap().unwrap();
        assert_eq!(record.status(), RunStatus::Completed, "{ended}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_sleeping_run_is_left_for_resume_and_not_woken() {
    let engine = Engine::new();
    let mut events = engine.subscribe();
    let handle = engine.start(napper, 3).await.unwrap();
    let run = handle.id().clone();
    support::until(&mut events, |event| {
        matches!(event, Event::RunUnloaded { .. })
    })
    .await;
    let left = engine.shutdown(Duration::from_secs(1)).await;
    assert_eq!(left, std::slice::from_ref(&run));
    let error = handle.result().await.unwrap_err();
    assert!(
        matches!(&error, RunError::Engine(EngineError::Interrupted { run: stopped }) if *stopped == run),
        "{error:?}"
    );
    tokio::time::sleep(Duration::from_secs(2 * 3_600)).await;
    assert_eq!(
        AFTER_NAP.load(Ordering::SeqCst),
        0,
        "its timer did not fire"
    );
    let record = engine.run_record(&run).await.unwrap().unwrap();
    assert_eq!(record.status(), RunStatus::Running);
}
